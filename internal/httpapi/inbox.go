package httpapi

import (
	"net/http"
	"strconv"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/payload"
)

// maxStatusBody is far more than {"status":"closed"} needs.
const maxStatusBody = 1 << 10

// listConversations is the technicians' inbox: GET
// /v1/conversations?status=&limit=&cursor=.
func (a *API) listConversations(w http.ResponseWriter, r *http.Request) error {
	id, err := a.technicianIdentity(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	in := chat.InboxInput{Status: q.Get("status"), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > chat.MaxInboxLimit {
			return chat.ValidationError(chat.FieldError{Field: "limit", Message: "must be an integer between 1 and 100"})
		}
		in.Limit = n
	}
	if q.Has("cursor") && in.Cursor == "" {
		return chat.ValidationError(chat.FieldError{Field: "cursor", Message: "is not a cursor this server issued for this status"})
	}
	page, err := a.cfg.Service.Inbox(r.Context(), id, in)
	if err != nil {
		return err
	}
	var next *string
	if page.NextCursor != "" {
		next = &page.NextCursor
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"conversations": page.Items, "nextCursor": next})
	return nil
}

// setStatus opens or closes a conversation: POST
// /v1/conversations/{id}/status {"status":"open"|"closed"}.
func (a *API) setStatus(w http.ResponseWriter, r *http.Request) error {
	convID, err := pathID(r)
	if err != nil {
		return err
	}
	id, err := a.technicianIdentity(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxStatusBody)
	if err != nil {
		return err
	}
	p, err := payload.FromJSON(body)
	if err != nil {
		return err
	}
	status := p.String("status")
	if err := p.Err(); err != nil {
		return err
	}
	st, err := a.cfg.Service.SetStatus(r.Context(), id, convID, status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversationId": convID, "status": st})
	return nil
}

// technicianIdentity reads the bearer token of a technician's route: none
// is UNAUTHORIZED; any valid token is verified here and the service decides
// (a user without the role, or a reply token, is FORBIDDEN).
func (a *API) technicianIdentity(r *http.Request) (chat.Identity, error) {
	if r.Header.Get("Authorization") == "" {
		return chat.Identity{}, chat.ErrUnauthorized
	}
	return a.bearerIdentity(r, a.cfg.Users, a.cfg.ReplyTokens)
}
