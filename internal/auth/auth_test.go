package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

var testSecret = []byte("test-hs256-secret-0123456789abcdef")

func pemOf(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// sign signs claims with method and key, setting extra header fields.
func sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// unsigned builds an alg=none token by hand.
func unsigned(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT"})
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "."
}

func valid(extra jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": "user-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func requireCode(t *testing.T, err error, code chat.Code) {
	t.Helper()
	require.Error(t, err)
	ce := chat.AsError(err)
	require.NotNil(t, ce, "error %v is not a *chat.Error", err)
	require.Equal(t, code, ce.Code)
}

func TestNewVerifier(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})

	tests := []struct {
		name    string
		cfg     VerifierConfig
		wantAlg string
		wantErr string
	}{
		{"secret", VerifierConfig{Secret: testSecret}, "HS256", ""},
		{"rsa", VerifierConfig{PublicKeyPEM: pemOf(t, &rsaKey.PublicKey)}, "RS256", ""},
		{"rsa pkcs1", VerifierConfig{PublicKeyPEM: pkcs1}, "RS256", ""},
		{"ec", VerifierConfig{PublicKeyPEM: pemOf(t, &ecKey.PublicKey)}, "ES256", ""},
		{"key wins over secret", VerifierConfig{Secret: testSecret, PublicKeyPEM: pemOf(t, &ecKey.PublicKey)}, "ES256", ""},
		{"nothing", VerifierConfig{}, "", "no JWT secret"},
		{"not pem", VerifierConfig{PublicKeyPEM: []byte("hello")}, "", "not PEM"},
		{"garbage der", VerifierConfig{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}})}, "", "parse public key"},
		{"private key block", VerifierConfig{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})}, "", "not a public key"},
		{"small rsa", VerifierConfig{PublicKeyPEM: pemOf(t, &smallRSA.PublicKey)}, "", "2048"},
		{"p384", VerifierConfig{PublicKeyPEM: pemOf(t, &p384.PublicKey)}, "", "P-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := NewVerifier(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantAlg, v.Algorithm())
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaPEM := pemOf(t, &rsaKey.PublicKey)
	ecPEM := pemOf(t, &ecKey.PublicKey)

	hs := VerifierConfig{Secret: testSecret, TecnicoRoles: []string{"tecnico", "admin"}}
	rs := VerifierConfig{PublicKeyPEM: rsaPEM, TecnicoRoles: []string{"tecnico"}}
	es := VerifierConfig{PublicKeyPEM: ecPEM}
	issAud := VerifierConfig{Secret: testSecret, Issuer: "https://idp", Audience: "chatgw"}
	custom := VerifierConfig{Secret: testSecret, RolesClaim: "realm_roles", TecnicoRoles: []string{"support"}}
	replyKeyAsJWT := mustReplyTokens(t, testSecret, time.Hour)
	replyTok, err := replyKeyAsJWT.Issue(uuid.New(), time.Now())
	require.NoError(t, err)
	past := time.Now().Add(-2 * time.Hour)

	tests := []struct {
		name  string
		cfg   VerifierConfig
		token string
		code  chat.Code // "" = valid
		want  chat.Identity
	}{
		{"hs256 valid", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(nil), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1"}},
		{"rs256 valid", rs, sign(t, jwt.SigningMethodRS256, rsaKey, valid(jwt.MapClaims{"roles": []string{"tecnico"}}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"tecnico"}, Technician: true}},
		{"es256 valid", es, sign(t, jwt.SigningMethodES256, ecKey, valid(nil), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1"}},
		{"roles array", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": []any{"a", "b"}}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"a", "b"}}},
		{"roles space string", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": "a  b"}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"a", "b"}}},
		{"roles comma string", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": "a, b,admin"}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"a", "b", "admin"}, Technician: true}},
		{"roles empty array", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": []any{}}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{}}},
		{"technician admin", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": []any{"user", "admin"}}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"user", "admin"}, Technician: true}},
		{"not technician", rs, sign(t, jwt.SigningMethodRS256, rsaKey, valid(jwt.MapClaims{"roles": []any{"admin"}}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"admin"}}},
		{"custom roles claim", custom, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": "tecnico", "realm_roles": []any{"support"}}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1", Roles: []string{"support"}, Technician: true}},
		{"iss aud valid", issAud, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"iss": "https://idp", "aud": []any{"x", "chatgw"}}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1"}},
		{"small clock skew tolerated", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"exp": time.Now().Add(-5 * time.Second).Unix()}), nil), "",
			chat.Identity{Kind: chat.IdentityUser, UserID: "user-1"}},

		{"expired", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"iat": past.Unix(), "exp": past.Add(time.Hour).Unix()}), nil), chat.CodeTokenExpired, chat.Identity{}},
		{"expired rs256", rs, sign(t, jwt.SigningMethodRS256, rsaKey, valid(jwt.MapClaims{"exp": past.Unix()}), nil), chat.CodeTokenExpired, chat.Identity{}},
		{"expired and bad signature", hs, sign(t, jwt.SigningMethodHS256, []byte("other"), valid(jwt.MapClaims{"exp": past.Unix()}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"expired and wrong issuer", issAud, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"iss": "evil", "aud": "chatgw", "exp": past.Unix()}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"expired without sub", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"sub": nil, "exp": past.Unix()}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"no exp", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"exp": nil}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"exp wrong type", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"exp": "tomorrow"}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"not yet valid", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"issued in the future", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"iat": time.Now().Add(time.Hour).Unix()}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"no sub", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"sub": nil}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"empty sub", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"sub": ""}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"sub not string", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"sub": 42}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"bad signature", hs, sign(t, jwt.SigningMethodHS256, []byte("wrong-secret"), valid(nil), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"rs256 other key", rs, sign(t, jwt.SigningMethodRS256, otherRSA, valid(nil), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"alg none", hs, unsigned(t, valid(nil)), chat.CodeTokenInvalid, chat.Identity{}},
		{"alg none rsa", rs, unsigned(t, valid(nil)), chat.CodeTokenInvalid, chat.Identity{}},
		{"alg confusion hs256 with public key", rs, sign(t, jwt.SigningMethodHS256, rsaPEM, valid(nil), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"alg confusion es", es, sign(t, jwt.SigningMethodHS256, ecPEM, valid(nil), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"rs256 against hs256 verifier", hs, sign(t, jwt.SigningMethodRS256, rsaKey, valid(nil), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"hs512 refused", hs, sign(t, jwt.SigningMethodHS512, testSecret, valid(nil), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"wrong issuer", issAud, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"iss": "https://evil", "aud": "chatgw"}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"missing issuer", issAud, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"aud": "chatgw"}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"wrong audience", issAud, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"iss": "https://idp", "aud": "other"}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"missing audience", issAud, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"iss": "https://idp"}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"roles number", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": 7}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"roles object", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": map[string]any{"a": true}}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"roles mixed array", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"roles": []any{"a", 1}}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"reply token same secret", hs, replyTok, chat.CodeTokenInvalid, chat.Identity{}},
		{"reply typ header", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(nil), map[string]any{"typ": ReplyTokenType}), chat.CodeTokenInvalid, chat.Identity{}},
		{"reply audience", hs, sign(t, jwt.SigningMethodHS256, testSecret, valid(jwt.MapClaims{"aud": ReplyTokenAudience}), nil), chat.CodeTokenInvalid, chat.Identity{}},
		{"malformed", hs, "not.a.jwt", chat.CodeTokenInvalid, chat.Identity{}},
		{"empty", hs, "", chat.CodeTokenInvalid, chat.Identity{}},
		{"garbage", hs, "eyJhbGciOi", chat.CodeTokenInvalid, chat.Identity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := NewVerifier(tt.cfg)
			require.NoError(t, err)
			id, err := v.Verify(tt.token)
			if tt.code == "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, id)
				return
			}
			requireCode(t, err, tt.code)
			require.Equal(t, chat.Identity{}, id)
			if tt.token != "" {
				require.NotContains(t, err.Error(), tt.token)
				for _, part := range strings.Split(tt.token, ".") {
					if len(part) > 8 {
						require.NotContains(t, err.Error(), part)
					}
				}
			}
		})
	}
}

