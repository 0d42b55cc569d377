package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/httpapi"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.do(t, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusOK, a.Status)
	require.Equal(t, "ok", a.Body["status"])
}

func TestReadyzFollowsReady(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	e := setup(t, func(o *options) {
		o.api = func(c *httpapi.Config) {
			c.Ready = func(context.Context) error {
				if down.Load() {
					return errors.New("migrations pending at db.internal:5432")
				}
				return nil
			}
		}
	})
	a := e.do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusOK, a.Status)
	require.Equal(t, "ok", a.Body["status"])

	down.Store(true)
	a = e.do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, a.Status)
	require.Equal(t, map[string]any{"status": "unavailable"}, a.Body, "the cause stays in the log")
	require.Contains(t, e.Logs.String(), "db.internal", "the cause is logged")
}

func TestCreateConversation(t *testing.T) {
	t.Parallel()
	e := setup(t)

	a := e.do(t, http.MethodPost, "/v1/conversations", "", `{"metadata":{"page":"/pricing","lang":"es"}}`)
	require.Equal(t, http.StatusCreated, a.Status, a.Raw)
	require.Equal(t, "no-store", a.Header.Get("Cache-Control"), "the session token is not cached")
	id, err := uuid.Parse(a.Body["conversationId"].(string))
	require.NoError(t, err)
	token := a.Body["session_token"].(string)
	require.Len(t, token, 43, "32 random bytes, base64url without padding")
	created, err := time.Parse(time.RFC3339, a.Body["createdAt"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), created, time.Minute)
	require.True(t, strings.HasSuffix(a.Body["createdAt"].(string), "Z"), "createdAt is UTC")

	stored, err := e.Store.Conversation(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, chat.HashSessionToken(token), stored.SessionTokenHash, "the store is given the hash")
	require.NotContains(t, string(stored.Metadata), token)
	require.JSONEq(t, `{"page":"/pricing","lang":"es"}`, string(stored.Metadata))

	// Empty body and {} are both anonymous.
	for _, body := range []string{``, `{}`, `  `} {
		a = e.do(t, http.MethodPost, "/v1/conversations", "", body)
		require.Equal(t, http.StatusCreated, a.Status, "%q: %s", body, a.Raw)
		require.NotEmpty(t, a.Body["session_token"])
	}

	// With a JWT the conversation is owned and has no session token.
	a = e.do(t, http.MethodPost, "/v1/conversations", e.token(t, "alice"), `{}`)
	require.Equal(t, http.StatusCreated, a.Status, a.Raw)
	require.NotContains(t, a.Body, "session_token")
	stored, err = e.Store.Conversation(context.Background(), uuid.MustParse(a.Body["conversationId"].(string)))
	require.NoError(t, err)
	require.Equal(t, "alice", stored.OwnerID)
	require.Empty(t, stored.SessionTokenHash)
}

func TestCreateConversationErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	big := `{"metadata":{"x":"` + strings.Repeat("a", 5000) + `"}}`
	huge := `{"metadata":{"x":"` + strings.Repeat("a", 100_000) + `"}}`
	expired, err := auth.MintUserToken([]byte(jwtSecret), "alice", nil, "roles", time.Hour, "", "", time.Now().Add(-2*time.Hour))
	require.NoError(t, err)
	cases := []struct {
		name, bearer, body string
		headers            []string
		status             int
		code               string
		field              string
	}{
		{"invalid JWT is not downgraded to anonymous", "garbage", `{}`, nil, 401, "TOKEN_INVALID", ""},
		{"expired JWT", expired, `{}`, nil, 401, "TOKEN_EXPIRED", ""},
		{"not a bearer token", "", `{}`, []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, "UNAUTHORIZED", ""},
		{"a reply token cannot own conversations", e.reply(t, uuid.New()), `{}`, nil, 401, "TOKEN_INVALID", ""},
		{"metadata not an object", "", `{"metadata":[1,2]}`, nil, 400, "VALIDATION_FAILED", "metadata"},
		{"metadata over 4 KB", "", big, nil, 400, "VALIDATION_FAILED", "metadata"},
		{"metadata with NUL", "", `{"metadata":{"a":"\u0000"}}`, nil, 400, "VALIDATION_FAILED", "metadata"},
		{"body over the limit", "", huge, nil, 413, "PAYLOAD_TOO_LARGE", ""},
		{"not JSON", "", `{"metadata":`, nil, 400, "VALIDATION_FAILED", ""},
		{"array body", "", `[]`, nil, 400, "VALIDATION_FAILED", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do(t, http.MethodPost, "/v1/conversations", tc.bearer, tc.body, tc.headers...)
			require.Equal(t, tc.status, a.Status, a.Raw)
			require.Equal(t, tc.code, a.code())
			require.NotEmpty(t, a.Body["error"].(map[string]any)["message"])
			if tc.field != "" {
				fields := a.Body["error"].(map[string]any)["fields"].([]any)
				require.Equal(t, tc.field, fields[0].(map[string]any)["field"])
			}
		})
	}

	a := e.do(t, http.MethodGet, "/v1/nothing-here", "", "")
	require.Equal(t, http.StatusNotFound, a.Status)
	require.Equal(t, "NOT_FOUND", a.code())
}
