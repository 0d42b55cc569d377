package app_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net"
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

	"github.com/chatgw/chatgw/internal/apptest"
)

// identityProvider serves a JWK Set on 127.0.0.1 at an address fixed before
// it listens, so a gateway can be pointed at it while it is down.
type identityProvider struct {
	addr    string
	mu      sync.Mutex
	keys    map[string]crypto.Signer // kid → private key
	fetches atomic.Int64
}

const (
	idpIssuer   = "https://idp.example/realms/acme"
	idpAudience = "chatgw"
)

// newDownProvider reserves a loopback port and leaves nothing listening
// on it: connections to the provider are refused until up.
func newDownProvider(t *testing.T) *identityProvider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &identityProvider{addr: ln.Addr().String(), keys: map[string]crypto.Signer{}}
	require.NoError(t, ln.Close())
	return p
}

func (p *identityProvider) url() string {
	return "http://" + p.addr + "/realms/acme/protocol/openid-connect/certs"
}

// up starts serving on the reserved address.
func (p *identityProvider) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(t, err, "listen again on the provider's port")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
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
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// setKeys replaces the provider's key set.
func (p *identityProvider) setKeys(keys map[string]crypto.Signer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

// idpToken is a token the provider issues to sub, signed by key under kid.
func idpToken(t *testing.T, method jwt.SigningMethod, key crypto.Signer, kid, sub string, roles ...string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(method, jwt.MapClaims{
		"iss": idpIssuer, "aud": []string{"account", idpAudience}, "sub": sub,
		"realm_roles": roles, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// TestJWKSWholeApp: a gateway whose users come from an identity provider's
// JWKS. The provider is down at start (not ready), comes up (ready), its
// tokens open sockets and the HTTP API with the roles they carry, and after
// it rotates to a new kid the new tokens work after one refresh.
func TestJWKSWholeApp(t *testing.T) {
	t.Parallel()
	idp := newDownProvider(t)
	oldKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	idp.setKeys(map[string]crypto.Signer{"old": oldKey})

	srv := apptest.Start(t, map[string]string{
		"JWT_SECRET":      "", // only the provider's keys
		"JWT_JWKS_URL":    idp.url(),
		"JWT_ISSUER":      idpIssuer,
		"JWT_AUDIENCE":    idpAudience,
		"JWT_ROLES_CLAIM": "realm_roles",
	})
	status, _ := srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, status, "not ready before the keys are fetched")

	idp.up(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := srv.HTTP.Get(srv.URL + "/readyz")
		if !assert.NoError(c, err) {
			return
		}
		_ = resp.Body.Close()
		assert.Equal(c, http.StatusOK, resp.StatusCode)
	}, 20*time.Second, 50*time.Millisecond, "ready once the provider answers (first fetch retried with backoff)")
	require.Equal(t, int64(1), idp.fetches.Load())

	anon := srv.CreateAnonymous(t)
	conv := anon.ConversationID
	history := "/v1/conversations/" + conv + "/messages"

	// A technician of the provider joins over Socket.IO and posts as one.
	tom := idpToken(t, jwt.SigningMethodRS256, oldKey, "old", "tom", "tecnico")
	sock := srv.Connect(t, map[string]any{"token": tom, "conversationId": conv})
	ack := sock.Emit(t, "client-send-tecnico", map[string]any{"conversationId": conv, "content": "hola, soy tom"})
	require.Equal(t, true, ack["ok"], "%v", ack)
	msg := ack["message"].(map[string]any)
	require.Equal(t, "tecnico", msg["sender"])
	require.Equal(t, "tom", msg["senderId"])

	// And reads it over HTTP; a user without the role may not.
	status, body := srv.Do(t, http.MethodGet, history, tom, "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Len(t, body["messages"], 1)
	alice := idpToken(t, jwt.SigningMethodRS256, oldKey, "old", "alice")
	status, body = srv.Do(t, http.MethodGet, history, alice, "")
	require.Equal(t, http.StatusForbidden, status, "%v", body)
	require.Equal(t, int64(1), idp.fetches.Load(), "known kids are served from the cache")

	// The provider rotates: the old key goes, a new kid (another key type)
	// comes. The first token under it causes one refresh and is accepted.
	idp.setKeys(map[string]crypto.Signer{"new": newKey})
	tomNew := idpToken(t, jwt.SigningMethodES256, newKey, "new", "tom", "tecnico")
	status, body = srv.Do(t, http.MethodGet, history, tomNew, "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, int64(2), idp.fetches.Load(), "one refresh for the new kid")
	srv.Connect(t, map[string]any{"token": tomNew, "conversationId": conv})

	// The refresh dropped the old key.
	status, body = srv.Do(t, http.MethodGet, history, tom, "")
	require.Equal(t, http.StatusUnauthorized, status, "%v", body)
	require.Equal(t, "TOKEN_INVALID", body["error"].(map[string]any)["code"])
	code, _ := srv.ConnectError(t, map[string]any{"token": tom, "conversationId": conv})
	require.Equal(t, "TOKEN_INVALID", code)
	require.Equal(t, int64(2), idp.fetches.Load())
}
