package chat

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Sender says who wrote a message.
type Sender string

const (
	SenderUser    Sender = "user"
	SenderTecnico Sender = "tecnico"
	SenderBot     Sender = "bot"
)

// Conversation is one support chat.
type Conversation struct {
	ID uuid.UUID
	// OwnerID is the JWT sub of the owner; empty for an anonymous conversation.
	OwnerID string
	// SessionTokenHash is the SHA-256 of an anonymous conversation's session
	// token; nil for an owned one.
	SessionTokenHash []byte
	// SessionLastUsedAt is when the session token was last used (written
	// at most once per SessionTouchInterval); zero for an owned one.
	SessionLastUsedAt time.Time
	// PrevSessionTokenHash is the token the last rotation replaced; it
	// works until PrevSessionValidUntil.
	PrevSessionTokenHash  []byte
	PrevSessionValidUntil time.Time
	Metadata              json.RawMessage
	CreatedAt             time.Time
}

// Anonymous reports whether the conversation belongs to a session token
// rather than a user.
func (c Conversation) Anonymous() bool { return c.OwnerID == "" }

// Message is the one shape a message has on every interface.
type Message struct {
	ID              uuid.UUID `json:"id"`
	ConversationID  uuid.UUID `json:"conversationId"`
	Seq             int64     `json:"seq"`
	Sender          Sender    `json:"sender"`
	SenderID        *string   `json:"senderId"`
	Content         string    `json:"content"`
	ClientMessageID *string   `json:"clientMessageId"`
	CreatedAt       time.Time `json:"createdAt"`
}

// MarshalJSON writes createdAt in UTC, as the contract requires.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	p := plain(m)
	p.CreatedAt = p.CreatedAt.UTC()
	return json.Marshal(p)
}

// IdentityKind says how a caller authenticated.
type IdentityKind int

const (
	// IdentityAnonymous is a website visitor holding a conversation's session token.
	IdentityAnonymous IdentityKind = iota + 1
	// IdentityUser is a caller with a verified JWT.
	IdentityUser
	// IdentityReplyToken is n8n (or any holder of a reply token) acting as the bot
	// of one conversation.
	IdentityReplyToken
)

// Identity is an authenticated caller.
type Identity struct {
	Kind IdentityKind
	// UserID is the JWT sub (IdentityUser only).
	UserID string
	Roles  []string
	// Technician is true when one of Roles is a technician role.
	Technician bool
	// ConversationID is the one conversation an anonymous session or a reply
	// token is scoped to.
	ConversationID uuid.UUID
}

// HasRole reports whether the identity carries role.
func (id Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// SenderID is the senderId messages of this identity carry: the JWT sub for
// users, null for anonymous visitors and bots.
func (id Identity) SenderID() *string {
	if id.Kind != IdentityUser {
		return nil
	}
	s := id.UserID
	return &s
}

// RegistryKey identifies the identity for the per-identity socket registry:
// the JWT sub, or the anonymous conversation.
func (id Identity) RegistryKey() string {
	switch id.Kind {
	case IdentityUser:
		return "user:" + id.UserID
	case IdentityAnonymous:
		return "anon:" + id.ConversationID.String()
	default:
		return "reply:" + id.ConversationID.String()
	}
}
