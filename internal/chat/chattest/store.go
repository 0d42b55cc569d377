// Package chattest is an in-memory chat.Store for the tests of the domain
// and its edges, and the conformance test that it and the PostgreSQL store
// both pass, so the fake cannot drift from the rules the edges rely on.
package chattest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

// Op names a Store method, for Fail.
type Op int

const (
	OpCreateConversation Op = iota + 1
	OpConversation
	OpAppendMessage
	OpMessagesAfter
	OpMessage
)

// Store is an in-memory chat.Store. Like the PostgreSQL store it gives each
// conversation gapless seqs from 1, returns the first message again for a
// repeated clientMessageId (consuming no seq), answers chat.ErrNotFound
// (wrapped) for a missing conversation or message, stores what it is given
// (the session token's hash, not the token), and pages by seq. Safe for
// concurrent use.
type Store struct {
	mu            sync.Mutex
	conversations map[uuid.UUID]chat.Conversation
	messages      map[uuid.UUID][]chat.Message // by conversation, in seq order
	byID          map[uuid.UUID]chat.Message
	appends       []chat.NewMessage
	fail          map[Op]error
	touches       int
	// Now stamps CreatedAt; default time.Now.
	Now func() time.Time
}

var _ chat.Store = (*Store)(nil)

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		conversations: map[uuid.UUID]chat.Conversation{},
		messages:      map[uuid.UUID][]chat.Message{},
		byID:          map[uuid.UUID]chat.Message{},
		fail:          map[Op]error{},
	}
}

// Fail makes every later call of op fail with err (a dead database, a
// conversation deleted meanwhile); a nil err restores the method.
func (s *Store) Fail(op Op, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.fail, op)
		return
	}
	s.fail[op] = err
}

// Appends returns every NewMessage AppendMessage was given, in call order,
// repeats and failures included (Deliver says whether a webhook delivery was
// asked for).
func (s *Store) Appends() []chat.NewMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.appends)
}

// Messages returns the stored messages of a conversation in seq order.
func (s *Store) Messages(conversationID uuid.UUID) []chat.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages[conversationID])
}

func (s *Store) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// PostgreSQL keeps microseconds.
	return now().Truncate(time.Microsecond)
}

// CreateConversation stores c and returns it with CreatedAt set. An id
// already taken is an error (a primary key violation in PostgreSQL).
func (s *Store) CreateConversation(_ context.Context, c chat.Conversation) (chat.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[OpCreateConversation]; err != nil {
		return chat.Conversation{}, err
	}
	if _, ok := s.conversations[c.ID]; ok {
		return chat.Conversation{}, fmt.Errorf("create conversation: id %s already exists", c.ID)
	}
	c.CreatedAt = s.now()
	c.SessionTokenHash = bytes.Clone(c.SessionTokenHash)
	if t := bytes.TrimSpace(c.Metadata); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		c.Metadata = nil
	} else {
		c.Metadata = bytes.Clone(c.Metadata)
	}
	s.conversations[c.ID] = c
	return c, nil
}

// Conversation returns the conversation with id, or chat.ErrNotFound.
func (s *Store) Conversation(_ context.Context, id uuid.UUID) (chat.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[OpConversation]; err != nil {
		return chat.Conversation{}, err
	}
	c, ok := s.conversations[id]
	if !ok {
		return chat.Conversation{}, fmt.Errorf("get conversation: %w", chat.ErrNotFound)
	}
	return c, nil
}

// AppendMessage stores m with the conversation's next seq.
func (s *Store) AppendMessage(_ context.Context, m chat.NewMessage) (chat.Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends = append(s.appends, m)
	if err := s.fail[OpAppendMessage]; err != nil {
		return chat.Message{}, false, err
	}
	if _, ok := s.conversations[m.ConversationID]; !ok {
		return chat.Message{}, false, fmt.Errorf("append message: %w", chat.ErrNotFound)
	}
	msgs := s.messages[m.ConversationID]
	if m.ClientMessageID != nil {
		for _, old := range msgs {
			if old.ClientMessageID != nil && *old.ClientMessageID == *m.ClientMessageID {
				return old, false, nil
			}
		}
	}
	msg := chat.Message{
		ID:              m.ID,
		ConversationID:  m.ConversationID,
		Seq:             int64(len(msgs)) + 1,
		Sender:          m.Sender,
		SenderID:        clonePtr(m.SenderID),
		Content:         m.Content,
		ClientMessageID: clonePtr(m.ClientMessageID),
		CreatedAt:       s.now(),
	}
	s.messages[m.ConversationID] = append(msgs, msg)
	s.byID[msg.ID] = msg
	return msg, true, nil
}

// MessagesAfter returns up to limit messages with seq > afterSeq, by seq;
// none (and no error) for an unknown conversation.
func (s *Store) MessagesAfter(_ context.Context, conversationID uuid.UUID, afterSeq int64, limit int) ([]chat.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[OpMessagesAfter]; err != nil {
		return nil, err
	}
	out := []chat.Message{}
	for _, m := range s.messages[conversationID] {
		if len(out) >= limit {
			break
		}
		if m.Seq > afterSeq {
			out = append(out, m)
		}
	}
	return out, nil
}

// Message returns the message with id, or chat.ErrNotFound (what the
// webhook worker loads).
func (s *Store) Message(_ context.Context, id uuid.UUID) (chat.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[OpMessage]; err != nil {
		return chat.Message{}, err
	}
	m, ok := s.byID[id]
	if !ok {
		return chat.Message{}, fmt.Errorf("get message: %w", chat.ErrNotFound)
	}
	return m, nil
}

func clonePtr(p *string) *string {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

var _ chat.SessionStore = (*Store)(nil)

// TouchSession records a use of the session token (never moving it back),
// as the PostgreSQL store does, and counts the call (Touches).
func (s *Store) TouchSession(_ context.Context, id uuid.UUID, usedAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touches++
	c, ok := s.conversations[id]
	if !ok {
		return nil // an UPDATE of no row
	}
	if usedAt.After(c.SessionLastUsedAt) {
		c.SessionLastUsedAt = usedAt
	}
	s.conversations[id] = c
	return nil
}

// Touches returns how many times TouchSession was called.
func (s *Store) Touches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.touches
}

// RotateSessionToken swaps the token if it is still oldHash, else
// chat.ErrSessionInvalid.
func (s *Store) RotateSessionToken(_ context.Context, id uuid.UUID, oldHash, newHash []byte, prevValidUntil, usedAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conversations[id]
	if !ok || !bytes.Equal(c.SessionTokenHash, oldHash) {
		return chat.ErrSessionInvalid
	}
	c.PrevSessionTokenHash, c.PrevSessionValidUntil = c.SessionTokenHash, prevValidUntil
	c.SessionTokenHash, c.SessionLastUsedAt = bytes.Clone(newHash), usedAt
	s.conversations[id] = c
	return nil
}
