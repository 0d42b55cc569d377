package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/app"
	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/fakeclock"
)

// fakeClock is the chat service's clock in these tests: session-token
// expiry and the rotation grace are decided by it, so the tests move it
// instead of waiting.
// startWithClock starts a gateway whose chat service reads clk.
func startWithClock(t *testing.T, env map[string]string) (*apptest.Server, *fakeclock.Clock) {
	t.Helper()
	clk := fakeclock.New(time.Now())
	srv := apptest.StartWith(t, env, app.Option{Service: func(c *chat.ServiceConfig) { c.Now = clk.Now }})
	return srv, clk
}

// jsSend connects the official client with auth, sends content and
// requires the ack to be ok.
func jsSend(t *testing.T, srv *apptest.Server, auth map[string]any, content string) {
	t.Helper()
	got := startJS(t, "send", map[string]any{"url": srv.URL, "auth": auth, "payload": map[string]any{"content": content}}).result(t)
	ack := got["ack"].(map[string]any)
	require.Equal(t, true, ack["ok"], "%s: %v", content, ack)
}

// jsRefused connects the official client with auth and returns the
// connect_error's data.code.
func jsRefused(t *testing.T, srv *apptest.Server, auth map[string]any) any {
	t.Helper()
	got := startJS(t, "reject", map[string]any{"url": srv.URL, "auth": auth}).result(t)
	require.Equal(t, false, got["connected"])
	data, _ := got["data"].(map[string]any)
	return data["code"]
}

// TestJSClientReconnectsWithRotatedSessionToken: the site rotates the
// visitor's token over HTTP; the tab already connected is untouched, a tab
// connecting with the new token gets in, one still holding the old token
// gets in for 60 s, and after that gets SESSION_INVALID.
func TestJSClientReconnectsWithRotatedSessionToken(t *testing.T) {
	t.Parallel()
	srv, clk := startWithClock(t, nil)
	anon := srv.CreateAnonymous(t)
	conv := anon.ConversationID

	listener := startJS(t, "receive", map[string]any{"url": srv.URL, "auth": anon.Auth(), "count": 3})
	require.Equal(t, true, listener.next(t)["ready"])

	status, body := srv.Do(t, http.MethodPost, "/v1/conversations/"+conv+"/session-token", "", "", "X-Session-Token", anon.SessionToken)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	newTok, _ := body["session_token"].(string)
	require.NotEmpty(t, newTok)
	require.NotEqual(t, anon.SessionToken, newTok)
	newAuth := map[string]any{"conversationId": conv, "session_token": newTok}

	jsSend(t, srv, newAuth, "with the new token")
	clk.Advance(59 * time.Second)
	jsSend(t, srv, anon.Auth(), "with the old token, in its grace")
	clk.Advance(time.Second)
	require.Equal(t, "SESSION_INVALID", jsRefused(t, srv, anon.Auth()), "the old token past its 60 s")
	jsSend(t, srv, newAuth, "with the new token, after the grace")

	// The socket connected with the old token before the rotation saw all
	// three: rotation and the grace's end leave connected sockets alone.
	var got []string
	for _, m := range listener.result(t)["messages"].([]any) {
		got = append(got, m.(map[string]any)["content"].(string))
	}
	require.Equal(t, []string{"with the new token", "with the old token, in its grace", "with the new token, after the grace"}, got)
}

// TestJSClientSessionTokenExpires: SESSION_TOKEN_TTL end to end. A token
// used within the TTL keeps working (each use renews it); one unused for
// longer is refused with SESSION_INVALID.
func TestJSClientSessionTokenExpires(t *testing.T) {
	t.Parallel()
	srv, clk := startWithClock(t, map[string]string{"SESSION_TOKEN_TTL": "1h"})
	anon := srv.CreateAnonymous(t)

	clk.Advance(59 * time.Minute)
	jsSend(t, srv, anon.Auth(), "59 minutes after creation")
	clk.Advance(59 * time.Minute)
	jsSend(t, srv, anon.Auth(), "59 minutes after the last use")
	clk.Advance(time.Hour + time.Second)
	require.Equal(t, "SESSION_INVALID", jsRefused(t, srv, anon.Auth()), "unused for longer than SESSION_TOKEN_TTL")
}
