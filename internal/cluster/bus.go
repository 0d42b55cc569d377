package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatgw/chatgw/internal/chat"
)

// Local is the node's own gateway: what the bus hands it. Its methods must
// not block (they only queue packets and start timers), because the bus's
// one dispatcher calls them in the order events arrived.
type Local interface {
	// MessageCreated delivers a message committed by this node.
	chat.Broadcaster
	// RemoteMessage delivers a message another node committed; except is
	// the sending socket (on that node).
	RemoteMessage(msg chat.Message, except string)
	// RemoteMessageRef says another node committed seq in conv, too large
	// to travel: the gateway reads it from the database if it has sockets
	// there.
	RemoteMessageRef(conv uuid.UUID, seq int64)
	// RemoteTyping shows another node's socket's typing indicator (body is
	// the `typing` event) in conv.
	RemoteTyping(node string, conv uuid.UUID, socket string, body json.RawMessage)
	// RemoteConversationEvent fans out a conversation-updated or
	// conversation-activity event another node emitted.
	RemoteConversationEvent(kind string, conv uuid.UUID, body json.RawMessage)
	// ReplaceSocket sends session-replaced to a local socket and
	// disconnects it (the cluster registry chose it as the oldest).
	ReplaceSocket(socketID string)
	// Resync is called when the node may have missed bus traffic (its
	// listener reconnected, or its receive queue overflowed): the gateway
	// checks the last seq of every conversation it has sockets in.
	Resync()
	// NodesSilent is called with nodes not heard from for TypingSilence:
	// their typing indicators are turned off.
	NodesSilent(nodes []string)
}

// Config configures a Bus. Zero values mean the defaults.
type Config struct {
	Pool   *pgxpool.Pool
	Node   string // NODE_ID
	Logger *slog.Logger
	// Metrics; nil creates unregistered ones.
	Metrics *Metrics
	// Channel is the NOTIFY channel. Default "chatgw_bus".
	Channel string
	// QueueSize bounds the events waiting to be published, and those
	// received and waiting to be dispatched. Default 8192. Beyond it events
	// are dropped (and counted): a send never waits for the bus.
	QueueSize int
	// BatchMax is the most events one pg_notify statement carries.
	// Default 512.
	BatchMax int
	// PingInterval is how long the listener waits for a notification
	// before it pings its connection. Default 5s.
	PingInterval time.Duration
	// ReconnectMax caps the listener's reconnection backoff. Default 2s.
	ReconnectMax time.Duration
	// Inbox reads the inbox item of a conversation-activity that came as a
	// reference (too large for a notification). Without it such events
	// are dropped (and logged).
	Inbox InboxItems
	// DropReceived, if set, drops received events it returns true for
	// (fault injection in tests).
	DropReceived func(Event) bool
}

// InboxItems reads inbox items (the store).
type InboxItems interface {
	InboxItem(ctx context.Context, id uuid.UUID) (chat.InboxItem, error)
}

