package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres/internal/dbsqlc"
)

// inboxStart is the position before every conversation: the first page
// starts after it. (The row comparison of the Inbox queries then needs no
// second form for "no cursor".)
var inboxStart = chat.InboxPosition{
	LastActivityAt: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	ConversationID: uuid.Max,
}

// Inbox returns up to q.Limit inbox items of q.Status strictly after
// q.After, by last activity then id, both descending.
func (s *Store) Inbox(ctx context.Context, q chat.InboxQuery) ([]chat.InboxItem, error) {
	after := inboxStart
	if q.After != nil {
		after = *q.After
	}
	limit := int32(min(max(q.Limit, 0), 1<<30))
	out := []chat.InboxItem{}
	if q.Status == chat.FilterAll {
		rows, err := s.q.InboxPageAll(ctx, dbsqlc.InboxPageAllParams{BeforeAt: after.LastActivityAt, BeforeID: after.ConversationID, MaxRows: limit})
		if err != nil {
			return nil, mapErr("inbox", err)
		}
		for _, r := range rows {
			c := dbsqlc.Conversation{ID: r.ID, OwnerID: r.OwnerID, SessionTokenHash: r.SessionTokenHash, Metadata: r.Metadata,
				CreatedAt: r.CreatedAt, Status: r.Status, LastActivityAt: r.LastActivityAt}
			out = append(out, chat.NewInboxItem(toConversation(c), lastMessage(lastMessageCols{
				r.MID, r.MConversationID, r.MSeq, r.MSender, r.MSenderID, r.MContent, r.MClientMessageID, r.MCreatedAt,
			})))
		}
		return out, nil
	}
	rows, err := s.q.InboxPage(ctx, dbsqlc.InboxPageParams{Status: string(q.Status), BeforeAt: after.LastActivityAt, BeforeID: after.ConversationID, MaxRows: limit})
	if err != nil {
		return nil, mapErr("inbox", err)
	}
	for _, r := range rows {
		out = append(out, chat.NewInboxItem(toConversation(r.Conversation), lastMessage(lastMessageCols{
			r.MID, r.MConversationID, r.MSeq, r.MSender, r.MSenderID, r.MContent, r.MClientMessageID, r.MCreatedAt,
		})))
	}
	return out, nil
}

// InboxItem returns conversation id's inbox item (chat.ErrNotFound when it
// does not exist).
func (s *Store) InboxItem(ctx context.Context, id uuid.UUID) (chat.InboxItem, error) {
	r, err := s.q.InboxItem(ctx, id)
	if err != nil {
		return chat.InboxItem{}, mapErr("inbox item", err)
	}
	return chat.NewInboxItem(toConversation(r.Conversation), lastMessage(lastMessageCols{
		r.MID, r.MConversationID, r.MSeq, r.MSender, r.MSenderID, r.MContent, r.MClientMessageID, r.MCreatedAt,
	})), nil
}

// SetStatus sets the conversation's status; changed is false when it
// already had it.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, status chat.Status) (chat.InboxItem, bool, error) {
	r, err := s.q.SetStatus(ctx, dbsqlc.SetStatusParams{ID: id, Status: string(status)})
	if err != nil {
		return chat.InboxItem{}, false, mapErr("set status", err)
	}
	c := dbsqlc.Conversation{ID: r.ID, OwnerID: r.OwnerID, SessionTokenHash: r.SessionTokenHash, Metadata: r.Metadata,
		CreatedAt: r.CreatedAt, Status: r.Status, LastActivityAt: r.LastActivityAt}
	last := lastMessage(lastMessageCols{r.MID, r.MConversationID, r.MSeq, r.MSender, r.MSenderID, r.MContent, r.MClientMessageID, r.MCreatedAt})
	return chat.NewInboxItem(toConversation(c), last), r.Changed, nil
}

// lastMessageCols are the columns of the last message, left-joined (all
// NULL when the conversation has none), as every inbox query returns them.
type lastMessageCols struct {
	ID              pgtype.UUID
	ConversationID  pgtype.UUID
	Seq             *int64
	Sender          *string
	SenderID        *string
	Content         *string
	ClientMessageID *string
	CreatedAt       *time.Time
}

func lastMessage(c lastMessageCols) *chat.Message {
	if !c.ID.Valid || c.Seq == nil || c.Sender == nil || c.Content == nil || c.CreatedAt == nil {
		return nil
	}
	return &chat.Message{
		ID:              c.ID.Bytes,
		ConversationID:  c.ConversationID.Bytes,
		Seq:             *c.Seq,
		Sender:          chat.Sender(*c.Sender),
		SenderID:        c.SenderID,
		Content:         *c.Content,
		ClientMessageID: c.ClientMessageID,
		CreatedAt:       *c.CreatedAt,
	}
}
