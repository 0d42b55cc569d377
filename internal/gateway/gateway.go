// Package gateway is chatgw's Socket.IO edge: the handshake, the client
// events, and the translation of chat errors into connect_error, error,
// validation-error and ack payloads. It implements chat.Broadcaster.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
	"golang.org/x/time/rate"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/guard"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/origins"
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

	// EventTimeout bounds the work of one client event. Default 10s.
	EventTimeout time.Duration
	// PingInterval and PingTimeout tune Engine.IO's heartbeat. Defaults 25s, 20s.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// MaxHTTPBufferSize is the largest Engine.IO message accepted; a larger
	// one closes that client's connection. Default 1 MB.
	MaxHTTPBufferSize int64

	// MaxSocketsPerIdentity is how many sockets one user (JWT sub) or one
	// anonymous conversation may have; the oldest is replaced beyond it.
	// Default DefaultMaxSocketsPerIdentity.
	MaxSocketsPerIdentity int
	// TypingTimeout is how long a "typing" indicator lasts unless renewed;
	// then the others get typing:false, so a client that stopped without
	// saying so does not leave "typing…" on screen. Default 5s.
	TypingTimeout time.Duration
	// ConnectLimiter limits handshakes per client IP, counting every
	// Engine.IO session and every CONNECT after a session's first; nil: no
	// limit.
	ConnectLimiter chat.Limiter
	// Guard blocks IPs that fail authentication too often and notices
	// session guessing and send floods; nil: nothing is noticed.
	Guard *guard.Guard
	// Origins are the browser origins allowed besides the gateway's own
	// (CORS_ORIGINS, PUBLIC_URL). The zero Policy allows the same origin only.
	Origins origins.Policy
	// ConnectTimeout closes an Engine.IO session that has not completed
	// the Socket.IO handshake by then. Default 10s.
	ConnectTimeout time.Duration
	// MaxConnections caps the Engine.IO sessions open at once; new ones
	// beyond it get 503. Default 10,000.
	MaxConnections int
	// EventsPerSec and EventsBurst are every socket's budget of client
	// events. Defaults 20 and 40; EventsPerSec < 0 disables the budget.
	EventsPerSec float64
	EventsBurst  int
	// ClientIP returns the client address of a handshake request (see
	// clientip). Default: the TCP peer's IP.
	ClientIP func(r *http.Request) string

	// Seqs reads conversations' last seqs, for the per-conversation order
	// cursor (a new room starts where its conversation stands; gap checks).
	// Nil: a cursor starts at the first message it sees, and there are no
	// gap checks (a lone process over an in-memory store).
	Seqs SeqReader
	// OrderWait is how long a message that arrives before its
	// predecessor waits for it before the gap is filled from the
	// database. Default 150ms.
	OrderWait time.Duration
	// GapFills counts messages delivered by a gap fill
	// (chatgw_bus_gap_fills_total); nil: not counted.
	GapFills prometheus.Counter
	// Cluster connects this node to the others (CLUSTER_BUS=postgres);
	// nil: a lone process.
	Cluster Cluster
}

// DefaultMaxSocketsPerIdentity is MAX_SOCKETS_PER_IDENTITY's default.
const DefaultMaxSocketsPerIdentity = 5

