package chattest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

// TestStore checks the rules of chat.Store that the service and the edges
// rely on. Every implementation runs it (the PostgreSQL store in its
// package, this fake in its own), so a fake that passes behaves like the
// real store where it matters. store is shared by the subtests, which work
// in conversations of their own.
func TestStore(t *testing.T, store chat.Store) {
	t.Helper()
	ctx := context.Background()
	newConv := func(t *testing.T, c chat.Conversation) chat.Conversation {
		t.Helper()
		c.ID = uuid.Must(uuid.NewV7())
		got, err := store.CreateConversation(ctx, c)
		require.NoError(t, err)
		return got
	}
	send := func(t *testing.T, conv uuid.UUID, content string, clientID *string) (chat.Message, bool, error) {
		t.Helper()
		res, err := store.AppendMessage(ctx, chat.NewMessage{
			ID: uuid.Must(uuid.NewV7()), ConversationID: conv, Sender: chat.SenderUser,
			SenderID: ptr("alice"), Content: content, ClientMessageID: clientID,
		})
		return res.Message, res.Created, err
	}
	appendAs := func(t *testing.T, conv uuid.UUID, sender chat.Sender, content string) chat.Appended {
		t.Helper()
		res, err := store.AppendMessage(ctx, chat.NewMessage{
			ID: uuid.Must(uuid.NewV7()), ConversationID: conv, Sender: sender, Content: content,
		})
		require.NoError(t, err)
		require.True(t, res.Created)
		return res
	}
	// walk reads the whole inbox of filter, pages of limit, and keeps the
	// items of the conversations in mine (the store is shared).
	walk := func(t *testing.T, filter chat.StatusFilter, limit int, mine ...uuid.UUID) []chat.InboxItem {
		t.Helper()
		var out []chat.InboxItem
		var after *chat.InboxPosition
		for {
			page, err := store.Inbox(ctx, chat.InboxQuery{Status: filter, After: after, Limit: limit})
			require.NoError(t, err)
			for _, it := range page {
				if slices.Contains(mine, it.ConversationID) {
					out = append(out, it)
				}
			}
			if len(page) < limit {
				return out
			}
			last := page[len(page)-1]
			after = &chat.InboxPosition{LastActivityAt: last.LastActivityAt, ConversationID: last.ConversationID}
		}
	}
	ids := func(items []chat.InboxItem) []uuid.UUID {
		out := []uuid.UUID{}
		for _, it := range items {
			out = append(out, it.ConversationID)
		}
		return out
	}

	t.Run("status and last activity", func(t *testing.T) {
		t.Parallel()
		c := newConv(t, chat.Conversation{OwnerID: "alice", Metadata: []byte(`{"k":1}`)})
		require.Equal(t, chat.StatusOpen, c.Status, "a new conversation is open")
		require.True(t, c.LastActivityAt.Equal(c.CreatedAt), "no message yet: the creation is the last activity")

		res := appendAs(t, c.ID, chat.SenderUser, "help")
		require.False(t, res.Reopened)
		require.Equal(t, chat.StatusOpen, res.Conversation.Status)
		require.Equal(t, c.ID, res.Conversation.ID)
		require.Equal(t, c.CreatedAt, res.Conversation.CreatedAt)
		require.Equal(t, "alice", res.Conversation.OwnerID)
		require.JSONEq(t, `{"k":1}`, string(res.Conversation.Metadata))
		require.True(t, res.Conversation.LastActivityAt.After(c.LastActivityAt), "a message moves the last activity forward")

		item, changed, err := store.SetStatus(ctx, c.ID, chat.StatusClosed)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, chat.StatusClosed, item.Status)
		require.Equal(t, res.Message.ID, item.LastMessage.ID)
		require.True(t, item.AwaitingReply)
		require.True(t, item.LastActivityAt.Equal(res.Conversation.LastActivityAt), "a status change is not activity")
		_, changed, err = store.SetStatus(ctx, c.ID, chat.StatusClosed)
		require.NoError(t, err)
		require.False(t, changed, "closing a closed conversation changes nothing")

		for _, sender := range []chat.Sender{chat.SenderTecnico, chat.SenderBot} {
			res = appendAs(t, c.ID, sender, "answer")
			require.False(t, res.Reopened, "only a user's message reopens")
			require.Equal(t, chat.StatusClosed, res.Conversation.Status)
		}
		before := res.Conversation.LastActivityAt
		res = appendAs(t, c.ID, chat.SenderUser, "still there?")
		require.True(t, res.Reopened, "a user's message reopens a closed conversation")
		require.Equal(t, chat.StatusOpen, res.Conversation.Status)
		require.True(t, res.Conversation.LastActivityAt.After(before))
		got, err := store.Conversation(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, chat.StatusOpen, got.Status)
		require.True(t, got.LastActivityAt.Equal(res.Conversation.LastActivityAt))

		_, _, err = store.SetStatus(ctx, uuid.New(), chat.StatusClosed)
		require.ErrorIs(t, err, chat.ErrNotFound)
	})

	t.Run("inbox order, filter and items", func(t *testing.T) {
		t.Parallel()
		a := newConv(t, chat.Conversation{SessionTokenHash: chat.HashSessionToken("a")})
		b := newConv(t, chat.Conversation{OwnerID: "bob"})
		c := newConv(t, chat.Conversation{OwnerID: "carol"})
		// Creation order a, b, c; then activity in b, then a: a, b, c by
		// last activity (and c stays where its creation put it).
		appendAs(t, b.ID, chat.SenderUser, "b1")
		last := appendAs(t, a.ID, chat.SenderTecnico, "a1")
		for _, limit := range []int{1, 2, 100} {
			require.Equal(t, []uuid.UUID{a.ID, b.ID, c.ID}, ids(walk(t, chat.FilterOpen, limit, a.ID, b.ID, c.ID)), "limit %d", limit)
		}
		items := walk(t, chat.FilterAll, 100, a.ID, b.ID, c.ID)
		require.Len(t, items, 3)
		require.Equal(t, last.Message.ID, items[0].LastMessage.ID)
		require.Equal(t, "a1", items[0].LastMessage.Content)
		require.False(t, items[0].AwaitingReply, "the technician answered")
		require.Nil(t, items[0].OwnerID)
		require.True(t, items[0].LastActivityAt.Equal(last.Conversation.LastActivityAt))
		require.True(t, items[1].AwaitingReply, "the visitor wrote last")
		require.Equal(t, "bob", *items[1].OwnerID)
		require.Nil(t, items[2].LastMessage)
		require.False(t, items[2].AwaitingReply)
		require.True(t, items[2].LastActivityAt.Equal(c.CreatedAt))

		_, _, err := store.SetStatus(ctx, b.ID, chat.StatusClosed)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{a.ID, c.ID}, ids(walk(t, chat.FilterOpen, 1, a.ID, b.ID, c.ID)))
		require.Equal(t, []uuid.UUID{b.ID}, ids(walk(t, chat.FilterClosed, 1, a.ID, b.ID, c.ID)))
		require.Equal(t, []uuid.UUID{a.ID, b.ID, c.ID}, ids(walk(t, chat.FilterAll, 1, a.ID, b.ID, c.ID)))
	})

	t.Run("conversation round trip", func(t *testing.T) {
		t.Parallel()
		hash := chat.HashSessionToken("token")
		anon := newConv(t, chat.Conversation{SessionTokenHash: hash, Metadata: []byte(`{"page": "/pricing"}`)})
		require.False(t, anon.CreatedAt.IsZero(), "CreatedAt is set by the store")
		got, err := store.Conversation(ctx, anon.ID)
		require.NoError(t, err)
		require.True(t, got.Anonymous())
		require.Equal(t, hash, got.SessionTokenHash, "the hash is kept byte for byte")
		require.JSONEq(t, `{"page":"/pricing"}`, string(got.Metadata))
		require.True(t, anon.CreatedAt.Equal(got.CreatedAt))

		owned := newConv(t, chat.Conversation{OwnerID: "alice"})
		got, err = store.Conversation(ctx, owned.ID)
		require.NoError(t, err)
		require.Equal(t, "alice", got.OwnerID)
		require.Empty(t, got.SessionTokenHash)
		require.Empty(t, got.Metadata, "no metadata stays none")

		_, err = store.CreateConversation(ctx, chat.Conversation{ID: owned.ID, OwnerID: "eve"})
		require.Error(t, err, "an id is never reused")
		require.NotErrorIs(t, err, chat.ErrNotFound)
	})

	t.Run("unknown conversation is NotFound", func(t *testing.T) {
		t.Parallel()
		_, err := store.Conversation(ctx, uuid.New())
		require.ErrorIs(t, err, chat.ErrNotFound)
		_, _, err = send(t, uuid.New(), "hi", nil)
		require.ErrorIs(t, err, chat.ErrNotFound)
		msgs, err := store.MessagesAfter(ctx, uuid.New(), 0, 10)
		require.NoError(t, err, "listing an unknown conversation is empty, not an error")
		require.Empty(t, msgs)
	})

	t.Run("session token hash check", func(t *testing.T) {
		t.Parallel()
		svc := chat.NewService(chat.ServiceConfig{}, store, nil)
		created, err := svc.CreateConversation(ctx, nil, nil)
		require.NoError(t, err)
		stored, err := store.Conversation(ctx, created.Conversation.ID)
		require.NoError(t, err)
		require.Equal(t, chat.HashSessionToken(created.SessionToken), stored.SessionTokenHash)
		require.NotContains(t, string(stored.SessionTokenHash), created.SessionToken, "only the hash is stored")
		id, err := svc.AuthenticateSession(ctx, created.Conversation.ID, created.SessionToken)
		require.NoError(t, err)
		require.Equal(t, created.Conversation.ID, id.ConversationID)
		_, err = svc.AuthenticateSession(ctx, created.Conversation.ID, created.SessionToken+"x")
		require.ErrorIs(t, err, chat.ErrSessionInvalid)
	})

	t.Run("gapless seq per conversation", func(t *testing.T) {
		t.Parallel()
		a := newConv(t, chat.Conversation{OwnerID: "alice"})
		b := newConv(t, chat.Conversation{OwnerID: "alice"})
		first, created, err := send(t, a.ID, "one", nil)
		require.NoError(t, err)
		require.True(t, created)
		require.EqualValues(t, 1, first.Seq)
		require.Equal(t, chat.SenderUser, first.Sender)
		require.Equal(t, "alice", *first.SenderID)
		require.Equal(t, "one", first.Content)
		require.Nil(t, first.ClientMessageID)
		require.False(t, first.CreatedAt.IsZero())
		other, _, err := send(t, b.ID, "elsewhere", nil)
		require.NoError(t, err)
		require.EqualValues(t, 1, other.Seq, "each conversation counts from 1")

		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, _, err := send(t, a.ID, fmt.Sprint("m", i), nil)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		msgs, err := store.MessagesAfter(ctx, a.ID, 0, 100)
		require.NoError(t, err)
		require.Len(t, msgs, n+1)
		for i, m := range msgs {
			require.EqualValues(t, i+1, m.Seq, "concurrent sends leave no gap and no duplicate")
		}
	})

	t.Run("clientMessageId is idempotent", func(t *testing.T) {
		t.Parallel()
		a := newConv(t, chat.Conversation{OwnerID: "alice"})
		b := newConv(t, chat.Conversation{OwnerID: "alice"})
		first, created, err := send(t, a.ID, "first", ptr("c1"))
		require.NoError(t, err)
		require.True(t, created)
		again, created, err := send(t, a.ID, "different", ptr("c1"))
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)
		require.Equal(t, "first", again.Content, "the first message is returned as stored")
		require.Equal(t, first.Seq, again.Seq)
		next, _, err := send(t, a.ID, "next", ptr("c2"))
		require.NoError(t, err)
		require.EqualValues(t, 2, next.Seq, "a repeat consumes no seq")
		inB, created, err := send(t, b.ID, "same id, other conversation", ptr("c1"))
		require.NoError(t, err)
		require.True(t, created, "clientMessageId is unique per conversation only")
		require.EqualValues(t, 1, inB.Seq)
	})

	t.Run("history paging", func(t *testing.T) {
		t.Parallel()
		c := newConv(t, chat.Conversation{OwnerID: "alice"})
		for i := range 5 {
			_, _, err := send(t, c.ID, fmt.Sprint("m", i+1), nil)
			require.NoError(t, err)
		}
		page := func(after int64, limit int) []int64 {
			t.Helper()
			msgs, err := store.MessagesAfter(ctx, c.ID, after, limit)
			require.NoError(t, err)
			out := []int64{}
			for _, m := range msgs {
				out = append(out, m.Seq)
				require.Equal(t, fmt.Sprint("m", m.Seq), m.Content)
			}
			return out
		}
		require.Equal(t, []int64{1, 2}, page(0, 2))
		require.Equal(t, []int64{3, 4}, page(2, 2))
		require.Equal(t, []int64{5}, page(4, 2))
		require.Equal(t, []int64{}, page(5, 2))
		require.Equal(t, []int64{}, page(0, 0), "a zero limit returns nothing")
		require.Equal(t, []int64{2, 3, 4, 5}, page(1, 100))
	})
}

func ptr(s string) *string { return &s }
