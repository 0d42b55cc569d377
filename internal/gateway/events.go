package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/payload"
)

// eventHandler handles one client event whose payload decoded to an
// object. It returns the ack body's fields besides ok:true.
type eventHandler func(ctx context.Context, s *socket.Socket, sess *session, event string, p *payload.Object) (map[string]any, error)

// on registers h for event with the work every event shares: payload
// decoding, a deadline, shutdown tracking, metrics, and the one translation
// of errors into what the client sees.
func (g *Gateway) on(s *socket.Socket, sess *session, event string, h eventHandler) {
	_ = s.On(event, func(args ...any) {
		ack, args := splitAck(args)
		if err := sess.spend(); err != nil {
			g.metrics.RateLimited.WithLabelValues("event").Inc()
			if isSend(event) {
				// A refused send counts toward its conversation's flood
				// (the handshake's: the payload is not read).
				g.cfg.Guard.RateLimited(conversationKey(sess.conversationID))
			}
			g.fail(s, sess, event, ack, err)
			return
		}
		result, err := g.dispatch(s, sess, event, args, h)
		if err != nil {
			g.fail(s, sess, event, ack, err)
			return
		}
		g.metrics.Events.WithLabelValues(event, "ok").Inc()
		if ack != nil {
			body := map[string]any{"ok": true}
			for k, v := range result {
				body[k] = v
			}
			ack([]any{body}, nil)
		}
	})
}

func (g *Gateway) dispatch(s *socket.Socket, sess *session, event string, args []any, h eventHandler) (map[string]any, error) {
	if !g.begin() {
		return nil, &chat.Error{Code: chat.CodeInternal, Message: "server is shutting down; reconnect and retry"}
	}
	defer g.end()
	p, err := payload.FromEventArgs(args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
	defer cancel()
	return h(ctx, s, sess, event, p)
}

// spend takes one event from the socket's budget (contract §4: every
// client event counts); over it, RATE_LIMITED with the wait.
func (sess *session) spend() error {
	if sess.budget == nil {
		return nil
	}
	now := time.Now()
	r := sess.budget.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused event takes no future token
		return &chat.Error{Code: chat.CodeRateLimited, Message: "too many events from this socket; slow down", RetryAfter: d}
	}
	return nil
}

func isSend(event string) bool {
	return event == "client-send-message" || event == "client-send-user" || event == "client-send-tecnico"
}

// conversationKey is the guard's key of a conversation ("" for none).
func conversationKey(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// splitAck separates the acknowledgement callback, which the client adds
// as the last argument when it asked for one.
func splitAck(args []any) (socket.Ack, []any) {
	if n := len(args); n > 0 {
		if ack, ok := args[n-1].(socket.Ack); ok {
			return ack, args[:n-1]
		}
	}
	return nil, args
}

// fail tells the client what went wrong: an `error` or `validation-error`
// event, and the ack when there is one. Unknown errors reach the client as
// INTERNAL; their detail goes to the log only.
func (g *Gateway) fail(s *socket.Socket, sess *session, event string, ack socket.Ack, err error) {
	ce := chat.ClientError(err)
	g.metrics.Events.WithLabelValues(event, string(ce.Code)).Inc()
	log := sess.log.With("event", event, "code", ce.Code)
	switch ce.Code {
	case chat.CodeInternal:
		log.Error("event failed", "error", err)
	case chat.CodeRateLimited:
		log.Warn("event rejected")
	default:
		log.Info("event rejected")
	}

	body := map[string]any{"code": ce.Code, "message": ce.Message}
	if ce.Code == chat.CodeRateLimited {
		body["retryAfterMs"] = retryAfterMs(ce.RetryAfter)
	}
	if ce.Code == chat.CodeValidationFailed {
		body["fields"] = fieldsOrEmpty(ce.Fields)
	}
	ackBody := map[string]any{"ok": false, "error": body}

	eventBody := map[string]any{"event": event}
	for k, v := range body {
		eventBody[k] = v
	}
	name := "error"
	if ce.Code == chat.CodeValidationFailed {
		name = "validation-error"
	}
	_ = s.Emit(name, eventBody)
	if ack != nil {
		ack([]any{ackBody}, nil)
	}
}

func fieldsOrEmpty(f []chat.FieldError) []chat.FieldError {
	if f == nil {
		return []chat.FieldError{}
	}
	return f
}

// begin registers an event in flight; false once shutdown has begun.
func (g *Gateway) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining {
		return false
	}
	g.inflight++
	return true
}

func (g *Gateway) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if g.draining && g.inflight == 0 {
		close(g.idle)
	}
}

// retryAfterMs rounds up, so a client that waits that long is let through.
func retryAfterMs(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}

