package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
)

// gatedConn counts a server connection's writes and, once armed, holds
// the next write until released.
type gatedConn struct {
	net.Conn
	writes  atomic.Int64
	mu      sync.Mutex
	gate    chan struct{} // nil: writes pass
	entered chan struct{}
}

func (c *gatedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	c.mu.Lock()
	gate, entered := c.gate, c.entered
	c.gate = nil
	c.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	return c.Conn.Write(p)
}

// arm holds the next write; entered closes once it is held.
func (c *gatedConn) arm() (release chan struct{}, entered chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gate, c.entered = make(chan struct{}), make(chan struct{})
	return c.gate, c.entered
}

type gatedListener struct {
	net.Listener
	conns chan *gatedConn
}

func (l gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g := &gatedConn{Conn: c}
	l.conns <- g
	return g, nil
}

// Packets the engine holds while a write is in flight go out together, in
// one write(2), and arrive as the separate frames they are, in order
// (third_party/socket.io-engine, corked-conn.go).
func TestPacketsQueuedDuringAWriteLeaveInOneWrite(t *testing.T) {
	t.Parallel()
	io, connected := newBareSocketIO(t)

	srv := httptest.NewUnstartedServer(releaseAfterHijack(io.ServeHandler(nil)))
	conns := make(chan *gatedConn, 1)
	srv.Listener = gatedListener{Listener: srv.Listener, conns: conns}
	srv.Start()
	t.Cleanup(srv.Close)

	client := dialRawSocketIO(t, srv.URL, nil)
	s := <-connected
	conn := <-conns

	// The first event's write is held; the nine emitted meanwhile wait in
	// the engine, then leave as one batch.
	release, entered := conn.arm()
	before := conn.writes.Load()
	require.NoError(t, s.Emit("n", 0))
	<-entered
	for i := 1; i < 10; i++ {
		require.NoError(t, s.Emit("n", i))
	}
	close(release)
	for i := range 10 {
		_, msg, err := client.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf(`42["n",%d]`, i), string(msg))
	}
	require.Equal(t, int64(2), conn.writes.Load()-before, "the held write, then one for the nine queued behind it")
}

// recordingConn records each write it is given.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	err    error
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func TestCorkedConnHoldsWritesInOrderUntilUncork(t *testing.T) {
	t.Parallel()
	rec := &recordingConn{}
	c := &transports.CorkedConn{Conn: rec}

	_, err := c.Write([]byte("a"))
	require.NoError(t, err)
	c.Cork()
	for _, s := range []string{"b", "c", "d"} {
		n, err := c.Write([]byte(s))
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	require.Len(t, rec.writes, 1, "nothing written while corked")
	require.NoError(t, c.Uncork())
	require.NoError(t, c.Uncork(), "uncorking twice is harmless")
	_, err = c.Write([]byte("e"))
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("a"), []byte("bcd"), []byte("e")}, rec.writes)

	// Writers on other goroutines (gorilla's control frames) while corked:
	// every write lands whole, and none is lost.
	c.Cork()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = c.Write([]byte{byte('0' + i)})
			}
		})
	}
	wg.Wait()
	require.NoError(t, c.Uncork())
	require.Len(t, rec.writes, 4)
	require.Len(t, rec.writes[3], 800)

	// The error of the held-back write is Uncork's.
	boom := errors.New("connection reset")
	rec.err = boom
	c.Cork()
	_, err = c.Write([]byte("lost"))
	require.NoError(t, err)
	require.ErrorIs(t, c.Uncork(), boom)
}
