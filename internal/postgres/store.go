package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres/dbsqlc"
)

// JobInserter inserts River jobs inside a caller's transaction.
// *river.Client[pgx.Tx] satisfies it (an insert-only client is enough).
type JobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// StoreConfig configures a Store.
type StoreConfig struct {
	// Deliveries inserts webhook delivery jobs; nil means no deliveries.
	Deliveries JobInserter
	// DeliveryArgs builds the delivery job of a new message; nil means no
	// deliveries. A nil result skips the delivery of that message.
	DeliveryArgs func(msg chat.Message, socketID string) river.JobArgs
	// Batch turns on group commit of AppendMessage (see BatchConfig); nil,
	// or a MaxBatch of 1, means one transaction per send. With it, call
	// Close when done.
	Batch *BatchConfig
	// Committed, if set, is given every message AppendMessage created with
	// a delivery (NewMessage.Deliver, with Deliveries and DeliveryArgs
	// set), by the goroutine that committed it, right after COMMIT and
	// before any sender is answered. That is before River, woken by the
	// commit's notification, is likely to start the message's delivery,
	// which a hand-off told later (after the sender's goroutine woke up)
	// often missed. Messages created through AppendMessageTx are the
	// caller's to report once its transaction commits.
	Committed func(chat.Message)
	// SendLimit is the per-conversation message limit
	// (RATE_LIMIT_MESSAGES_*), applied to NewMessage.Limited messages by
	// the statement that locks the conversation and takes its seq, so it
	// holds across every process on the database. Zero Rate: no limit.
	SendLimit SendLimit
}

// SendLimit is a rate (messages per second) with a burst.
type SendLimit struct {
	Rate  float64
	Burst int
}

// interval is GCRA's emission interval in seconds (0: no limit).
func (l SendLimit) interval() float64 {
	if l.Rate <= 0 {
		return 0
	}
	return 1 / l.Rate
}

func (l SendLimit) burst() int64 { return int64(max(l.Burst, 1)) }

// errRateLimited is the answer to a message the conversation's limit
// refuses; wait is when the next one would pass.
func errRateLimited(waitSecs float64) error {
	return &chat.Error{
		Code:       chat.CodeRateLimited,
		Message:    "too many messages in this conversation; retry later",
		RetryAfter: max(time.Duration(waitSecs*float64(time.Second)), time.Millisecond),
	}
}

// Store implements chat.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
	cfg  StoreConfig
	// batch is the group committer; nil when batching is off.
	batch *batcher
}

var _ chat.Store = (*Store)(nil)

// NewStore returns a Store on pool. With cfg.Batch it starts the group
// committer's goroutines: stop them with Close.
func NewStore(pool *pgxpool.Pool, cfg StoreConfig) *Store {
	s := &Store{pool: pool, q: dbsqlc.New(pool), cfg: cfg}
	if cfg.Batch != nil {
		if bc := cfg.Batch.withDefaults(); bc.MaxBatch > 1 {
			s.batch = newBatcher(s, bc)
		}
	}
	return s
}

// Close stops the group committer: it refuses new batches (later sends run
// one transaction each), commits what is queued and waits for the
// committers, or ctx. It does not close the pool.
func (s *Store) Close(ctx context.Context) error {
	if s.batch == nil {
		return nil
	}
	return s.batch.stop(ctx)
}

// Batching reports whether group commit is on.
func (s *Store) Batching() bool { return s.batch != nil }

// BatchStats returns the group committer's counters (zero when it is off).
func (s *Store) BatchStats() BatchStats {
	if s.batch == nil {
		return BatchStats{}
	}
	return s.batch.stats()
}

// Pool returns the store's pool (for callers that open their own
// transactions and use the ...Tx methods).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// CreateConversation stores c and returns it as stored (CreatedAt set).
func (s *Store) CreateConversation(ctx context.Context, c chat.Conversation) (chat.Conversation, error) {
	return s.createConversation(ctx, s.q, c)
}

// CreateConversationTx is CreateConversation inside tx.
func (s *Store) CreateConversationTx(ctx context.Context, tx pgx.Tx, c chat.Conversation) (chat.Conversation, error) {
	return s.createConversation(ctx, s.q.WithTx(tx), c)
}

func (s *Store) createConversation(ctx context.Context, q *dbsqlc.Queries, c chat.Conversation) (chat.Conversation, error) {
	row, err := q.CreateConversation(ctx, dbsqlc.CreateConversationParams{
		ID:               c.ID,
		OwnerID:          nullString(c.OwnerID),
		SessionTokenHash: c.SessionTokenHash,
		Metadata:         nullJSON(c.Metadata),
	})
	if err != nil {
		return chat.Conversation{}, mapErr("create conversation", err)
	}
	return toConversation(row), nil
}

