// Package gateway is chatgw's Socket.IO edge: the handshake, the client
// events, and the translation of chat errors into connect_error, error,
// validation-error and ack payloads. It implements chat.Broadcaster.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/metrics"
)

// UserVerifier verifies a user's JWT (auth.Verifier).
type UserVerifier interface {
	Verify(token string) (chat.Identity, error)
}

// Config configures a Gateway.
type Config struct {
	Service  *chat.Service
	Verifier UserVerifier
	Logger   *slog.Logger
	Metrics  *metrics.Metrics

	// CORSOrigins are the origins allowed to connect from a browser; ["*"]
	// allows any; empty allows the same origin only.
	CORSOrigins []string
	// EventTimeout bounds the work of one client event. Default 10s.
	EventTimeout time.Duration
	// PingInterval and PingTimeout tune Engine.IO's heartbeat. Defaults 25s, 20s.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// MaxHTTPBufferSize is the largest Engine.IO message accepted; a larger
	// one closes that client's connection. Default 1 MB.
	MaxHTTPBufferSize int64
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.EventTimeout <= 0 {
		out.EventTimeout = 10 * time.Second
	}
	if out.PingInterval <= 0 {
		out.PingInterval = 25 * time.Second
	}
	if out.PingTimeout <= 0 {
		out.PingTimeout = 20 * time.Second
	}
	if out.MaxHTTPBufferSize <= 0 {
		out.MaxHTTPBufferSize = 1 << 20
	}
	return out
}

// Gateway serves Socket.IO.
type Gateway struct {
	cfg     Config
	io      *socket.Server
	handler http.Handler
	log     *slog.Logger
	svc     *chat.Service
	metrics *metrics.Metrics

	// inflight counts client events being handled, so shutdown can let
	// their transactions finish before it closes the connections; idle is
	// closed when draining and inflight reaches zero.
	mu       sync.Mutex
	inflight int
	draining bool
	idle     chan struct{}
}

// session is what the gateway keeps per socket.
type session struct {
	identity chat.Identity
	// conversationID is the handshake's conversation, the default of
	// events that take an optional conversationId (uuid.Nil when none).
	conversationID uuid.UUID
	// warnedDeprecated makes the client-send-user warning once per socket.
	warnedDeprecated atomic.Bool
}

// New builds a Gateway. Serve it with Handler on /socket.io/.
func New(cfg Config) *Gateway {
	cfg = cfg.withDefaults()
	g := &Gateway{cfg: cfg, log: cfg.Logger, svc: cfg.Service, metrics: cfg.Metrics, idle: make(chan struct{})}

	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	opts.SetPingInterval(cfg.PingInterval)
	opts.SetPingTimeout(cfg.PingTimeout)
	opts.SetMaxHttpBufferSize(cfg.MaxHTTPBufferSize)
	opts.SetTransports(types.NewSet(socket.Polling, socket.WebSocket))
	opts.SetAllowRequest(g.allowRequest)
	if cors := corsOptions(cfg.CORSOrigins); cors != nil {
		opts.SetCors(cors)
	}

	g.io = socket.NewServer(nil, opts)
	g.io.Use(g.authenticate)
	_ = g.io.On("connection", func(args ...any) {
		g.onConnection(args[0].(*socket.Socket))
	})
	g.handler = g.io.ServeHandler(nil)
	return g
}

// Handler serves the Socket.IO protocol; mount it on /socket.io/.
func (g *Gateway) Handler() http.Handler { return g.handler }

// room is the Socket.IO room of a conversation.
func room(conversationID uuid.UUID) socket.Room {
	return socket.Room("conversation:" + conversationID.String())
}

// MessageCreated implements chat.Broadcaster. Emitting only queues the
// packet on each socket, so one slow client cannot hold up the others.
func (g *Gateway) MessageCreated(msg chat.Message, exceptSocketID string) {
	op := g.io.To(room(msg.ConversationID))
	if exceptSocketID != "" {
		op = op.Except(socket.Room(exceptSocketID))
	}
	g.metrics.Messages.WithLabelValues(string(msg.Sender)).Inc()
	if err := op.Emit("message", msg); err != nil {
		g.log.Error("broadcast message", "conversation_id", msg.ConversationID, "error", err)
	}
}

// Shutdown lets the client events in flight finish (their transactions
// commit and their acks go out), then closes every connection at the
// transport level, so the official client reconnects on its own, to another
// node. A Socket.IO disconnect packet would tell it not to come back.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	if !g.draining {
		g.draining = true
		if g.inflight == 0 {
			close(g.idle)
		}
	}
	g.mu.Unlock()
	var err error
	select {
	case <-g.idle:
	case <-ctx.Done():
		err = errors.New("gateway shutdown: events still in flight")
	}
	g.io.Sockets().Sockets().Range(func(_ socket.SocketId, s *socket.Socket) bool {
		s.Conn().Close(true)
		return true
	})
	g.io.Close(nil)
	return err
}

func (g *Gateway) onConnection(s *socket.Socket) {
	sess := s.Data().(*session)
	g.metrics.SocketsConnected.Inc()
	log := g.socketLogger(s, sess)
	log.Info("socket connected", "transport", s.Conn().Transport().Name())

	if sess.conversationID != uuid.Nil {
		s.Join(room(sess.conversationID))
	}

	_ = s.On("disconnect", func(args ...any) {
		g.metrics.SocketsConnected.Dec()
		reason, _ := firstString(args)
		log.Info("socket disconnected", "reason", reason)
	})

	g.on(s, sess, "client-send-message", g.sendMessage(false))
	g.on(s, sess, "client-send-user", g.sendMessage(false))
	g.on(s, sess, "client-send-tecnico", g.sendMessage(true))
	g.on(s, sess, "client-join-conversation", g.joinConversation)
	g.on(s, sess, "client-leave-conversation", g.leaveConversation)
	g.on(s, sess, "client-get-history", g.getHistory)
}

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

func (g *Gateway) socketLogger(s *socket.Socket, sess *session) *slog.Logger {
	attrs := []any{"socket_id", string(s.Id())}
	if sess.identity.Kind == chat.IdentityUser {
		attrs = append(attrs, "user_id", sess.identity.UserID)
	}
	if sess.conversationID != uuid.Nil {
		attrs = append(attrs, "conversation_id", sess.conversationID.String())
	}
	return g.log.With(attrs...)
}
