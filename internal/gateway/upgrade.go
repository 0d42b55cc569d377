package gateway

import (
	"bufio"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// releaseAfterHijack gives the engine, for WebSocket upgrades, a
// ResponseWriter that lets go of net/http's response once the connection is
// hijacked.
//
// The engine keeps each socket's request context, and the ResponseWriter in
// it, for the socket's whole life. Through that writer net/http's response
// pins the connection's 4 KiB read buffer and the 4 KiB write buffer Hijack
// made, about 9 KiB per idle socket, although after the upgrade the
// WebSocket has buffers of its own and never touches them. Polling requests
// are passed through untouched: they finish like any HTTP request.
func releaseAfterHijack(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			w = &upgradeWriter{w: w}
		}
		next.ServeHTTP(w, r)
	})
}

// upgradeWriter forwards to the net/http ResponseWriter until Hijack, then
// answers as net/http does for a hijacked connection, without holding it.
type upgradeWriter struct {
	mu     sync.Mutex
	w      http.ResponseWriter // nil once hijacked
	header http.Header         // the last headers, kept for late readers
}

func (u *upgradeWriter) Header() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.w == nil {
		return u.header
	}
	return u.w.Header()
}

func (u *upgradeWriter) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.w == nil {
		return 0, http.ErrHijacked
	}
	return u.w.Write(p)
}

func (u *upgradeWriter) WriteHeader(code int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.w != nil {
		u.w.WriteHeader(code)
	}
}

// Flush implements http.Flusher.
func (u *upgradeWriter) Flush() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.w != nil {
		_ = http.NewResponseController(u.w).Flush()
	}
}

// Hijack implements http.Hijacker, which gorilla/websocket requires.
func (u *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.w == nil {
		return nil, nil, http.ErrHijacked
	}
	conn, rw, err := http.NewResponseController(u.w).Hijack()
	if err == nil {
		u.header = u.w.Header().Clone()
		u.w = nil
	}
	return conn, rw, err
}
