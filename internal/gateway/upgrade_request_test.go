package gateway

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// Once a WebSocket is connected, nothing keeps its upgrade request alive:
// not net/http (releaseAfterHijack), and not the engine, whose socket keeps
// only a trimmed copy (third_party/socket.io-engine, retained-request.go).
// What the application reads of the request afterwards is still there.
func TestUpgradeRequestReleasedOnceConnected(t *testing.T) {
	t.Parallel()
	io, connected := newBareSocketIO(t)

	released := make(chan struct{}, 1)
	engine := releaseAfterHijack(io.ServeHandler(nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			runtime.AddCleanup(r, func(struct{}) { released <- struct{}{} }, struct{}{})
		}
		engine.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	conn := dialRawSocketIO(t, srv.URL, http.Header{"X-Widget": {"web"}})
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
