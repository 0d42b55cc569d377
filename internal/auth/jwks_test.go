package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

// provider is a local identity provider's JWKS endpoint: its keys can be
// changed, it can be taken down, and it counts the requests it gets.
type provider struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]crypto.Signer // kid → private key
	down     bool
	requests atomic.Int64
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{keys: map[string]crypto.Signer{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.requests.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		set := jwkset.JWKSMarshal{}
		for kid, k := range p.keys {
			jwk, err := jwkset.NewJWKFromKey(k.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, USE: jwkset.UseSig}})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			set.Keys = append(set.Keys, jwk.Marshal())
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) setKey(kid string, k crypto.Signer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k == nil {
		delete(p.keys, kid)
		return
	}
	p.keys[kid] = k
}

func (p *provider) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

func (p *provider) url() string { return p.srv.URL + "/realms/acme/protocol/openid-connect/certs" }

func newRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func newEC(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func newEd(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

// idpToken signs a token as the provider would.
func idpToken(t *testing.T, method jwt.SigningMethod, key any, kid string, extra jwt.MapClaims) string {
	t.Helper()
	return sign(t, method, key, valid(extra), map[string]any{"kid": kid})
}

// startJWKS starts a JWKS source against p and waits until it is ready
// (unless the provider is down).
func startJWKS(t *testing.T, p *provider, cfg JWKSConfig) (*JWKS, *Verifier) {
	t.Helper()
	cfg.URL = p.url()
	j, err := NewJWKS(cfg)
	require.NoError(t, err)
	require.NoError(t, j.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, j.Stop(context.Background())) })
	v, err := NewVerifier(VerifierConfig{JWKS: j, Issuer: "https://idp.example/realms/acme", Audience: "chatgw", RolesClaim: "realm_roles", TecnicoRoles: []string{"tecnico"}})
	require.NoError(t, err)
	return j, v
}

func waitReady(t *testing.T, j *JWKS) {
	t.Helper()
	require.Eventually(t, j.Ready, 5*time.Second, 5*time.Millisecond)
}

var idpClaims = jwt.MapClaims{"iss": "https://idp.example/realms/acme", "aud": []string{"account", "chatgw"}, "realm_roles": []string{"tecnico"}}

func TestJWKSKeysChosenByKid(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	rsaKey, ecKey, edKey := newRSA(t), newEC(t), newEd(t)
	p.setKey("rsa-1", rsaKey)
	p.setKey("ec-1", ecKey)
	p.setKey("ed-1", edKey)
	j, v := startJWKS(t, p, JWKSConfig{})
	waitReady(t, j)
	require.Equal(t, "JWKS", v.Algorithm())

	for name, tok := range map[string]string{
		"RS256": idpToken(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", idpClaims),
		"ES256": idpToken(t, jwt.SigningMethodES256, ecKey, "ec-1", idpClaims),
		"EdDSA": idpToken(t, jwt.SigningMethodEdDSA, edKey, "ed-1", idpClaims),
	} {
		id, err := v.Verify(tok)
		require.NoError(t, err, name)
		require.Equal(t, chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"tecnico"}, Technician: true}, id, name)
	}

	rsaPubDER := rsaKey.PublicKey.N.Bytes()
	otherRSA := newRSA(t)
	for name, tok := range map[string]string{
		// The algorithm is pinned to the key's type.
		"RS256 by the EC key's kid":  idpToken(t, jwt.SigningMethodRS256, rsaKey, "ec-1", idpClaims),
		"ES256 by the RSA key's kid": idpToken(t, jwt.SigningMethodES256, ecKey, "rsa-1", idpClaims),
		"PS256 with the RSA key":     idpToken(t, jwt.SigningMethodPS256, rsaKey, "rsa-1", idpClaims),
		"HS256 keyed by public data": idpToken(t, jwt.SigningMethodHS256, rsaPubDER, "rsa-1", idpClaims),
		"signed by another key":      idpToken(t, jwt.SigningMethodRS256, otherRSA, "rsa-1", idpClaims),
		"no kid":                     sign(t, jwt.SigningMethodRS256, rsaKey, valid(idpClaims), nil),
		"wrong issuer":               idpToken(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", jwt.MapClaims{"iss": "https://evil.example", "aud": "chatgw"}),
		"wrong audience":             idpToken(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", jwt.MapClaims{"iss": "https://idp.example/realms/acme", "aud": "other"}),
		"alg none":                   unsigned(t, valid(idpClaims)),
	} {
		_, err := v.Verify(tok)
		requireCode(t, err, chat.CodeTokenInvalid)
		require.NotContains(t, err.Error(), tok, name)
	}
	expired := idpToken(t, jwt.SigningMethodES256, ecKey, "ec-1", jwt.MapClaims{
		"iss": idpClaims["iss"], "aud": "chatgw", "exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix(),
	})
	_, err := v.Verify(expired)
	requireCode(t, err, chat.CodeTokenExpired)
}

func TestJWKSRotationAtTheProvider(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	oldKey, newKey := newRSA(t), newEC(t)
	p.setKey("old", oldKey)
	j, v := startJWKS(t, p, JWKSConfig{Refresh: time.Hour})
	waitReady(t, j)
	oldTok := idpToken(t, jwt.SigningMethodRS256, oldKey, "old", idpClaims)
	_, err := v.Verify(oldTok)
	require.NoError(t, err)
	require.Equal(t, int64(1), p.requests.Load())

	// The provider rotates: the new kid is fetched on first sight (one
	// request), and that refresh drops the old key.
	p.setKey("old", nil)
	p.setKey("new", newKey)
	_, err = v.Verify(idpToken(t, jwt.SigningMethodES256, newKey, "new", idpClaims))
	require.NoError(t, err, "a new kid is accepted after one refresh")
	require.Equal(t, int64(2), p.requests.Load())
	_, err = v.Verify(oldTok)
	requireCode(t, err, chat.CodeTokenInvalid)
	require.Equal(t, int64(2), p.requests.Load(), "the removed kid causes no second refresh within 30 s")
}

func TestJWKSPeriodicRefreshDropsRemovedKey(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	oldKey := newRSA(t)
	p.setKey("old", oldKey)
	j, v := startJWKS(t, p, JWKSConfig{Refresh: 50 * time.Millisecond})
	waitReady(t, j)
	oldTok := idpToken(t, jwt.SigningMethodRS256, oldKey, "old", idpClaims)
	_, err := v.Verify(oldTok)
	require.NoError(t, err)
	p.setKey("old", nil)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := v.Verify(oldTok)
		assert.Equal(c, chat.CodeTokenInvalid, chat.ErrorCode(err))
	}, 5*time.Second, 10*time.Millisecond, "the periodic refresh removes the key")
}

