package gateway_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/app"
	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/gateway"
)

func startWithTyping(t *testing.T, timeout time.Duration) *apptest.Server {
	return apptest.StartWith(t, nil, app.Option{Gateway: func(c *gateway.Config) { c.TypingTimeout = timeout }})
}

func TestTypingReachesOthersAndExpires(t *testing.T) {
	t.Parallel()
	srv := startWithTyping(t, 300*time.Millisecond)
	defer func() {
		if t.Failed() {
			t.Log(srv.Logs.String())
		}
	}()
	anon := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, anon.Auth())
	tech := srv.Connect(t, map[string]any{"token": srv.Token(t, "tom", "tecnico"), "conversationId": anon.ConversationID})

	ack := visitor.Emit(t, "client-typing", map[string]any{"typing": true})
	require.Equal(t, true, ack["ok"], "%v", ack)
	on := tech.Events.WaitFor(t, "typing", 1)[0]
	require.Equal(t, map[string]any{"conversationId": anon.ConversationID, "sender": "user", "senderId": nil, "typing": true}, on)

	// Nobody says stop: the server clears it after the expiry.
	off := tech.Events.WaitFor(t, "typing", 2)[1]
	require.Equal(t, false, off["typing"])
	srv.WaitStats(t, func(s gateway.Stats) bool { return s.Typing == 0 })

	// The technician's indicator reaches the visitor, and an explicit stop
	// clears it at once.
	require.Equal(t, true, tech.Emit(t, "client-typing", map[string]any{"conversationId": anon.ConversationID, "typing": true})["ok"])
	got := visitor.Events.WaitFor(t, "typing", 1)[0]
	require.Equal(t, "tecnico", got["sender"])
	require.Equal(t, "tom", got["senderId"])
	require.Equal(t, true, tech.Emit(t, "client-typing", map[string]any{"conversationId": anon.ConversationID, "typing": false})["ok"])
	require.Equal(t, false, visitor.Events.WaitFor(t, "typing", 2)[1]["typing"])

	// The sender never gets its own indicator.
	require.Len(t, tech.Events.Named("typing"), 2)
}

func TestTypingClearedOnDisconnect(t *testing.T) {
	t.Parallel()
	srv := startWithTyping(t, time.Hour) // only the disconnect can clear it
	anon := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, anon.Auth())
	other := srv.Connect(t, anon.Auth())

	// Renewals while typing are not re-broadcast.
	for range 3 {
		require.Equal(t, true, visitor.Emit(t, "client-typing", map[string]any{"typing": true})["ok"])
	}
	require.Equal(t, true, other.Events.WaitFor(t, "typing", 1)[0]["typing"])
	srv.WaitStats(t, func(s gateway.Stats) bool { return s.Typing == 1 })

	visitor.Disconnect()
	off := other.Events.WaitFor(t, "typing", 2)
	require.Len(t, off, 2)
	require.Equal(t, false, off[1]["typing"])
	srv.WaitStats(t, func(s gateway.Stats) bool { return s.Typing == 0 && s.Sockets == 1 })
}

func TestTypingValidationAndAuthorization(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(o *options) { o.gateway = func(c *gateway.Config) { c.TypingTimeout = time.Second } })
	anon := srv.CreateAnonymous(t)
	other := srv.CreateAnonymous(t)
	visitor := srv.Connect(t, anon.Auth())

	ack := visitor.Emit(t, "client-typing", map[string]any{"typing": "yes"})
	require.Equal(t, "VALIDATION_FAILED", ack["error"].(map[string]any)["code"])
	ack = visitor.Emit(t, "client-typing", []any{true})
	require.Equal(t, "VALIDATION_FAILED", ack["error"].(map[string]any)["code"])
	ack = visitor.Emit(t, "client-typing", map[string]any{"conversationId": other.ConversationID, "typing": true})
	require.Equal(t, "FORBIDDEN", ack["error"].(map[string]any)["code"])

	user := srv.Connect(t, map[string]any{"token": srv.Token(t, "ulla")})
	ack = user.Emit(t, "client-typing", map[string]any{"typing": true})
	require.Equal(t, "VALIDATION_FAILED", ack["error"].(map[string]any)["code"], "no handshake conversation to default to")
	ack = user.Emit(t, "client-typing", map[string]any{"conversationId": anon.ConversationID, "typing": true})
	require.Equal(t, "FORBIDDEN", ack["error"].(map[string]any)["code"])
}
