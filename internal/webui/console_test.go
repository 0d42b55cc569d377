package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
)

// listed is one conversation of the console's list.
type listed struct {
	ID       string `json:"id"`
	Awaiting string `json:"awaiting"`
	Status   string `json:"status"`
	Text     string `json:"text"`
}

const listJS = `[...document.querySelectorAll('[role="list"][aria-label="Conversations"] [role="listitem"]')].map(e => ({id: e.dataset.conversationId, awaiting: e.dataset.awaitingReply, status: e.dataset.status, text: e.textContent}))`

// consoleLogJS reads the console's role="log" like logJS reads the widget's.
const consoleLogJS = `[...document.querySelectorAll('[role="log"] [data-sender]')].map(e => ({seq: Number(e.dataset.seq || 0), sender: e.dataset.sender, text: e.querySelector('.body').textContent, pending: !!e.dataset.pending}))`

func consoleList(t *testing.T, ctx context.Context) []listed {
	t.Helper()
	var out []listed
	hostEval(t, ctx, listJS, &out)
	return out
}

// waitTop waits until the console lists conversation id first.
func waitTop(t *testing.T, ctx context.Context, id, awaiting string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var got []listed
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]listed](listJS))
		if !assert.NoError(c, err) {
			return
		}
		got = v
		if assert.NotEmpty(c, got) {
			assert.Equal(c, id, got[0].ID)
			assert.Equal(c, awaiting, got[0].Awaiting)
		}
	}, wait, 50*time.Millisecond, "conversation %s on top", id)
}

func waitConsoleLog(t *testing.T, ctx context.Context, want []shown) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]shown](consoleLogJS))
		if assert.NoError(c, err) {
			assert.Equal(c, want, got)
		}
	}, wait, 50*time.Millisecond)
}

// openConsole signs in through the URL fragment and waits for the list.
func openConsole(t *testing.T, ctx context.Context, url, token string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url+"/console/#token="+token)))
	hostWait(t, ctx, `!document.getElementById('app-view').hidden && document.getElementById('conn').textContent === ''`, "signed in")
}

// clickConversation opens a conversation with a real click on its item.
func clickConversation(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`li[data-conversation-id="`+id+`"] button`))))
	hostWait(t, ctx, `document.querySelector('li[aria-current="true"]')?.dataset.conversationId === '`+id+`' && !document.getElementById('conv-body').hidden`, "conversation open")
}

// consoleReply types into the "Reply" textbox and presses Enter.
func consoleReply(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	var label string
	hostEval(t, ctx, `document.getElementById('reply').labels[0].textContent`, &label)
	require.Equal(t, "Reply", label)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#reply")), chromedp.SendKeys(chromedp.CSS("#reply"), text), chromedp.KeyEvent("\r")))
}