func (c Config) withDefaults() Config {
	if c.Channel == "" {
		c.Channel = "chatgw_bus"
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 8192
	}
	if c.BatchMax <= 0 {
		c.BatchMax = 512
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 5 * time.Second
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ListenerApplicationName is the application_name of a node's listener
// connection (pg_stat_activity shows which node it belongs to).
func ListenerApplicationName(node string) string { return "chatgw-bus " + node }

// Bus is the PostgreSQL LISTEN/NOTIFY bus of one node. It implements
// chat.Broadcaster: a message committed here goes to the local gateway at
// once and is published for the other nodes after that.
type Bus struct {
	cfg   Config
	log   *slog.Logger
	m     *Metrics
	local Local

	n   atomic.Uint64
	out chan outEvent
	in  chan []byte
	// activityRefs are the conversations whose inbox item the loader
	// reads, off the dispatcher (which must not wait on the database).
	activityRefs chan uuid.UUID

	resyncPending atomic.Bool

	stopMu sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type outEvent struct {
	kind    Kind
	payload string
}

var _ chat.Broadcaster = (*Bus)(nil)

// NewBus returns a Bus; call SetLocal, then Start.
func NewBus(cfg Config) *Bus {
	cfg = cfg.withDefaults()
	m := cfg.Metrics
	if m == nil {
		m = NewMetrics(noRegistry{})
	}
	return &Bus{
		cfg: cfg,
		log: cfg.Logger,
		m:   m,
		out: make(chan outEvent, cfg.QueueSize),
		in:  make(chan []byte, cfg.QueueSize),

		activityRefs: make(chan uuid.UUID, cfg.QueueSize),
	}
}

// SetLocal sets the node's gateway. Call it before Start.
func (b *Bus) SetLocal(l Local) { b.local = l }

// Node is this node's id.
func (b *Bus) Node() string { return b.cfg.Node }

// Start starts the listener, the dispatcher and the publisher. The
// listener connects in the background (and retries), so a database that is
// down at start does not stop the node.
func (b *Bus) Start(context.Context) error {
	if b.local == nil {
		return errors.New("cluster bus: SetLocal before Start")
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.wg.Add(4)
	go func() { defer b.wg.Done(); b.listen(ctx) }()
	go func() { defer b.wg.Done(); b.dispatch(ctx) }()
	go func() { defer b.wg.Done(); b.publish(ctx) }()
	go func() { defer b.wg.Done(); b.loadActivity(ctx) }()
	return nil
}

// Stop publishes what is queued (within ctx), then stops every goroutine.
func (b *Bus) Stop(ctx context.Context) error {
	b.stopMu.Lock()
	defer b.stopMu.Unlock()
	if b.cancel == nil {
		return nil // not started, or stopped already
	}
	defer func() { b.cancel = nil }()
	// Let the publisher drain what is queued, within ctx.
	for len(b.out) > 0 {
		select {
		case <-ctx.Done():
			b.cancel()
			b.wg.Wait()
			return fmt.Errorf("cluster bus stop: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	b.cancel()
	b.wg.Wait()
	return nil
}

// MessageCreated implements chat.Broadcaster.
func (b *Bus) MessageCreated(msg chat.Message, exceptSocketID string) {
	b.local.MessageCreated(msg, exceptSocketID)
	data, _ := msg.MarshalJSON()
	b.Publish(Event{Kind: KindMessage, Conversation: msg.ConversationID, Seq: msg.Seq, Socket: exceptSocketID, Data: data})
}

// ConversationUpdated implements chat.Broadcaster: the local gateway
// delivers it and publishes it through ConversationEvent.
func (b *Bus) ConversationUpdated(conv uuid.UUID, status chat.Status) {
	b.local.ConversationUpdated(conv, status)
}

// ConversationActivity implements chat.Broadcaster, like ConversationUpdated.
func (b *Bus) ConversationActivity(item chat.InboxItem) {
	b.local.ConversationActivity(item)
}

// Typing publishes a local socket's typing indicator (body is the `typing`
// event) for the other nodes.
func (b *Bus) Typing(conv uuid.UUID, socket string, body json.RawMessage) {
	b.Publish(Event{Kind: KindTyping, Conversation: conv, Socket: socket, Data: body})
}

// ConversationEvent publishes conversation-updated or
// conversation-activity (body is the event's payload) for the other nodes.
func (b *Bus) ConversationEvent(kind string, conv uuid.UUID, body json.RawMessage) {
	b.Publish(Event{Kind: Kind(kind), Conversation: conv, Data: body})
}

// ReplaceSocket asks node to replace its socket.
func (b *Bus) ReplaceSocket(node, socket string) {
	b.Publish(Event{Kind: KindSessionReplaced, Target: node, Socket: socket})
}

// Publish queues e for the other nodes without waiting; a full queue drops
// it (counted as dropped_out).
func (b *Bus) Publish(e Event) {
	e.Node = b.cfg.Node
	e.N = b.n.Add(1)
	p, err := encode(e)
	if err != nil {
		b.log.Error("bus event not published", "kind", e.Kind, "error", err)
		b.m.Events.WithLabelValues("dropped_out", string(e.Kind)).Inc()
		return
	}
	select {
	case b.out <- outEvent{kind: e.Kind, payload: string(p)}:
	default:
		b.m.Events.WithLabelValues("dropped_out", string(e.Kind)).Inc()
	}
}

// publish sends what is queued in batches: one statement, one round trip
// and one autocommit transaction for everything queued meanwhile (a group
// commit's broadcasts arrive together, so they leave together). The
// notifications go out after the sends committed, never inside their
// transactions, where NOTIFY's cluster-wide lock would serialise commits.
func (b *Bus) publish(ctx context.Context) {
	batch := make([]outEvent, 0, b.cfg.BatchMax)
	payloads := make([]string, 0, b.cfg.BatchMax)
	for {
		var first outEvent
		select {
		case first = <-b.out:
		case <-ctx.Done():
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < b.cfg.BatchMax {
			select {
			case e := <-b.out:
				batch = append(batch, e)
			default:
				break fill
			}
		}
		payloads = payloads[:0]
		for _, e := range batch {
			payloads = append(payloads, e.payload)
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := b.cfg.Pool.Exec(qctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", b.cfg.Channel, payloads)
		cancel()
		dir := "out"
		if err != nil {
			// The receivers' gap checks recover lost messages; typing
			// and the rest are ephemeral.
			dir = "dropped_out"
			if ctx.Err() == nil {
				b.log.Warn("bus publish failed", "events", len(batch), "error", err)
			}
		}
		for _, e := range batch {
			b.m.Events.WithLabelValues(dir, string(e.kind)).Inc()
		}
	}
}

// listen keeps one dedicated connection LISTENing, reconnecting with
// backoff. Its reader only queues payloads (never blocks: one stalled
// listener holds the notification queue back for the whole database).
func (b *Bus) listen(ctx context.Context) {
	backoff := 50 * time.Millisecond
	connected := false
	for ctx.Err() == nil {
		err := b.listenOnce(ctx, func() {
			backoff = 50 * time.Millisecond
			if connected {
				// Anything published while we were away is lost.
				b.requestResync()
			}
			connected = true
		})
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("bus listener lost its connection; reconnecting", "error", err, "backoff", backoff.String())
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, b.cfg.ReconnectMax)
	}
}

func (b *Bus) listenOnce(ctx context.Context, onListening func()) error {
	cc := b.cfg.Pool.Config().ConnConfig.Copy()
	cc.RuntimeParams["application_name"] = ListenerApplicationName(b.cfg.Node)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cc)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.cfg.Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	onListening()
	for {
		wctx, cancel := context.WithTimeout(ctx, b.cfg.PingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
				// Quiet: make sure the connection is still there.
				pctx, cancel := context.WithTimeout(ctx, b.cfg.PingInterval)
				err = conn.Ping(pctx)
				cancel()
				if err == nil {
					continue
				}
			}
			return err
		}
		select {
		case b.in <- []byte(n.Payload):
		default:
			b.m.Events.WithLabelValues("dropped_in", "unknown").Inc()
			b.requestResync()
		}
	}
}

// requestResync asks the dispatcher to have the gateway check for gaps,
// once however many times it is asked before it gets to it.
func (b *Bus) requestResync() {
	b.resyncPending.Store(true)
	select {
	case b.in <- nil: // wakes the dispatcher
	default: // the queue is full: the dispatcher will see the flag
	}
}

func (b *Bus) dispatch(ctx context.Context) {
	for {
		var p []byte
		select {
		case p = <-b.in:
		case <-ctx.Done():
			return
		}
		if b.resyncPending.Swap(false) {
			b.local.Resync()
		}
		if p == nil || b.own(p) {
			continue
		}
		e, err := decode(p)
		if err != nil {
			b.log.Warn("bus event ignored", "error", err)
			continue
		}
		if e.Node == b.cfg.Node {
			continue
		}
		if b.cfg.DropReceived != nil && b.cfg.DropReceived(e) {
			continue
		}
		b.m.Events.WithLabelValues("in", string(e.Kind)).Inc()
		b.deliver(e)
	}
}

// own reports, without decoding it, whether a payload is this node's own
// event (every node hears its own notifications): encode writes the kind
// first and the node second, and node ids need no escaping.
func (b *Bus) own(p []byte) bool {
	i := bytes.Index(p, []byte(`","n":"`))
	if i < 0 || i > 64 {
		return false
	}
	rest := p[i+len(`","n":"`):]
	return len(rest) > len(b.cfg.Node) && string(rest[:len(b.cfg.Node)]) == b.cfg.Node && rest[len(b.cfg.Node)] == '"'
}

func (b *Bus) deliver(e Event) {
	switch e.Kind {
	case KindMessage:
		if len(e.Data) == 0 {
			b.local.RemoteMessageRef(e.Conversation, e.Seq)
			return
		}
		var msg chat.Message
		if err := json.Unmarshal(e.Data, &msg); err != nil {
			b.log.Warn("bus message ignored", "error", err)
			b.local.RemoteMessageRef(e.Conversation, e.Seq)
			return
		}
		b.local.RemoteMessage(msg, e.Socket)
	case KindTyping:
		b.local.RemoteTyping(e.Node, e.Conversation, e.Socket, e.Data)
	case KindConversationActivity:
		if len(e.Data) > 0 {
			b.local.RemoteConversationEvent(string(e.Kind), e.Conversation, e.Data)
			return
		}
		select {
		case b.activityRefs <- e.Conversation:
		default:
			b.m.Events.WithLabelValues("dropped_in", string(e.Kind)).Inc()
		}
	case KindConversationUpdated:
		b.local.RemoteConversationEvent(string(e.Kind), e.Conversation, e.Data)
	case KindSessionReplaced:
		if e.Target == b.cfg.Node {
			b.local.ReplaceSocket(e.Socket)
		}
	default:
		// A newer node's kind: ignore it, so nodes of two versions can run
		// side by side during a rolling deploy.
	}
}

// loadActivity reads the inbox items of the conversation-activity events
// that came as references and hands them to the gateway. A later event
// may overtake one being read; the item read is the conversation as it is
// now, at least as new as the one referred to.
func (b *Bus) loadActivity(ctx context.Context) {
	for {
		var conv uuid.UUID
		select {
		case conv = <-b.activityRefs:
		case <-ctx.Done():
			return
		}
		if b.cfg.Inbox == nil {
			b.log.Error("conversation-activity reference dropped: the bus has no Inbox to read it from", "conversation_id", conv)
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		item, err := b.cfg.Inbox.InboxItem(qctx, conv)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("conversation-activity not read back", "conversation_id", conv, "error", err)
			}
			continue
		}
		wire, err := item.MarshalJSON()
		if err != nil {
			b.log.Error("conversation-activity not encoded", "conversation_id", conv, "error", err)
			continue
		}
		b.local.RemoteConversationEvent(string(KindConversationActivity), conv, wire)
	}
}