func TestMintUserToken(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tok, err := MintUserToken(testSecret, "u-9", []string{"tecnico", "x"}, "", time.Hour, "iss", "aud", now)
	require.NoError(t, err)
	v, err := NewVerifier(VerifierConfig{Secret: testSecret, Issuer: "iss", Audience: "aud", TecnicoRoles: []string{"tecnico"}})
	require.NoError(t, err)
	id, err := v.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, chat.Identity{Kind: chat.IdentityUser, UserID: "u-9", Roles: []string{"tecnico", "x"}, Technician: true}, id)

	tok, err = MintUserToken(testSecret, "u-9", []string{"support"}, "groups", time.Hour, "", "", now)
	require.NoError(t, err)
	v, err = NewVerifier(VerifierConfig{Secret: testSecret, RolesClaim: "groups", TecnicoRoles: []string{"support"}})
	require.NoError(t, err)
	id, err = v.Verify(tok)
	require.NoError(t, err)
	require.True(t, id.Technician)

	tok, err = MintUserToken(testSecret, "u-9", nil, "", time.Minute, "", "", now.Add(-time.Hour))
	require.NoError(t, err)
	_, err = v.Verify(tok)
	requireCode(t, err, chat.CodeTokenExpired)

	for name, f := range map[string]func() (string, error){
		"no secret": func() (string, error) { return MintUserToken(nil, "u", nil, "", time.Hour, "", "", now) },
		"no sub":    func() (string, error) { return MintUserToken(testSecret, "", nil, "", time.Hour, "", "", now) },
		"no ttl":    func() (string, error) { return MintUserToken(testSecret, "u", nil, "", 0, "", "", now) },
		"bad claim": func() (string, error) {
			return MintUserToken(testSecret, "u", []string{"a"}, "sub", time.Hour, "", "", now)
		},
	} {
		_, err := f()
		require.Error(t, err, name)
	}
}

