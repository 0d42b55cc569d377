package gateway

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

// SeqReader tells where conversations stand: the last seq each has
// committed (postgres.Store implements it).
type SeqReader interface {
	LastSeqs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int64, error)
}

// cursor puts one conversation's messages in seq order for the sockets of
// its room on this node (contract §4, Order). Every message goes through
// it, whether this node committed it or another node did: next is the seq
// the room expects; one that comes early waits in early for OrderWait,
// then the missing ones are read from the database (a gap fill), since a
// seq that is visible means every seq below it has committed (they share
// the conversation's row lock).
//
// A cursor starts unknown (next 0): the room was just created and the
// conversation's last seq is being read. Messages meanwhile wait in early;
// the cursor then starts at the lowest of them or at last seq + 1,
// whichever is lower, so nothing committed after the socket joined is
// skipped.
//
// The per-socket stream (replay after auth.lastSeq) sits behind the
// cursor: it filters what the socket already has and holds live messages
// while its replay runs.
type cursor struct {
	mu      sync.Mutex
	next    int64
	early   map[int64]offered
	timer   *time.Timer
	filling bool
	again   bool // a fill was asked for while one ran
	closed  bool
	// seen is the conversation's last seq at the previous periodic check:
	// a cursor still at or below it has been behind for a whole interval.
	seen int64
}

// offered is a message waiting in a cursor.
type offered struct {
	msg    chat.Message
	wire   json.RawMessage
	except string // the sending socket, which gets message-saved instead
	filled bool   // read by a gap fill
}

func (c *cursor) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.early = nil
}

// offer hands a committed message to its conversation's room, if this
// node has one.
func (g *Gateway) offer(msg chat.Message, wire json.RawMessage, except string) {
	r := g.hub.room(msg.ConversationID)
	if r == nil {
		return
	}
	g.offerTo(r, offered{msg: msg, wire: wire, except: except})
}

func (g *Gateway) offerTo(r *room, o offered) {
	c := r.cursor
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.next == 0 && g.cfg.Seqs == nil {
		// Nothing to ask: start at the first message seen.
		c.next = o.msg.Seq
	}
	switch {
	case c.next != 0 && o.msg.Seq < c.next:
		return // delivered already
	case c.next != 0 && o.msg.Seq == c.next:
		g.emitLocked(o)
		c.next++
		g.drainLocked(r)
	default:
		if c.early == nil {
			c.early = make(map[int64]offered)
		}
		// A live copy wins over a filled one: it knows its sender.
		if prev, ok := c.early[o.msg.Seq]; !ok || (prev.filled && !o.filled) {
			c.early[o.msg.Seq] = o
		}
		if c.next != 0 {
			g.armFillLocked(r)
		}
	}
}

// emitLocked sends a message to every member of the room but its sender.
func (g *Gateway) emitLocked(o offered) {
	if o.filled && g.cfg.GapFills != nil {
		g.cfg.GapFills.Inc()
	}
	for _, m := range g.hub.members(o.msg.ConversationID) {
		if string(m.sess.id) == o.except {
			continue
		}
		if o.wire == nil { // encoded once, and only when someone gets it
			o.wire = encodeMessage(o.msg)
		}
		m.stream.deliver(m.sess, o.msg, o.wire)
	}
}

// drainLocked delivers the early messages that are now in order, forgets
// those already passed, and keeps the fill timer armed while a gap remains.
func (g *Gateway) drainLocked(r *room) {
	c := r.cursor
	for len(c.early) > 0 {
		o, ok := c.early[c.next]
		if !ok {
			break
		}
		delete(c.early, c.next)
		g.emitLocked(o)
		c.next++
	}
	for seq := range c.early {
		if seq < c.next {
			delete(c.early, seq)
		}
	}
	if len(c.early) == 0 {
		if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
		return
	}
	g.armFillLocked(r)
}

func (g *Gateway) armFillLocked(r *room) {
	c := r.cursor
	if c.timer != nil || c.closed {
		return
	}
	c.timer = time.AfterFunc(g.cfg.OrderWait, func() {
		c.mu.Lock()
		c.timer = nil
		c.mu.Unlock()
		g.fill(r)
	})
}