// Defaults of CONNECT_TIMEOUT and MAX_CONNECTIONS.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxConnections = 10_000
)

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
	if out.MaxSocketsPerIdentity <= 0 {
		out.MaxSocketsPerIdentity = DefaultMaxSocketsPerIdentity
	}
	if out.TypingTimeout <= 0 {
		out.TypingTimeout = 5 * time.Second
	}
	if out.ClientIP == nil {
		out.ClientIP = peerIP
	}
	if out.OrderWait <= 0 {
		out.OrderWait = 150 * time.Millisecond
	}
	if out.ConnectTimeout <= 0 {
		out.ConnectTimeout = DefaultConnectTimeout
	}
	if out.MaxConnections <= 0 {
		out.MaxConnections = DefaultMaxConnections
	}
	if out.EventsPerSec == 0 {
		out.EventsPerSec = 20
	}
	if out.EventsBurst <= 0 {
		out.EventsBurst = 40
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
	hub     *hub
	// origins decides which browser origins may connect.
	origins origins.Policy
	// sessions are the open Engine.IO sessions, for the per-IP limit.
	sessions sessions
	// typingActive counts typing indicators waiting to expire.
	typingActive atomic.Int64
	// resyncing is set while a gap check runs.
	resyncing atomic.Bool
	// remoteTyping holds other nodes' typing indicators shown here.
	remoteTyping remoteTyping

	// inflight counts client events being handled, so shutdown can let
	// their transactions finish before it closes the connections; idle is
	// closed when draining and inflight reaches zero.
	mu       sync.Mutex
	inflight int
	draining bool
	idle     chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// session is what the gateway keeps per socket.
type session struct {
	identity chat.Identity
	// conversationID is the handshake's conversation, the default of
	// events that take an optional conversationId (uuid.Nil when none).
	conversationID uuid.UUID
	// lastSeq is the handshake's auth.lastSeq: replay what follows it.
	lastSeq *int64
	// stream is the membership of the handshake's conversation, buffering
	// until the connection handler replays or releases it.
	stream *stream
	// budget is the socket's allowance of client events; nil: unlimited.
	budget *rate.Limiter
	// warnedDeprecated makes the client-send-user warning once per socket.
	warnedDeprecated atomic.Bool

	// Set on connection.
	id     socket.SocketId
	socket *socket.Socket
	log    *slog.Logger

	// order and rooms belong to the hub (guarded by hub.mu).
	order uint64
	rooms map[uuid.UUID]*stream

	// typing holds the indicators this socket has on, by conversation.
	typingMu sync.Mutex
	typing   map[uuid.UUID]*typingState
	closed   bool // disconnected: start no more timers

	// registration in the cluster registry (Config.Cluster).
	registration registration
}

// New builds a Gateway. Serve it with Handler on /socket.io/.
func New(cfg Config) *Gateway {
	cfg = cfg.withDefaults()
	g := &Gateway{
		cfg:     cfg,
		log:     cfg.Logger,
		svc:     cfg.Service,
		metrics: cfg.Metrics,
		origins: cfg.Origins,
		idle:    make(chan struct{}),
	}
	perIdentity := cfg.MaxSocketsPerIdentity
	if cfg.Cluster != nil {
		perIdentity = math.MaxInt // the cluster registry decides (cluster.go)
	}
	g.hub = newHub(perIdentity, cfg.Metrics.SocketsConnected)
	if cfg.Seqs != nil {
		g.hub.newRoom = func(r *room) { go g.initCursor(r) }
	}

	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	opts.SetPingInterval(cfg.PingInterval)
	opts.SetPingTimeout(cfg.PingTimeout)
	opts.SetMaxHttpBufferSize(cfg.MaxHTTPBufferSize)
	opts.SetTransports(types.NewSet(socket.Polling, socket.WebSocket))
	opts.SetConnectTimeout(cfg.ConnectTimeout)
	opts.SetParser(textOnlyParser{parser.NewParser()})
	// Origins are checked by guardEdge before the library sees a request;
	// the library only answers the polling transport's CORS for those
	// that passed. No cookies are used, so credentials are never allowed.
	opts.SetCors(&types.Cors{Origin: func(string) bool { return true }})

	g.io = socket.NewServer(nil, opts)
	g.io.Use(g.authenticate)
	_ = g.io.On("connection", func(args ...any) {
		g.onConnection(args[0].(*socket.Socket))
	})
	g.handler = g.guardEdge(releaseAfterHijack(g.io.ServeHandler(nil)))
	// After the Socket.IO server's own listener (ServeHandler made the
	// engine), which builds the session's client.
	_ = g.io.Engine().On("connection", func(args ...any) {
		if conn, ok := args[0].(engine.Socket); ok {
			g.engineSession(conn)
		}
	})
	return g
}

// Handler serves the Socket.IO protocol; mount it on /socket.io/.
func (g *Gateway) Handler() http.Handler { return g.handler }

// MessageCreated implements chat.Broadcaster: every socket in the
// conversation's room but the sender gets `message`, in seq order (see
// cursor). Emitting only queues the packet on each socket, so one slow
// client cannot hold up the others.
func (g *Gateway) MessageCreated(msg chat.Message, exceptSocketID string) {
	g.metrics.Messages.WithLabelValues(string(msg.Sender)).Inc()
	g.offer(msg, nil, exceptSocketID)
}

// RemoteMessage delivers a message another node committed (the cluster
// bus); except is its sending socket.
func (g *Gateway) RemoteMessage(msg chat.Message, except string) {
	g.offer(msg, nil, except)
}

// RemoteMessageRef says another node committed seq in conv without
// sending the message (it did not fit in a notification): the room reads it.
func (g *Gateway) RemoteMessageRef(conv uuid.UUID, seq int64) {
	r := g.hub.room(conv)
	if r == nil {
		return
	}
	c := r.cursor
	c.mu.Lock()
	need := c.next != 0 && seq >= c.next
	c.mu.Unlock()
	if need {
		go g.fill(r)
	}
}

// ConversationUpdated implements chat.Broadcaster: every socket in the
// conversation's room gets conversation-updated, on every node.
func (g *Gateway) ConversationUpdated(conversationID uuid.UUID, status chat.Status) {
	wire, _ := json.Marshal(map[string]any{"conversationId": conversationID, "status": status})
	g.ConversationEvent("conversation-updated", conversationID, wire)
}

// ConversationActivity implements chat.Broadcaster: every socket following
// the inbox gets conversation-activity, on every node.
func (g *Gateway) ConversationActivity(item chat.InboxItem) {
	wire, err := item.MarshalJSON()
	if err != nil {
		g.log.Error("conversation-activity not encoded", "conversation_id", item.ConversationID, "error", err)
		return
	}
	g.ConversationEvent("conversation-activity", item.ConversationID, wire)
}

// emitToInbox queues conversation-activity on every inbox follower of this
// node. Emitting only queues the packet, so a slow client holds up nobody.
func (g *Gateway) emitToInbox(wire json.RawMessage) {
	for _, sess := range g.hub.inboxFollowers() {
		if sess.socket.Connected() {
			_ = sess.socket.Emit("conversation-activity", wire)
		}
	}
}

// encodeMessage encodes a message once for the several packets that carry
// it (the ack and message-saved; a broadcast to every socket of a room),
// which the Socket.IO library would otherwise encode one by one.
// Message's encoding cannot fail. MarshalJSON is called directly: through
// json.Marshal its output would be parsed and copied once more.
func encodeMessage(msg chat.Message) json.RawMessage {
	data, _ := msg.MarshalJSON()
	return data
}

// deliver sends a live message (wire is its encoding) to one socket, in
// order with its replay: queued while the replay runs, dropped when the
// client already has it.
func (st *stream) deliver(sess *session, msg chat.Message, wire json.RawMessage) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.replaying {
		st.pending = append(st.pending, msg)
		return
	}
	if msg.Seq <= st.watermark {
		return
	}
	_ = sess.socket.Emit("message", wire)
}

