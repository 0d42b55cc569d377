// Package auth verifies the credentials of chatgw's callers: users' JWTs
// (HS256, RS256 or ES256, the algorithm pinned to the configured key) and
// the reply tokens chatgw hands to n8n (contract §5), and fetches an
// identity provider's JWKS. Every token failure is a *chat.Error with code
// TOKEN_EXPIRED or TOKEN_INVALID whose message never contains the token;
// a failure that is not the token's (keys not loaded, key store down) is a
// plain error, which edges show as INTERNAL.
package auth

import (
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatgw/chatgw/internal/chat"
)

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 30 * time.Second

// DefaultRolesClaim is the claim holding a user's roles unless configured.
const DefaultRolesClaim = "roles"

func invalid(msg string) *chat.Error { return &chat.Error{Code: chat.CodeTokenInvalid, Message: msg} }

var errExpired = &chat.Error{Code: chat.CodeTokenExpired, Message: "token expired"}

// claimErrors are the validation failures other than expiry: a token that
// has one of them is invalid even when it is also expired.
var claimErrors = []error{
	jwt.ErrTokenMalformed,
	jwt.ErrTokenUnverifiable,
	jwt.ErrTokenSignatureInvalid,
	jwt.ErrTokenRequiredClaimMissing,
	jwt.ErrTokenInvalidAudience,
	jwt.ErrTokenUsedBeforeIssued,
	jwt.ErrTokenInvalidIssuer,
	jwt.ErrTokenInvalidSubject,
	jwt.ErrTokenNotValidYet,
	jwt.ErrTokenInvalidId,
	jwt.ErrInvalidType,
}

// classify maps a parse error of the jwt library to "expired" (the signature
// is good and expiry is the only problem) or an invalid-token message.
func classify(err error) (expired bool, msg string) {
	for _, e := range claimErrors {
		if errors.Is(err, e) {
			return false, describe(e)
		}
	}
	if errors.Is(err, jwt.ErrTokenExpired) {
		return true, ""
	}
	return false, "invalid token"
}

func describe(e error) string {
	switch e {
	case jwt.ErrTokenMalformed:
		return "malformed token"
	case jwt.ErrTokenSignatureInvalid, jwt.ErrTokenUnverifiable:
		return "invalid token signature"
	case jwt.ErrTokenRequiredClaimMissing:
		return "token is missing a required claim"
	case jwt.ErrTokenInvalidAudience:
		return "token has the wrong audience"
	case jwt.ErrTokenInvalidIssuer:
		return "token has the wrong issuer"
	case jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued:
		return "token is not valid yet"
	default:
		return "invalid token"
	}
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header value (scheme case-insensitive), and false when the header is not a
// Bearer credential or the token is empty.
func BearerToken(authorizationHeader string) (string, bool) {
	const scheme = "bearer"
	h := strings.TrimSpace(authorizationHeader)
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	rest := h[len(scheme):]
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	tok := strings.TrimSpace(rest)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// parse verifies token's signature and registered claims with parser and
// key. It returns the claims with expired=true when expiry is the only
// problem (so the caller can finish its own checks before saying
// TOKEN_EXPIRED), or a TOKEN_INVALID error.
func parse(parser *jwt.Parser, keyfunc jwt.Keyfunc, token string) (tok *jwt.Token, claims jwt.MapClaims, expired bool, err error) {
	claims = jwt.MapClaims{}
	tok, perr := parser.ParseWithClaims(token, claims, keyfunc)
	if perr != nil {
		if errors.Is(perr, ErrKeysNotLoaded) {
			return nil, nil, false, perr
		}
		var msg string
		if expired, msg = classify(perr); !expired {
			return nil, nil, false, invalid(msg)
		}
	}
	return tok, claims, expired, nil
}
