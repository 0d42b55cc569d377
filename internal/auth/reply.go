package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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
	// DefaultReplyTokenTTL is the lifetime of a reply token by default.
	DefaultReplyTokenTTL = 24 * time.Hour
	// MinReplyKeyBytes is the least length of a reply-token key.
	MinReplyKeyBytes = 32
	// DefaultReplyKeyCache is how long a node signs with the newest key it
	// has read before reading the keys again: a rotation reaches every
	// node's new deliveries within it.
	DefaultReplyKeyCache = 30 * time.Second
	// DefaultReplyKeyReloadGap is the least time between two reloads
	// caused by tokens naming a key this node has not read yet, so that
	// made-up kids cannot hammer the database.
	DefaultReplyKeyReloadGap = time.Second
	// replyKeyLoadTimeout bounds one read of the keys.
	replyKeyLoadTimeout = 5 * time.Second
)

// ReplyKey is one reply-token signing key. ID is the token's "kid".
type ReplyKey struct {
	ID     string
	Secret []byte
}

// NewReplyKey returns a fresh random key (32 bytes, random kid): what
// first start and `chatgw reply-keys rotate` store.
func NewReplyKey() ReplyKey {
	id := make([]byte, 8)
	secret := make([]byte, MinReplyKeyBytes)
	_, _ = rand.Read(id) // never fails (crypto/rand panics rather)
	_, _ = rand.Read(secret)
	return ReplyKey{ID: "k" + hex.EncodeToString(id), Secret: secret}
}

// ReplyKeyStore keeps the reply-token keys of a cluster (internal/postgres
// does, in PostgreSQL).
type ReplyKeyStore interface {
	// EnsureReplyKey stores first when no key exists yet; when nodes race,
	// exactly one key wins and all read it back.
	EnsureReplyKey(ctx context.Context, first ReplyKey) error
	// ReplyKeys returns every key, newest first.
	ReplyKeys(ctx context.Context) ([]ReplyKey, error)
}

// ReplyTokensConfig configures ReplyTokens. Secret (REPLY_TOKEN_SECRET)
// wins over Store; one of them is required. Zero values mean defaults.
type ReplyTokensConfig struct {
	// Secret is a fixed key of at least 32 bytes; its kid is a
	// fingerprint of it ("s" + 16 hex digits of a SHA-256).
	Secret []byte
	// Store keeps random keys shared by every node; Start makes the
	// first one when there is none.
	Store ReplyKeyStore
	// TTL is the lifetime of issued tokens (DefaultReplyTokenTTL).
	TTL time.Duration
	// Cache is how long the keys read from Store are used for issuing
	// before being read again (DefaultReplyKeyCache).
	Cache time.Duration
	// ReloadGap is the least time between reloads caused by unknown kids
	// (DefaultReplyKeyReloadGap).
	ReloadGap time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Logger gets reload failures (discarded when nil).
	Logger *slog.Logger
}

// ReplyTokens issues and verifies reply tokens: HS256 JWTs with typ
// "chatgw-reply+jwt", aud "chatgw-reply", a "kid" header naming the key,
// and claims cid (conversation id), iat and exp. A reply token lets its
// holder read and post (as the bot) to one conversation. New tokens are
// signed with the newest key; a token signed with any known key verifies
// until it expires, so rotation never breaks tokens in flight. Safe for
// concurrent use.
type ReplyTokens struct {
	cfg    ReplyTokensConfig
	parser *jwt.Parser

	keys atomic.Pointer[replyKeyRing]
	// reload serialises reads of the store.
	reload sync.Mutex
	// lastUnknownReload is the time of the last reload an unknown kid
	// caused (guarded by reload).
	lastUnknownReload time.Time
}

// replyKeyRing is one read of the keys: newest first.
type replyKeyRing struct {
	keys   []ReplyKey
	byID   map[string][]byte
	loaded time.Time
}

func newRing(keys []ReplyKey, at time.Time) *replyKeyRing {
	r := &replyKeyRing{keys: keys, byID: make(map[string][]byte, len(keys)), loaded: at}
	for _, k := range keys {
		r.byID[k.ID] = k.Secret
	}
	return r
}

// NewReplyTokens returns reply tokens for cfg. With cfg.Secret they are
// ready at once; with cfg.Store, Start reads (and if need be makes) the
// keys.
func NewReplyTokens(cfg ReplyTokensConfig) (*ReplyTokens, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultReplyTokenTTL
	}
	if cfg.Cache <= 0 {
		cfg.Cache = DefaultReplyKeyCache
	}
	if cfg.ReloadGap <= 0 {
		cfg.ReloadGap = DefaultReplyKeyReloadGap
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &ReplyTokens{
		cfg: cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithAudience(ReplyTokenAudience),
			jwt.WithLeeway(Leeway),
			jwt.WithTimeFunc(cfg.Now),
		),
	}
	switch {
	case len(cfg.Secret) > 0:
		if len(cfg.Secret) < MinReplyKeyBytes {
			return nil, fmt.Errorf("auth: reply-token secret has %d bytes, at least %d required", len(cfg.Secret), MinReplyKeyBytes)
		}
		secret := slices.Clone(cfg.Secret)
		r.keys.Store(newRing([]ReplyKey{{ID: SecretKeyID(secret), Secret: secret}}, cfg.Now()))
	case cfg.Store == nil:
		return nil, errors.New("auth: reply tokens need a secret or a key store")
	}
	return r, nil
}