// Stats returns what the gateway holds now, and a channel closed at the
// next change of the registry, so tests can wait for a state without sleeping.
func (g *Gateway) Stats() (Stats, <-chan struct{}) {
	st, changed := g.hub.stats()
	st.Typing = int(g.typingActive.Load())
	return st, changed
}

// Start is the lifecycle's start: the gateway serves as soon as it is
// built (through Handler), so there is nothing to start.
func (g *Gateway) Start(context.Context) error { return nil }

// Stop drains the gateway: it lets the client events in flight finish
// (their transactions commit and their acks go out), then closes every
// connection at the transport level, so the official client reconnects on
// its own, to another node. A Socket.IO disconnect packet would tell it not
// to come back. Calls after the first return the first call's result.
func (g *Gateway) Stop(ctx context.Context) error {
	g.stopOnce.Do(func() { g.stopErr = g.drain(ctx) })
	return g.stopErr
}

func (g *Gateway) drain(ctx context.Context) error {
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
	sess.log.Info("socket connected", "transport", s.Conn().Transport().Name())

	// Check the connection after installing the disconnect handler: a
	// client that went away in between is then cleaned up by one or the
	// other (closeSession is idempotent).
	_ = s.On("disconnect", func(args ...any) {
		reason, _ := firstString(args)
		g.closeSession(sess, reason)
	})
	if !s.Connected() {
		g.closeSession(sess, "disconnected during connect")
		return
	}

	if st := sess.stream; st != nil {
		if sess.lastSeq != nil {
			g.startReplay(sess, st)
		} else {
			st.finishReplay(sess, nil)
		}
	}

	g.on(s, sess, "client-send-message", g.sendMessage(false))
	g.on(s, sess, "client-send-user", g.sendMessage(false))
	g.on(s, sess, "client-send-tecnico", g.sendMessage(true))
	g.on(s, sess, "client-join-conversation", g.joinConversation)
	g.on(s, sess, "client-leave-conversation", g.leaveConversation)
	g.on(s, sess, "client-get-history", g.getHistory)
	g.on(s, sess, "client-typing", g.typing)
	g.on(s, sess, "client-join-inbox", g.joinInbox)
	g.on(s, sess, "client-leave-inbox", g.leaveInbox)
}

// closeSession forgets a socket that disconnected: its registrations and
// its typing indicators (the others see typing:false).
func (g *Gateway) closeSession(sess *session, reason string) {
	g.clearTyping(sess)
	g.unregisterCluster(sess)
	if g.hub.unregister(sess) {
		sess.log.Info("socket disconnected", "reason", reason)
	}
}

// replace tells a socket that a newer one of its identity took its place,
// then disconnects it with a Socket.IO disconnect packet ("io server
// disconnect"), which tells the official client not to reconnect; the
// client then closes its connection, as with any server-side disconnect.
// Closing the transport here as well can drop the two packets still in
// flight.
func (g *Gateway) replace(old *session) {
	old.log.Info("socket replaced by a newer one of the same identity", "max", g.cfg.MaxSocketsPerIdentity)
	_ = old.socket.Emit("session-replaced", map[string]any{
		"reason": "too many connections for this identity; a newer one replaced this one",
	})
	old.socket.Disconnect(false)
}

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

// peerIP is the IP of the request's TCP peer (RemoteAddr without its port).
func peerIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
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
