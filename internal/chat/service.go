package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits of the contract that do not depend on configuration.
const (
	MaxClientMessageIDLength = 128
	MaxMetadataBytes         = 4096
	DefaultHistoryLimit      = 50
	// DefaultMaxMessageLength is MAX_MESSAGE_LENGTH's default (code points).
	DefaultMaxMessageLength = 4000
	MaxHistoryLimit         = 200
	// MaxReplay bounds the messages replayed on connect (auth.lastSeq); the
	// rest is for history paging.
	MaxReplay = 500
)

// Store persists conversations and messages. Implementations return
// ErrNotFound for a conversation that does not exist.
type Store interface {
	CreateConversation(ctx context.Context, c Conversation) (Conversation, error)
	Conversation(ctx context.Context, id uuid.UUID) (Conversation, error)
	// AppendMessage gives the message the conversation's next seq and stores
	// it — together with its webhook delivery when m.Deliver — in one
	// transaction, and returns only after that transaction committed. The
	// same transaction makes the message the conversation's last one (its
	// lastActivityAt moves to now) and reopens a closed conversation when
	// the sender is a user. When the conversation already has a message
	// with m.ClientMessageID it returns that message with Created false,
	// and writes nothing.
	AppendMessage(ctx context.Context, m NewMessage) (Appended, error)
	// MessagesAfter returns up to limit messages with seq > afterSeq, by seq.
	MessagesAfter(ctx context.Context, conversationID uuid.UUID, afterSeq int64, limit int) ([]Message, error)
	// SetStatus sets the conversation's status and returns its inbox item;
	// changed is false when it already had that status.
	SetStatus(ctx context.Context, id uuid.UUID, status Status) (item InboxItem, changed bool, err error)
	// Inbox returns up to q.Limit inbox items of q.Status strictly after
	// q.After, by (LastActivityAt, ConversationID) descending.
	Inbox(ctx context.Context, q InboxQuery) ([]InboxItem, error)
}

// Appended is what AppendMessage did.
type Appended struct {
	Message Message
	// Created is false when the ClientMessageID repeated: Message is the
	// first one, and nothing else is set.
	Created bool
	// Conversation is the conversation as the append left it (status, last
	// activity).
	Conversation Conversation
	// Reopened says the append, a user's message, turned a closed
	// conversation open.
	Reopened bool
}

// SessionStore keeps the use and rotation of anonymous session tokens.
type SessionStore interface {
	// TouchSession records that the conversation's session token was used
	// at usedAt (never moving the time back).
	TouchSession(ctx context.Context, conversationID uuid.UUID, usedAt time.Time) error
	// RotateSessionToken replaces the token whose hash is oldHash by
	// newHash, keeping oldHash valid until prevValidUntil. It returns
	// ErrSessionInvalid when the current token is no longer oldHash.
	RotateSessionToken(ctx context.Context, conversationID uuid.UUID, oldHash, newHash []byte, prevValidUntil, usedAt time.Time) error
}

// NewMessage is a message about to be stored.
type NewMessage struct {
	ID              uuid.UUID
	ConversationID  uuid.UUID
	Sender          Sender
	SenderID        *string
	Content         string
	ClientMessageID *string
	// SocketID is the sending socket's id ("" over HTTP); it travels with the
	// webhook delivery.
	SocketID string
	// Deliver asks for a webhook delivery in the same transaction.
	Deliver bool
	// Limited says the message counts against its conversation's message
	// limit (users' and technicians' messages; not the bot's). A store
	// that enforces the limit itself (across processes) refuses it with
	// RATE_LIMITED, taking no seq.
	Limited bool
}

// Broadcaster fans committed changes out to the sockets that follow them,
// on every node (a cluster bus implements it by handing each call to the
// local gateway and publishing it for the others). Its methods are called
// after commit and must not block on slow clients.
type Broadcaster interface {
	// MessageCreated is called once for every new message. exceptSocketID
	// ("" for none) is the sender, which is answered separately.
	MessageCreated(msg Message, exceptSocketID string)
	// ConversationUpdated is called when a conversation's status changed:
	// its room gets conversation-updated.
	ConversationUpdated(conversationID uuid.UUID, status Status)
	// ConversationActivity is called when a conversation was created, got a
	// message or changed status: the technicians following the inbox get
	// conversation-activity.
	ConversationActivity(item InboxItem)
}