// fill reads from the database the messages after the room's cursor and
// offers them, so a gap the bus left is closed.
func (g *Gateway) fill(r *room) {
	c := r.cursor
	c.mu.Lock()
	if c.closed || c.next == 0 {
		c.mu.Unlock()
		return
	}
	if c.filling {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.filling = true
	after := c.next - 1
	c.mu.Unlock()

	conv := r.conv
	for {
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
		page, err := g.svc.Replay(ctx, conv, after)
		cancel()
		if err != nil {
			g.log.Warn("gap fill failed; retrying at the next check", "conversation_id", conv.String(), "error", err)
			break
		}
		for _, m := range page.Messages {
			g.offerTo(r, offered{msg: m, filled: true})
			after = m.Seq
		}
		if !page.HasMore {
			break
		}
	}

	c.mu.Lock()
	c.filling = false
	again := c.again
	c.again = false
	if !again && len(c.early) > 0 && !c.closed {
		g.armFillLocked(r)
	}
	c.mu.Unlock()
	if again {
		g.fill(r)
	}
}

// joinRoom puts sess in conv's room. When this node has no room for conv
// yet, the conversation's last seq is read before the socket joins and
// the new room's cursor starts right after it: every message committed
// later is then either in the socket's replay or reaches the cursor live.
// (Read after the join, as initCursor does, the last seq can include a
// message committed meanwhile whose bus event is still in flight; the
// cursor would drop that event as delivered and a socket whose replay
// snapshot predates the commit would never get it.)
func (g *Gateway) joinRoom(sess *session, conv uuid.UUID, replayFrom *int64) (*stream, bool) {
	if g.cfg.Seqs != nil && g.hub.room(conv) == nil {
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
		last, err := g.cfg.Seqs.LastSeqs(ctx, []uuid.UUID{conv})
		cancel()
		if err == nil {
			known := last[conv]
			return g.hub.join(sess, conv, replayFrom, &known)
		}
		// The database did not answer: the room's cursor reads it later
		// (initCursor, then the periodic check).
	}
	return g.hub.join(sess, conv, replayFrom, nil)
}

// initCursor starts a new room's cursor where the conversation stands.
func (g *Gateway) initCursor(r *room) {
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
	defer cancel()
	last, err := g.cfg.Seqs.LastSeqs(ctx, []uuid.UUID{r.conv})
	if err != nil {
		g.log.Warn("could not read a conversation's last seq; retrying at the next check", "conversation_id", r.conv.String(), "error", err)
		return
	}
	g.startCursor(r, last[r.conv])
}

// startCursor sets an unknown cursor: at last+1, or at the lowest early
// message when that is lower.
func (g *Gateway) startCursor(r *room, last int64) {
	c := r.cursor
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.next != 0 {
		return
	}
	c.next = last + 1
	for seq := range c.early {
		c.next = min(c.next, seq)
	}
	g.drainLocked(r)
}

// Resync checks, for every conversation this node has sockets in, whether
// the database has messages the room has not seen, and fills them at once.
// The bus calls it when it may have missed traffic (its listener
// reconnected, its receive queue overflowed). It does not wait.
func (g *Gateway) Resync() { g.checkGaps(true) }

// CheckGaps is the periodic check (the cluster heartbeat calls it every few
// seconds): it fills the rooms that were already behind at the previous
// check, so messages merely in flight (committed, not yet broadcast) are
// not read twice.
func (g *Gateway) CheckGaps() { g.checkGaps(false) }

func (g *Gateway) checkGaps(now bool) {
	if g.cfg.Seqs == nil || !g.resyncing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer g.resyncing.Store(false)
		rooms := g.hub.roomList()
		if len(rooms) == 0 {
			return
		}
		ids := make([]uuid.UUID, 0, len(rooms))
		for conv := range rooms {
			ids = append(ids, conv)
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
		last, err := g.cfg.Seqs.LastSeqs(ctx, ids)
		cancel()
		if err != nil {
			g.log.Warn("gap check failed", "error", err)
			return
		}
		for conv, r := range rooms {
			c := r.cursor
			c.mu.Lock()
			known := c.next != 0
			behind := known && last[conv] >= c.next && (now || c.seen >= c.next)
			c.seen = last[conv]
			c.mu.Unlock()
			switch {
			case !known:
				g.startCursor(r, last[conv])
			case behind:
				g.fill(r)
			}
		}
	}()
}
