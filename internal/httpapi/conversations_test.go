package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/chat"
)

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	status, body := srv.Do(t, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
	status, body = srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])

	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, name := range []string{"chatgw_sockets_connected", "chatgw_webhook_queue_depth", "chatgw_webhook_delivery_seconds"} {
		require.Contains(t, string(text), name)
	}
}

func TestReadyzWithoutMigrations(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	_, err := srv.Pool.Exec(context.Background(), "DELETE FROM goose_db_version WHERE version_id > 0")
	require.NoError(t, err)
	status, _ := srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, status, "not ready while migrations are not applied")
}

func TestCreateConversation(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)

	status, body := srv.Do(t, http.MethodPost, "/v1/conversations", "", `{"metadata":{"page":"/pricing","lang":"es"}}`)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := apptest.ParseUUID(t, body["conversationId"].(string))
	token := body["session_token"].(string)
	require.Len(t, token, 43, "32 random bytes, base64url without padding")
	created, err := time.Parse(time.RFC3339, body["createdAt"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), created, time.Minute)

	var hash []byte
	var metadata string
	require.NoError(t, srv.Pool.QueryRow(context.Background(),
		"SELECT session_token_hash, metadata::text FROM conversations WHERE id = $1", id).Scan(&hash, &metadata))
	require.Equal(t, chat.HashSessionToken(token), hash, "only the hash is stored")
	require.NotContains(t, metadata, token)
	require.JSONEq(t, `{"page":"/pricing","lang":"es"}`, metadata)

	// Empty body and {} are both anonymous.
	status, body = srv.Do(t, http.MethodPost, "/v1/conversations", "", ``)
	require.Equal(t, http.StatusCreated, status, "%v", body)

	// With a JWT the conversation is owned and has no session token.
	status, body = srv.Do(t, http.MethodPost, "/v1/conversations", srv.Token(t, "alice"), `{}`)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	require.NotContains(t, body, "session_token")
	var owner string
	require.NoError(t, srv.Pool.QueryRow(context.Background(), "SELECT owner_id FROM conversations WHERE id = $1", body["conversationId"]).Scan(&owner))
	require.Equal(t, "alice", owner)
}

func TestCreateConversationErrors(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	big := `{"metadata":{"x":"` + strings.Repeat("a", 5000) + `"}}`
	huge := `{"metadata":{"x":"` + strings.Repeat("a", 100_000) + `"}}`
	cases := []struct {
		name, bearer, body string
		status             int
		code               string
	}{
		{"invalid JWT is not downgraded", "garbage", `{}`, 401, "TOKEN_INVALID"},
		{"metadata not an object", "", `{"metadata":[1,2]}`, 400, "VALIDATION_FAILED"},
		{"metadata over 4 KB", "", big, 400, "VALIDATION_FAILED"},
		{"body over the limit", "", huge, 413, "PAYLOAD_TOO_LARGE"},
		{"not JSON", "", `{"metadata":`, 400, "VALIDATION_FAILED"},
		{"array body", "", `[]`, 400, "VALIDATION_FAILED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := srv.Do(t, http.MethodPost, "/v1/conversations", tc.bearer, tc.body)
			require.Equal(t, tc.status, status, "%v", body)
			e := body["error"].(map[string]any)
			require.Equal(t, tc.code, e["code"])
			require.NotEmpty(t, e["message"])
		})
	}

	status, body := srv.Do(t, http.MethodPost, "/v1/conversations", "", `{}`, "Authorization", "Basic dXNlcjpwYXNz")
	require.Equal(t, http.StatusUnauthorized, status, "%v", body)

	status, body = srv.Do(t, http.MethodGet, "/v1/nothing-here", "", "")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "NOT_FOUND", body["error"].(map[string]any)["code"])
}
