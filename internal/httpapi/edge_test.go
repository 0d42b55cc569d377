package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/guard"
	"github.com/chatgw/chatgw/internal/httpapi"
	"github.com/chatgw/chatgw/internal/origins"
)

const shop = "https://shop.example"

func withCORS(listed ...string) func(*options) {
	return func(o *options) {
		o.api = func(c *httpapi.Config) { c.Origins = origins.New(listed, "https://chat.example") }
	}
}

// Contract §3: an allowed origin gets preflights and CORS headers on every
// /v1 answer, errors included; another origin gets none; credentials never.
func TestCORSOnV1(t *testing.T) {
	t.Parallel()
	e := setup(t, withCORS(shop))

	pre := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, e.URL+"/v1/conversations", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-session-token")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := pre(shop)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, shop, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "GET, POST, OPTIONS", resp.Header.Get("Access-Control-Allow-Methods"))
	require.Equal(t, "Authorization, Content-Type, X-Session-Token", resp.Header.Get("Access-Control-Allow-Headers"))
	require.NotEmpty(t, resp.Header.Get("Access-Control-Max-Age"))
	require.Contains(t, resp.Header.Values("Vary"), "Origin")
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))

	resp = pre("https://evil.example")
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Methods"))

	created := e.do(t, http.MethodPost, "/v1/conversations", "", `{}`, "Origin", shop)
	require.Equal(t, http.StatusCreated, created.Status)
	require.Equal(t, shop, created.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "Retry-After", created.Header.Get("Access-Control-Expose-Headers"))
	require.Contains(t, created.Header.Values("Vary"), "Origin")

	missing := e.do(t, http.MethodGet, "/v1/conversations/"+uuid.NewString()+"/messages", "", "", "Origin", shop)
	require.Equal(t, http.StatusUnauthorized, missing.Status)
	require.Equal(t, shop, missing.Header.Get("Access-Control-Allow-Origin"), "errors carry CORS headers too")

	other := e.do(t, http.MethodPost, "/v1/conversations", "", `{}`, "Origin", "https://evil.example")
	require.Empty(t, other.Header.Get("Access-Control-Allow-Origin"))
	require.Empty(t, other.Header.Get("Access-Control-Expose-Headers"))
	require.Contains(t, other.Header.Values("Vary"), "Origin")

	health := e.do(t, http.MethodGet, "/healthz", "", "", "Origin", shop)
	require.Empty(t, health.Header.Get("Access-Control-Allow-Origin"), "only /v1 is for browsers")
}

func TestCORSOffByDefault(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.do(t, http.MethodPost, "/v1/conversations", "", `{}`, "Origin", shop)
	require.Equal(t, http.StatusCreated, a.Status)
	require.Empty(t, a.Header.Get("Access-Control-Allow-Origin"))
}

func withGuard(cfg guard.Config) func(*options) {
	return func(o *options) {
		o.api = func(c *httpapi.Config) {
			cfg.Anomalies = c.Counters.Anomalies
			c.Guard = guard.New(cfg)
		}
	}
}

// Contract §6: 401s other than TOKEN_EXPIRED count toward the IP's block;
// a blocked IP gets 429 with Retry-After on /v1.
func TestAuthFailuresBlockTheIP(t *testing.T) {
	t.Parallel()
	e := setup(t, withGuard(guard.Config{AuthFailures: 3, BlockDuration: time.Hour}))
	conv := e.anonymous(t)
	path := "/v1/conversations/" + conv.Conversation.ID.String() + "/messages"

	expired, err := auth.MintUserToken([]byte(jwtSecret), "u", nil, "roles", time.Millisecond, "", "", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	for range 5 {
		a := e.do(t, http.MethodGet, path, expired, "")
		require.Equal(t, "TOKEN_EXPIRED", a.code())
	}
	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, path, "", "", "X-Session-Token", conv.SessionToken).Status, "TOKEN_EXPIRED is not counted")

	for range 3 {
		a := e.do(t, http.MethodGet, path, "not-a-jwt", "")
		require.Equal(t, http.StatusUnauthorized, a.Status)
	}
	a := e.do(t, http.MethodGet, path, "", "", "X-Session-Token", conv.SessionToken)
	require.Equal(t, http.StatusTooManyRequests, a.Status)
	require.Equal(t, "RATE_LIMITED", a.code())
	require.Equal(t, "3600", a.Header.Get("Retry-After"))
	require.Equal(t, http.StatusTooManyRequests, e.do(t, http.MethodPost, "/v1/conversations", "", `{}`).Status)
	// The block is the IP's, not the connection's: a new connection (a
	// port of its own) is refused too.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := fresh.Post(e.URL+"/v1/conversations", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, 1.0, testutil.ToFloat64(e.Counters.Anomalies.WithLabelValues("auth_failures")))
}