func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	host := newHostSite(t)
	srv := apptest.Start(t, map[string]string{"CORS_ORIGINS": host.URL, "RATE_LIMIT_MESSAGES_BURST": "200"})
	host.gateway.Store(srv.URL)
	tina := srv.Token(t, "tina", "tecnico")
	tom := srv.Token(t, "tom", "tecnico")

	console := newVisitor(t, browser)
	openConsole(t, console, srv.URL, tina)

	t.Run("the token leaves the URL at once and stays in this tab", func(t *testing.T) {
		var seen struct {
			Href, Stored string
			History      int
		}
		hostEval(t, console, `({Href: location.href, Stored: sessionStorage.getItem('chatgw.console.token'), History: history.length})`, &seen)
		require.NotContains(t, seen.Href, tina)
		require.Equal(t, srv.URL+"/console/", seen.Href)
		require.Equal(t, tina, seen.Stored)
		var local string
		hostEval(t, console, `JSON.stringify({...localStorage})`, &local)
		require.NotContains(t, local, tina, "never in localStorage")
	})

	t.Run("CSP: own origin only, no inline script, not framable", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/console/")
		require.NoError(t, err)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "frame-ancestors 'none'")
		require.Contains(t, csp, "script-src 'self'")
		require.NotContains(t, csp, "unsafe-inline")
		require.NotContains(t, csp, "http")
	})

	var convID string
	visitor := newVisitor(t, browser)
	xss := `<img src=x onerror="document.body.dataset.xss=1">help <b>me</b>`

	t.Run("a visitor writes: the conversation appears live on top; the answer reaches the visitor", func(t *testing.T) {
		openWidget(t, visitor, host.URL+"/")
		typeAndSend(t, visitor, xss)
		waitLog(t, visitor, []shown{{Seq: 1, Sender: "user", Text: xss}})
		require.NoError(t, frameEval(visitor, `JSON.parse(localStorage.getItem('chatgw.widget')).conversationId`, &convID))
		waitTop(t, console, convID, "true")
		top := consoleList(t, console)[0]
		require.Contains(t, top.Text, "Awaiting reply")
		require.Contains(t, top.Text, xss, "the preview is the text, as text")

		clickConversation(t, console, convID)
		waitConsoleLog(t, console, []shown{{Seq: 1, Sender: "user", Text: xss}})
		var dom struct {
			XSS    bool
			Markup int
		}
		hostEval(t, console, `({XSS: 'xss' in document.body.dataset, Markup: document.querySelectorAll('main img, main b, [role="list"] img').length})`, &dom)
		require.False(t, dom.XSS, "no payload ran")
		require.Zero(t, dom.Markup, "no element made of content")

		// The visitor types: the console shows it in role="status".
		clickInFrame(t, visitor, "textarea")
		require.NoError(t, chromedp.Do(visitor, chromedp.KeyEvent("ab")))
		hostWait(t, console, `document.querySelector('#conversation [role="status"]').textContent === 'Visitor is typing…'`, "visitor typing shown")
		require.NoError(t, frameEval(visitor, `document.querySelector('textarea').value = ''`, nil))

		// And the technician's typing shows in the widget.
		require.NoError(t, chromedp.Do(console, chromedp.Click(chromedp.CSS("#reply")), chromedp.KeyEvent("x")))
		frameWait(t, visitor, `document.querySelector('[role="status"]').textContent.includes('Support is typing')`, "technician typing shown to the visitor")
		hostEval(t, console, `document.getElementById('reply').value = ''`, nil)

		consoleReply(t, console, "Hello, how can I help?")
		want := []shown{{Seq: 1, Sender: "user", Text: xss}, {Seq: 2, Sender: "tecnico", Text: "Hello, how can I help?"}}
		waitConsoleLog(t, console, want)
		waitLog(t, visitor, want)
		waitTop(t, console, convID, "false")
		var earlier bool
		hostEval(t, console, `document.getElementById('earlier').checkVisibility()`, &earlier)
		require.False(t, earlier, "the whole history is shown: nothing earlier to load")
	})

	t.Run("two technicians see each other's replies and the inbox", func(t *testing.T) {
		second := newVisitor(t, browser)
		// Signing in by pasting, this time.
		require.NoError(t, chromedp.Do(second, chromedp.Navigate(srv.URL+"/console/")))
		hostWait(t, second, `!document.getElementById('signin-view').hidden && document.getElementById('token').labels[0].textContent === 'Technician token'`, "sign-in form")
		require.NoError(t, chromedp.Do(second,
			chromedp.SetValue(chromedp.CSS("#token"), tom),
			chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`))))
		var button string
		hostEval(t, second, `document.querySelector('#signin button').textContent`, &button)
		require.Equal(t, "Sign in", button)
		waitTop(t, second, convID, "false")
		clickConversation(t, second, convID)
		consoleReply(t, console, "Tina here")
		want := []shown{{Seq: 1, Sender: "user", Text: xss}, {Seq: 2, Sender: "tecnico", Text: "Hello, how can I help?"}, {Seq: 3, Sender: "tecnico", Text: "Tina here"}}
		waitConsoleLog(t, second, want)
		consoleReply(t, second, "Tom too")
		want = append(want, shown{Seq: 4, Sender: "tecnico", Text: "Tom too"})
		waitConsoleLog(t, console, want)
		waitLog(t, visitor, want)

		// A new conversation reaches both, on top.
		other := srv.CreateAnonymous(t)
		sock := srv.Connect(t, other.Auth())
		sock.Send(t, map[string]any{"content": "another visitor"})
		waitTop(t, console, other.ConversationID, "true")
		waitTop(t, second, other.ConversationID, "true")

		// The README's picture (CHATGW_CONSOLE_SCREENSHOT=docs/img/console.png).
		if path := os.Getenv("CHATGW_CONSOLE_SCREENSHOT"); path != "" {
			png, err := chromedp.Run(console, chromedp.FullScreenshot(100))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, png, 0o644))
		}
	})

	t.Run("close and reopen", func(t *testing.T) {
		clickConversation(t, console, convID)
		require.NoError(t, chromedp.Do(console, chromedp.Click(chromedp.CSS(`#toggle-status`))))
		hostWait(t, console, `document.getElementById('toggle-status').textContent === 'Reopen conversation'`, "closed")
		hostWait(t, console, `!document.querySelector('li[data-conversation-id="`+convID+`"]')`, "a closed conversation leaves the open list")
		require.NoError(t, chromedp.Do(console, chromedp.Click(chromedp.CSS(`#show-closed`))))
		hostWait(t, console, `document.querySelector('li[data-conversation-id="`+convID+`"]')?.dataset.status === 'closed'`, "Show closed shows it")
		var label string
		hostEval(t, console, `document.getElementById('show-closed').parentElement.textContent.trim()`, &label)
		require.Equal(t, "Show closed", label)

		require.NoError(t, chromedp.Do(console, chromedp.Click(chromedp.CSS(`#toggle-status`))))
		hostWait(t, console, `document.getElementById('toggle-status').textContent === 'Close conversation' && document.querySelector('li[data-conversation-id="`+convID+`"]')?.dataset.status === 'open'`, "reopened")

		// Closed again, the visitor's message reopens it, live.
		require.NoError(t, chromedp.Do(console, chromedp.Click(chromedp.CSS(`#show-closed`)), chromedp.Click(chromedp.CSS(`#toggle-status`))))
		hostWait(t, console, `document.getElementById('toggle-status').textContent === 'Reopen conversation'`, "closed again")
		typeAndSend(t, visitor, "still there?")
		waitTop(t, console, convID, "true")
		hostWait(t, console, `document.getElementById('toggle-status').textContent === 'Close conversation'`, "the visitor's message reopened it")
	})

	t.Run("load earlier messages", func(t *testing.T) {
		long := srv.CreateAnonymous(t)
		for i := 1; i <= 60; i++ {
			status, body := srv.Do(t, http.MethodPost, "/v1/conversations/"+long.ConversationID+"/messages", tina, fmt.Sprintf(`{"content":"m%d"}`, i))
			require.Equal(t, http.StatusCreated, status, "%v", body)
		}
		waitTop(t, console, long.ConversationID, "false")
		clickConversation(t, console, long.ConversationID)
		want := make([]shown, 0, 60)
		for i := 1; i <= 60; i++ {
			want = append(want, shown{Seq: i, Sender: "tecnico", Text: fmt.Sprint("m", i)})
		}
		waitConsoleLog(t, console, want[10:])
		hostWait(t, console, `document.getElementById('earlier').checkVisibility() && document.getElementById('earlier').textContent === 'Load earlier messages'`, "earlier shown")
		require.NoError(t, chromedp.Do(console, chromedp.Click(chromedp.CSS(`#earlier`))))
		waitConsoleLog(t, console, want)
		hostWait(t, console, `!document.getElementById('earlier').checkVisibility()`, "nothing earlier")
	})

	t.Run("an expired token: a clear message and the sign-in form", func(t *testing.T) {
		ctx := newVisitor(t, browser)
		short, err := auth.MintUserToken([]byte(apptest.JWTSecret), "brief", []string{"tecnico"}, "roles", 2*time.Second, "", "", time.Now())
		require.NoError(t, err)
		openConsole(t, ctx, srv.URL, short)
		hostWait(t, ctx, `!document.getElementById('signin-view').hidden && document.querySelector('[role="alert"]').textContent.includes('expired')`, "expiry told")
		var stored bool
		hostEval(t, ctx, `sessionStorage.getItem('chatgw.console.token') !== null`, &stored)
		require.False(t, stored, "the expired token is forgotten")

		// A token without the technician role is refused clearly too.
		user := srv.Token(t, "shopper")
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(srv.URL+"/console/#token="+user)))
		hostWait(t, ctx, `!document.getElementById('signin-view').hidden && document.querySelector('[role="alert"]').textContent.includes('no technician role')`, "role missing told")
	})

	t.Run("keyboard: arrows move through the list, Enter opens", func(t *testing.T) {
		require.NoError(t, chromedp.Do(console, chromedp.Focus(chromedp.CSS(`[role="list"] button`)), chromedp.KeyEvent(kb.ArrowDown)))
		var focused, second string
		hostEval(t, console, `document.activeElement.closest('li').dataset.conversationId`, &focused)
		hostEval(t, console, `document.querySelectorAll('[role="listitem"]')[1].dataset.conversationId`, &second)
		require.Equal(t, second, focused)
		require.NoError(t, chromedp.Do(console, chromedp.KeyEvent("\r")))
		hostWait(t, console, `document.querySelector('li[aria-current="true"]')?.dataset.conversationId === '`+second+`' && document.activeElement.id === 'reply'`, "opened, focus in Reply")
	})
}