// SecretKeyID is the kid of tokens signed with a fixed secret: a
// fingerprint that tells keys apart and reveals nothing of the secret.
func SecretKeyID(secret []byte) string {
	h := sha256.New()
	h.Write([]byte("chatgw reply-token kid\x00"))
	h.Write(secret)
	return "s" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Start reads the keys from the store, first making one when there is
// none. Without a store it does nothing. When it fails (the database not
// migrated yet), the first Issue or Verify tries again.
func (r *ReplyTokens) Start(ctx context.Context) error {
	if r.cfg.Store == nil {
		return nil
	}
	r.reload.Lock()
	defer r.reload.Unlock()
	return r.load(ctx)
}

// Stop does nothing; it completes the Start/Stop shape.
func (r *ReplyTokens) Stop(context.Context) error { return nil }

// load reads the keys, making the first one when none has been read yet;
// the caller holds r.reload.
func (r *ReplyTokens) load(ctx context.Context) error {
	if r.keys.Load() == nil {
		if err := r.cfg.Store.EnsureReplyKey(ctx, NewReplyKey()); err != nil {
			return fmt.Errorf("auth: make the first reply-token key: %w", err)
		}
	}
	keys, err := r.cfg.Store.ReplyKeys(ctx)
	if err != nil {
		return fmt.Errorf("auth: read reply-token keys: %w", err)
	}
	if len(keys) == 0 {
		return errors.New("auth: no reply-token key stored")
	}
	r.keys.Store(newRing(keys, r.cfg.Now()))
	return nil
}

// TTL returns how long issued tokens are valid.
func (r *ReplyTokens) TTL() time.Duration { return r.cfg.TTL }

// signingKey returns the newest key, reading the store again when the
// cached read is older than cfg.Cache (a failed read keeps the cache: a
// database hiccup must not stop deliveries).
func (r *ReplyTokens) signingKey() (ReplyKey, error) {
	ring := r.keys.Load()
	if r.cfg.Store != nil && (ring == nil || r.cfg.Now().Sub(ring.loaded) >= r.cfg.Cache) {
		r.reload.Lock()
		if ring = r.keys.Load(); ring == nil || r.cfg.Now().Sub(ring.loaded) >= r.cfg.Cache {
			ctx, cancel := context.WithTimeout(context.Background(), replyKeyLoadTimeout)
			if err := r.load(ctx); err != nil {
				r.cfg.Logger.Warn("reply-token keys not reloaded; signing with the cached key", "err", err)
			}
			cancel()
			ring = r.keys.Load()
		}
		r.reload.Unlock()
	}
	if ring == nil || len(ring.keys) == 0 {
		return ReplyKey{}, errors.New("auth: reply-token keys not loaded")
	}
	return ring.keys[0], nil
}

// keyFor returns the secret named kid, reading the store again (at most
// once per cfg.ReloadGap) when this node does not know it yet: a token
// signed by a node that already rotated.
func (r *ReplyTokens) keyFor(kid string) ([]byte, bool) {
	if ring := r.keys.Load(); ring != nil {
		if s, ok := ring.byID[kid]; ok {
			return s, true
		}
	}
	if r.cfg.Store == nil {
		return nil, false
	}
	r.reload.Lock()
	defer r.reload.Unlock()
	if ring := r.keys.Load(); ring != nil {
		if s, ok := ring.byID[kid]; ok {
			return s, true
		}
	}
	if now := r.cfg.Now(); now.Sub(r.lastUnknownReload) >= r.cfg.ReloadGap {
		r.lastUnknownReload = now
		ctx, cancel := context.WithTimeout(context.Background(), replyKeyLoadTimeout)
		if err := r.load(ctx); err != nil {
			r.cfg.Logger.Warn("reply-token keys not reloaded", "err", err)
		}
		cancel()
	}
	ring := r.keys.Load()
	if ring == nil {
		return nil, false
	}
	s, ok := ring.byID[kid]
	return s, ok
}

// Issue returns a reply token for conversationID, issued at now, signed
// with the newest key.
func (r *ReplyTokens) Issue(conversationID uuid.UUID, now time.Time) (string, error) {
	if conversationID == uuid.Nil {
		return "", errors.New("auth: reply token for the nil conversation id")
	}
	key, err := r.signingKey()
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"aud": ReplyTokenAudience,
		"cid": conversationID.String(),
		"iat": now.Unix(),
		"exp": now.Add(r.cfg.TTL).Unix(),
	})
	t.Header["typ"] = ReplyTokenType
	t.Header["kid"] = key.ID
	return t.SignedString(key.Secret)
}

var errUnknownReplyKey = errors.New("auth: reply token names no known key")

// Verify checks a reply token and returns Identity{Kind:
// IdentityReplyToken, ConversationID}. Errors are *chat.Error with
// TOKEN_EXPIRED or TOKEN_INVALID (user JWTs, tokens without a kid and
// tokens naming an unknown key included).
func (r *ReplyTokens) Verify(token string) (chat.Identity, error) {
	tok, claims, expired, err := parse(r.parser, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errUnknownReplyKey
		}
		secret, ok := r.keyFor(kid)
		if !ok {
			return nil, errUnknownReplyKey
		}
		return secret, nil
	}, token)
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
