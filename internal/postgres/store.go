package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres/internal/dbsqlc"
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
	// Committed, if set, is given every message AppendMessage created with
	// a delivery (NewMessage.Deliver, with Deliveries and DeliveryArgs
	// set), by the goroutine that committed it, right after COMMIT and
	// before any sender is answered. That is before River, woken by the
	// commit's notification, is likely to start the message's delivery,
	// which a hand-off told later (after the sender's goroutine woke up)
	// often missed. A Store on a caller's transaction never calls it: the
	// commit, and so the report, is the caller's.
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
	exec Executor
	q    *dbsqlc.Queries
	cfg  StoreConfig
	// inTx: exec is a caller's transaction, which commits when the caller
	// says so; AppendMessage then works under a savepoint.
	inTx bool
}

var _ chat.Store = (*Store)(nil)

// NewStore returns a Store that runs on exec: a pool (each AppendMessage is
// a transaction of its own), or a pgx.Tx (everything happens inside it and
// exists only if it commits; a failed AppendMessage leaves it usable).
func NewStore(exec Executor, cfg StoreConfig) *Store {
	_, inTx := exec.(pgx.Tx)
	return &Store{exec: exec, q: dbsqlc.New(exec), cfg: cfg, inTx: inTx}
}

// onTx is s inside tx.
func (s *Store) onTx(tx pgx.Tx) *Store {
	return &Store{exec: tx, q: s.q.WithTx(tx), cfg: s.cfg, inTx: true}
}

