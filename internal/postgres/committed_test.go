package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// committedLog records what StoreConfig.Committed is given.
type committedLog struct {
	mu   sync.Mutex
	msgs map[uuid.UUID]int
}

func (l *committedLog) add(m chat.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[m.ID]++
}

func (l *committedLog) times(id uuid.UUID) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.msgs[id]
}

func (l *committedLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msgs)
}

// Every message a send creates with a delivery is reported once, before
// its sender gets the answer (the webhook hand-off must hold it before
// River fetches its job); repeats of a clientMessageId, failed
// sends and messages without a delivery are not.
func TestCommittedIsToldBeforeTheSenderIsAnswered(t *testing.T) {
	t.Parallel()
	for _, batching := range []bool{true, false} {
		t.Run(fmt.Sprintf("batching=%v", batching), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			log := &committedLog{msgs: map[uuid.UUID]int{}}
			pool := pgtest.NewPool(t)
			var s chat.Store = postgres.NewStore(pool, postgres.StoreConfig{
				Deliveries:   riverClient(t),
				DeliveryArgs: deliveryArgs,
				Committed:    log.add,
			})
			if batching {
				s = startGroupCommitter(t, s.(*postgres.Store), postgres.GroupCommitConfig{})
			}
			c := newConversation(t, s)

			const senders = 20
			var wg sync.WaitGroup
			for i := range senders {
				wg.Go(func() {
					msg, created, err := s.AppendMessage(ctx, deliverMsg(c.ID, fmt.Sprint("hello ", i), ptr(fmt.Sprint("k", i))))
					require.NoError(t, err)
					require.True(t, created)
					require.Equal(t, 1, log.times(msg.ID), "reported before AppendMessage returned")
				})
			}
			wg.Wait()
			require.Equal(t, senders, log.len())

			again, created, err := s.AppendMessage(ctx, deliverMsg(c.ID, "hello again", ptr("k0")))
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, 1, log.times(again.ID), "a repeat is not reported again")

			_, _, err = s.AppendMessage(ctx, deliverMsg(uuid.New(), "to nowhere", nil))
			require.ErrorIs(t, err, chat.ErrNotFound)
			require.Equal(t, senders, log.len(), "a failed send is not reported")

			quiet, created, err := s.AppendMessage(ctx, newMsg(c.ID, "no delivery asked", nil))
			require.NoError(t, err)
			require.True(t, created)
			require.Zero(t, log.times(quiet.ID), "a message without a delivery is not reported")
		})
	}
}