func TestReplyTokens(t *testing.T) {
	t.Parallel()
	key := []byte("reply-key-0123456789abcdef0123456789")
	rt := mustReplyTokens(t, key, time.Hour)
	require.Equal(t, time.Hour, rt.TTL())
	cid := uuid.New()
	now := time.Now()

	tok, err := rt.Issue(cid, now)
	require.NoError(t, err)
	id, err := rt.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: cid}, id)
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	require.NoError(t, err)
	require.Equal(t, SecretKeyID(key), parsed.Header["kid"], "a token names its key")

	_, err = rt.Issue(uuid.Nil, now)
	require.Error(t, err)

	// Expired.
	old, err := rt.Issue(cid, now.Add(-2*time.Hour))
	require.NoError(t, err)
	_, err = rt.Verify(old)
	requireCode(t, err, chat.CodeTokenExpired)

	// Another key.
	_, err = mustReplyTokens(t, []byte("other-key-0123456789abcdef0123456789"), time.Hour).Verify(tok)
	requireCode(t, err, chat.CodeTokenInvalid)

	// Short secrets and no key at all are refused; ttl default.
	_, err = NewReplyTokens(ReplyTokensConfig{Secret: []byte("short")})
	require.ErrorContains(t, err, "at least 32")
	_, err = NewReplyTokens(ReplyTokensConfig{})
	require.Error(t, err)
	require.Equal(t, DefaultReplyTokenTTL, mustReplyTokens(t, key, 0).TTL())
}

