package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

type testDelivery struct {
	MessageID uuid.UUID `json:"messageId"`
	SocketID  string    `json:"socketId"`
}

func (testDelivery) Kind() string { return "test_delivery" }

func deliveryArgs(msg chat.Message, socketID string) river.JobArgs {
	return testDelivery{MessageID: msg.ID, SocketID: socketID}
}

// newStore is a Store on a database of its own, for tests that need
// concurrent transactions or commits.
func newStore(t *testing.T, cfg postgres.StoreConfig) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	return postgres.NewStore(pool, cfg), pool
}

// txStore is a Store inside a transaction rolled back when t ends: for
// tests whose writes need not be committed.
func txStore(t *testing.T, cfg postgres.StoreConfig) (*postgres.Store, pgx.Tx) {
	t.Helper()
	tx := pgtest.NewTx(t)
	return postgres.NewStore(tx, cfg), tx
}

// riverClient inserts jobs only (inside the store's transactions).
func riverClient(t *testing.T) *river.Client[pgx.Tx] {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	require.NoError(t, err)
	return client
}

func newConversation(t *testing.T, s chat.Store) chat.Conversation {
	t.Helper()
	c, err := s.CreateConversation(context.Background(), chat.Conversation{ID: uuid.Must(uuid.NewV7()), OwnerID: "user-1"})
	require.NoError(t, err)
	return c
}

func newMsg(conv uuid.UUID, content string, clientID *string) chat.NewMessage {
	return chat.NewMessage{
		ID:              uuid.Must(uuid.NewV7()),
		ConversationID:  conv,
		Sender:          chat.SenderUser,
		Content:         content,
		ClientMessageID: clientID,
	}
}

func ptr[T any](v T) *T { return &v }

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func count(t *testing.T, db querier, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestConversationCRUD(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := txStore(t, postgres.StoreConfig{})

	owned, err := s.CreateConversation(ctx, chat.Conversation{
		ID: uuid.Must(uuid.NewV7()), OwnerID: "alice", Metadata: json.RawMessage(`{"topic": "billing"}`),
	})
	require.NoError(t, err)
	require.False(t, owned.CreatedAt.IsZero())
	got, err := s.Conversation(ctx, owned.ID)
	require.NoError(t, err)
	require.Equal(t, "alice", got.OwnerID)
	require.False(t, got.Anonymous())
	require.Nil(t, got.SessionTokenHash)
	require.JSONEq(t, `{"topic":"billing"}`, string(got.Metadata))
	require.True(t, owned.CreatedAt.Equal(got.CreatedAt))

	hash := chat.HashSessionToken("tok")
	anon, err := s.CreateConversation(ctx, chat.Conversation{ID: uuid.Must(uuid.NewV7()), SessionTokenHash: hash})
	require.NoError(t, err)
	got, err = s.Conversation(ctx, anon.ID)
	require.NoError(t, err)
	require.True(t, got.Anonymous())
	require.Equal(t, hash, got.SessionTokenHash)
	require.Nil(t, got.Metadata)

	_, err = s.Conversation(ctx, uuid.New())
	require.ErrorIs(t, err, chat.ErrNotFound)
	require.Equal(t, chat.CodeNotFound, chat.ErrorCode(err))

	_, err = s.Message(ctx, uuid.New())
	require.ErrorIs(t, err, chat.ErrNotFound)

	// Duplicate id: an internal error, not NOT_FOUND. (Last: a failed
	// statement other than AppendMessage aborts the store's transaction.)
	_, err = s.CreateConversation(ctx, chat.Conversation{ID: owned.ID, OwnerID: "bob"})
	require.Error(t, err)
	require.Equal(t, chat.CodeInternal, chat.ErrorCode(err))
}

func TestAppendMessageAndRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := txStore(t, postgres.StoreConfig{})
	c := newConversation(t, s)

	in := newMsg(c.ID, "hello", ptr("c-1"))
	in.SenderID = ptr("user-1")
	msg, created, err := s.AppendMessage(ctx, in)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(1), msg.Seq)
	require.Equal(t, in.ID, msg.ID)
	require.Equal(t, c.ID, msg.ConversationID)
	require.Equal(t, chat.SenderUser, msg.Sender)
	require.Equal(t, "user-1", *msg.SenderID)
	require.Equal(t, "hello", msg.Content)
	require.Equal(t, "c-1", *msg.ClientMessageID)
	require.False(t, msg.CreatedAt.IsZero())

	got, err := s.Message(ctx, msg.ID)
	require.NoError(t, err)
	require.Equal(t, msg.ID, got.ID)
	require.True(t, msg.CreatedAt.Equal(got.CreatedAt))

	bot := newMsg(c.ID, "hi, bot here", nil)
	bot.Sender = chat.SenderBot
	msg2, created, err := s.AppendMessage(ctx, bot)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(2), msg2.Seq)
	require.Nil(t, msg2.SenderID)
	require.Nil(t, msg2.ClientMessageID)
	require.False(t, msg2.CreatedAt.Before(msg.CreatedAt))
}

func TestMessagesAfterPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := txStore(t, postgres.StoreConfig{})
	c := newConversation(t, s)
	other := newConversation(t, s)
	for i := range 7 {
		_, _, err := s.AppendMessage(ctx, newMsg(c.ID, fmt.Sprint("m", i+1), nil))
		require.NoError(t, err)
	}
	_, _, err := s.AppendMessage(ctx, newMsg(other.ID, "elsewhere", nil))
	require.NoError(t, err)

	var seqs []int64
	after := int64(0)
	for {
		page, err := s.MessagesAfter(ctx, c.ID, after, 3)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 3)
		for _, m := range page {
			require.Equal(t, c.ID, m.ConversationID)
			require.Equal(t, fmt.Sprint("m", m.Seq), m.Content)
			seqs = append(seqs, m.Seq)
		}
		after = page[len(page)-1].Seq
	}
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7}, seqs)

	page, err := s.MessagesAfter(ctx, c.ID, 5, 50)
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, int64(6), page[0].Seq)

	page, err = s.MessagesAfter(ctx, uuid.New(), 0, 50)
	require.NoError(t, err)
	require.Empty(t, page)
}

func TestSeqGaplessUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, postgres.StoreConfig{})
	c := newConversation(t, s)

	const senders = 20
	var wg sync.WaitGroup
	seqs := make([]int64, senders)
	errs := make([]error, senders)
	for i := range senders {
		wg.Go(func() {
			msg, created, err := s.AppendMessage(ctx, newMsg(c.ID, fmt.Sprint("m", i), nil))
			if err == nil && !created {
				err = errors.New("not created")
			}
			seqs[i], errs[i] = msg.Seq, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, seq := range seqs {
		require.Equal(t, int64(i+1), seq)
	}
	msgs, err := s.MessagesAfter(ctx, c.ID, 0, 100)
	require.NoError(t, err)
	require.Len(t, msgs, senders)
	for i := 1; i < len(msgs); i++ {
		require.False(t, msgs[i].CreatedAt.Before(msgs[i-1].CreatedAt), "createdAt follows seq")
	}
}

func TestClientMessageIDIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tx := txStore(t, postgres.StoreConfig{})
	c := newConversation(t, s)

	first, created, err := s.AppendMessage(ctx, newMsg(c.ID, "one", ptr("dup")))
	require.NoError(t, err)
	require.True(t, created)

	again, created, err := s.AppendMessage(ctx, newMsg(c.ID, "different content", ptr("dup")))
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, "one", again.Content)
	require.True(t, first.CreatedAt.Equal(again.CreatedAt))

	// The same clientMessageId in another conversation is another message.
	c2 := newConversation(t, s)
	other, created, err := s.AppendMessage(ctx, newMsg(c2.ID, "one", ptr("dup")))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(1), other.Seq)

	next, _, err := s.AppendMessage(ctx, newMsg(c.ID, "two", nil))
	require.NoError(t, err)
	require.Equal(t, int64(2), next.Seq, "a repeated send consumes no seq")
	require.Equal(t, 2, count(t, tx, "SELECT count(*) FROM messages WHERE conversation_id = $1", c.ID))
}

func TestClientMessageIDRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, postgres.StoreConfig{})

	for round := range 5 {
		c := newConversation(t, s)
		const racers = 10
		var wg sync.WaitGroup
		start := make(chan struct{})
		msgs := make([]chat.Message, racers)
		createds := make([]bool, racers)
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				msgs[i], createds[i], errs[i] = s.AppendMessage(ctx, newMsg(c.ID, fmt.Sprint("racer ", i), ptr("same")))
			})
		}
		close(start)
		wg.Wait()
		nCreated := 0
		for i := range racers {
			require.NoError(t, errs[i])
			require.Equal(t, msgs[0].ID, msgs[i].ID, "round %d", round)
			require.Equal(t, int64(1), msgs[i].Seq)
			if createds[i] {
				nCreated++
			}
		}
		require.Equal(t, 1, nCreated)
		require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM messages WHERE conversation_id = $1", c.ID))
		require.Equal(t, 1, count(t, pool, "SELECT last_seq FROM conversations WHERE id = $1", c.ID), "no seq consumed")
		next, _, err := s.AppendMessage(ctx, newMsg(c.ID, "next", nil))
		require.NoError(t, err)
		require.Equal(t, int64(2), next.Seq)
	}
}

func TestAppendToMissingConversation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tx := txStore(t, postgres.StoreConfig{Deliveries: riverClient(t), DeliveryArgs: deliveryArgs})

	m := newMsg(uuid.New(), "hello?", ptr("x"))
	m.Deliver = true
	_, _, err := s.AppendMessage(ctx, m)
	require.ErrorIs(t, err, chat.ErrNotFound)
	require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM messages"))
	require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM river_job"))
}

func TestAppendInsertsJobInSameTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tx := txStore(t, postgres.StoreConfig{Deliveries: riverClient(t), DeliveryArgs: deliveryArgs})
	c := newConversation(t, s)

	m := newMsg(c.ID, "deliver me", ptr("d-1"))
	m.Deliver = true
	m.SocketID = "sock-1"
	msg, created, err := s.AppendMessage(ctx, m)
	require.NoError(t, err)
	require.True(t, created)

	var args testDelivery
	var raw []byte
	require.NoError(t, tx.QueryRow(ctx, "SELECT args FROM river_job WHERE kind = 'test_delivery'").Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &args))
	require.Equal(t, msg.ID, args.MessageID)
	require.Equal(t, "sock-1", args.SocketID)

	// A repeat creates no second job.
	_, created, err = s.AppendMessage(ctx, m)
	require.NoError(t, err)
	require.False(t, created)
	// Deliver=false (a bot message) enqueues nothing.
	_, _, err = s.AppendMessage(ctx, newMsg(c.ID, "bot", nil))
	require.NoError(t, err)
	require.Equal(t, 1, count(t, tx, "SELECT count(*) FROM river_job"))
}

type failingInserter struct{}

func (failingInserter) InsertTx(context.Context, pgx.Tx, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return nil, errors.New("queue is on fire")
}

func (failingInserter) InsertManyTx(context.Context, pgx.Tx, []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return nil, errors.New("queue is on fire")
}

func TestFailingJobInsertRollsBackMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tx := txStore(t, postgres.StoreConfig{Deliveries: failingInserter{}, DeliveryArgs: deliveryArgs})
	c := newConversation(t, s)

	m := newMsg(c.ID, "lost", ptr("f-1"))
	m.Deliver = true
	_, _, err := s.AppendMessage(ctx, m)
	require.ErrorContains(t, err, "queue is on fire")
	require.Equal(t, chat.CodeInternal, chat.ErrorCode(err))
	require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM messages"))
	require.Equal(t, 0, count(t, tx, "SELECT last_seq FROM conversations WHERE id = $1", c.ID))

	// A real River insert that fails (unregistered kind when workers exist)
	// rolls back too.
	rc, err := river.NewClient(riverpgxv5.New(nil), &river.Config{Workers: river.NewWorkers()})
	require.NoError(t, err)
	s = postgres.NewStore(tx, postgres.StoreConfig{Deliveries: rc, DeliveryArgs: deliveryArgs})
	_, _, err = s.AppendMessage(ctx, m)
	require.Error(t, err)
	require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM messages"))
	require.Equal(t, 0, count(t, tx, "SELECT count(*) FROM river_job"))
}

// A Store on a caller's transaction: everything it writes exists only if
// the transaction commits; a failed or repeated send (under its savepoint)
// leaves the transaction usable and consumes no seq; the Committed hand-off
// is never told, since the commit is the caller's.
func TestStoreOnATransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	log := &committedLog{msgs: map[uuid.UUID]int{}}
	cfg := postgres.StoreConfig{Deliveries: riverClient(t), DeliveryArgs: deliveryArgs, Committed: log.add}
	c := newConversation(t, postgres.NewStore(pool, cfg))

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	s := postgres.NewStore(tx, cfg)
	m1 := newMsg(c.ID, "a", ptr("g-1"))
	m1.Deliver = true
	a, created, err := s.AppendMessage(ctx, m1)
	require.NoError(t, err)
	require.True(t, created)
	dup, created, err := s.AppendMessage(ctx, newMsg(c.ID, "a again", ptr("g-1")))
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, a.ID, dup.ID)
	_, _, err = s.AppendMessage(ctx, newMsg(uuid.New(), "nowhere", nil))
	require.ErrorIs(t, err, chat.ErrNotFound)
	b, created, err := s.AppendMessage(ctx, newMsg(c.ID, "b", nil))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(2), b.Seq)
	require.Equal(t, 0, count(t, pool, "SELECT count(*) FROM messages"), "nothing visible before commit")
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, 2, count(t, pool, "SELECT count(*) FROM messages"))
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM river_job"))
	require.Zero(t, log.len(), "the caller commits, so the caller reports")

	// Rolled back: nothing stays, seq is given back.
	tx, err = pool.Begin(ctx)
	require.NoError(t, err)
	_, _, err = postgres.NewStore(tx, cfg).AppendMessage(ctx, newMsg(c.ID, "gone", nil))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	next, _, err := postgres.NewStore(pool, cfg).AppendMessage(ctx, newMsg(c.ID, "c", nil))
	require.NoError(t, err)
	require.Equal(t, int64(3), next.Seq)

	// A conversation created in a transaction rolled back is gone too.
	tx, err = pool.Begin(ctx)
	require.NoError(t, err)
	conv, err := postgres.NewStore(tx, cfg).CreateConversation(ctx, chat.Conversation{ID: uuid.New(), OwnerID: "u"})
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	_, err = postgres.NewStore(pool, cfg).Conversation(ctx, conv.ID)
	require.ErrorIs(t, err, chat.ErrNotFound)
}

func TestContextCancellationPassesThrough(t *testing.T) {
	t.Parallel()
	s, _ := txStore(t, postgres.StoreConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Conversation(ctx, uuid.New())
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = s.AppendMessage(ctx, newMsg(uuid.New(), "x", nil))
	require.ErrorIs(t, err, context.Canceled)
}
