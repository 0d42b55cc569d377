package chattest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
)

// The fake passes the same table as the PostgreSQL store
// (internal/postgres/conformance_test.go).
func TestFakeStoreConformance(t *testing.T) {
	t.Parallel()
	chattest.TestStore(t, chattest.NewStore())
}

func TestFakeStoreFailAndRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := chattest.NewStore()
	c, err := s.CreateConversation(ctx, chat.Conversation{ID: uuid.New(), OwnerID: "alice"})
	require.NoError(t, err)

	down := errors.New("connection refused")
	s.Fail(chattest.OpAppendMessage, down)
	_, _, err = s.AppendMessage(ctx, chat.NewMessage{ID: uuid.New(), ConversationID: c.ID, Content: "lost", Deliver: true})
	require.ErrorIs(t, err, down)
	s.Fail(chattest.OpAppendMessage, nil)
	msg, created, err := s.AppendMessage(ctx, chat.NewMessage{ID: uuid.New(), ConversationID: c.ID, Content: "kept"})
	require.NoError(t, err)
	require.True(t, created)
	require.EqualValues(t, 1, msg.Seq, "a failed append takes no seq")

	appends := s.Appends()
	require.Len(t, appends, 2, "failed calls are recorded too")
	require.True(t, appends[0].Deliver)
	require.Equal(t, []chat.Message{msg}, s.Messages(c.ID))

	got, err := s.Message(ctx, msg.ID)
	require.NoError(t, err)
	require.Equal(t, msg, got)
	_, err = s.Message(ctx, uuid.New())
	require.ErrorIs(t, err, chat.ErrNotFound)

	for _, op := range []chattest.Op{chattest.OpConversation, chattest.OpMessagesAfter, chattest.OpCreateConversation} {
		s.Fail(op, down)
	}
	_, err = s.Conversation(ctx, c.ID)
	require.ErrorIs(t, err, down)
	_, err = s.MessagesAfter(ctx, c.ID, 0, 10)
	require.ErrorIs(t, err, down)
	_, err = s.CreateConversation(ctx, chat.Conversation{ID: uuid.New()})
	require.ErrorIs(t, err, down)
}
