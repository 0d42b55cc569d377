package gateway_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/gateway"
)

func TestOldestSocketIsReplaced(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"MAX_SOCKETS_PER_IDENTITY": "2"})
	defer func() {
		if t.Failed() {
			t.Log(srv.Logs.String())
		}
	}()
	anon := srv.CreateAnonymous(t)
	first := srv.Connect(t, anon.Auth())
	second := srv.Connect(t, anon.Auth())
	waitSockets(t, srv, 2)

	third := srv.Connect(t, anon.Auth())
	replaced := first.Events.WaitFor(t, "session-replaced", 1)
	require.NotEmpty(t, replaced[0]["reason"])
	reason := first.Events.WaitFor(t, "disconnect", 1)
	require.Equal(t, "io server disconnect", first.Events.All()[len(first.Events.All())-1].Args[0],
		"a Socket.IO disconnect, so the client does not reconnect: %v", reason)
	st := waitSockets(t, srv, 2)
	require.Equal(t, 1, st.Identities)

	require.Empty(t, second.Events.Named("session-replaced"))
	require.Empty(t, third.Events.Named("session-replaced"))
	msg := third.Send(t, map[string]any{"content": "still here"})
	require.Equal(t, msg["id"], second.Events.WaitFor(t, "message", 1)[0]["id"])

	// Another identity is counted on its own.
	tok := srv.Token(t, "ursula")
	u1 := srv.Connect(t, map[string]any{"token": tok})
	u2 := srv.Connect(t, map[string]any{"token": tok})
	st = waitSockets(t, srv, 4)
	require.Equal(t, 2, st.Identities)
	require.Empty(t, u1.Events.Named("session-replaced"))
	require.Empty(t, u2.Events.Named("session-replaced"))
	require.Empty(t, second.Events.Named("session-replaced"))
}

func TestGaugeAndRegistryFollowConnects(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	tech := srv.Token(t, "tina", "tecnico")

	var socks []*apptest.Socket
	for range 3 {
		socks = append(socks, srv.Connect(t, anon.Auth()))
	}
	socks = append(socks, srv.Connect(t, map[string]any{"token": tech, "conversationId": anon.ConversationID}))
	want4 := gateway.Stats{Sockets: 4, Identities: 2, Rooms: 1}
	srv.WaitStats(t, func(s gateway.Stats) bool { return s == want4 })
	st := waitSockets(t, srv, 4)

	// Disconnects and reconnects leave nothing stale behind.
	for _, s := range socks {
		s.Disconnect()
	}
	st = waitSockets(t, srv, 0)
	require.Equal(t, gateway.Stats{}, st)
	again := srv.Connect(t, anon.Auth())
	want := gateway.Stats{Sockets: 1, Identities: 1, Rooms: 1}
	srv.WaitStats(t, func(s gateway.Stats) bool { return s == want })
	again.Disconnect()
	require.Equal(t, gateway.Stats{}, waitSockets(t, srv, 0))

	// Rejected handshakes never register.
	code, _ := srv.ConnectError(t, map[string]any{"token": "nope"})
	require.Equal(t, "TOKEN_INVALID", code)
	require.Equal(t, gateway.Stats{}, waitSockets(t, srv, 0))
}
