package httpapi_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSessionTokenRotationRoute(t *testing.T) {
	t.Parallel()
	clk := &testClock{now: time.Now()}
	e := setup(t, func(o *options) { o.service = chat.ServiceConfig{Now: clk.Now} })
	anon := e.anonymous(t)
	conv := anon.Conversation.ID.String()
	rotate := "/v1/conversations/" + conv + "/session-token"
	history := "/v1/conversations/" + conv + "/messages"

	a := e.do(t, http.MethodPost, rotate, "", "", "X-Session-Token", anon.SessionToken)
	require.Equal(t, http.StatusCreated, a.Status, a.Raw)
	newTok, _ := a.Body["session_token"].(string)
	require.Len(t, newTok, 43, "32 random bytes, base64url")
	require.NotEqual(t, anon.SessionToken, newTok)
	require.Equal(t, "no-store", a.Header.Get("Cache-Control"))

	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, history, "", "", "X-Session-Token", newTok).Status)
	clk.Advance(59 * time.Second)
	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, history, "", "", "X-Session-Token", anon.SessionToken).Status,
		"the old token works for 60 more seconds")
	clk.Advance(time.Second)
	a = e.do(t, http.MethodGet, history, "", "", "X-Session-Token", anon.SessionToken)
	require.Equal(t, http.StatusUnauthorized, a.Status)
	require.Equal(t, "SESSION_INVALID", a.code())

	for name, tc := range map[string]struct {
		path, token string
		status      int
		code        string
	}{
		"old token":            {rotate, anon.SessionToken, 401, "SESSION_INVALID"},
		"wrong token":          {rotate, "nope", 401, "SESSION_INVALID"},
		"unknown conversation": {"/v1/conversations/" + uuid.NewString() + "/session-token", newTok, 401, "SESSION_INVALID"},
		"malformed id":         {"/v1/conversations/x/session-token", newTok, 401, "SESSION_INVALID"},
		"no token":             {rotate, "", 401, "UNAUTHORIZED"},
	} {
		var hdr []string
		if tc.token != "" {
			hdr = []string{"X-Session-Token", tc.token}
		}
		a := e.do(t, http.MethodPost, tc.path, "", "", hdr...)
		require.Equal(t, tc.status, a.Status, "%s: %s", name, a.Raw)
		require.Equal(t, tc.code, a.code(), name)
	}
	owned := e.owned(t, "alice")
	a = e.do(t, http.MethodPost, "/v1/conversations/"+owned.String()+"/session-token", "", "", "X-Session-Token", newTok)
	require.Equal(t, "SESSION_INVALID", a.code(), "an owned conversation has no session token")
}

func TestSessionTokenExpiresOverHTTP(t *testing.T) {
	t.Parallel()
	clk := &testClock{now: time.Now()}
	e := setup(t, func(o *options) { o.service = chat.ServiceConfig{Now: clk.Now, SessionTokenTTL: time.Hour} })
	anon := e.anonymous(t)
	history := "/v1/conversations/" + anon.Conversation.ID.String() + "/messages"
	clk.Advance(59 * time.Minute)
	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, history, "", "", "X-Session-Token", anon.SessionToken).Status)
	clk.Advance(59 * time.Minute)
	require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, history, "", "", "X-Session-Token", anon.SessionToken).Status, "the use renewed it")
	clk.Advance(time.Hour + time.Second)
	a := e.do(t, http.MethodGet, history, "", "", "X-Session-Token", anon.SessionToken)
	require.Equal(t, http.StatusUnauthorized, a.Status)
	require.Equal(t, "SESSION_INVALID", a.code())
	a = e.do(t, http.MethodPost, "/v1/conversations/"+anon.Conversation.ID.String()+"/session-token", "", "", "X-Session-Token", anon.SessionToken)
	require.Equal(t, "SESSION_INVALID", a.code())
}
