package gateway

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// Once a WebSocket is connected, nothing keeps its upgrade request alive:
// not net/http (releaseAfterHijack), and not the engine, whose socket keeps
// only a trimmed copy (third_party/socket.io-engine, retained-request.go).
// What the application reads of the request afterwards is still there.
func TestUpgradeRequestReleasedOnceConnected(t *testing.T) {
	t.Parallel()
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	io := socket.NewServer(nil, opts)
	t.Cleanup(func() { io.Close(nil) })
	connected := make(chan *socket.Socket, 1)
	_ = io.On("connection", func(args ...any) { connected <- args[0].(*socket.Socket) })

	released := make(chan struct{}, 1)
	engine := releaseAfterHijack(io.ServeHandler(nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			runtime.AddCleanup(r, func(struct{}) { released <- struct{}{} }, struct{}{})
		}
		engine.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	header := http.Header{"X-Widget": {"web"}}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", header)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, open, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(open), "0{"), "%s", open)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("40")))
	_, ok, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(ok), "40{"), "%s", ok)
	s := <-connected

	waitReleased(t, released, 1, "the upgrade request of a connected socket")

	req := s.Request().Request()
	require.Equal(t, "web", req.Header.Get("X-Widget"))
	require.NotEmpty(t, req.RemoteAddr)
	require.Equal(t, "websocket", req.URL.Query().Get("transport"))
	require.Equal(t, []string{"web"}, s.Handshake().Headers["X-Widget"])
	// The connection still works both ways.
	require.NoError(t, s.Emit("ping-test", "x"))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, `42["ping-test","x"]`, string(msg))
}
