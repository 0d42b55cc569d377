package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/payload"
)

// createConversation: anonymous without Authorization (the answer carries
// the session token, shown this once), owned by the JWT's sub with it.
func (a *API) createConversation(w http.ResponseWriter, r *http.Request) error {
	if l := a.cfg.ConversationLimiter; l != nil {
		if ok, wait := l.Allow(a.cfg.ClientIP(r)); !ok {
			a.cfg.Counters.RateLimited.WithLabelValues("conversation").Inc()
			return &chat.Error{Code: chat.CodeRateLimited, Message: "too many conversations created; retry later", RetryAfter: wait}
		}
	}
	var owner *chat.Identity
	if r.Header.Get("Authorization") != "" {
		id, err := a.bearerIdentity(r, a.cfg.Users)
		if err != nil {
			return err
		}
		owner = &id
	}
	body, err := readBody(w, r, maxConversationBody)
	if err != nil {
		return err
	}
	var metadata []byte
	if len(bytes.TrimSpace(body)) > 0 {
		p, err := payload.FromJSON(body)
		if err != nil {
			return err
		}
		metadata = p.Object("metadata")
		if err := p.Err(); err != nil {
			return err
		}
	}
	created, err := a.cfg.Service.CreateConversation(r.Context(), owner, metadata)
	if err != nil {
		return err
	}
	resp := map[string]any{
		"conversationId": created.Conversation.ID,
		"createdAt":      created.Conversation.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
	if created.SessionToken != "" {
		resp["session_token"] = created.SessionToken
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// listMessages serves history to the owner, a technician, the
// conversation's reply token, or its anonymous session (X-Session-Token).
func (a *API) listMessages(w http.ResponseWriter, r *http.Request) error {
	convID, err := pathID(r)
	if err != nil {
		return err
	}
	id, err := a.readerIdentity(r, convID)
	if err != nil {
		return err
	}
	in := chat.HistoryInput{ConversationID: convID}
	var fields []chat.FieldError
	if v := r.URL.Query().Get("afterSeq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fields = append(fields, chat.FieldError{Field: "afterSeq", Message: "must be an integer of at least 0"})
		}
		in.AfterSeq = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > chat.MaxHistoryLimit {
			fields = append(fields, chat.FieldError{Field: "limit", Message: "must be an integer between 1 and 200"})
		}
		in.Limit = n
	}
	if len(fields) > 0 {
		return chat.ValidationError(fields...)
	}
	page, err := a.cfg.Service.History(r.Context(), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": page.Messages, "hasMore": page.HasMore})
	return nil
}

// postMessage: a reply token posts as the bot, a technician's JWT as
// "tecnico". 201 for a new message, 200 when clientMessageId repeated.
func (a *API) postMessage(w http.ResponseWriter, r *http.Request) error {
	convID, err := pathID(r)
	if err != nil {
		return err
	}
	id, err := a.bearerIdentity(r, a.cfg.ReplyTokens, a.cfg.Users)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxMessageBody)
	if err != nil {
		return err
	}
	p, err := payload.FromJSON(body)
	if err != nil {
		return err
	}
	in := chat.SendInput{
		ConversationID:  convID,
		Content:         p.String("content"),
		ClientMessageID: p.OptionalString("clientMessageId"),
		AsTechnician:    id.Kind == chat.IdentityUser,
	}
	if err := p.Err(); err != nil {
		return err
	}
	res, err := a.cfg.Service.SendMessage(r.Context(), id, in)
	if chat.ErrorCode(err) == chat.CodeRateLimited {
		a.cfg.Counters.RateLimited.WithLabelValues("message").Inc()
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"message": res.Message})
	return nil
}

func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := payload.ParseUUID(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, chat.ValidationError(chat.FieldError{Field: "id", Message: "must be a UUID"})
	}
	return id, nil
}

// rotateSessionToken exchanges the conversation's session token
// (X-Session-Token) for a new one; the old one keeps working for 60 s and
// sockets already connected stay. Failures go through the one error path
// (SESSION_INVALID 401), where wrong tokens are seen like any other.
func (a *API) rotateSessionToken(w http.ResponseWriter, r *http.Request) error {
	token := r.Header.Get("X-Session-Token")
	if token == "" {
		return &chat.Error{Code: chat.CodeUnauthorized, Message: "X-Session-Token is required"}
	}
	convID, err := pathID(r)
	if err != nil {
		// A malformed id names no conversation: the same answer as an
		// unknown one, so the route tells nothing.
		return chat.ErrSessionInvalid
	}
	newToken, err := a.cfg.Service.RotateSessionToken(r.Context(), convID, token)
	if chat.ErrorCode(err) == chat.CodeSessionInvalid {
		a.cfg.Guard.WrongSessionToken(convID.String())
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]string{"session_token": newToken})
	return nil
}

// readerIdentity accepts a bearer token (user JWT or reply token) or the
// conversation's anonymous session token in X-Session-Token.
func (a *API) readerIdentity(r *http.Request, convID uuid.UUID) (chat.Identity, error) {
	if r.Header.Get("Authorization") != "" {
		return a.bearerIdentity(r, a.cfg.ReplyTokens, a.cfg.Users)
	}
	if token := r.Header.Get("X-Session-Token"); token != "" {
		id, err := a.cfg.Service.AuthenticateSession(r.Context(), convID, token)
		if chat.ErrorCode(err) == chat.CodeSessionInvalid {
			a.cfg.Guard.WrongSessionToken(convID.String())
		}
		return id, err
	}
	return chat.Identity{}, chat.ErrUnauthorized
}

// bearerIdentity verifies the Authorization bearer token with the first
// verifier that accepts it. When none does, an expired token is reported
// as TOKEN_EXPIRED, anything else as TOKEN_INVALID.
func (a *API) bearerIdentity(r *http.Request, verifiers ...TokenVerifier) (chat.Identity, error) {
	token, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return chat.Identity{}, &chat.Error{Code: chat.CodeUnauthorized, Message: "Authorization must be a Bearer token"}
	}
	var firstErr error
	for _, v := range verifiers {
		id, err := v.Verify(token)
		if err == nil {
			return id, nil
		}
		// TOKEN_EXPIRED says more than TOKEN_INVALID; a failure that is
		// not the token's (a provider's keys not loaded yet) says most.
		if firstErr == nil || chat.ErrorCode(err) == chat.CodeTokenExpired || chat.AsError(err) == nil {
			firstErr = err
		}
	}
	return chat.Identity{}, firstErr
}