func TestReplyTokenVerifyRejects(t *testing.T) {
	t.Parallel()
	key := []byte("shared-secret-for-both-0123456789abcdef")
	rt := mustReplyTokens(t, key, time.Hour)
	now := time.Now()
	cid := uuid.NewString()
	hdr := map[string]any{"typ": ReplyTokenType, "kid": SecretKeyID(key)}
	noKid := map[string]any{"typ": ReplyTokenType}
	otherKid := map[string]any{"typ": ReplyTokenType, "kid": "k0000000000000000"}
	base := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"aud": ReplyTokenAudience, "cid": cid, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	userTok, err := MintUserToken(key, "u", []string{"tecnico"}, "", time.Hour, "", "", now)
	require.NoError(t, err)

	tests := []struct {
		name  string
		token string
		code  chat.Code
	}{
		{"hand-built valid", sign(t, jwt.SigningMethodHS256, key, base(nil), hdr), ""},
		{"user jwt same secret", userTok, chat.CodeTokenInvalid},
		{"no kid", sign(t, jwt.SigningMethodHS256, key, base(nil), noKid), chat.CodeTokenInvalid},
		{"unknown kid", sign(t, jwt.SigningMethodHS256, key, base(nil), otherKid), chat.CodeTokenInvalid},
		{"no typ", sign(t, jwt.SigningMethodHS256, key, base(nil), map[string]any{"kid": SecretKeyID(key)}), chat.CodeTokenInvalid},
		{"wrong typ", sign(t, jwt.SigningMethodHS256, key, base(nil), map[string]any{"typ": "JWT", "kid": SecretKeyID(key)}), chat.CodeTokenInvalid},
		{"no aud", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"aud": nil}), hdr), chat.CodeTokenInvalid},
		{"wrong aud", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"aud": "chatgw"}), hdr), chat.CodeTokenInvalid},
		{"no cid", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"cid": nil}), hdr), chat.CodeTokenInvalid},
		{"bad cid", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"cid": "nope"}), hdr), chat.CodeTokenInvalid},
		{"nil cid", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"cid": uuid.Nil.String()}), hdr), chat.CodeTokenInvalid},
		{"cid number", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"cid": 5}), hdr), chat.CodeTokenInvalid},
		{"no exp", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"exp": nil}), hdr), chat.CodeTokenInvalid},
		{"no iat", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"iat": nil}), hdr), chat.CodeTokenInvalid},
		{"expired", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()}), hdr), chat.CodeTokenExpired},
		{"expired no cid", sign(t, jwt.SigningMethodHS256, key, base(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix(), "cid": nil}), hdr), chat.CodeTokenInvalid},
		{"alg none", unsigned(t, base(nil)), chat.CodeTokenInvalid},
		{"hs512", sign(t, jwt.SigningMethodHS512, key, base(nil), hdr), chat.CodeTokenInvalid},
		{"garbage", "abc", chat.CodeTokenInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, err := rt.Verify(tt.token)
			if tt.code == "" {
				require.NoError(t, err)
				require.Equal(t, chat.IdentityReplyToken, id.Kind)
				require.Equal(t, cid, id.ConversationID.String())
				return
			}
			requireCode(t, err, tt.code)
			require.NotContains(t, err.Error(), tt.token)
		})
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		tok  string
		isOK bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"  Bearer\tabc", "abc", true},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"Bearerabc", "", false},
		{"Basic abc", "", false},
		{"Bearer a b", "", false},
		{"", "", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			tok, ok := BearerToken(tt.in)
			require.Equal(t, tt.isOK, ok)
			require.Equal(t, tt.tok, tok)
		})
	}
}

func mustReplyTokens(t testing.TB, secret []byte, ttl time.Duration) *ReplyTokens {
	t.Helper()
	rt, err := NewReplyTokens(ReplyTokensConfig{Secret: secret, TTL: ttl})
	require.NoError(t, err)
	return rt
}
