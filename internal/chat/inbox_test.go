package chat_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

var tech = chat.Identity{Kind: chat.IdentityUser, UserID: "tina", Roles: []string{"tecnico"}, Technician: true}

func TestInboxTechniciansOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	reply := chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: f.owned}
	for name, tc := range map[string]struct {
		id          chat.Identity
		list, watch chat.Code
	}{
		"nobody":          {chat.Identity{}, chat.CodeUnauthorized, chat.CodeUnauthorized},
		"anonymous":       {f.anon, chat.CodeForbidden, chat.CodeUnauthorized},
		"reply token":     {reply, chat.CodeForbidden, chat.CodeUnauthorized},
		"user, no role":   {f.owner, chat.CodeForbidden, chat.CodeForbidden},
		"role, not techn": {chat.Identity{Kind: chat.IdentityUser, UserID: "x", Roles: []string{"viewer"}}, chat.CodeForbidden, chat.CodeForbidden},
	} {
		_, err := f.svc.Inbox(ctx, tc.id, chat.InboxInput{})
		require.Equal(t, tc.list, code(err), name)
		_, err = f.svc.SetStatus(ctx, tc.id, f.owned, "closed")
		require.Equal(t, tc.list, code(err), name)
		require.Equal(t, tc.watch, code(f.svc.WatchInbox(tc.id)), name)
	}
	require.NoError(t, f.svc.WatchInbox(tech))
	page, err := f.svc.Inbox(ctx, tech, chat.InboxInput{})
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	c, err := f.store.Conversation(ctx, f.owned)
	require.NoError(t, err)
	require.Equal(t, chat.StatusOpen, c.Status, "refused status changes changed nothing")
}

func TestInboxValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, in := range []chat.InboxInput{
		{Status: "pending"}, {Status: "OPEN"}, {Limit: -1}, {Limit: 101},
		{Cursor: "x"}, {Cursor: strings.Repeat("A", 35)}, {Cursor: "not base64!!"},
	} {
		_, err := f.svc.Inbox(ctx, tech, in)
		require.Equal(t, chat.CodeValidationFailed, code(err), "%+v", in)
	}
	for _, in := range []chat.InboxInput{{Status: "open"}, {Status: "closed"}, {Status: "all"}, {Limit: 1}, {Limit: 100}} {
		_, err := f.svc.Inbox(ctx, tech, in)
		require.NoError(t, err, "%+v", in)
	}
	_, err := f.svc.SetStatus(ctx, tech, f.owned, "archived")
	require.Equal(t, chat.CodeValidationFailed, code(err))
	_, err = f.svc.SetStatus(ctx, tech, uuid.New(), "closed")
	require.Equal(t, chat.CodeNotFound, code(err))
}

// A cursor is what the server issued, for the status it was issued for:
// tampering with any byte, the length, the padding or the filter is refused.
func TestInboxCursorIsStrict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	page, err := f.svc.Inbox(ctx, tech, chat.InboxInput{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, page.NextCursor)
	next, err := f.svc.Inbox(ctx, tech, chat.InboxInput{Limit: 1, Cursor: page.NextCursor})
	require.NoError(t, err)
	require.Len(t, next.Items, 1)
	require.Empty(t, next.NextCursor, "two conversations: the second page is the last")

	_, err = f.svc.Inbox(ctx, tech, chat.InboxInput{Limit: 1, Status: "closed", Cursor: page.NextCursor})
	require.Equal(t, chat.CodeValidationFailed, code(err), "a cursor of the open list is not one of the closed list")

	raw, err := base64.RawURLEncoding.DecodeString(page.NextCursor)
	require.NoError(t, err)
	bad := []string{
		page.NextCursor + "A",
		page.NextCursor[:len(page.NextCursor)-1],
		page.NextCursor + "=",
		base64.StdEncoding.EncodeToString(raw),
	}
	for i := range raw[:2] { // version and filter
		b := append([]byte(nil), raw...)
		b[i] = 9
		bad = append(bad, base64.RawURLEncoding.EncodeToString(b))
	}
	far := append([]byte(nil), raw...)
	far[2] = 0xff // a time far outside any the server could have issued
	bad = append(bad, base64.RawURLEncoding.EncodeToString(far))
	nilID := append([]byte(nil), raw[:10]...)
	bad = append(bad, base64.RawURLEncoding.EncodeToString(append(nilID, make([]byte, 16)...)))
	for _, c := range bad {
		_, err := f.svc.Inbox(ctx, tech, chat.InboxInput{Limit: 1, Cursor: c})
		require.Equal(t, chat.CodeValidationFailed, code(err), "cursor %q", c)
	}
}

func TestStatusChangesAreBroadcast(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	require.Len(t, f.bc.activity, 2, "each creation is inbox activity")
	require.Equal(t, f.owned, f.bc.activity[1].ConversationID)
	require.Nil(t, f.bc.activity[1].LastMessage)

	st, err := f.svc.SetStatus(ctx, tech, f.owned, "closed")
	require.NoError(t, err)
	require.Equal(t, chat.StatusClosed, st)
	require.Equal(t, []chat.Status{chat.StatusClosed}, f.bc.updated)
	require.Len(t, f.bc.activity, 3)
	require.Equal(t, chat.StatusClosed, f.bc.activity[2].Status)

	_, err = f.svc.SetStatus(ctx, tech, f.owned, "closed")
	require.NoError(t, err)
	require.Len(t, f.bc.updated, 1, "no change, nothing said")
	require.Len(t, f.bc.activity, 3)

	// A technician's answer keeps it closed; the visitor's message reopens.
	_, err = f.svc.SendMessage(ctx, tech, chat.SendInput{ConversationID: f.owned, Content: "done", AsTechnician: true})
	require.NoError(t, err)
	require.Len(t, f.bc.updated, 1)
	require.Equal(t, chat.StatusClosed, f.bc.activity[3].Status)
	require.False(t, f.bc.activity[3].AwaitingReply)

	res, err := f.svc.SendMessage(ctx, f.owner, chat.SendInput{ConversationID: f.owned, Content: "not yet"})
	require.NoError(t, err)
	require.Equal(t, []chat.Status{chat.StatusClosed, chat.StatusOpen}, f.bc.updated)
	item := f.bc.activity[4]
	require.Equal(t, chat.StatusOpen, item.Status)
	require.True(t, item.AwaitingReply)
	require.Equal(t, res.Message.ID, item.LastMessage.ID)

	// A repeat (same clientMessageId) is no activity.
	cid := "k1"
	_, err = f.svc.SendMessage(ctx, f.owner, chat.SendInput{ConversationID: f.owned, Content: "again", ClientMessageID: &cid})
	require.NoError(t, err)
	_, err = f.svc.SendMessage(ctx, f.owner, chat.SendInput{ConversationID: f.owned, Content: "again", ClientMessageID: &cid})
	require.NoError(t, err)
	require.Len(t, f.bc.activity, 6)
}

func TestInboxItemJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.FixedZone("x", 3600))
	id := uuid.MustParse("0190b7a5-0000-7000-8000-000000000001")
	item := chat.NewInboxItem(chat.Conversation{ID: id, CreatedAt: at, Status: chat.StatusOpen, SessionTokenHash: []byte{1}}, nil)
	b, err := json.Marshal(item)
	require.NoError(t, err)
	require.JSONEq(t, fmt.Sprintf(`{"conversationId":%q,"status":"open","createdAt":"2026-05-01T11:00:00.123456Z",
		"lastActivityAt":"2026-05-01T11:00:00.123456Z","ownerId":null,"metadata":null,"lastMessage":null,"awaitingReply":false}`, id), string(b))
}
