package webhook

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

// countingStore serves every message it is asked for and counts the asks.
type countingStore struct{ loads atomic.Int64 }

func (s *countingStore) Message(_ context.Context, id uuid.UUID) (chat.Message, error) {
	s.loads.Add(1)
	return chat.Message{ID: id, Content: "from the store"}, nil
}

func newRecent(t *testing.T, cfg RecentConfig) *Recent {
	t.Helper()
	if cfg.Next == nil {
		cfg.Next = &countingStore{}
	}
	r, err := NewRecent(cfg)
	require.NoError(t, err)
	return r
}

// fakeClock is a settable RecentConfig.Now.
type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func newMessage(sender chat.Sender, content string) chat.Message {
	return chat.Message{ID: uuid.Must(uuid.NewV7()), ConversationID: uuid.Must(uuid.NewV7()), Sender: sender, Content: content}
}

func TestRecentHandsOverOnceThenLoads(t *testing.T) {
	t.Parallel()
	store := &countingStore{}
	loads := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loads"}, []string{"source"})
	r := newRecent(t, RecentConfig{Next: store, Loads: loads})
	msg := newMessage(chat.SenderUser, "hola")
	r.Hold(msg)

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
	require.InDelta(t, 1, testutil.ToFloat64(loads.WithLabelValues("handoff")), 0)
	require.InDelta(t, 1, testutil.ToFloat64(loads.WithLabelValues("database")), 0)
}

func TestRecentSkipsBotMessages(t *testing.T) {
	t.Parallel()
	r := newRecent(t, RecentConfig{})
	r.Hold(newMessage(chat.SenderBot, "never delivered"))
	n, bytes, _ := r.held()
	require.Zero(t, n+bytes, "a bot message is never delivered, so never held")
}

// Full, it keeps the oldest, which the worker (oldest jobs first) asks for
// next, and turns new ones away until there is room again.
func TestRecentKeepsTheOldestWhenFull(t *testing.T) {
	t.Parallel()
	store := &countingStore{}
	content := strings.Repeat("x", 1000)
	r := newRecent(t, RecentConfig{Next: store, MaxBytes: 3 * (1000 + recentOverhead)}) // room for three
	var msgs []chat.Message
	for range 5 {
		msg := newMessage(chat.SenderUser, content)
		msgs = append(msgs, msg)
		r.Hold(msg)
	}
	n, bytes, _ := r.held()
	require.Equal(t, 3, n)
	require.Equal(t, 3*(1000+recentOverhead), bytes)

	for i, msg := range msgs {
		got, err := r.Message(context.Background(), msg.ID)
		require.NoError(t, err)
		if i < 3 {
			require.Equal(t, content, got.Content, "message %d", i)
		} else { // the two that found it full
			require.Equal(t, "from the store", got.Content, "message %d", i)
		}
	}
	require.EqualValues(t, 2, store.loads.Load())

	// Taken, they make room.
	late := newMessage(chat.SenderUser, content)
	r.Hold(late)
	got, err := r.Message(context.Background(), late.ID)
	require.NoError(t, err)
	require.Equal(t, content, got.Content)

	// A message larger than the whole bound is not held at all.
	huge := newMessage(chat.SenderUser, strings.Repeat("y", 4*(1000+recentOverhead)))
	r.Hold(huge)
	n, _, _ = r.held()
	require.Zero(t, n)
}

// Messages nobody asks for (their jobs ran on another instance) leave
// after MaxAge, so they cannot keep a full Recent full for good.
func TestRecentLetsGoOfWhatNobodyTakes(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	store := &countingStore{}
	content := strings.Repeat("x", 1000)
	r := newRecent(t, RecentConfig{Next: store, MaxBytes: 2 * (1000 + recentOverhead), MaxAge: time.Minute, Now: clock.Now})
	stale1, stale2 := newMessage(chat.SenderUser, content), newMessage(chat.SenderUser, content)
	r.Hold(stale1)
	clock.Advance(30 * time.Second)
	r.Hold(stale2)
	fresh := newMessage(chat.SenderUser, content)
	r.Hold(fresh)
	n, _, _ := r.held()
	require.Equal(t, 2, n, "full: the new one is turned away")

	clock.Advance(31 * time.Second) // stale1 is past MaxAge, stale2 is not
	r.Hold(fresh)
	n, bytes, fifo := r.held()
	require.Equal(t, 2, n)
	require.Equal(t, 2*(1000+recentOverhead), bytes)
	require.Equal(t, 2, fifo)
	for _, m := range []chat.Message{stale2, fresh} {
		got, err := r.Message(context.Background(), m.ID)
		require.NoError(t, err)
		require.Equal(t, content, got.Content)
	}
	got, err := r.Message(context.Background(), stale1.ID)
	require.NoError(t, err)
	require.Equal(t, "from the store", got.Content)
	require.EqualValues(t, 1, store.loads.Load())
}

// Messages taken in arrival order, as the worker does, leave ids in the
// eviction queue; it is compacted, so it does not grow with traffic. A
// message nobody takes (its job ran elsewhere) does not pin the rest.
func TestRecentQueueStaysBounded(t *testing.T) {
	t.Parallel()
	r := newRecent(t, RecentConfig{})
	r.Hold(newMessage(chat.SenderUser, "never taken"))
	for range 100_000 {
		msg := newMessage(chat.SenderUser, "hola")
		r.Hold(msg)
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
	r := newRecent(t, RecentConfig{Next: store})
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
		r.Hold(msg)
		msgs <- msg
	}
	close(msgs)
	<-done
	require.Zero(t, store.loads.Load())
}