// CreateConversation stores c and returns it as stored (CreatedAt set).
func (s *Store) CreateConversation(ctx context.Context, c chat.Conversation) (chat.Conversation, error) {
	row, err := s.q.CreateConversation(ctx, dbsqlc.CreateConversationParams{
		ID:                c.ID,
		OwnerID:           nullString(c.OwnerID),
		SessionTokenHash:  c.SessionTokenHash,
		Metadata:          nullJSON(c.Metadata),
		SessionLastUsedAt: nullTime(c.SessionLastUsedAt),
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
	return toMessages(rows), nil
}

// errDuplicate says the INSERT met a message with the same clientMessageId
// that another transaction committed meanwhile.
var errDuplicate = errors.New("duplicate client message id")

// AppendMessage stores m with the conversation's next seq, and its webhook
// delivery job when m.Deliver and deliveries are configured, in one
// transaction (on a pool) or one savepoint (on a caller's transaction); it
// returns after the commit (or the savepoint's release). A repeated
// ClientMessageID returns the first message with created=false and writes
// nothing (no seq is consumed). A missing conversation gives
// chat.ErrNotFound.
func (s *Store) AppendMessage(ctx context.Context, m chat.NewMessage) (chat.Appended, error) {
	if msg, ok, err := s.byClientID(ctx, m); err != nil || ok {
		return chat.Appended{Message: msg}, err
	}
	tx, err := s.exec.Begin(ctx) // BEGIN, or SAVEPOINT in a caller's transaction
	if err != nil {
		return chat.Appended{}, mapErr("append message: begin", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // no-op after Commit

	res, err := s.appendTx(ctx, tx, m)
	if err != nil {
		// Roll back now: the seq taken is given back, and a caller's
		// transaction is usable again.
		rbErr := tx.Rollback(ctx)
		if !errors.Is(err, errDuplicate) {
			return chat.Appended{}, err
		}
		if rbErr != nil {
			return chat.Appended{}, mapErr("append message: rollback", rbErr)
		}
		msg, _, err := s.existing(ctx, m)
		return chat.Appended{Message: msg}, err
	}
	if err := tx.Commit(ctx); err != nil { // COMMIT, or RELEASE SAVEPOINT
		return chat.Appended{}, mapErr("append message: commit", err)
	}
	if !s.inTx {
		s.committed(m, res.Message)
	}
	return res, nil
}

// committed tells cfg.Committed of msg, created from m, if it has a
// delivery.
func (s *Store) committed(m chat.NewMessage, msg chat.Message) {
	if s.cfg.Committed != nil && s.delivers(m) {
		s.cfg.Committed(msg)
	}
}

// appendTx is the per-message work: take the next seq (the conversation's
// row lock serialises senders until tx ends), insert the message, enqueue
// its delivery. It returns errDuplicate when a concurrent transaction
// committed the same clientMessageId first; tx must then be rolled back.
func (s *Store) appendTx(ctx context.Context, tx pgx.Tx, m chat.NewMessage) (chat.Appended, error) {
	q := s.q.WithTx(tx)
	reopen := m.Sender == chat.SenderUser
	next, err := q.NextSeq(ctx, dbsqlc.NextSeqParams{
		ID:           m.ConversationID,
		MessageID:    m.ID,
		Reopen:       reopen,
		Limited:      m.Limited,
		IntervalSecs: s.cfg.SendLimit.interval(),
		Burst:        s.cfg.SendLimit.burst(),
	})
	if err != nil {
		return chat.Appended{}, mapErr("append message: next seq", err)
	}
	if !next.Allowed {
		return chat.Appended{}, errRateLimited(next.RetryAfterSecs)
	}
	seq := next.Conversation.LastSeq
	row, err := q.InsertMessage(ctx, dbsqlc.InsertMessageParams{
		ID:              m.ID,
		ConversationID:  m.ConversationID,
		Seq:             seq,
		Sender:          string(m.Sender),
		SenderID:        m.SenderID,
		Content:         m.Content,
		ClientMessageID: m.ClientMessageID,
	})
	if errors.Is(err, pgx.ErrNoRows) { // ON CONFLICT DO NOTHING returned nothing
		return chat.Appended{}, errDuplicate
	}
	if err != nil {
		return chat.Appended{}, mapErr("append message: insert", err)
	}
	msg := toMessage(row)
	if args := s.deliveryArgs(m, msg); args != nil {
		if _, err := s.cfg.Deliveries.InsertTx(ctx, tx, args, nil); err != nil {
			return chat.Appended{}, mapErr("append message: insert delivery job", err)
		}
	}
	return chat.Appended{
		Message:      msg,
		Created:      true,
		Conversation: toConversation(next.Conversation),
		Reopened:     reopen && next.PrevStatus == string(chat.StatusClosed),
	}, nil
}

// byClientID is the fast path of a repeated clientMessageId: ok is false
// when m has none or it is not stored yet.
func (s *Store) byClientID(ctx context.Context, m chat.NewMessage) (msg chat.Message, ok bool, err error) {
	if m.ClientMessageID == nil {
		return chat.Message{}, false, nil
	}
	row, err := s.q.GetMessageByClientID(ctx, dbsqlc.GetMessageByClientIDParams{
		ConversationID:  m.ConversationID,
		ClientMessageID: m.ClientMessageID,
	})
	if errors.Is(err, pgx.ErrNoRows) { // not stored: no error, the send goes on
		return chat.Message{}, false, nil
	}
	if err != nil {
		return chat.Message{}, false, mapErr("append message: find client message id", err)
	}
	return toMessage(row), true, nil
}

// existing returns the message that won a clientMessageId race.
func (s *Store) existing(ctx context.Context, m chat.NewMessage) (chat.Message, bool, error) {
	msg, ok, err := s.byClientID(ctx, m)
	if err == nil && !ok {
		err = fmt.Errorf("append message: message with client message id vanished after conflict")
	}
	return msg, false, err
}

// deliveryArgs returns the delivery job of a new message, or nil.
func (s *Store) deliveryArgs(m chat.NewMessage, msg chat.Message) river.JobArgs {
	if !s.delivers(m) {
		return nil
	}
	return s.cfg.DeliveryArgs(msg, m.SocketID)
}

// delivers reports whether m gets a webhook delivery job.
func (s *Store) delivers(m chat.NewMessage) bool {
	return m.Deliver && s.cfg.Deliveries != nil && s.cfg.DeliveryArgs != nil
}
