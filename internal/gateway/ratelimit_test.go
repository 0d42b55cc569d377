package gateway_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/ratelimit"
)

func TestSendRateLimitPerConversation(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(o *options) { o.service.SendLimiter = ratelimit.New(ratelimit.Config{Rate: 0.01, Burst: 2}) })
	anon := srv.CreateAnonymous(t)
	other := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	second := srv.Connect(t, anon.Auth())
	sock.Send(t, map[string]any{"content": "1"})
	second.Send(t, map[string]any{"content": "2"})

	// The bucket belongs to the conversation, not the socket.
	ack := sock.Emit(t, "client-send-message", map[string]any{"content": "3", "clientMessageId": "x"})
	require.Equal(t, false, ack["ok"])
	e := ack["error"].(map[string]any)
	require.Equal(t, "RATE_LIMITED", e["code"])
	wait := e["retryAfterMs"].(float64)
	require.Greater(t, wait, 90_000.0)
	require.LessOrEqual(t, wait, 100_000.0)
	ev := sock.Events.WaitFor(t, "error", 1)[0]
	require.Equal(t, "RATE_LIMITED", ev["code"])
	require.Equal(t, "client-send-message", ev["event"])
	require.NotNil(t, ev["retryAfterMs"])
	require.Equal(t, "RATE_LIMITED", second.Emit(t, "client-send-message", map[string]any{"content": "4"})["error"].(map[string]any)["code"])

	// Other conversations are not affected, and nothing was stored.
	srv.Connect(t, other.Auth()).Send(t, map[string]any{"content": "fine"})
	require.Len(t, srv.Messages(t, anon.ConversationID), 2)
	require.Equal(t, 2.0, testutil.ToFloat64(srv.Metrics().RateLimited.WithLabelValues("message")))

	// Sends that will be refused as FORBIDDEN take no token from the
	// conversation they aim at.
	for range 5 {
		ack := sock.Emit(t, "client-send-message", map[string]any{"conversationId": other.ConversationID, "content": "nope"})
		require.Equal(t, "FORBIDDEN", ack["error"].(map[string]any)["code"])
	}
	srv.Connect(t, other.Auth()).Send(t, map[string]any{"content": "still fine"})
}

func TestHandshakeRateLimitPerIP(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_CONNECTS_PER_MIN": "2", "TRUSTED_PROXIES": "10.0.0.0/8"})
	tok := srv.Token(t, "ida")
	require.Nil(t, rawHandshake(t, srv.URL, nil, map[string]any{"token": tok}))
	// Rejected handshakes count too: the limit is on attempts.
	require.Equal(t, "TOKEN_INVALID", rawHandshake(t, srv.URL, nil, map[string]any{"token": "bad"})["code"])

	refused := rawHandshake(t, srv.URL, nil, map[string]any{"token": tok})
	require.Equal(t, "RATE_LIMITED", refused["code"])
	require.Greater(t, refused["retryAfterMs"].(float64), 0.0)
	require.Equal(t, 1.0, testutil.ToFloat64(srv.Metrics().RateLimited.WithLabelValues("connect")))

	// 127.0.0.1 is not a trusted proxy: a forged X-Forwarded-For does not
	// buy a fresh bucket.
	forged := rawHandshake(t, srv.URL, http.Header{"X-Forwarded-For": {"198.51.100.1"}}, map[string]any{"token": tok})
	require.Equal(t, "RATE_LIMITED", forged["code"])
}

func TestHandshakeRateLimitBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_CONNECTS_PER_MIN": "1", "TRUSTED_PROXIES": "127.0.0.1/32"})
	tok := srv.Token(t, "ida")
	connectAs := func(ip string) map[string]any {
		return rawHandshake(t, srv.URL, http.Header{"X-Forwarded-For": {ip}}, map[string]any{"token": tok})
	}
	require.Nil(t, connectAs("198.51.100.1"))
	require.Nil(t, connectAs("198.51.100.2"), "another client behind the proxy has its own bucket")
	require.Equal(t, "RATE_LIMITED", connectAs("198.51.100.1")["code"])
}

func TestConversationRateLimitPerIP(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_CONVERSATIONS_PER_MIN": "2"})
	create := func(xff string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/conversations", strings.NewReader(`{}`))
		require.NoError(t, err)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := srv.HTTP.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusCreated, create("").StatusCode)
	require.Equal(t, http.StatusCreated, create("").StatusCode)
	resp := create("203.0.113.5") // untrusted peer: the header is ignored
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.InDelta(t, 30, secs, 1)
	status, body := srv.Do(t, http.MethodPost, "/v1/conversations", "", `{}`)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "RATE_LIMITED", body["error"].(map[string]any)["code"])
	require.Equal(t, 2.0, testutil.ToFloat64(srv.Metrics().RateLimited.WithLabelValues("conversation")))
}