func TestJWKSUnknownKidFloodIsRateLimited(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	key := newRSA(t)
	p.setKey("k1", key)
	j, v := startJWKS(t, p, JWKSConfig{Refresh: time.Hour})
	waitReady(t, j)
	before := p.requests.Load()

	var wg sync.WaitGroup
	start := time.Now()
	for i := range 200 {
		wg.Go(func() {
			tok := idpToken(t, jwt.SigningMethodRS256, key, "made-up-"+string(rune('a'+i%26))+time.Now().String(), idpClaims)
			_, err := v.Verify(tok)
			assert.Equal(t, chat.CodeTokenInvalid, chat.ErrorCode(err))
		})
	}
	wg.Wait()
	require.Equal(t, before+1, p.requests.Load(), "200 unknown kids cause one fetch")
	require.Less(t, time.Since(start), 10*time.Second, "refused at once, not queued behind the limiter")
	// The known key still works, without fetching.
	_, err := v.Verify(idpToken(t, jwt.SigningMethodRS256, key, "k1", idpClaims))
	require.NoError(t, err)
	require.Equal(t, before+1, p.requests.Load())
}

func TestJWKSProviderDownAtStartThenUp(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	key := newEd(t)
	p.setKey("ed", key)
	p.setDown(true)
	j, v := startJWKS(t, p, JWKSConfig{RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	require.Eventually(t, func() bool { return p.requests.Load() >= 2 }, 5*time.Second, 5*time.Millisecond, "retries the first fetch")
	require.False(t, j.Ready())
	tok := idpToken(t, jwt.SigningMethodEdDSA, key, "ed", idpClaims)
	_, err := v.Verify(tok)
	require.ErrorIs(t, err, ErrKeysNotLoaded)
	require.Nil(t, chat.AsError(err), "not the token's fault: INTERNAL, not TOKEN_INVALID")

	p.setDown(false)
	waitReady(t, j)
	_, err = v.Verify(tok)
	require.NoError(t, err)
}

func TestJWKSProviderDownLaterKeepsCachedKeys(t *testing.T) {
	t.Parallel()
	p := newProvider(t)
	key := newEC(t)
	p.setKey("ec", key)
	j, v := startJWKS(t, p, JWKSConfig{Refresh: 20 * time.Millisecond})
	waitReady(t, j)
	p.setDown(true)
	downAt := p.requests.Load()
	require.Eventually(t, func() bool { return p.requests.Load() >= downAt+3 }, 5*time.Second, 5*time.Millisecond, "refreshes fail meanwhile")
	_, err := v.Verify(idpToken(t, jwt.SigningMethodES256, key, "ec", idpClaims))
	require.NoError(t, err, "cached keys keep working while the provider is down")
	require.True(t, j.Ready())
}

func TestCheckJWKSURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://idp.example/.well-known/jwks.json", "http://127.0.0.1:8080/certs", "http://localhost/certs", "http://[::1]:9/x"} {
		require.NoError(t, CheckJWKSURL(ok), ok)
	}
	for _, bad := range []string{"http://idp.example/certs", "http://10.0.0.1/certs", "ftp://x/y", "idp.example/certs", "", "https://"} {
		require.Error(t, CheckJWKSURL(bad), bad)
	}
}