// Wrong X-Session-Token values count toward session_guessing.
func TestWrongSessionTokensAreSessionGuessing(t *testing.T) {
	t.Parallel()
	e := setup(t, withGuard(guard.Config{}))
	conv := e.anonymous(t)
	path := "/v1/conversations/" + conv.Conversation.ID.String() + "/messages"
	for i := range 5 {
		a := e.do(t, http.MethodGet, path, "", "", "X-Session-Token", fmt.Sprintf("guess-%d", i))
		require.Equal(t, "SESSION_INVALID", a.code())
	}
	require.Equal(t, 1.0, testutil.ToFloat64(e.Counters.Anomalies.WithLabelValues("session_guessing")))
}

func withLimits(header, body time.Duration) func(*options) {
	return func(o *options) {
		o.server = &httpapi.ServerConfig{HeaderTimeout: header, BodyTimeout: body}
	}
}

// Contract §3 Limits: a body trickled slower than the whole-request limit
// is cut, and so are headers slower than theirs.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	e := setup(t, withLimits(time.Second, 2*time.Second))
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /v1/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)
	start := time.Now()
	// Trickle a byte now and then; the server must end the request.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = io.Copy(io.Discard, conn)
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			require.Less(t, time.Since(start), 10*time.Second)
			return
		case <-tick.C:
			_, _ = conn.Write([]byte(" "))
		case <-time.After(15 * time.Second):
			t.Fatal("a slow body was never cut")
		}
	}
}

func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	e := setup(t, withLimits(time.Second, 5*time.Second))
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = bufio.NewReader(conn).ReadString('\n')
	require.Error(t, err, "the server answered or kept waiting instead of closing")
	var ne net.Error
	if errorsAs(err, &ne) {
		require.False(t, ne.Timeout(), "headers slower than the limit must be cut by the server")
	}
}

// A GET may last longer than the body limit (long polls do): its headers
// are in and it has no body to wait for.
func TestRequestsWithoutBodyOutliveTheBodyLimit(t *testing.T) {
	t.Parallel()
	slow := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-slow:
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "done")
	})
	srv := httpapi.NewServer(h, httpapi.ServerConfig{HeaderTimeout: 200 * time.Millisecond, BodyTimeout: 300 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	time.AfterFunc(time.Second, func() { close(slow) })
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, "done", string(body))
}

func errorsAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// Wrong tokens on the rotation route count toward session_guessing too.
func TestWrongSessionTokensOnRotationAreSessionGuessing(t *testing.T) {
	t.Parallel()
	e := setup(t, withGuard(guard.Config{}))
	conv := e.anonymous(t)
	path := "/v1/conversations/" + conv.Conversation.ID.String() + "/session-token"
	for i := range 5 {
		a := e.do(t, http.MethodPost, path, "", "", "X-Session-Token", fmt.Sprintf("guess-%d", i))
		require.Equal(t, "SESSION_INVALID", a.code())
	}
	require.Equal(t, 1.0, testutil.ToFloat64(e.Counters.Anomalies.WithLabelValues("session_guessing")))
}
