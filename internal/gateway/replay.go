package gateway

import (
	"cmp"
	"context"
	"slices"

	"github.com/chatgw/chatgw/internal/chat"
)

// startReplay sends a reconnecting socket the messages of its conversation
// after auth.lastSeq, in seq order, exactly once, without interleaving
// with live broadcasts:
//
//  1. The socket joined the room with its stream replaying (hub.join)
//     before the query runs, so every message committed after the query's
//     snapshot reaches the stream as a live broadcast (broadcasts happen
//     after commit) and waits in pending.
//  2. The replayed messages go out, and the watermark moves to the last
//     of them.
//  3. pending goes out in seq order, minus what the replay already sent
//     (a message committed before the query but broadcast after the join
//     is in both).
//
// Steps 2 and 3 run under the stream's lock, which live delivery also
// takes, so nothing slips in between. The query runs without the lock, so
// senders never wait on a replay.
//
// At most chat.MaxReplay messages are replayed; when there are more, the
// client sees a gap in seq and pages the rest with client-get-history.
func (g *Gateway) startReplay(sess *session, st *stream) {
	if !g.begin() {
		st.finishReplay(sess, nil)
		return
	}
	go func() {
		defer g.end()
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
		defer cancel()
		page, err := g.svc.Replay(ctx, sess.conversationID, *sess.lastSeq)
		if err != nil {
			sess.log.Error("replay failed", "error", err)
			g.metrics.Events.WithLabelValues("replay", string(chat.CodeInternal)).Inc()
			_ = sess.socket.Emit("error", map[string]any{
				"code":    chat.CodeInternal,
				"message": "could not replay missed messages; fetch them with client-get-history",
				"event":   "replay",
			})
			st.finishReplay(sess, nil)
			return
		}
		g.metrics.Events.WithLabelValues("replay", "ok").Inc()
		sess.log.Debug("replayed missed messages", "count", len(page.Messages), "has_more", page.HasMore)
		st.finishReplay(sess, page.Messages)
	}()
}

func (st *stream) finishReplay(sess *session, replayed []chat.Message) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, m := range replayed {
		if m.Seq > st.watermark {
			_ = sess.socket.Emit("message", m)
			st.watermark = m.Seq
		}
	}
	// Concurrent sends can be broadcast out of commit order; put the ones
	// that waited in order.
	slices.SortFunc(st.pending, func(a, b chat.Message) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, m := range st.pending {
		if m.Seq > st.watermark {
			_ = sess.socket.Emit("message", m)
		}
	}
	st.pending = nil
	st.replaying = false
}
