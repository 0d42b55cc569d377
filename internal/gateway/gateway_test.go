package gateway_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

func TestAnonymousSendAck(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	msg := sock.Send(t, map[string]any{"content": "  hello  ", "clientMessageId": "c-1"})
	require.Equal(t, "hello", msg["content"])
	require.EqualValues(t, 1, msg["seq"])
	require.Equal(t, "user", msg["sender"])
	require.Nil(t, msg["senderId"])
	saved := sock.Events.WaitFor(t, "message-saved", 1)
	require.Equal(t, msg["id"], saved[0]["id"])
}
