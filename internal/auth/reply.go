package auth

import (
	"crypto/rand"
	"errors"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

const (
	// ReplyTokenType is the JOSE "typ" header of reply tokens.
	ReplyTokenType = "chatgw-reply+jwt"
	// ReplyTokenAudience is the "aud" of reply tokens.
	ReplyTokenAudience = "chatgw-reply"
	// DefaultReplyTokenTTL is used when NewReplyTokens gets ttl ≤ 0.
	DefaultReplyTokenTTL = 24 * time.Hour
)

// ReplyTokens issues and verifies reply tokens: HS256 JWTs with typ
// "chatgw-reply+jwt", aud "chatgw-reply", and claims cid (conversation id),
// iat and exp. A reply token lets its holder read and post (as the bot) to
// one conversation. Safe for concurrent use.
type ReplyTokens struct {
	key    []byte
	ttl    time.Duration
	parser *jwt.Parser
}

// NewReplyTokens returns reply tokens signed with key and valid for ttl.
// An empty key is replaced by 32 random bytes: tokens then die with the
// process (the caller should warn). A ttl ≤ 0 means DefaultReplyTokenTTL.
func NewReplyTokens(key []byte, ttl time.Duration) *ReplyTokens {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (crypto/rand panics rather)
	} else {
		key = slices.Clone(key)
	}
	if ttl <= 0 {
		ttl = DefaultReplyTokenTTL
	}
	return &ReplyTokens{
		key: key,
		ttl: ttl,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithAudience(ReplyTokenAudience),
			jwt.WithLeeway(Leeway),
		),
	}
}

// TTL returns how long issued tokens are valid.
func (r *ReplyTokens) TTL() time.Duration { return r.ttl }

// Issue returns a reply token for conversationID, issued at now.
func (r *ReplyTokens) Issue(conversationID uuid.UUID, now time.Time) (string, error) {
	if conversationID == uuid.Nil {
		return "", errors.New("auth: reply token for the nil conversation id")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"aud": ReplyTokenAudience,
		"cid": conversationID.String(),
		"iat": now.Unix(),
		"exp": now.Add(r.ttl).Unix(),
	})
	t.Header["typ"] = ReplyTokenType
	return t.SignedString(r.key)
}

// Verify checks a reply token and returns Identity{Kind:
// IdentityReplyToken, ConversationID}. Errors are *chat.Error with
// TOKEN_EXPIRED or TOKEN_INVALID (user JWTs included).
func (r *ReplyTokens) Verify(token string) (chat.Identity, error) {
	tok, claims, expired, err := parse(r.parser, r.key, token)
	if err != nil {
		return chat.Identity{}, err
	}
	if typ, _ := tok.Header["typ"].(string); typ != ReplyTokenType {
		return chat.Identity{}, invalid("not a reply token")
	}
	if _, ok := claims["iat"].(float64); !ok {
		return chat.Identity{}, invalid("token is missing a required claim")
	}
	cidStr, _ := claims["cid"].(string)
	cid, perr := uuid.Parse(cidStr)
	if perr != nil || cid == uuid.Nil || len(cidStr) != 36 {
		return chat.Identity{}, invalid("reply token has no valid conversation")
	}
	if expired {
		return chat.Identity{}, errExpired
	}
	return chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: cid}, nil
}