// Limiter decides whether an action on key may proceed now; when not, it
// says how long to wait.
type Limiter interface {
	Allow(key string) (ok bool, retryAfter time.Duration)
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// MaxMessageLength is the most code points a message may have after
	// trimming. Default 4000.
	MaxMessageLength int
	// SendLimiter limits the messages of users and technicians per
	// conversation (RATE_LIMIT_MESSAGES_*); nil: no limit. The bot's replies
	// are not limited: they answer the users' messages, which are.
	SendLimiter Limiter
	// NewID makes message and conversation ids. Default uuid.NewV7 (ids
	// sort by creation time, which keeps the primary key index compact).
	NewID func() (uuid.UUID, error)
	// Sessions tracks the use of session tokens and rotates them; nil:
	// tokens neither expire nor rotate.
	Sessions SessionStore
	// SessionTokenTTL is how long an unused session token keeps working:
	// DefaultSessionTokenTTL when 0, never expiring when negative.
	SessionTokenTTL time.Duration
	// SessionGrace is how long a rotated-out token keeps working
	// (DefaultSessionGrace).
	SessionGrace time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

const (
	// DefaultSessionTokenTTL is SESSION_TOKEN_TTL's default.
	DefaultSessionTokenTTL = 720 * time.Hour
	// DefaultSessionGrace is how long a token replaced by a rotation still
	// works, so that tabs reconnecting meanwhile get in.
	DefaultSessionGrace = 60 * time.Second
	// maxSessionTouchInterval caps SessionTouchInterval.
	maxSessionTouchInterval = time.Hour
)

// SessionTouchInterval is how stale a session's recorded last use may get
// before a use writes it again: 1/100 of the TTL, at most an hour. A token
// therefore expires between 99 % and 100 % of the TTL after its last use,
// and a busy conversation costs at most one write per interval.
func SessionTouchInterval(ttl time.Duration) time.Duration {
	return min(ttl/100, maxSessionTouchInterval)
}

func (c *ServiceConfig) withDefaults() ServiceConfig {
	out := *c
	if out.MaxMessageLength <= 0 {
		out.MaxMessageLength = DefaultMaxMessageLength
	}
	if out.NewID == nil {
		out.NewID = uuid.NewV7
	}
	if out.SessionTokenTTL == 0 {
		out.SessionTokenTTL = DefaultSessionTokenTTL
	}
	if out.SessionGrace <= 0 {
		out.SessionGrace = DefaultSessionGrace
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out
}

// Service holds the use cases shared by every edge.
type Service struct {
	cfg         ServiceConfig
	store       Store
	broadcaster Broadcaster
}

// NewService returns a Service. broadcaster may be nil until SetBroadcaster
// is called (the Socket.IO gateway needs the Service to be built first).
func NewService(cfg ServiceConfig, store Store, broadcaster Broadcaster) *Service {
	return &Service{cfg: cfg.withDefaults(), store: store, broadcaster: broadcaster}
}

// SetBroadcaster sets the broadcaster. Call it before serving.
func (s *Service) SetBroadcaster(b Broadcaster) { s.broadcaster = b }

// CreatedConversation is the result of CreateConversation.
type CreatedConversation struct {
	Conversation Conversation
	// SessionToken is set for an anonymous conversation and shown to its
	// creator once; only its hash is stored.
	SessionToken string
}

// CreateConversation creates a conversation owned by owner (a user
// identity), or an anonymous one with a fresh session token when owner is nil.
func (s *Service) CreateConversation(ctx context.Context, owner *Identity, metadata json.RawMessage) (CreatedConversation, error) {
	if err := validateMetadata(metadata); err != nil {
		return CreatedConversation{}, err
	}
	id, err := s.cfg.NewID()
	if err != nil {
		return CreatedConversation{}, fmt.Errorf("new conversation id: %w", err)
	}
	c := Conversation{ID: id, Metadata: metadata}
	var token string
	switch {
	case owner == nil:
		token, c.SessionTokenHash, err = newSessionToken()
		if err != nil {
			return CreatedConversation{}, err
		}
		c.SessionLastUsedAt = s.cfg.Now()
	case owner.Kind == IdentityUser:
		c.OwnerID = owner.UserID
	default:
		return CreatedConversation{}, ErrForbidden
	}
	c, err = s.store.CreateConversation(ctx, c)
	if err != nil {
		return CreatedConversation{}, err
	}
	if s.broadcaster != nil {
		s.broadcaster.ConversationActivity(NewInboxItem(c, nil))
	}
	return CreatedConversation{Conversation: c, SessionToken: token}, nil
}

// AuthenticateSession checks an anonymous visitor's credentials. An unknown
// conversation, an owned one, a wrong token, a token unused for longer than
// the TTL and a rotated-out token past its grace all give
// ErrSessionInvalid, so the answer tells nothing about which conversations
// exist; callers pass that error on to their edge's error path (where the
// anomaly guard counts it). A use is recorded at most once per
// SessionTouchInterval.
func (s *Service) AuthenticateSession(ctx context.Context, conversationID uuid.UUID, token string) (Identity, error) {
	c, err := s.checkSession(ctx, conversationID, token)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Kind: IdentityAnonymous, ConversationID: c.ID}, nil
}

// checkSession returns the conversation when token opens it now, and
// records the use when the recorded one is stale.
func (s *Service) checkSession(ctx context.Context, conversationID uuid.UUID, token string) (Conversation, error) {
	hash := HashSessionToken(token)
	c, err := s.store.Conversation(ctx, conversationID)
	if errors.Is(err, ErrNotFound) {
		return Conversation{}, ErrSessionInvalid
	}
	if err != nil {
		return Conversation{}, err
	}
	if !c.Anonymous() {
		return Conversation{}, ErrSessionInvalid
	}
	now := s.cfg.Now()
	current := subtle.ConstantTimeCompare(hash, c.SessionTokenHash) == 1
	previous := len(c.PrevSessionTokenHash) > 0 && subtle.ConstantTimeCompare(hash, c.PrevSessionTokenHash) == 1 &&
		now.Before(c.PrevSessionValidUntil)
	if !current && !previous {
		return Conversation{}, ErrSessionInvalid
	}
	if s.cfg.Sessions == nil || s.cfg.SessionTokenTTL < 0 || c.SessionLastUsedAt.IsZero() {
		return c, nil
	}
	idle := now.Sub(c.SessionLastUsedAt)
	if idle > s.cfg.SessionTokenTTL {
		return Conversation{}, ErrSessionInvalid
	}
	if idle >= SessionTouchInterval(s.cfg.SessionTokenTTL) {
		if err := s.cfg.Sessions.TouchSession(ctx, c.ID, now); err != nil {
			return Conversation{}, fmt.Errorf("record session use: %w", err)
		}
		c.SessionLastUsedAt = now
	}
	return c, nil
}

// RotateSessionToken gives the conversation a new session token in
// exchange for its current one, which keeps working for SessionGrace (tabs
// reconnecting meanwhile still get in); sockets already connected are not
// touched. A rotated-out token cannot rotate again; every refusal is
// ErrSessionInvalid.
func (s *Service) RotateSessionToken(ctx context.Context, conversationID uuid.UUID, token string) (string, error) {
	if s.cfg.Sessions == nil {
		return "", errors.New("session token rotation is not configured")
	}
	c, err := s.checkSession(ctx, conversationID, token)
	if err != nil {
		return "", err
	}
	oldHash := HashSessionToken(token)
	if subtle.ConstantTimeCompare(oldHash, c.SessionTokenHash) != 1 {
		return "", ErrSessionInvalid
	}
	newToken, newHash, err := newSessionToken()
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	if err := s.cfg.Sessions.RotateSessionToken(ctx, c.ID, oldHash, newHash, now.Add(s.cfg.SessionGrace), now); err != nil {
		return "", err
	}
	return newToken, nil
}

// Authorize returns the conversation if id may read and write it:
// an anonymous session or a reply token only its own conversation, a user
// the conversations they own, a technician every conversation. Anonymous
// sessions and reply tokens get FORBIDDEN even for conversations that do not
// exist; users get NOT_FOUND for those.
func (s *Service) Authorize(ctx context.Context, id Identity, conversationID uuid.UUID) (Conversation, error) {
	switch id.Kind {
	case IdentityAnonymous, IdentityReplyToken:
		if conversationID != id.ConversationID {
			return Conversation{}, ErrForbidden
		}
		c, err := s.store.Conversation(ctx, conversationID)
		if errors.Is(err, ErrNotFound) {
			return Conversation{}, ErrForbidden
		}
		return c, err
	case IdentityUser:
		c, err := s.store.Conversation(ctx, conversationID)
		if err != nil {
			return Conversation{}, err
		}
		if id.Technician || (c.OwnerID != "" && c.OwnerID == id.UserID) {
			return c, nil
		}
		return Conversation{}, ErrForbidden
	default:
		return Conversation{}, ErrUnauthorized
	}
}

// SendInput is a request to post a message.
type SendInput struct {
	ConversationID uuid.UUID
	Content        string
	// ClientMessageID makes the send idempotent within the conversation.
	ClientMessageID *string
	// AsTechnician asks for sender "tecnico"; only technicians may.
	AsTechnician bool
	// SocketID is the sending socket ("" over HTTP).
	SocketID string
}

// SendResult is a stored message; Created is false when ClientMessageID
// repeated and Message is the first one sent with it.
type SendResult struct {
	Message Message
	Created bool
}

// SendMessage validates, authorizes and stores a message, then broadcasts
// it. The sender follows from the identity: a reply token posts as the bot,
// AsTechnician as "tecnico", everyone else as "user".
func (s *Service) SendMessage(ctx context.Context, id Identity, in SendInput) (SendResult, error) {
	sender, err := senderFor(id, in.AsTechnician)
	if err != nil {
		return SendResult{}, err
	}
	content, fields := s.validateSend(in)
	if len(fields) > 0 {
		return SendResult{}, ValidationError(fields...)
	}
	if err := s.mayWrite(ctx, id, in.ConversationID); err != nil {
		return SendResult{}, err
	}
	// After the authorization, so nobody can spend another conversation's budget.
	if s.cfg.SendLimiter != nil && sender != SenderBot {
		if ok, wait := s.cfg.SendLimiter.Allow(in.ConversationID.String()); !ok {
			return SendResult{}, &Error{Code: CodeRateLimited, Message: "too many messages in this conversation; retry later", RetryAfter: wait}
		}
	}
	msgID, err := s.cfg.NewID()
	if err != nil {
		return SendResult{}, fmt.Errorf("new message id: %w", err)
	}
	res, err := s.store.AppendMessage(ctx, NewMessage{
		ID:              msgID,
		ConversationID:  in.ConversationID,
		Sender:          sender,
		SenderID:        id.SenderID(),
		Content:         content,
		ClientMessageID: in.ClientMessageID,
		SocketID:        in.SocketID,
		// A bot's message never goes back to the bot, so a workflow cannot loop.
		Deliver: sender != SenderBot,
		Limited: sender != SenderBot,
	})
	if errors.Is(err, ErrNotFound) && scoped(id) {
		// Deleted since the credential was checked; scoped credentials never
		// learn whether a conversation exists.
		return SendResult{}, ErrForbidden
	}
	if err != nil {
		return SendResult{}, err
	}
	if res.Created && s.broadcaster != nil {
		s.broadcaster.MessageCreated(res.Message, in.SocketID)
		if res.Reopened {
			s.broadcaster.ConversationUpdated(in.ConversationID, StatusOpen)
		}
		s.broadcaster.ConversationActivity(NewInboxItem(res.Conversation, &res.Message))
	}
	return SendResult{Message: res.Message, Created: res.Created}, nil
}

// mayWrite is Authorize for the send path, without its lookup where none
// is needed: an anonymous session or a reply token names its one
// conversation, whose existence was checked when the session was
// authenticated, and a conversation deleted since fails the insert. This
// saves a query on every visitor's send, the hottest path there is.
func (s *Service) mayWrite(ctx context.Context, id Identity, conversationID uuid.UUID) error {
	if scoped(id) {
		if conversationID != id.ConversationID {
			return ErrForbidden
		}
		return nil
	}
	_, err := s.Authorize(ctx, id, conversationID)
	return err
}

// scoped reports whether id is bound to a single conversation.
func scoped(id Identity) bool {
	return id.Kind == IdentityAnonymous || id.Kind == IdentityReplyToken
}

func senderFor(id Identity, asTechnician bool) (Sender, error) {
	switch {
	case asTechnician && id.Kind != IdentityUser:
		return "", &Error{Code: CodeUnauthorized, Message: "technician messages need a signed-in technician"}
	case asTechnician && !id.Technician:
		return "", &Error{Code: CodeForbidden, Message: "technician role required"}
	case asTechnician:
		return SenderTecnico, nil
	case id.Kind == IdentityReplyToken:
		return SenderBot, nil
	case id.Kind == IdentityUser, id.Kind == IdentityAnonymous:
		return SenderUser, nil
	default:
		return "", ErrUnauthorized
	}
}

// validateSend returns the trimmed content and the invalid fields.
func (s *Service) validateSend(in SendInput) (string, []FieldError) {
	var fields []FieldError
	if in.ConversationID == uuid.Nil {
		fields = append(fields, FieldError{Field: "conversationId", Message: "is required"})
	}
	content := strings.TrimSpace(in.Content)
	if f := checkText("content", content, s.cfg.MaxMessageLength); f != nil {
		fields = append(fields, *f)
	}
	if in.ClientMessageID != nil {
		if f := checkText("clientMessageId", *in.ClientMessageID, MaxClientMessageIDLength); f != nil {
			fields = append(fields, *f)
		}
	}
	return content, fields
}

// checkText enforces 1..max code points of valid UTF-8 without NUL (which
// PostgreSQL text cannot hold).
func checkText(field, v string, max int) *FieldError {
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0:
		return &FieldError{Field: field, Message: "must not be empty"}
	case n > max:
		return &FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", max)}
	case !utf8.ValidString(v):
		return &FieldError{Field: field, Message: "must be valid UTF-8"}
	case strings.IndexByte(v, 0) >= 0:
		return &FieldError{Field: field, Message: "must not contain NUL characters"}
	}
	return nil
}

