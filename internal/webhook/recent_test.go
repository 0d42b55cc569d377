package webhook

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

// countingStore serves every message it is asked for and counts the asks.
type countingStore struct{ loads atomic.Int64 }

func (s *countingStore) Message(_ context.Context, id uuid.UUID) (chat.Message, error) {
	s.loads.Add(1)
	return chat.Message{ID: id, Content: "from the store"}, nil
}

func newMessage(sender chat.Sender, content string) chat.Message {
	return chat.Message{ID: uuid.Must(uuid.NewV7()), ConversationID: uuid.Must(uuid.NewV7()), Sender: sender, Content: content}
}

func TestRecentHandsOverOnceThenLoads(t *testing.T) {
	t.Parallel()
	store := &countingStore{}
	r := NewRecent(store, 0)
	msg := newMessage(chat.SenderUser, "hola")
	r.MessageCreated(msg, "socket-1")

	got, err := r.Message(context.Background(), msg.ID)
	require.NoError(t, err)
	require.Equal(t, msg, got)
	require.Zero(t, store.loads.Load(), "the first attempt needs no read back")

	// A retry (or any later load) reads the store.
	got, err = r.Message(context.Background(), msg.ID)
	require.NoError(t, err)
	require.Equal(t, "from the store", got.Content)
	require.EqualValues(t, 1, store.loads.Load())
	n, bytes, _ := r.held()
	require.Zero(t, n)
	require.Zero(t, bytes)
}

func TestRecentSkipsBotMessages(t *testing.T) {
	t.Parallel()
	r := NewRecent(&countingStore{}, 0)
	r.MessageCreated(newMessage(chat.SenderBot, "never delivered"), "")
	n, bytes, _ := r.held()
	require.Zero(t, n+bytes, "a bot message is never delivered, so never held")
}

func TestRecentEvictsOldestBeyondItsBound(t *testing.T) {
	t.Parallel()
	store := &countingStore{}
	content := strings.Repeat("x", 1000)
	r := NewRecent(store, 3*(1000+recentOverhead)) // room for three
	var msgs []chat.Message
	for range 5 {
		msg := newMessage(chat.SenderUser, content)
		msgs = append(msgs, msg)
		r.MessageCreated(msg, "")
	}
	n, bytes, _ := r.held()
	require.Equal(t, 3, n)
	require.Equal(t, 3*(1000+recentOverhead), bytes)

	for i, msg := range msgs {
		got, err := r.Message(context.Background(), msg.ID)
		require.NoError(t, err)
		if i < 2 { // the two oldest were evicted
			require.Equal(t, "from the store", got.Content, "message %d", i)
		} else {
			require.Equal(t, content, got.Content, "message %d", i)
		}
	}
	require.EqualValues(t, 2, store.loads.Load())

	// A message larger than the whole bound is not held at all.
	huge := newMessage(chat.SenderUser, strings.Repeat("y", 4*(1000+recentOverhead)))
	r.MessageCreated(huge, "")
	n, _, _ = r.held()
	require.Zero(t, n)
}

// Messages taken in arrival order, as the worker does, leave ids in the
// eviction queue; it is compacted, so it does not grow with traffic. A
// message nobody takes (its job ran elsewhere) does not pin the rest.
func TestRecentQueueStaysBounded(t *testing.T) {
	t.Parallel()
	r := NewRecent(&countingStore{}, 0)
	r.MessageCreated(newMessage(chat.SenderUser, "never taken"), "")
	for range 100_000 {
		msg := newMessage(chat.SenderUser, "hola")
		r.MessageCreated(msg, "")
		_, err := r.Message(context.Background(), msg.ID)
		require.NoError(t, err)
	}
	n, bytes, fifo := r.held()
	require.Equal(t, 1, n)
	require.Equal(t, len("never taken")+recentOverhead, bytes)
	require.LessOrEqual(t, fifo, 65)
}

func TestRecentConcurrentUse(t *testing.T) {
	t.Parallel()
	store := &countingStore{}
	r := NewRecent(store, 0)
	msgs := make(chan chat.Message, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msg := range msgs {
			got, err := r.Message(context.Background(), msg.ID)
			require.NoError(t, err)
			require.Equal(t, msg.ID, got.ID)
		}
	}()
	for range 10_000 {
		msg := newMessage(chat.SenderUser, "hola")
		r.MessageCreated(msg, "")
		msgs <- msg
	}
	close(msgs)
	<-done
	require.Zero(t, store.loads.Load())
}
