package gateway

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/payload"
)

// authenticate is the handshake middleware (contract §4): a JWT in
// auth.token, else an anonymous conversationId + session_token, else
// UNAUTHORIZED. Credentials are read from auth only, never the query string.
func (g *Gateway) authenticate(s *socket.Socket, next func(*socket.ExtendedError)) {
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.EventTimeout)
	defer cancel()

	sess, err := g.identify(ctx, s.Handshake().Auth)
	if err != nil {
		ce := chat.ClientError(err)
		g.metrics.Handshakes.WithLabelValues(string(ce.Code)).Inc()
		attrs := []any{"socket_id", string(s.Id()), "code", ce.Code}
		if ce.Code == chat.CodeInternal {
			g.log.Error("handshake failed", append(attrs, "error", err)...)
		} else {
			g.log.Info("handshake rejected", attrs...)
		}
		next(socket.NewExtendedError(ce.Message, map[string]any{"code": ce.Code}))
		return
	}
	g.metrics.Handshakes.WithLabelValues("ok").Inc()
	s.SetData(sess)
	next(nil)
}

func (g *Gateway) identify(ctx context.Context, auth map[string]any) (*session, error) {
	if token, present := auth["token"]; present && token != nil && token != "" {
		return g.identifyUser(ctx, auth, token)
	}
	rawConv, hasConv := auth["conversationId"]
	rawToken, hasToken := auth["session_token"]
	if !hasConv && !hasToken {
		return nil, chat.ErrUnauthorized
	}
	convStr, ok1 := rawConv.(string)
	tokenStr, ok2 := rawToken.(string)
	convID, err := payload.ParseUUID(convStr)
	if !ok1 || !ok2 || tokenStr == "" || err != nil {
		return nil, chat.ErrSessionInvalid
	}
	id, err := g.svc.AuthenticateSession(ctx, convID, tokenStr)
	if err != nil {
		return nil, err
	}
	return &session{identity: id, conversationID: convID}, nil
}

func (g *Gateway) identifyUser(ctx context.Context, auth map[string]any, rawToken any) (*session, error) {
	token, ok := rawToken.(string)
	if !ok {
		return nil, &chat.Error{Code: chat.CodeTokenInvalid, Message: "token must be a string"}
	}
	id, err := g.cfg.Verifier.Verify(token)
	if err != nil {
		return nil, err
	}
	sess := &session{identity: id}
	rawConv, present := auth["conversationId"]
	if !present || rawConv == nil {
		return sess, nil
	}
	convStr, ok := rawConv.(string)
	convID, err := payload.ParseUUID(convStr)
	if !ok || err != nil {
		return nil, chat.ValidationError(chat.FieldError{Field: "conversationId", Message: "must be a UUID string"})
	}
	if _, err := g.svc.Authorize(ctx, id, convID); err != nil {
		return nil, err
	}
	sess.conversationID = convID
	return sess, nil
}

// allowRequest refuses browser handshakes from origins that are not
// allowed. Browsers do not apply CORS to WebSocket upgrades, so the Origin
// header must be checked here; clients that send no Origin (native apps,
// servers) are not browsers and pass.
func (g *Gateway) allowRequest(ctx *types.HttpContext) error {
	r := ctx.Request()
	origin := r.Header.Get("Origin")
	if origin == "" || originAllowed(g.cfg.CORSOrigins, origin, r.Host) {
		return nil
	}
	return errors.New("origin not allowed")
}

func originAllowed(allowed []string, origin, host string) bool {
	if slices.Contains(allowed, "*") || slices.Contains(allowed, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, host)
}

// corsOptions answers browsers' CORS checks on the polling transport.
func corsOptions(origins []string) *types.Cors {
	if len(origins) == 0 {
		return nil
	}
	if slices.Contains(origins, "*") {
		return &types.Cors{Origin: "*"}
	}
	return &types.Cors{Origin: origins, Credentials: true}
}
