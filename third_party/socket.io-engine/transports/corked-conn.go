package transports

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// CorkedConn is a hijacked connection whose writes can be held back and
// sent as one: a WebSocket transport corks it while it writes a batch of
// frames, so a batch costs one write(2) instead of one per frame.
// (chatgw patch, see third_party/README.md.)
//
// Every write goes through mu, so frames written while corked (gorilla's
// control frames included, from any goroutine) leave in the order they
// were written.
type CorkedConn struct {
	net.Conn

	mu     sync.Mutex
	corked bool
	buf    *[]byte // borrowed from corkBuffers while corked
}

var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledCork keeps a rare huge batch from pinning its buffer in the pool.
const maxPooledCork = 64 << 10

func (c *CorkedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Cork holds writes back until Uncork.
func (c *CorkedConn) Cork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		c.corked = true
		c.buf = corkBuffers.Get().(*[]byte)
	}
}

// Uncork writes what was held back, in one write, and lets later writes
// through.
func (c *CorkedConn) Uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return nil
	}
	c.corked = false
	b := c.buf
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= maxPooledCork {
		*b = (*b)[:0]
		corkBuffers.Put(b)
	}
	return err
}

// CorkingResponseWriter hands out the connection it hijacks as a
// *CorkedConn; the WebSocket upgrader gets it instead of the request's
// writer.
type CorkingResponseWriter struct {
	http.ResponseWriter
}

func (w CorkingResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &CorkedConn{Conn: conn}, brw, nil
}

// Unwrap lets http.ResponseController reach the request's writer.
func (w CorkingResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
