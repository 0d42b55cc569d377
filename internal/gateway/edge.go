package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/chatgw/chatgw/internal/chat"
)

// What happens before a client has authenticated (contract §4, hostile
// input): every cost an anonymous peer can cause is bounded here, through
// the library's options and events, so none of it needs a patch.

// errBinaryPacket closes a connection whose client announced binary
// attachments. The protocol carries none, and the library's decoder would
// keep every attachment until the packet completes.
var errBinaryPacket = errors.New("binary attachments are not accepted")

// textOnlyParser is the library's parser whose decoder refuses, before
// decoding it, a packet that announces binary attachments (types 5
// BINARY_EVENT and 6 BINARY_ACK). The client then closes the connection
// (the library's handling of a decoder error), so no attachment is ever
// kept; a binary frame without such a packet is already an error.
type textOnlyParser struct{ parser.Parser }

func (p textOnlyParser) NewDecoder() parser.Decoder {
	return &textOnlyDecoder{Decoder: p.Parser.NewDecoder()}
}

type textOnlyDecoder struct{ parser.Decoder }

func (d *textOnlyDecoder) Add(data any) error {
	var first byte
	switch v := data.(type) {
	case string:
		if v != "" {
			first = v[0]
		}
	case *types.StringBuffer:
		if b := v.Bytes(); len(b) > 0 {
			first = b[0]
		}
	case *strings.Reader:
		var b [1]byte
		if n, _ := v.ReadAt(b[:], 0); n == 1 {
			first = b[0]
		}
	}
	if first == '0'+byte(parser.BINARY_EVENT) || first == '0'+byte(parser.BINARY_ACK) {
		return errBinaryPacket
	}
	return d.Decoder.Add(data)
}

// engineSession is what the gateway knows of one Engine.IO session before
// and while it carries a Socket.IO connection.
type engineSession struct {
	ip string
	// refused is the per-IP limit's answer when the session opened: its
	// first CONNECT gets it as connect_error. Nil when admitted.
	refused *chat.Error
	// connects counts the CONNECT packets seen on this session; the
	// second and later are counted against the per-IP limit themselves.
	connects atomic.Int32
	// counted is done once ip and refused are set.
	counted sync.WaitGroup
}

// sessions keeps engineSessions by Engine.IO id, for as long as they are open.
type sessions struct{ m sync.Map }

// engineSession returns conn's record, made on first use: from the
// engine's connection event, or from the first CONNECT if that is handled
// first (the library reads the transport before every listener of the
// event has run). Making it counts the new Engine.IO session against its
// IP's handshake limit (contract §4: per-IP limits count Engine.IO
// sessions, not only Socket.IO connections), so a peer cannot open
// sessions it never authenticates; the answer is given to the session's
// first CONNECT.
func (g *Gateway) engineSession(conn engine.Socket) *engineSession {
	id := conn.Id()
	if v, ok := g.sessions.m.Load(id); ok {
		es := v.(*engineSession)
		es.counted.Wait()
		return es
	}
	es := &engineSession{}
	es.counted.Add(1)
	if v, loaded := g.sessions.m.LoadOrStore(id, es); loaded {
		other := v.(*engineSession)
		other.counted.Wait()
		return other
	}
	if ctx := conn.Request(); ctx != nil && ctx.Request() != nil {
		es.ip = g.cfg.ClientIP(ctx.Request())
	}
	es.refused = g.limitIP(es.ip)
	es.counted.Done()
	_ = conn.Once("close", func(...any) { g.sessions.m.Delete(id) })
	if conn.ReadyState() == "closed" {
		g.sessions.m.Delete(id)
	}
	return es
}

// admitConnect applies the IP's block (anomaly guard) and handshake limit
// to one CONNECT packet.
func (g *Gateway) admitConnect(es *engineSession) error {
	if blocked, wait := g.cfg.Guard.Blocked(es.ip); blocked {
		return rateLimited(wait)
	}
	if es.connects.Add(1) == 1 {
		if es.refused != nil {
			return es.refused
		}
		return nil
	}
	if err := g.limitIP(es.ip); err != nil {
		return err
	}
	return nil
}

// limitIP takes one handshake from ip's budget.
func (g *Gateway) limitIP(ip string) *chat.Error {
	if g.cfg.ConnectLimiter == nil {
		return nil
	}
	if ok, wait := g.cfg.ConnectLimiter.Allow(ip); !ok {
		return rateLimited(wait)
	}
	return nil
}

func rateLimited(wait time.Duration) *chat.Error {
	return &chat.Error{Code: chat.CodeRateLimited, Message: "too many connections from this address; retry later", RetryAfter: wait}
}

// guardEdge refuses, before the library sees them, requests from origins
// that are not allowed (browsers do not apply CORS to WebSocket upgrades,
// and the library's own check knows neither PUBLIC_URL nor the request's
// host), and new Engine.IO sessions beyond MaxConnections (503).
func (g *Gateway) guardEdge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); !g.origins.Allowed(origin, r.Host) {
			g.metrics.ConnectionsRefused.WithLabelValues("origin").Inc()
			writeEngineError(w, http.StatusForbidden, "origin not allowed")
			return
		}
		if g.io.Engine().ClientsCount() >= uint64(g.cfg.MaxConnections) && isHandshake(r) {
			g.metrics.ConnectionsRefused.WithLabelValues("max_connections").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(g.cfg.ConnectTimeout/time.Second)+1))
			writeEngineError(w, http.StatusServiceUnavailable, "server at capacity; retry later")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isHandshake says whether r would open a new Engine.IO session (it names
// no sid).
func isHandshake(r *http.Request) bool {
	q, err := url.ParseQuery(r.URL.RawQuery)
	return err != nil || q.Get("sid") == ""
}

// writeEngineError answers as Engine.IO does its own errors.
func writeEngineError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"code":` + strconv.Itoa(status) + `,"message":` + strconv.Quote(message) + `}`))
}
