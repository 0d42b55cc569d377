package chat

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Status is a conversation's state in the technicians' inbox.
type Status string

const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// Inbox paging limits (GET /v1/conversations).
const (
	DefaultInboxLimit = 50
	MaxInboxLimit     = 100
)

// StatusFilter selects the conversations of an inbox page.
type StatusFilter string

const (
	FilterOpen   StatusFilter = "open"
	FilterClosed StatusFilter = "closed"
	FilterAll    StatusFilter = "all"
)

// InboxItem is a conversation as the technicians' inbox shows it: the item
// of GET /v1/conversations and of the conversation-activity event.
type InboxItem struct {
	ConversationID uuid.UUID `json:"conversationId"`
	Status         Status    `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
	// LastActivityAt is the time of the last message, or the creation when
	// there is none; the inbox is ordered by it, newest first.
	LastActivityAt time.Time       `json:"lastActivityAt"`
	OwnerID        *string         `json:"ownerId"`
	Metadata       json.RawMessage `json:"metadata"`
	LastMessage    *Message        `json:"lastMessage"`
	// AwaitingReply is true when the last message is the visitor's.
	AwaitingReply bool `json:"awaitingReply"`
}

// NewInboxItem builds the item of conversation c whose last message is last
// (nil when it has none).
func NewInboxItem(c Conversation, last *Message) InboxItem {
	item := InboxItem{
		ConversationID: c.ID,
		Status:         c.Status,
		CreatedAt:      c.CreatedAt,
		LastActivityAt: c.LastActivityAt,
		LastMessage:    last,
		AwaitingReply:  last != nil && last.Sender == SenderUser,
	}
	if item.Status == "" {
		item.Status = StatusOpen
	}
	if item.LastActivityAt.IsZero() {
		item.LastActivityAt = c.CreatedAt
	}
	if c.OwnerID != "" {
		owner := c.OwnerID
		item.OwnerID = &owner
	}
	if len(bytes.TrimSpace(c.Metadata)) > 0 {
		item.Metadata = c.Metadata
	}
	return item
}

// MarshalJSON writes the times in UTC, as the contract requires.
func (i InboxItem) MarshalJSON() ([]byte, error) {
	type plain InboxItem
	p := plain(i)
	p.CreatedAt = p.CreatedAt.UTC()
	p.LastActivityAt = p.LastActivityAt.UTC()
	return json.Marshal(p)
}

// InboxPosition is a place in the inbox order (lastActivityAt, then
// conversation id, both descending): a page starts strictly after it.
type InboxPosition struct {
	LastActivityAt time.Time
	ConversationID uuid.UUID
}

// InboxQuery asks the store for a page of the inbox.
type InboxQuery struct {
	Status StatusFilter
	// After is where the previous page ended; nil for the first page.
	After *InboxPosition
	Limit int
}

// InboxInput is a request for an inbox page, as a client sends it.
type InboxInput struct {
	// Status is "open" (also when empty), "closed" or "all".
	Status string
	// Limit is 1..MaxInboxLimit; 0 means DefaultInboxLimit.
	Limit int
	// Cursor is the previous page's NextCursor; "" for the first page.
	Cursor string
}

// InboxPage is one page of the inbox, newest activity first.
type InboxPage struct {
	Items []InboxItem
	// NextCursor continues after the last item; "" when there is no more.
	NextCursor string
}

// Inbox returns a page of the conversations, by last activity, newest
// first. Technicians only.
//
// Paging is by position (keyset), not by offset, so concurrent activity
// never makes a walk repeat or skip a conversation that did not move:
// a page holds the conversations strictly older than the cursor's
// position. A conversation that gets activity during a walk moves to the
// top, above the cursor, so it is never returned twice; if the walk had
// not reached it yet, it is not returned by the walk at all but shows at
// the top of a new first page (and in conversation-activity).
func (s *Service) Inbox(ctx context.Context, id Identity, in InboxInput) (InboxPage, error) {
	if err := requireTechnician(id, CodeForbidden); err != nil {
		return InboxPage{}, err
	}
	var fields []FieldError
	filter := StatusFilter(in.Status)
	switch filter {
	case "":
		filter = FilterOpen
	case FilterOpen, FilterClosed, FilterAll:
	default:
		fields = append(fields, FieldError{Field: "status", Message: "must be open, closed or all"})
	}
	if in.Limit == 0 {
		in.Limit = DefaultInboxLimit
	}
	if in.Limit < 1 || in.Limit > MaxInboxLimit {
		fields = append(fields, FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxInboxLimit)})
	}
	var after *InboxPosition
	if in.Cursor != "" && len(fields) == 0 {
		pos, err := decodeCursor(in.Cursor, filter)
		if err != nil {
			fields = append(fields, FieldError{Field: "cursor", Message: "is not a cursor this server issued for this status"})
		}
		after = &pos
	}
	if len(fields) > 0 {
		return InboxPage{}, ValidationError(fields...)
	}
	// One extra row tells whether there is a next page.
	items, err := s.store.Inbox(ctx, InboxQuery{Status: filter, After: after, Limit: in.Limit + 1})
	if err != nil {
		return InboxPage{}, err
	}
	page := InboxPage{Items: items}
	if len(items) > in.Limit {
		page.Items = items[:in.Limit]
		last := page.Items[in.Limit-1]
		page.NextCursor = encodeCursor(filter, InboxPosition{LastActivityAt: last.LastActivityAt, ConversationID: last.ConversationID})
	}
	if page.Items == nil {
		page.Items = []InboxItem{}
	}
	return page, nil
}

// SetStatus opens or closes a conversation (technicians only). A change is
// told to the conversation's room (conversation-updated) and to the inbox
// (conversation-activity); setting the status it already has changes
// nothing and tells nobody.
func (s *Service) SetStatus(ctx context.Context, id Identity, conversationID uuid.UUID, status string) (Status, error) {
	if err := requireTechnician(id, CodeForbidden); err != nil {
		return "", err
	}
	st := Status(status)
	if st != StatusOpen && st != StatusClosed {
		return "", ValidationError(FieldError{Field: "status", Message: "must be open or closed"})
	}
	item, changed, err := s.store.SetStatus(ctx, conversationID, st)
	if err != nil {
		return "", err
	}
	if changed && s.broadcaster != nil {
		s.broadcaster.ConversationUpdated(conversationID, item.Status)
		s.broadcaster.ConversationActivity(item)
	}
	return item.Status, nil
}

// WatchInbox checks that id may follow the inbox's live feed
// (client-join-inbox): anonymous visitors are UNAUTHORIZED, users without a
// technician role FORBIDDEN.
func (s *Service) WatchInbox(id Identity) error {
	return requireTechnician(id, CodeUnauthorized)
}

// requireTechnician lets technicians through; other signed-in users get
// FORBIDDEN, and anonymous sessions and reply tokens anonCode.
func requireTechnician(id Identity, anonCode Code) error {
	switch {
	case id.Kind == IdentityUser && id.Technician:
		return nil
	case id.Kind == IdentityUser:
		return &Error{Code: CodeForbidden, Message: "technician role required"}
	case id.Kind == 0:
		return ErrUnauthorized
	case anonCode == CodeUnauthorized:
		return &Error{Code: CodeUnauthorized, Message: "the inbox needs a signed-in technician"}
	default:
		return &Error{Code: CodeForbidden, Message: "technician role required"}
	}
}

// The cursor is opaque to clients. It is checked strictly rather than
// signed: every field has one valid encoding, and a well-formed cursor the
// server did not issue can only name a position, which reveals and
// changes nothing (the same filter is applied). Layout: version (1), the
// status filter (1), lastActivityAt in Unix microseconds (8, big endian),
// conversation id (16); base64url without padding.
const (
	cursorVersion = 1
	cursorLen     = 1 + 1 + 8 + 16
)

var cursorFilters = []StatusFilter{FilterOpen, FilterClosed, FilterAll}

func encodeCursor(filter StatusFilter, pos InboxPosition) string {
	var b [cursorLen]byte
	b[0] = cursorVersion
	for i, f := range cursorFilters {
		if f == filter {
			b[1] = byte(i)
		}
	}
	binary.BigEndian.PutUint64(b[2:10], uint64(pos.LastActivityAt.UnixMicro()))
	copy(b[10:], pos.ConversationID[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// minCursorTime and maxCursorTime bound the times a cursor may carry:
// chatgw did not exist before the first, and the second is far enough.
var (
	minCursorTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	maxCursorTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func decodeCursor(s string, filter StatusFilter) (InboxPosition, error) {
	bad := fmt.Errorf("invalid cursor")
	if len(s) != base64.RawURLEncoding.EncodedLen(cursorLen) {
		return InboxPosition{}, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion || int(b[1]) >= len(cursorFilters) || cursorFilters[b[1]] != filter {
		return InboxPosition{}, bad
	}
	micros := int64(binary.BigEndian.Uint64(b[2:10]))
	at := time.UnixMicro(micros).UTC()
	if micros < 0 || at.Before(minCursorTime) || at.After(maxCursorTime) {
		return InboxPosition{}, bad
	}
	id, err := uuid.FromBytes(b[10:])
	if err != nil || id == uuid.Nil {
		return InboxPosition{}, bad
	}
	return InboxPosition{LastActivityAt: at, ConversationID: id}, nil
}