// Conversation returns the conversation with id, or chat.ErrNotFound.
func (s *Store) Conversation(ctx context.Context, id uuid.UUID) (chat.Conversation, error) {
	row, err := s.q.GetConversation(ctx, id)
	if err != nil {
		return chat.Conversation{}, mapErr("get conversation", err)
	}
	return toConversation(row), nil
}

// Message returns the message with id, or chat.ErrNotFound (for the webhook
// worker).
func (s *Store) Message(ctx context.Context, id uuid.UUID) (chat.Message, error) {
	row, err := s.q.GetMessage(ctx, id)
	if err != nil {
		return chat.Message{}, mapErr("get message", err)
	}
	return toMessage(row), nil
}

// MessagesAfter returns up to limit messages with seq > afterSeq, by seq.
func (s *Store) MessagesAfter(ctx context.Context, conversationID uuid.UUID, afterSeq int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return []chat.Message{}, nil
	}
	rows, err := s.q.ListMessagesAfter(ctx, dbsqlc.ListMessagesAfterParams{
		ConversationID: conversationID,
		AfterSeq:       afterSeq,
		MaxRows:        int32(min(limit, 1<<30)),
	})
	if err != nil {
		return nil, mapErr("list messages", err)
	}
	out := make([]chat.Message, len(rows))
	for i, r := range rows {
		out[i] = toMessage(r)
	}
	return out, nil
}

// errDuplicate says the INSERT met a message with the same clientMessageId
// that another transaction committed meanwhile.
var errDuplicate = errors.New("duplicate client message id")

// AppendMessage stores m with the conversation's next seq, and its webhook
// delivery job when m.Deliver and deliveries are configured, in one
// transaction; it returns after the commit. A repeated ClientMessageID
// returns the first message with created=false and writes nothing (no seq
// is consumed). A missing conversation gives chat.ErrNotFound.
//
// With group commit on, concurrent calls share a transaction (see
// BatchConfig); the guarantees are the same.
func (s *Store) AppendMessage(ctx context.Context, m chat.NewMessage) (chat.Message, bool, error) {
	if s.batch != nil {
		if res, ok := s.batch.append(ctx, m); ok {
			return res.msg, res.created, res.err
		}
	}
	return s.appendMessage(ctx, m)
}

