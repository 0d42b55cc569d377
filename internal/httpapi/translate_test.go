package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
	"github.com/chatgw/chatgw/internal/httpapi"
)

// An error the domain does not classify reaches the client as INTERNAL with
// a generic text; its own text goes to the log only.
func TestUnknownErrorsAreInternal(t *testing.T) {
	t.Parallel()
	const secret = "connection refused to db.internal:5432"
	cases := []struct {
		name   string
		op     chattest.Op
		err    error
		method string
		path   func(t *testing.T, e *env) string
		bearer func(t *testing.T, e *env) string
		body   string
	}{
		{"create conversation", chattest.OpCreateConversation, errors.New(secret), http.MethodPost,
			func(*testing.T, *env) string { return "/v1/conversations" }, func(*testing.T, *env) string { return "" }, `{}`},
		{"list messages, conversation lookup", chattest.OpConversation, errors.New(secret), http.MethodGet,
			func(t *testing.T, e *env) string {
				return "/v1/conversations/" + e.owned(t, "alice").String() + "/messages"
			},
			func(t *testing.T, e *env) string { return e.token(t, "alice") }, ""},
		{"list messages, page", chattest.OpMessagesAfter, fmt.Errorf("list messages: %w", errors.New(secret)), http.MethodGet,
			func(t *testing.T, e *env) string {
				return "/v1/conversations/" + e.owned(t, "alice").String() + "/messages"
			},
			func(t *testing.T, e *env) string { return e.token(t, "alice") }, ""},
		{"post message", chattest.OpAppendMessage, errors.New(secret), http.MethodPost,
			func(t *testing.T, e *env) string {
				return "/v1/conversations/" + e.owned(t, "alice").String() + "/messages"
			},
			func(t *testing.T, e *env) string { return e.token(t, "tom", "tecnico") }, `{"content":"hi"}`},
		{"context deadline", chattest.OpAppendMessage, context.DeadlineExceeded, http.MethodPost,
			func(t *testing.T, e *env) string {
				return "/v1/conversations/" + e.owned(t, "alice").String() + "/messages"
			},
			func(t *testing.T, e *env) string { return e.token(t, "tom", "tecnico") }, `{"content":"hi"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			path := tc.path(t, e)
			e.Store.Fail(tc.op, tc.err)
			a := e.do(t, tc.method, path, tc.bearer(t, e), tc.body)
			require.Equal(t, http.StatusInternalServerError, a.Status, a.Raw)
			require.Equal(t, map[string]any{"error": map[string]any{"code": "INTERNAL", "message": "internal error"}}, a.Body)
			require.NotContains(t, a.Raw, "db.internal")
			require.NotContains(t, a.Raw, "deadline")
			require.Contains(t, e.Logs.String(), tc.err.Error(), "the cause is logged for the operator")
		})
	}
}

// A domain error keeps its code however deeply an adapter wrapped it.
func TestWrappedDomainErrorsKeepTheirCode(t *testing.T) {
	t.Parallel()
	e := setup(t)
	conv := e.owned(t, "alice")
	tech := e.token(t, "tom", "tecnico")
	path := "/v1/conversations/" + conv.String() + "/messages"

	// The conversation was deleted between the authorization and the insert.
	e.Store.Fail(chattest.OpAppendMessage, fmt.Errorf("append: %w", fmt.Errorf("insert: %w", chat.ErrNotFound)))
	a := e.do(t, http.MethodPost, path, tech, `{"content":"hi"}`)
	require.Equal(t, http.StatusNotFound, a.Status, a.Raw)
	require.Equal(t, "NOT_FOUND", a.code())
	require.Equal(t, chat.ErrNotFound.Message, a.Body["error"].(map[string]any)["message"])

	// A reply token never learns whether its conversation still exists.
	a = e.do(t, http.MethodPost, path, e.reply(t, conv), `{"content":"hi"}`)
	require.Equal(t, http.StatusForbidden, a.Status, a.Raw)
	require.Equal(t, "FORBIDDEN", a.code())
}

// limiter refuses every call, asking for wait.
type limiter struct{ wait time.Duration }

func (l limiter) Allow(string) (bool, time.Duration) { return false, l.wait }

func TestRateLimitedAnswers(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) {
		o.service.SendLimiter = limiter{wait: 1500 * time.Millisecond}
		o.api = func(c *httpapi.Config) { c.ConversationLimiter = limiter{wait: 200 * time.Millisecond} }
	})
	a := e.do(t, http.MethodPost, "/v1/conversations", "", `{}`)
	require.Equal(t, http.StatusTooManyRequests, a.Status, a.Raw)
	require.Equal(t, "RATE_LIMITED", a.code())
	require.Equal(t, "1", a.Header.Get("Retry-After"), "whole seconds, at least 1")
	require.InDelta(t, 1, testutil.ToFloat64(e.Counters.RateLimited.WithLabelValues("conversation")), 0)

	conv := e.owned(t, "alice")
	a = e.do(t, http.MethodPost, "/v1/conversations/"+conv.String()+"/messages", e.token(t, "tom", "tecnico"), `{"content":"hi"}`)
	require.Equal(t, http.StatusTooManyRequests, a.Status, a.Raw)
	require.Equal(t, "RATE_LIMITED", a.code())
	require.Equal(t, "2", a.Header.Get("Retry-After"), "rounded up")
	require.InDelta(t, 1, testutil.ToFloat64(e.Counters.RateLimited.WithLabelValues("message")), 0)

	// The bot answers whatever the limit.
	a = e.do(t, http.MethodPost, "/v1/conversations/"+conv.String()+"/messages", e.reply(t, conv), `{"content":"hi"}`)
	require.Equal(t, http.StatusCreated, a.Status, a.Raw)
}

func TestRequestsCountedByRouteAndStatus(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.do(t, http.MethodPost, "/v1/conversations", "", `{}`)
	e.do(t, http.MethodPost, "/v1/conversations", "", `[]`)
	e.do(t, http.MethodGet, "/healthz", "", "")
	require.InDelta(t, 1, testutil.ToFloat64(e.Counters.HTTPRequests.WithLabelValues("create_conversation", "201")), 0)
	require.InDelta(t, 1, testutil.ToFloat64(e.Counters.HTTPRequests.WithLabelValues("create_conversation", "400")), 0)
	require.InDelta(t, 1, testutil.ToFloat64(e.Counters.HTTPRequests.WithLabelValues("healthz", "200")), 0)
}
