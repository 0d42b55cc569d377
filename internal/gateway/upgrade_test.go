package gateway

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A handler that keeps the ResponseWriter of an upgraded connection for
// the connection's life, as the engine does, no longer keeps net/http's
// connection buffers alive; late calls on the writer fail the way they do
// on a hijacked connection.
func TestUpgradeWriterReleasesBuffersAfterHijack(t *testing.T) {
	t.Parallel()
	released := make(chan struct{}, 2)
	kept := make(chan http.ResponseWriter, 1)
	conns := make(chan net.Conn, 1)
	handler := releaseAfterHijack(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, ok := w.(*upgradeWriter)
		require.True(t, ok, "a WebSocket upgrade gets the releasing writer")
		w.Header().Set("X-Kept", "yes")
		conn, brw, err := w.(http.Hijacker).Hijack()
		require.NoError(t, err)
		// brw.Reader is net/http's per-connection read buffer; the writer
		// is the one Hijack made. A WebSocket library with buffers of its
		// own, as the engine configures gorilla, drops both at once.
		runtime.AddCleanup(brw.Reader, func(struct{}) { released <- struct{}{} }, struct{}{})
		runtime.AddCleanup(brw.Writer, func(struct{}) { released <- struct{}{} }, struct{}{})
		_, err = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
		require.NoError(t, err)
		kept <- w // retained, like the engine's request context
		conns <- conn
	}))
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	client, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	_, err = client.Write([]byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n" +
		"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(client), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	server := <-conns
	t.Cleanup(func() { server.Close() })
	w := <-kept

	_, err = w.Write([]byte("late"))
	require.ErrorIs(t, err, http.ErrHijacked)
	require.Equal(t, "yes", w.Header().Get("X-Kept"))
	_, _, err = w.(http.Hijacker).Hijack()
	require.ErrorIs(t, err, http.ErrHijacked)

	waitReleased(t, released, 2, "net/http's connection buffers after Hijack")
	runtime.KeepAlive(w)
}

// waitReleased runs the garbage collector until n cleanups have signalled
// on released, or fails saying what is still reachable.
func waitReleased(t *testing.T, released <-chan struct{}, n int, what string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for n > 0 {
		runtime.GC()
		select {
		case <-released:
			n--
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: %d still reachable", what, n)
		}
	}
}

// Polling requests are not upgrades: they get net/http's writer as is.
func TestUpgradeWriterLeavesPollingAlone(t *testing.T) {
	t.Parallel()
	var got http.ResponseWriter
	rec := httptest.NewRecorder()
	releaseAfterHijack(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { got = w })).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
	require.Same(t, rec, got)
}
