package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres"
)

// three adapts AppendMessage's result to the (message, created, error) the
// older tests check.
func three(res chat.Appended, err error) (chat.Message, bool, error) {
	return res.Message, res.Created, err
}

// One batch of group commit keeps the inbox's columns like one send at a
// time: the last message of each conversation, its activity, and the
// reopen told once, on the first user's message.
func TestBatchKeepsTheInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, postgres.StoreConfig{})
	g := startGroupCommitter(t, s, postgres.GroupCommitConfig{})
	x := newConversation(t, s)
	y := newConversation(t, s)
	for _, c := range []chat.Conversation{x, y} {
		_, _, err := s.SetStatus(ctx, c.ID, chat.StatusClosed)
		require.NoError(t, err)
	}
	as := func(conv uuid.UUID, sender chat.Sender, content string) chat.NewMessage {
		m := newMsg(conv, content, nil)
		m.Sender = sender
		return m
	}
	res := g.AppendBatch(ctx, []chat.NewMessage{
		as(x.ID, chat.SenderTecnico, "x1"),
		as(x.ID, chat.SenderUser, "x2"),
		as(x.ID, chat.SenderUser, "x3"),
		as(y.ID, chat.SenderBot, "y1"),
	})
	for _, r := range res {
		require.NoError(t, r.Err)
		require.True(t, r.Created)
	}
	require.Equal(t, []bool{false, true, false, false}, []bool{res[0].Reopened, res[1].Reopened, res[2].Reopened, res[3].Reopened})
	require.Equal(t, chat.StatusOpen, res[0].Conv.Status, "the batch reopened x")
	require.Equal(t, chat.StatusClosed, res[3].Conv.Status, "a bot's message leaves y closed")
	require.True(t, res[0].Conv.LastActivityAt.After(x.LastActivityAt))

	items, err := s.Inbox(ctx, chat.InboxQuery{Status: chat.FilterAll, Limit: 10})
	require.NoError(t, err)
	byID := map[uuid.UUID]chat.InboxItem{}
	for _, it := range items {
		byID[it.ConversationID] = it
	}
	require.Equal(t, "x3", byID[x.ID].LastMessage.Content, "the batch's last message of x")
	require.EqualValues(t, 3, byID[x.ID].LastMessage.Seq)
	require.True(t, byID[x.ID].AwaitingReply)
	require.Equal(t, "y1", byID[y.ID].LastMessage.Content)
	require.False(t, byID[y.ID].AwaitingReply)
	require.Equal(t, chat.StatusClosed, byID[y.ID].Status)
}

// InboxItem reads one conversation's item as the inbox pages show it; a
// conversation that does not exist is chat.ErrNotFound.
func TestInboxItemIsThePagesItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, postgres.StoreConfig{})
	c := newConversation(t, s)
	item, err := s.InboxItem(ctx, c.ID)
	require.NoError(t, err)
	require.Nil(t, item.LastMessage)
	res, err := s.AppendMessage(ctx, newMsg(c.ID, "hello", nil))
	require.NoError(t, err)
	item, err = s.InboxItem(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, res.Message.ID, item.LastMessage.ID)
	require.Equal(t, "hello", item.LastMessage.Content)
	page, err := s.Inbox(ctx, chat.InboxQuery{Status: chat.FilterAll, Limit: 100})
	require.NoError(t, err)
	for _, p := range page {
		if p.ConversationID == c.ID {
			require.Equal(t, p, item)
		}
	}
	_, err = s.InboxItem(ctx, uuid.New())
	require.ErrorIs(t, err, chat.ErrNotFound)
}
