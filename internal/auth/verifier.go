package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatgw/chatgw/internal/chat"
)

// VerifierConfig configures a Verifier. JWKS wins over PublicKeyPEM, which
// wins over Secret.
type VerifierConfig struct {
	// JWKS is an identity provider's key set (JWT_JWKS_URL): RS256, ES256
	// and EdDSA keys chosen by kid, each key's algorithm pinned to its type.
	JWKS *JWKS
	// Secret is the HS256 key (JWT_SECRET).
	Secret []byte
	// PublicKeyPEM is a PEM public key (PKIX "PUBLIC KEY", PKCS#1 "RSA
	// PUBLIC KEY", or a "CERTIFICATE"): RSA (≥ 2048 bits) → RS256 only,
	// EC P-256 → ES256 only.
	PublicKeyPEM []byte
	// Issuer and Audience are enforced when non-empty.
	Issuer, Audience string
	// RolesClaim names the roles claim; "roles" when empty.
	RolesClaim string
	// TecnicoRoles are the roles that make a user a technician.
	TecnicoRoles []string
}

// Verifier verifies users' JWTs. It is safe for concurrent use.
type Verifier struct {
	alg          string
	keyfunc      jwt.Keyfunc
	parser       *jwt.Parser
	rolesClaim   string
	tecnicoRoles []string
}

// NewVerifier returns a Verifier for cfg, or an error when no key is
// configured or the public key cannot be used.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{
		rolesClaim:   cfg.RolesClaim,
		tecnicoRoles: slices.Clone(cfg.TecnicoRoles),
	}
	if v.rolesClaim == "" {
		v.rolesClaim = DefaultRolesClaim
	}
	valid := []string{}
	switch {
	case cfg.JWKS != nil:
		v.alg, v.keyfunc = "JWKS", cfg.JWKS.Keyfunc(context.Background())
		valid = append(valid, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodEdDSA.Alg())
	case len(cfg.PublicKeyPEM) > 0:
		key, err := parsePublicKey(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		switch k := key.(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				return nil, fmt.Errorf("auth: RSA public key has %d bits, at least 2048 required", k.N.BitLen())
			}
			v.alg, v.keyfunc = jwt.SigningMethodRS256.Alg(), staticKey(k)
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() {
				return nil, fmt.Errorf("auth: EC public key must be on curve P-256 for ES256, got %s", k.Curve.Params().Name)
			}
			v.alg, v.keyfunc = jwt.SigningMethodES256.Alg(), staticKey(k)
		default:
			return nil, fmt.Errorf("auth: unsupported public key type %T (want RSA or EC P-256)", key)
		}
	case len(cfg.Secret) > 0:
		v.alg, v.keyfunc = jwt.SigningMethodHS256.Alg(), staticKey(slices.Clone(cfg.Secret))
	default:
		return nil, errors.New("auth: no JWT secret or public key configured")
	}

	if len(valid) == 0 {
		valid = append(valid, v.alg)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(valid),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Algorithm returns the one JWS algorithm the verifier accepts: HS256,
// RS256 or ES256; or "JWKS" when each key of a JWKS pins its own.
func (v *Verifier) Algorithm() string { return v.alg }

func staticKey(key any) jwt.Keyfunc {
	return func(*jwt.Token) (any, error) { return key, nil }
}

func parsePublicKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("auth: public key is not PEM")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse public key: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse RSA public key: %w", err)
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse certificate: %w", err)
		}
		return c.PublicKey, nil
	default:
		return nil, fmt.Errorf("auth: PEM block %q is not a public key", block.Type)
	}
}

// Verify checks a user's JWT and returns its identity (Kind IdentityUser).
// The error is a *chat.Error: TOKEN_EXPIRED for a well-signed token whose
// only problem is its expiry, TOKEN_INVALID for anything else (bad
// signature or algorithm, malformed, missing exp, empty sub, wrong iss or
// aud, a roles claim of the wrong type, a reply token).
func (v *Verifier) Verify(token string) (chat.Identity, error) {
	tok, claims, expired, err := parse(v.parser, v.keyfunc, token)
	if err != nil {
		return chat.Identity{}, err
	}
	// The signature is good here (jwt/v5 checks it before the claims).
	if isReplyToken(tok, claims) {
		return chat.Identity{}, invalid("not a user token")
	}
	sub, ok := claims["sub"].(string)
	if !ok || strings.TrimSpace(sub) == "" {
		return chat.Identity{}, invalid("token has no subject")
	}
	roles, ok := parseRoles(claims[v.rolesClaim])
	if !ok {
		return chat.Identity{}, invalid("token roles claim has the wrong type")
	}
	if expired {
		return chat.Identity{}, errExpired
	}
	id := chat.Identity{Kind: chat.IdentityUser, UserID: sub, Roles: roles}
	for _, r := range roles {
		if slices.Contains(v.tecnicoRoles, r) {
			id.Technician = true
			break
		}
	}
	return id, nil
}

// isReplyToken reports whether a token is one of ours for n8n.
func isReplyToken(tok *jwt.Token, claims jwt.MapClaims) bool {
	if tok != nil {
		if typ, _ := tok.Header["typ"].(string); strings.EqualFold(typ, ReplyTokenType) {
			return true
		}
	}
	aud, err := claims.GetAudience()
	return err == nil && slices.Contains(aud, ReplyTokenAudience)
}

// parseRoles reads a roles claim: absent (or null) → none; an array of
// strings; or one string separated by spaces or commas. Anything else is
// not ok.
func parseRoles(v any) ([]string, bool) {
	switch r := v.(type) {
	case nil:
		return nil, true
	case string:
		return splitRoles(r), true
	case []any:
		out := make([]string, 0, len(r))
		for _, e := range r {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, true
	default:
		return nil, false
	}
}

func splitRoles(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}

// MintUserToken returns an HS256 user JWT with sub, iat, exp = now+ttl,
// the roles under rolesClaim ("roles" when empty; omitted when roles is
// empty), and iss/aud when non-empty. It serves `chatgw token` and tests.
func MintUserToken(secret []byte, sub string, roles []string, rolesClaim string, ttl time.Duration, issuer, audience string, now time.Time) (string, error) {
	switch {
	case len(secret) == 0:
		return "", errors.New("auth: no secret to sign with")
	case sub == "":
		return "", errors.New("auth: sub is required")
	case ttl <= 0:
		return "", errors.New("auth: ttl must be positive")
	}
	if rolesClaim == "" {
		rolesClaim = DefaultRolesClaim
	}
	claims := jwt.MapClaims{
		"sub": sub,
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	switch rolesClaim {
	case "sub", "iat", "exp", "iss", "aud", "nbf":
		return "", fmt.Errorf("auth: roles claim %q collides with a registered claim", rolesClaim)
	}
	if len(roles) > 0 {
		claims[rolesClaim] = slices.Clone(roles)
	}
	if issuer != "" {
		claims["iss"] = issuer
	}
	if audience != "" {
		claims["aud"] = audience
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