// HistoryInput asks for a page of a conversation's messages.
type HistoryInput struct {
	ConversationID uuid.UUID
	AfterSeq       int64
	// Limit is 1..MaxHistoryLimit; 0 means DefaultHistoryLimit.
	Limit int
}

// HistoryPage is a page of messages in seq order.
type HistoryPage struct {
	Messages []Message
	HasMore  bool
}

// History returns the messages after in.AfterSeq that id may read.
func (s *Service) History(ctx context.Context, id Identity, in HistoryInput) (HistoryPage, error) {
	var fields []FieldError
	if in.ConversationID == uuid.Nil {
		fields = append(fields, FieldError{Field: "conversationId", Message: "is required"})
	}
	if in.AfterSeq < 0 {
		fields = append(fields, FieldError{Field: "afterSeq", Message: "must be at least 0"})
	}
	if in.Limit == 0 {
		in.Limit = DefaultHistoryLimit
	}
	if in.Limit < 1 || in.Limit > MaxHistoryLimit {
		fields = append(fields, FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxHistoryLimit)})
	}
	if len(fields) > 0 {
		return HistoryPage{}, ValidationError(fields...)
	}
	if _, err := s.Authorize(ctx, id, in.ConversationID); err != nil {
		return HistoryPage{}, err
	}
	return s.page(ctx, in.ConversationID, in.AfterSeq, in.Limit)
}

