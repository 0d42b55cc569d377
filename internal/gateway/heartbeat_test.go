package gateway_test

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/app"
	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/gateway"
)

// The Engine.IO heartbeat runs on the patched engine's AfterFunc timers
// (third_party/socket.io-engine): a client that answers pings stays through
// many ping cycles, and one that stops answering is dropped after
// pingInterval + pingTimeout, its socket gone from the registry.
func TestHeartbeatKeepsLiveClientsAndDropsSilentOnes(t *testing.T) {
	t.Parallel()
	const interval, timeout = 50 * time.Millisecond, 250 * time.Millisecond
	srv := apptest.StartWith(t, nil, app.Option{Gateway: func(c *gateway.Config) {
		c.PingInterval, c.PingTimeout = interval, timeout
	}})

	// The live client answers every ping from its own goroutine and reports
	// each one; it ends when the connection does.
	live := dialRaw(t, srv, srv.CreateAnonymous(t).Auth())
	pings := make(chan struct{}, 100)
	go func() {
		defer close(pings)
		for {
			_, msg, err := live.conn.ReadMessage()
			if err != nil {
				return
			}
			if string(msg) == "2" {
				if live.conn.WriteMessage(websocket.TextMessage, []byte("3")) != nil {
					return
				}
				pings <- struct{}{}
			}
		}
	}()
	livePings := func(n int) {
		t.Helper()
		for range n {
			select {
			case _, ok := <-pings:
				require.True(t, ok, "the live client was disconnected")
			case <-time.After(apptest.Timeout):
				t.Fatal("no ping")
			}
		}
	}
	livePings(3) // each pong re-arms the interval timer for the next ping

	silent := dialRaw(t, srv, srv.CreateAnonymous(t).Auth())
	waitSockets(t, srv, 2)
	require.Equal(t, "2", silent.read()) // and no pong
	silent.closed()
	waitSockets(t, srv, 1)

	livePings(3) // still served after the silent one's timeout
	waitSockets(t, srv, 1)
}
