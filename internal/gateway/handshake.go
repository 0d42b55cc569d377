package gateway

import (
	"context"

	"github.com/google/uuid"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"golang.org/x/time/rate"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/payload"
)

// authenticate is the handshake middleware (contract §4): a JWT in
// auth.token, else an anonymous conversationId + session_token, else
// UNAUTHORIZED. Credentials are read from auth only, never the query string.
func (g *Gateway) authenticate(s *socket.Socket, next func(*socket.ExtendedError)) {
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
	defer cancel()

	es := g.engineSession(s.Conn())
	var sess *session
	// The IP's block and handshake limit come before any token is
	// verified or database row read, so a flood costs little.
	err := g.admitConnect(es)
	if err == nil {
		sess, err = g.identify(ctx, s.Handshake().Auth)
	}
	if err != nil {
		ce := chat.ClientError(err)
		g.metrics.Handshakes.WithLabelValues(string(ce.Code)).Inc()
		attrs := []any{"socket_id", string(s.Id()), "code", ce.Code}
		data := map[string]any{"code": ce.Code}
		switch ce.Code {
		case chat.CodeInternal:
			g.log.Error("handshake failed", append(attrs, "error", err)...)
		case chat.CodeRateLimited:
			g.metrics.RateLimited.WithLabelValues("connect").Inc()
			data["retryAfterMs"] = retryAfterMs(ce.RetryAfter)
			g.log.Warn("handshake rejected", attrs...)
		default:
			g.log.Info("handshake rejected", attrs...)
		}
		g.noteAuthFailure(es.ip, ce.Code, s.Handshake().Auth)
		next(socket.NewExtendedError(ce.Message, data))
		return
	}
	g.metrics.Handshakes.WithLabelValues("ok").Inc()
	g.admit(s, sess)
	next(nil)
}

// noteAuthFailure tells the anomaly guard of a failed authentication
// (contract §6): SESSION_INVALID and TOKEN_INVALID count against the IP
// (TOKEN_EXPIRED is an honest client's stale token), and a wrong session
// token against the conversation it was tried on.
func (g *Gateway) noteAuthFailure(ip string, code chat.Code, auth map[string]any) {
	if code != chat.CodeSessionInvalid && code != chat.CodeTokenInvalid {
		return
	}
	g.cfg.Guard.AuthFailed(ip)
	if code == chat.CodeSessionInvalid {
		if raw, ok := auth["conversationId"].(string); ok {
			if id, err := payload.ParseUUID(raw); err == nil {
				g.cfg.Guard.WrongSessionToken(id.String())
			}
		}
	}
}

// admit registers an accepted socket and puts it in its conversation's
// room before the library sends CONNECT: a client may act the moment it
// gets CONNECT, before the connection handler runs, and a message
// broadcast in that window must still reach it. Until the handler runs the
// socket's stream buffers (stream.replaying), so nothing is written before
// CONNECT.
func (g *Gateway) admit(s *socket.Socket, sess *session) {
	sess.id = s.Id()
	sess.socket = s
	if g.cfg.EventsPerSec > 0 {
		sess.budget = rate.NewLimiter(rate.Limit(g.cfg.EventsPerSec), g.cfg.EventsBurst)
	}
	sess.log = g.socketLogger(s, sess)
	s.SetData(sess)
	evicted := g.hub.register(sess)
	if sess.conversationID != uuid.Nil {
		watermark := int64(0)
		if sess.lastSeq != nil {
			watermark = *sess.lastSeq
		}
		sess.stream, _ = g.joinRoom(sess, sess.conversationID, &watermark)
	}
	// A handshake that never completes (the client leaves before CONNECT)
	// never fires "disconnect": the transport's close cleans up instead.
	conn := s.Conn()
	_ = conn.Once("close", func(...any) { g.closeSession(sess, "transport closed before connect") })
	if state := conn.ReadyState(); state != "open" {
		g.closeSession(sess, "transport "+state+" before connect")
	}
	for _, old := range evicted {
		g.replace(old)
	}
	g.registerCluster(sess)
}

// authRequest is the handshake's auth object, decoded and checked for
// shape; nothing in it is verified yet.
type authRequest struct {
	// token is auth.token when present and non-empty: the caller is a user.
	token string
	// conversationID is auth.conversationId (uuid.Nil when absent).
	conversationID uuid.UUID
	// sessionToken is auth.session_token (anonymous callers).
	sessionToken string
	// lastSeq is auth.lastSeq when present.
	lastSeq *int64
}

// parseAuth decodes the handshake auth without any I/O, so it can be
// fuzzed on its own. Errors are those of the contract: TOKEN_INVALID for a
// token that is not a string, SESSION_INVALID for malformed anonymous
// credentials, UNAUTHORIZED for none, VALIDATION_FAILED for a bad
// conversationId beside a token or a bad lastSeq.
func parseAuth(auth map[string]any) (authRequest, error) {
	var req authRequest
	if rawToken, present := auth["token"]; present && rawToken != nil && rawToken != "" {
		token, ok := rawToken.(string)
		if !ok {
			return req, &chat.Error{Code: chat.CodeTokenInvalid, Message: "token must be a string"}
		}
		req.token = token
		if rawConv, present := auth["conversationId"]; present && rawConv != nil {
			convStr, ok := rawConv.(string)
			convID, err := payload.ParseUUID(convStr)
			if !ok || err != nil {
				return req, chat.ValidationError(chat.FieldError{Field: "conversationId", Message: "must be a UUID string"})
			}
			req.conversationID = convID
		}
	} else {
		rawConv, hasConv := auth["conversationId"]
		rawSession, hasSession := auth["session_token"]
		if !hasConv && !hasSession {
			return req, chat.ErrUnauthorized
		}
		convStr, ok1 := rawConv.(string)
		sessionToken, ok2 := rawSession.(string)
		convID, err := payload.ParseUUID(convStr)
		if !ok1 || !ok2 || sessionToken == "" || err != nil {
			return req, chat.ErrSessionInvalid
		}
		req.conversationID, req.sessionToken = convID, sessionToken
	}
	if raw, present := auth["lastSeq"]; present && raw != nil {
		p, _ := payload.FromValue(map[string]any{"lastSeq": raw})
		n := p.Int("lastSeq", 0)
		if n < 0 && !p.HasErrors() {
			p.Fail("lastSeq", "must be at least 0")
		}
		if err := p.Err(); err != nil {
			return req, err
		}
		req.lastSeq = &n
	}
	return req, nil
}

func (g *Gateway) identify(ctx context.Context, auth map[string]any) (*session, error) {
	req, err := parseAuth(auth)
	if err != nil {
		return nil, err
	}
	var sess *session
	if req.token != "" {
		id, err := g.cfg.Verifier.Verify(req.token)
		if err != nil {
			return nil, err
		}
		sess = &session{identity: id}
		if req.conversationID != uuid.Nil {
			if _, err := g.svc.Authorize(ctx, id, req.conversationID); err != nil {
				return nil, err
			}
			sess.conversationID = req.conversationID
		}
	} else {
		id, err := g.svc.AuthenticateSession(ctx, req.conversationID, req.sessionToken)
		if err != nil {
			return nil, err
		}
		sess = &session{identity: id, conversationID: req.conversationID}
	}
	if sess.conversationID != uuid.Nil {
		// lastSeq means nothing without a conversation to replay.
		sess.lastSeq = req.lastSeq
	}
	return sess, nil
}