// appendMessage is AppendMessage in a transaction of its own.
func (s *Store) appendMessage(ctx context.Context, m chat.NewMessage) (chat.Message, bool, error) {
	if msg, ok, err := s.byClientID(ctx, s.q, m); err != nil || ok {
		return msg, false, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return chat.Message{}, false, mapErr("append message: begin", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // no-op after Commit

	msg, err := s.appendTx(ctx, tx, m)
	if errors.Is(err, errDuplicate) {
		// Roll back so the seq taken is given back, then return the winner.
		if err := tx.Rollback(ctx); err != nil {
			return chat.Message{}, false, mapErr("append message: rollback", err)
		}
		return s.existing(ctx, s.q, m)
	}
	if err != nil {
		return chat.Message{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return chat.Message{}, false, mapErr("append message: commit", err)
	}
	s.committed(m, msg)
	return msg, true, nil
}

// committed tells cfg.Committed of msg, created from m, if it has a
// delivery.
func (s *Store) committed(m chat.NewMessage, msg chat.Message) {
	if s.cfg.Committed != nil && s.delivers(m) {
		s.cfg.Committed(msg)
	}
}

// AppendMessageTx is AppendMessage inside the caller's transaction (e.g. a
// group commit of several sends): the message and its job exist only if tx
// commits. It works under a savepoint, so a duplicate or a failure leaves tx
// usable and consumes no seq.
func (s *Store) AppendMessageTx(ctx context.Context, tx pgx.Tx, m chat.NewMessage) (chat.Message, bool, error) {
	q := s.q.WithTx(tx)
	if msg, ok, err := s.byClientID(ctx, q, m); err != nil || ok {
		return msg, false, err
	}
	sp, err := tx.Begin(ctx) // SAVEPOINT
	if err != nil {
		return chat.Message{}, false, mapErr("append message: savepoint", err)
	}
	msg, err := s.appendTx(ctx, sp, m)
	if err != nil {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return chat.Message{}, false, mapErr("append message: rollback to savepoint", rbErr)
		}
		if errors.Is(err, errDuplicate) {
			return s.existing(ctx, q, m)
		}
		return chat.Message{}, false, err
	}
	if err := sp.Commit(ctx); err != nil { // RELEASE SAVEPOINT
		return chat.Message{}, false, mapErr("append message: release savepoint", err)
	}
	return msg, true, nil
}

// appendTx is the per-message work: take the next seq (the conversation's
// row lock serialises senders until tx ends), insert the message, enqueue
// its delivery. It returns errDuplicate when a concurrent transaction
// committed the same clientMessageId first; tx must then be rolled back.
func (s *Store) appendTx(ctx context.Context, tx pgx.Tx, m chat.NewMessage) (chat.Message, error) {
	q := s.q.WithTx(tx)
	next, err := q.NextSeq(ctx, dbsqlc.NextSeqParams{
		ID:           m.ConversationID,
		Limited:      m.Limited,
		IntervalSecs: s.cfg.SendLimit.interval(),
		Burst:        s.cfg.SendLimit.burst(),
	})
	if err != nil {
		return chat.Message{}, mapErr("append message: next seq", err)
	}
	if !next.Allowed {
		return chat.Message{}, errRateLimited(next.RetryAfterSecs)
	}
	seq := next.LastSeq
	row, err := q.InsertMessage(ctx, dbsqlc.InsertMessageParams{
		ID:              m.ID,
		ConversationID:  m.ConversationID,
		Seq:             seq,
		Sender:          string(m.Sender),
		SenderID:        m.SenderID,
		Content:         m.Content,
		ClientMessageID: m.ClientMessageID,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Message{}, errDuplicate
	}
	if err != nil {
		return chat.Message{}, mapErr("append message: insert", err)
	}
	msg := toMessage(row)
	if args := s.deliveryArgs(m, msg); args != nil {
		if _, err := s.cfg.Deliveries.InsertTx(ctx, tx, args, nil); err != nil {
			return chat.Message{}, mapErr("append message: insert delivery job", err)
		}
	}
	return msg, nil
}

// byClientID is the fast path of a repeated clientMessageId.
func (s *Store) byClientID(ctx context.Context, q *dbsqlc.Queries, m chat.NewMessage) (chat.Message, bool, error) {
	if m.ClientMessageID == nil {
		return chat.Message{}, false, nil
	}
	row, err := q.GetMessageByClientID(ctx, dbsqlc.GetMessageByClientIDParams{
		ConversationID:  m.ConversationID,
		ClientMessageID: m.ClientMessageID,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Message{}, false, nil
	}
	if err != nil {
		return chat.Message{}, false, mapErr("append message: find client message id", err)
	}
	return toMessage(row), true, nil
}

// existing returns the message that won a clientMessageId race.
func (s *Store) existing(ctx context.Context, q *dbsqlc.Queries, m chat.NewMessage) (chat.Message, bool, error) {
	msg, ok, err := s.byClientID(ctx, q, m)
	if err == nil && !ok {
		err = fmt.Errorf("append message: message with client message id vanished after conflict")
	}
	return msg, false, err
}

// mapErr is the one place where database errors become the domain's:
// context errors pass through, no row and a foreign-key violation (the
// conversation was deleted meanwhile) are chat.ErrNotFound, anything else is
// wrapped with op.
func mapErr(op string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", op, chat.ErrNotFound)
	case errors.As(err, &pgErr) && pgErr.Code == "23503": // foreign_key_violation
		return fmt.Errorf("%s: %w", op, chat.ErrNotFound)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func toConversation(r dbsqlc.Conversation) chat.Conversation {
	c := chat.Conversation{
		ID:               r.ID,
		SessionTokenHash: r.SessionTokenHash,
		CreatedAt:        r.CreatedAt,
	}
	if r.OwnerID != nil {
		c.OwnerID = *r.OwnerID
	}
	if r.Metadata != nil {
		c.Metadata = json.RawMessage(r.Metadata)
	}
	return c
}

func toMessage(r dbsqlc.Message) chat.Message {
	return chat.Message{
		ID:              r.ID,
		ConversationID:  r.ConversationID,
		Seq:             r.Seq,
		Sender:          chat.Sender(r.Sender),
		SenderID:        r.SenderID,
		Content:         r.Content,
		ClientMessageID: r.ClientMessageID,
		CreatedAt:       r.CreatedAt,
	}
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullJSON(j json.RawMessage) []byte {
	if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return j
}
