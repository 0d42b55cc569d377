package gateway

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/payload"
)

// typingState is one "typing" indicator a socket has on; its timer turns it
// off after TypingTimeout unless the client renews it. A renewal replaces
// the state, so a timer that fires late finds itself stale and does nothing.
type typingState struct {
	timer *time.Timer
}

// typing handles client-typing: the others in the room get `typing`.
// Nothing is stored. Only changes are broadcast (a client repeating
// typing:true while the user types renews the expiry silently), which also
// keeps a flood of repeats from being amplified to the room.
func (g *Gateway) typing(ctx context.Context, _ *socket.Socket, sess *session, _ string, p *payload.Object) (map[string]any, error) {
	conv, on, err := decodeTyping(p, sess.conversationID)
	if err != nil {
		return nil, err
	}
	if !g.hub.isMember(sess, conv) {
		if _, err := g.svc.Authorize(ctx, sess.identity, conv); err != nil {
			return nil, err
		}
	}
	if on {
		g.startTyping(sess, conv)
	} else {
		g.stopTyping(sess, conv)
	}
	return map[string]any{"conversationId": conv}, nil
}

// decodeTyping reads client-typing's payload: {conversationId?, typing}.
func decodeTyping(p *payload.Object, handshakeConv uuid.UUID) (uuid.UUID, bool, error) {
	conv := p.UUID("conversationId", handshakeConv)
	on := p.Bool("typing", true)
	if err := requireID(p, conv); err != nil {
		return uuid.Nil, false, err
	}
	return conv, on, nil
}

func (g *Gateway) startTyping(sess *session, conv uuid.UUID) {
	sess.typingMu.Lock()
	defer sess.typingMu.Unlock()
	if sess.closed {
		return
	}
	old := sess.typing[conv]
	if old != nil {
		old.timer.Stop()
	} else {
		g.typingActive.Add(1)
		g.broadcastTyping(sess, conv, true)
	}
	st := &typingState{}
	st.timer = time.AfterFunc(g.cfg.TypingTimeout, func() { g.expireTyping(sess, conv, st) })
	if sess.typing == nil {
		sess.typing = make(map[uuid.UUID]*typingState)
	}
	sess.typing[conv] = st
	if old == nil {
		g.hub.touch()
	}
}

func (g *Gateway) expireTyping(sess *session, conv uuid.UUID, st *typingState) {
	sess.typingMu.Lock()
	defer sess.typingMu.Unlock()
	if sess.typing[conv] != st {
		return // renewed or stopped since this timer was set
	}
	g.offLocked(sess, conv, st)
}

func (g *Gateway) stopTyping(sess *session, conv uuid.UUID) {
	sess.typingMu.Lock()
	defer sess.typingMu.Unlock()
	if st := sess.typing[conv]; st != nil {
		g.offLocked(sess, conv, st)
	}
}

// clearTyping turns off every indicator of a socket that disconnected.
func (g *Gateway) clearTyping(sess *session) {
	sess.typingMu.Lock()
	defer sess.typingMu.Unlock()
	sess.closed = true
	for conv, st := range sess.typing {
		g.offLocked(sess, conv, st)
	}
}

func (g *Gateway) offLocked(sess *session, conv uuid.UUID, st *typingState) {
	st.timer.Stop()
	delete(sess.typing, conv)
	g.typingActive.Add(-1)
	g.broadcastTyping(sess, conv, false)
	g.hub.touch()
}

// broadcastTyping tells the other sockets in the room. It runs under the
// sender's typingMu, so the others see its on/off changes in order.
func (g *Gateway) broadcastTyping(sess *session, conv uuid.UUID, on bool) {
	sender := chat.SenderUser
	if sess.identity.Technician {
		sender = chat.SenderTecnico
	}
	body := map[string]any{
		"conversationId": conv,
		"sender":         sender,
		"senderId":       sess.identity.SenderID(),
		"typing":         on,
	}
	for _, m := range g.hub.members(conv) {
		// A socket admitted but not connected yet must get nothing before
		// its CONNECT; an indicator is ephemeral, so it can skip this one.
		if m.sess != sess && m.sess.socket.Connected() {
			_ = m.sess.socket.Emit("typing", body)
		}
	}
	if g.cfg.Cluster != nil {
		wire, _ := json.Marshal(body)
		g.cfg.Cluster.Typing(conv, string(sess.id), wire)
	}
}
