// Package sioclient is a minimal Socket.IO 5 / Engine.IO 4 client over one
// WebSocket, enough for the benchmark: the handshake with auth, ping/pong,
// emits with acknowledgements, a count of server events. It is hand-rolled
// so that 10,000 connections cost the benchmark little (one goroutine and
// two small buffers each), and so that the load generator is not what is
// measured.
package sioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

var dialer = &websocket.Dialer{
	HandshakeTimeout: 30 * time.Second,
	ReadBufferSize:   2048,
	WriteBufferSize:  2048,
}

// AckFunc receives an acknowledgement: ok is its {"ok":true}, payload the
// raw arguments (or the connection's error).
type AckFunc func(ok bool, payload []byte)

// Conn is one Socket.IO connection.
type Conn struct {
	ws  *websocket.Conn
	wmu sync.Mutex

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]AckFunc

	events  atomic.Uint64 // server events received (message, message-saved, ...)
	onEvent atomic.Pointer[func([]byte)]
	done    chan struct{}
	err     error
}

// Dial connects to base (http://host:port) and joins namespace "/"
// with auth. A connect_error is returned as an error with its data.
func Dial(ctx context.Context, base string, auth any) (*Conn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u.Scheme = "ws"
	u.Path = "/socket.io/"
	u.RawQuery = "EIO=4&transport=websocket"
	ws, resp, err := dialer.DialContext(ctx, u.String(), http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("websocket: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetReadDeadline(dl)
	}
	_, open, err := ws.ReadMessage()
	if err != nil || len(open) == 0 || open[0] != '0' {
		ws.Close()
		return nil, fmt.Errorf("engine.io open: %q %v", open, err)
	}
	a, _ := json.Marshal(auth)
	if err := ws.WriteMessage(websocket.TextMessage, append([]byte("40"), a...)); err != nil {
		ws.Close()
		return nil, err
	}
	for {
		_, p, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return nil, fmt.Errorf("socket.io connect: %w", err)
		}
		switch {
		case bytes.Equal(p, []byte("2")):
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		case bytes.HasPrefix(p, []byte("40")):
		case bytes.HasPrefix(p, []byte("44")):
			ws.Close()
			return nil, fmt.Errorf("connect_error: %s", p[2:])
		default:
			continue // an event before the connect ack (replay) is not expected, skip
		}
		break
	}
	_ = ws.SetReadDeadline(time.Time{})
	c := &Conn{ws: ws, pending: map[uint64]AckFunc{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *Conn) write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, p)
}

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			c.fail(err)
			return
		}
		if len(p) == 0 {
			continue
		}
		switch p[0] {
		case '2': // engine ping
			if err := c.write([]byte("3")); err != nil {
				c.fail(err)
				return
			}
		case '1': // engine close
			c.fail(errors.New("engine.io close"))
			return
		case '4':
			if len(p) < 2 {
				continue
			}
			switch p[1] {
			case '3': // ack: 43<id>[...]
				i := 2
				for i < len(p) && p[i] >= '0' && p[i] <= '9' {
					i++
				}
				id, _ := strconv.ParseUint(string(p[2:i]), 10, 64)
				c.mu.Lock()
				f := c.pending[id]
				delete(c.pending, id)
				c.mu.Unlock()
				if f != nil {
					body := p[i:]
					f(AckOK(body), body)
				}
			case '2':
				c.events.Add(1)
				if f := c.onEvent.Load(); f != nil {
					(*f)(p[2:])
				}
			case '1':
				c.fail(errors.New("socket.io disconnect"))
				return
			}
		}
	}
}

// AckOK reports whether an acknowledgement is [{"ok":true,...}].
func AckOK(body []byte) bool {
	var a []struct {
		OK bool `json:"ok"`
	}
	return json.Unmarshal(body, &a) == nil && len(a) > 0 && a[0].OK
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	pending := c.pending
	c.pending = map[uint64]AckFunc{}
	c.mu.Unlock()
	for _, f := range pending {
		f(false, []byte(err.Error()))
	}
}

// EmitAck sends event with a JSON payload and calls ack with the answer.
func (c *Conn) EmitAck(event string, payload []byte, ack AckFunc) error {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ack
	c.mu.Unlock()
	buf := make([]byte, 0, 32+len(event)+len(payload))
	buf = append(buf, "42"...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, `["`...)
	buf = append(buf, event...)
	buf = append(buf, `",`...)
	buf = append(buf, payload...)
	buf = append(buf, ']')
	if err := c.write(buf); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return err
	}
	return nil
}

// OnEvent sets a function given every server event's packet body (the
// JSON array ["name", args...]), on the connection's reader goroutine: it
// must be quick.
func (c *Conn) OnEvent(f func(body []byte)) { c.onEvent.Store(&f) }

// Close closes the WebSocket.
func (c *Conn) Close() error { return c.ws.Close() }

// Done is closed when the connection has ended (closed by either side).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Events is how many server events (message, message-saved, ...) arrived.
func (c *Conn) Events() uint64 { return c.events.Load() }