func (g *Gateway) sendMessage(asTechnician bool) eventHandler {
	return func(ctx context.Context, s *socket.Socket, sess *session, event string, p *payload.Object) (map[string]any, error) {
		if event == "client-send-user" {
			g.metrics.DeprecatedEvents.WithLabelValues(event).Inc()
			if sess.warnedDeprecated.CompareAndSwap(false, true) {
				sess.log.Warn("deprecated event used; switch to client-send-message", "event", event)
			}
		}
		in, err := decodeSend(p, sess.conversationID, asTechnician)
		if err != nil {
			return nil, err
		}
		in.SocketID = string(s.Id())
		res, err := g.svc.SendMessage(ctx, sess.identity, in)
		if err != nil {
			if chat.ErrorCode(err) == chat.CodeRateLimited {
				g.metrics.RateLimited.WithLabelValues("message").Inc()
				g.cfg.Guard.RateLimited(conversationKey(in.ConversationID))
			}
			return nil, err
		}
		if sess.identity.Kind == chat.IdentityUser {
			// An owner or technician who writes to a conversation follows it.
			g.joinRoom(sess, in.ConversationID, nil)
		}
		// Sent again on a repeated clientMessageId: the client retried
		// because it missed the first answer.
		msg := encodeMessage(res.Message)
		_ = s.Emit("message-saved", msg)
		return map[string]any{"message": msg}, nil
	}
}

// decodeSend reads a send's payload. client-send-tecnico always names its
// conversation; the others default to the handshake's.
func decodeSend(p *payload.Object, handshakeConv uuid.UUID, asTechnician bool) (chat.SendInput, error) {
	fallback := handshakeConv
	if asTechnician {
		fallback = uuid.Nil
	}
	in := chat.SendInput{
		ConversationID:  p.UUID("conversationId", fallback),
		Content:         p.String("content"),
		ClientMessageID: p.OptionalString("clientMessageId"),
		AsTechnician:    asTechnician,
	}
	return in, p.Err()
}

func (g *Gateway) joinConversation(ctx context.Context, _ *socket.Socket, sess *session, _ string, p *payload.Object) (map[string]any, error) {
	id, err := decodeConversationID(p)
	if err != nil {
		return nil, err
	}
	if _, err := g.svc.Authorize(ctx, sess.identity, id); err != nil {
		return nil, err
	}
	g.joinRoom(sess, id, nil)
	return map[string]any{"conversationId": id}, nil
}

func (g *Gateway) leaveConversation(_ context.Context, _ *socket.Socket, sess *session, _ string, p *payload.Object) (map[string]any, error) {
	id, err := decodeConversationID(p)
	if err != nil {
		return nil, err
	}
	g.stopTyping(sess, id)
	g.hub.leave(sess, id)
	return map[string]any{"conversationId": id}, nil
}

// decodeConversationID reads the required conversationId of join and leave.
func decodeConversationID(p *payload.Object) (uuid.UUID, error) {
	id := p.UUID("conversationId", uuid.Nil)
	return id, requireID(p, id)
}

func (g *Gateway) getHistory(ctx context.Context, _ *socket.Socket, sess *session, _ string, p *payload.Object) (map[string]any, error) {
	in, err := decodeHistory(p, sess.conversationID)
	if err != nil {
		return nil, err
	}
	page, err := g.svc.History(ctx, sess.identity, in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"messages": page.Messages, "hasMore": page.HasMore}, nil
}

// decodeHistory reads client-get-history's payload.
func decodeHistory(p *payload.Object, handshakeConv uuid.UUID) (chat.HistoryInput, error) {
	in := chat.HistoryInput{
		ConversationID: p.UUID("conversationId", handshakeConv),
		AfterSeq:       p.Int("afterSeq", 0),
	}
	if in.AfterSeq < 0 {
		p.Fail("afterSeq", "must be at least 0")
	}
	if p.Present("limit") {
		limit, ok := p.Int("limit", 0), !p.HasErrors()
		if ok && (limit < 1 || limit > chat.MaxHistoryLimit) {
			p.Fail("limit", fmt.Sprintf("must be between 1 and %d", chat.MaxHistoryLimit))
		}
		in.Limit = int(limit)
	}
	if in.ConversationID == uuid.Nil && !p.HasErrors() {
		p.Fail("conversationId", "is required")
	}
	return in, p.Err()
}

// requireID adds a "required" field error when id is missing.
func requireID(p *payload.Object, id uuid.UUID) error {
	if id == uuid.Nil && !p.HasErrors() {
		p.Fail("conversationId", "is required")
	}
	return p.Err()
}

// joinInbox: the socket follows every conversation's activity
// (conversation-activity), technicians only.
func (g *Gateway) joinInbox(_ context.Context, _ *socket.Socket, sess *session, _ string, _ *payload.Object) (map[string]any, error) {
	if err := g.svc.WatchInbox(sess.identity); err != nil {
		return nil, err
	}
	g.hub.joinInbox(sess)
	return nil, nil
}

func (g *Gateway) leaveInbox(_ context.Context, _ *socket.Socket, sess *session, _ string, _ *payload.Object) (map[string]any, error) {
	g.hub.leaveInbox(sess)
	return nil, nil
}