// Replay returns the messages after afterSeq (at most MaxReplay) for a
// socket that reconnects; the caller has already authorized it.
func (s *Service) Replay(ctx context.Context, conversationID uuid.UUID, afterSeq int64) (HistoryPage, error) {
	return s.page(ctx, conversationID, afterSeq, MaxReplay)
}

func (s *Service) page(ctx context.Context, conversationID uuid.UUID, afterSeq int64, limit int) (HistoryPage, error) {
	// One extra row tells whether there is more without a count query.
	msgs, err := s.store.MessagesAfter(ctx, conversationID, afterSeq, limit+1)
	if err != nil {
		return HistoryPage{}, err
	}
	page := HistoryPage{Messages: msgs, HasMore: len(msgs) > limit}
	if page.HasMore {
		page.Messages = msgs[:limit]
	}
	if page.Messages == nil {
		page.Messages = []Message{}
	}
	return page, nil
}

func validateMetadata(metadata json.RawMessage) error {
	if len(metadata) == 0 || bytes.Equal(bytes.TrimSpace(metadata), []byte("null")) {
		return nil
	}
	if len(metadata) > MaxMetadataBytes {
		return ValidationError(FieldError{Field: "metadata", Message: fmt.Sprintf("must be at most %d bytes", MaxMetadataBytes)})
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(metadata, &obj); err != nil || obj == nil {
		return ValidationError(FieldError{Field: "metadata", Message: "must be a JSON object"})
	}
	// PostgreSQL jsonb rejects \u0000 in strings.
	if bytes.Contains(metadata, []byte(`\u0000`)) {
		return ValidationError(FieldError{Field: "metadata", Message: "must not contain NUL characters"})
	}
	return nil
}

// newSessionToken returns 32 random bytes, base64url, and their hash.
func newSessionToken() (string, []byte, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	return token, HashSessionToken(token), nil
}

// HashSessionToken is the form in which session tokens are stored.
func HashSessionToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
