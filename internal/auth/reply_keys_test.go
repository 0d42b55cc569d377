package auth

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/fakeclock"
)

// memKeyStore is a ReplyKeyStore in memory; the PostgreSQL one is tested
// in internal/postgres.
type memKeyStore struct {
	mu    sync.Mutex
	keys  []ReplyKey // newest first
	reads atomic.Int64
}

func (m *memKeyStore) EnsureReplyKey(_ context.Context, first ReplyKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.keys) == 0 {
		m.keys = []ReplyKey{first}
	}
	return nil
}

func (m *memKeyStore) ReplyKeys(context.Context) ([]ReplyKey, error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys), nil
}

func (m *memKeyStore) rotate() ReplyKey {
	k := NewReplyKey()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append([]ReplyKey{k}, m.keys...)
	return k
}

// fakeClock is a settable clock.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	require.NoError(t, err)
	kid, _ := p.Header["kid"].(string)
	return kid
}

func startedReplyTokens(t *testing.T, store ReplyKeyStore, clock *fakeclock.Clock) *ReplyTokens {
	t.Helper()
	rt, err := NewReplyTokens(ReplyTokensConfig{Store: store, TTL: time.Hour, Cache: 30 * time.Second, ReloadGap: time.Second, Now: clock.Now})
	require.NoError(t, err)
	require.NoError(t, rt.Start(t.Context()))
	return rt
}

func TestReplyKeyRingSharedAndRotated(t *testing.T) {
	t.Parallel()
	store := &memKeyStore{}
	clock := fakeclock.New(time.Now())
	a := startedReplyTokens(t, store, clock)
	b := startedReplyTokens(t, store, clock)
	require.Len(t, store.keys, 1, "the second start finds the first key and makes none")
	first := store.keys[0]

	cid := uuid.New()
	fromA, err := a.Issue(cid, clock.Now())
	require.NoError(t, err)
	require.Equal(t, first.ID, kidOf(t, fromA))
	id, err := b.Verify(fromA)
	require.NoError(t, err, "every node accepts every node's tokens")
	require.Equal(t, cid, id.ConversationID)

	// Rotation: a token in flight under the old key stays good; b learns
	// the new key on the first token naming it (one read), a signs with it
	// once its cache is older than Cache.
	second := store.rotate()
	stillOld, err := a.Issue(cid, clock.Now())
	require.NoError(t, err)
	require.Equal(t, first.ID, kidOf(t, stillOld), "within the cache the old key still signs")
	clock.Advance(31 * time.Second)
	fromNew, err := a.Issue(cid, clock.Now())
	require.NoError(t, err)
	require.Equal(t, second.ID, kidOf(t, fromNew), "after the cache the new key signs")

	readsBefore := store.reads.Load()
	_, err = b.Verify(fromNew)
	require.NoError(t, err, "b reloads on the unknown kid")
	require.Equal(t, readsBefore+1, store.reads.Load())
	for _, tok := range []string{fromA, stillOld} {
		_, err = b.Verify(tok)
		require.NoError(t, err, "tokens signed with the older key keep working")
		_, err = a.Verify(tok)
		require.NoError(t, err)
	}
	// ... until they expire.
	clock.Advance(2 * time.Hour)
	_, err = b.Verify(fromA)
	requireCode(t, err, chat.CodeTokenExpired)
}

func TestReplyKeyRingUnknownKidReloadsBounded(t *testing.T) {
	t.Parallel()
	store := &memKeyStore{}
	clock := fakeclock.New(time.Now())
	rt := startedReplyTokens(t, store, clock)
	readsBefore := store.reads.Load()
	for i := range 100 {
		forged := sign(t, jwt.SigningMethodHS256, []byte("whatever-key-0123456789abcdef01234"), jwt.MapClaims{
			"aud": ReplyTokenAudience, "cid": uuid.NewString(), "iat": clock.Now().Unix(), "exp": clock.Now().Add(time.Hour).Unix(),
		}, map[string]any{"typ": ReplyTokenType, "kid": "k" + uuid.NewString()[:8] + string(rune('a'+i%26))})
		_, err := rt.Verify(forged)
		requireCode(t, err, chat.CodeTokenInvalid)
	}
	require.Equal(t, readsBefore+1, store.reads.Load(), "100 made-up kids within ReloadGap read the store once")
	clock.Advance(time.Second)
	_, err := rt.Verify(sign(t, jwt.SigningMethodHS256, []byte("whatever-key-0123456789abcdef01234"), jwt.MapClaims{
		"aud": ReplyTokenAudience, "cid": uuid.NewString(), "iat": clock.Now().Unix(), "exp": clock.Now().Add(time.Hour).Unix(),
	}, map[string]any{"typ": ReplyTokenType, "kid": "kzzz"}))
	requireCode(t, err, chat.CodeTokenInvalid)
	require.Equal(t, readsBefore+2, store.reads.Load())
}

// TestReplyTokenNotFromOtherSecrets: a token made the way older versions
// derived the key (from the webhook or JWT secret) has no kid, or a kid
// with a key that is not the derived one: refused.
func TestReplyTokenNotFromOtherSecrets(t *testing.T) {
	t.Parallel()
	store := &memKeyStore{}
	clock := fakeclock.New(time.Now())
	rt := startedReplyTokens(t, store, clock)
	webhookKey := []byte("the-webhook-secret-bytes-0123456789")
	claims := jwt.MapClaims{"aud": ReplyTokenAudience, "cid": uuid.NewString(), "iat": clock.Now().Unix(), "exp": clock.Now().Add(time.Hour).Unix()}
	for _, hdr := range []map[string]any{
		{"typ": ReplyTokenType},
		{"typ": ReplyTokenType, "kid": store.keys[0].ID},
		{"typ": ReplyTokenType, "kid": SecretKeyID(webhookKey)},
	} {
		_, err := rt.Verify(sign(t, jwt.SigningMethodHS256, webhookKey, claims, hdr))
		requireCode(t, err, chat.CodeTokenInvalid)
	}
}
