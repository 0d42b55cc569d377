package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

func requireTokenError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	ce := chat.AsError(err)
	if ce == nil {
		t.Fatalf("error %v is not a *chat.Error", err)
	}
	if ce.Code != chat.CodeTokenInvalid && ce.Code != chat.CodeTokenExpired {
		t.Fatalf("unexpected code %s", ce.Code)
	}
}

func fuzzSeeds(f *testing.F) {
	now := time.Now()
	good, err := MintUserToken(testSecret, "u", []string{"tecnico"}, "", time.Hour, "", "", now)
	if err != nil {
		f.Fatal(err)
	}
	expired, _ := MintUserToken(testSecret, "u", nil, "", time.Minute, "", "", now.Add(-time.Hour))
	reply, _ := mustReplyTokens(f, testSecret, time.Hour).Issue(uuid.New(), now)
	weird, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": []any{1}, "exp": "x", "roles": map[string]any{}, "cid": 3,
	}).SignedString(testSecret)
	for _, s := range []string{good, expired, reply, weird, unsigned(f, valid(nil)), "", ".", "..", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "Bearer x"} {
		f.Add(s)
	}
}

func FuzzVerify(f *testing.F) {
	fuzzSeeds(f)
	v, err := NewVerifier(VerifierConfig{Secret: testSecret, TecnicoRoles: []string{"tecnico"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Verify(token)
		requireTokenError(t, err)
		if err == nil && (id.Kind != chat.IdentityUser || id.UserID == "") {
			t.Fatalf("accepted token without a user: %+v", id)
		}
	})
}

func FuzzReplyVerify(f *testing.F) {
	fuzzSeeds(f)
	rt := mustReplyTokens(f, testSecret, time.Hour)
	f.Fuzz(func(t *testing.T, token string) {
		id, err := rt.Verify(token)
		requireTokenError(t, err)
		if err == nil && (id.Kind != chat.IdentityReplyToken || id.ConversationID == uuid.Nil) {
			t.Fatalf("accepted token without a conversation: %+v", id)
		}
	})
}
