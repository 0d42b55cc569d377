package chattest

import (
	"context"
	"fmt"
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
		return store.AppendMessage(ctx, chat.NewMessage{
			ID: uuid.Must(uuid.NewV7()), ConversationID: conv, Sender: chat.SenderUser,
			SenderID: ptr("alice"), Content: content, ClientMessageID: clientID,
		})
	}

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
