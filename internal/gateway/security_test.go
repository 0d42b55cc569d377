package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	client "github.com/zishang520/socket.io/clients/socket/v3"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
)

// Runs the kinds of traffic the other tests run, with known credentials,
// at debug level, and checks that no credential shows in any log line.
func TestNoCredentialInLogs(t *testing.T) {
	t.Parallel()
	const (
		webhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		hookHeader    = "hook-header-value-7f3a9c"
		basicCreds    = "dXNlcjpzdXBlci1zZWNyZXQ="
	)
	srv := apptest.Start(t, map[string]string{
		"N8N_WEBHOOK_URL":             "http://127.0.0.1:9/hook",
		"N8N_WEBHOOK_SECRET":          webhookSecret,
		"N8N_WEBHOOK_AUTH_HEADER":     "X-Hook-Auth: " + hookHeader,
		"WEBHOOK_BACKOFF_BASE":        "10ms",
		"WEBHOOK_BACKOFF_MAX":         "20ms",
		"RATE_LIMIT_MESSAGES_PER_SEC": "0.001",
		"RATE_LIMIT_MESSAGES_BURST":   "30",
		"LOG_LEVEL":                   "debug",
	})
	secrets := map[string]string{"JWT_SECRET": apptest.JWTSecret, "webhook secret": webhookSecret,
		"webhook secret key": strings.TrimPrefix(webhookSecret, "whsec_"), "webhook header": hookHeader, "basic credentials": basicCreds}

	alice := srv.Token(t, "alice")
	tech := srv.Token(t, "tom", "tecnico")
	expired, err := auth.MintUserToken([]byte(apptest.JWTSecret), "old", nil, "roles", time.Minute, "", "", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	forged := alice[:len(alice)-4] + "AAAA"
	secrets["user JWT"], secrets["technician JWT"], secrets["expired JWT"], secrets["forged JWT"] = alice, tech, expired, forged

	anon := srv.CreateAnonymous(t)
	secrets["session token"] = anon.SessionToken
	owned := srv.CreateOwned(t, alice)
	reply := srv.ReplyToken(t, apptest.ParseUUID(t, anon.ConversationID))
	secrets["reply token"] = reply

	// HTTP, accepted and refused.
	msgs := "/v1/conversations/" + anon.ConversationID + "/messages"
	for _, c := range []struct {
		method, path, bearer, body string
		headers                    []string
	}{
		{http.MethodGet, msgs, "", "", []string{"X-Session-Token", anon.SessionToken}},
		{http.MethodGet, msgs, "", "", []string{"X-Session-Token", anon.SessionToken + "x"}},
		{http.MethodGet, msgs, reply, "", nil},
		{http.MethodGet, msgs, expired, "", nil},
		{http.MethodGet, msgs, forged, "", nil},
		{http.MethodPost, msgs, reply, `{"content":"bot reply","clientMessageId":"b1"}`, nil},
		{http.MethodPost, msgs, tech, `{"content":"tech reply"}`, nil},
		{http.MethodPost, msgs, alice, `{"content":"not a technician"}`, nil},
		{http.MethodPost, "/v1/conversations", forged, `{}`, nil},
		{http.MethodPost, "/v1/conversations", "", `{}`, []string{"Authorization", "Basic " + basicCreds}},
		{http.MethodGet, "/v1/conversations/" + owned + "/messages", alice, "", nil},
	} {
		srv.Do(t, c.method, c.path, c.bearer, c.body, c.headers...)
	}

	// Socket.IO, accepted and refused.
	visitor := srv.Connect(t, anon.Auth())
	visitor.Send(t, map[string]any{"content": "hello", "clientMessageId": "v1"})
	visitor.Send(t, map[string]any{"content": "hello", "clientMessageId": "v1"})
	visitor.Emit(t, "client-typing", map[string]any{"typing": true})
	visitor.Emit(t, "client-get-history", map[string]any{"limit": 5})
	visitor.Emit(t, "client-send-message", map[string]any{"content": ""})
	owner := srv.Connect(t, map[string]any{"token": alice, "conversationId": owned, "lastSeq": 0})
	owner.Send(t, map[string]any{"content": "mine"})
	techSock := srv.Connect(t, map[string]any{"token": tech, "conversationId": anon.ConversationID, "lastSeq": 1})
	techSock.Emit(t, "client-send-tecnico", map[string]any{"conversationId": anon.ConversationID, "content": "hi"})
	for _, bad := range []map[string]any{
		{"token": expired}, {"token": forged}, {"token": forged, "conversationId": anon.ConversationID},
		{"conversationId": anon.ConversationID, "session_token": anon.SessionToken + "x"},
		{"token": alice, "conversationId": anon.ConversationID},
	} {
		srv.ConnectError(t, bad)
	}
	// Credentials in the query string are never read, nor logged.
	sock, err := srv.ConnectWith(t, func() *client.Options {
		opts := apptest.ClientOptions(map[string]any{})
		opts.SetQuery(map[string][]string{"token": {tech}, "session_token": {anon.SessionToken}})
		return opts
	})
	require.Error(t, err)
	sock.Disconnect()
	visitor.Disconnect()

	// Let the webhook worker try (and fail) at least twice, so its logs are in.
	waitFor(t, func() bool {
		var attempts int
		err := srv.Pool.QueryRow(context.Background(), `SELECT coalesce(max(attempt), 0) FROM river_job`).Scan(&attempts)
		return err == nil && attempts >= 2
	})

	logs := srv.Logs.String()
	require.Contains(t, logs, "handshake rejected", "the traffic was logged")
	for i, line := range strings.Split(logs, "\n") {
		for name, secret := range secrets {
			require.NotContains(t, line, secret, "line %d logs the %s", i+1, name)
		}
		require.NotContains(t, line, "Bearer ", "line %d logs an Authorization value", i+1)
	}
}

// waitFor polls cond (the state lives in the database, which has no
// signal to wait on) until it holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(apptest.Timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("condition not reached")
		}
	}
}
