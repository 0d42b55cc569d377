package webui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// The visitor widget in real Chromium, on a shop page of another origin
// (another listener), talking to a whole gateway through a TCP proxy that
// the test can cut.
func TestWidgetInBrowser(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	host := newHostSite(t)
	srv := apptest.Start(t, map[string]string{"CORS_ORIGINS": host.URL})
	proxy := newCutProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	host.gateway.Store(proxy.URL())
	techToken := srv.Token(t, "tech-1", "tecnico")

	conversations := func() int {
		var n int
		require.NoError(t, srv.Pool.QueryRow(context.Background(), `SELECT count(*) FROM conversations`).Scan(&n))
		return n
	}
	conversationOf := func(ctx context.Context) (id, token string) {
		var c struct {
			ConversationID string `json:"conversationId"`
			SessionToken   string `json:"session_token"`
		}
		require.NoError(t, frameEval(ctx, `JSON.parse(localStorage.getItem('chatgw.widget'))`, &c))
		require.NotEmpty(t, c.ConversationID)
		return c.ConversationID, c.SessionToken
	}
	reply := func(conversationID, content string) {
		status, body := srv.Do(t, http.MethodPost, "/v1/conversations/"+conversationID+"/messages", techToken, fmt.Sprintf(`{"content":%q}`, content))
		require.Equal(t, http.StatusCreated, status, "%v", body)
	}

	t.Run("chat: first send, reply, typing, unread, reload, second tab", func(t *testing.T) {
		ctx := newVisitor(t, browser)
		openWidget(t, ctx, host.URL+"/")
		before := conversations()
		frameWait(t, ctx, `localStorage.getItem('chatgw.widget') === null`, "no conversation before the first message")
		require.Equal(t, before, conversations(), "opening the chat creates no conversation")

		typeAndSend(t, ctx, "Hello from the browser")
		waitLog(t, ctx, []shown{{Seq: 1, Sender: "user", Text: "Hello from the browser"}})
		require.Equal(t, before+1, conversations(), "the first message creates the conversation")
		convID, _ := conversationOf(ctx)
		var metadata string
		require.NoError(t, srv.Pool.QueryRow(context.Background(), `SELECT metadata::text FROM conversations WHERE id = $1`, convID).Scan(&metadata))
		require.JSONEq(t, `{"from":"host test"}`, metadata, "data-metadata reaches the conversation")

		// Typing, both ways, with a technician on the Go client.
		tech := srv.Connect(t, map[string]any{"token": techToken})
		require.Equal(t, true, tech.Emit(t, "client-join-conversation", map[string]any{"conversationId": convID})["ok"])
		clickInFrame(t, ctx, "textarea")
		require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent("abc")))
		typing := tech.Events.WaitFor(t, "typing", 1)
		require.Equal(t, "user", typing[0]["sender"])
		require.Equal(t, true, typing[0]["typing"])
		tech.Socket.Emit("client-typing", map[string]any{"conversationId": convID, "typing": true})
		frameWait(t, ctx, `document.querySelector('[role="status"]').textContent.includes('Support is typing')`, "technician typing shown")
		require.NoError(t, frameEval(ctx, `document.querySelector('textarea').value = ''`, nil))

		reply(convID, "Hi! How can I help?")
		waitLog(t, ctx, []shown{{Seq: 1, Sender: "user", Text: "Hello from the browser"}, {Seq: 2, Sender: "tecnico", Text: "Hi! How can I help?"}})
		frameWait(t, ctx, `document.querySelector('[role="status"]').textContent === ''`, "a reply ends the typing indicator")

		// Escape closes the panel and gives the focus back to the launcher;
		// a reply then shows as unread on the closed launcher.
		clickInFrame(t, ctx, "textarea")
		require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent("\x1b")))
		hostWait(t, ctx, launcherJS+`.getAttribute('aria-expanded') === 'false' && document.getElementById('chatgw-widget').shadowRoot.activeElement === `+launcherJS, "closed, focus on the launcher")
		reply(convID, "Are you still there?")
		hostWait(t, ctx, `(() => { const b = `+launcherJS+`.querySelector('.badge'); return !b.hidden && b.textContent === '1'; })()`, "unread badge shows 1")

		// Reload: the same conversation, its whole history, once each, in order.
		require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
		hostWait(t, ctx, `!!document.getElementById('chatgw-widget')`, "widget after reload")
		want := []shown{
			{Seq: 1, Sender: "user", Text: "Hello from the browser"},
			{Seq: 2, Sender: "tecnico", Text: "Hi! How can I help?"},
			{Seq: 3, Sender: "tecnico", Text: "Are you still there?"},
		}
		waitLog(t, ctx, want)
		clickLauncher(t, ctx)
		frameWait(t, ctx, `document.activeElement === document.querySelector('textarea')`, "focus in the textbox after opening")

		// A second tab of the same visitor shows the same conversation, and
		// what either tab sends shows in both.
		tab2 := newTab(t, ctx)
		openWidget(t, tab2, host.URL+"/")
		waitLog(t, tab2, want)
		typeAndSend(t, tab2, "Sent from the second tab")
		want = append(want, shown{Seq: 4, Sender: "user", Text: "Sent from the second tab"})
		waitLog(t, tab2, want)
		waitLog(t, ctx, want)
		require.Equal(t, before+1, conversations(), "one conversation for both tabs")
	})

	t.Run("offline send goes out once on reconnection", func(t *testing.T) {
		ctx := newVisitor(t, browser)
		openWidget(t, ctx, host.URL+"/?open=1")
		typeAndSend(t, ctx, "before the outage")
		waitLog(t, ctx, []shown{{Seq: 1, Sender: "user", Text: "before the outage"}})
		convID, _ := conversationOf(ctx)

		proxy.cut()
		frameWait(t, ctx, `document.querySelector('[role="status"]').textContent === 'Reconnecting…'`, "the frame sees the outage")
		typeAndSend(t, ctx, "typed while offline")
		frameWait(t, ctx, `!!document.querySelector('[data-pending]')`, "the message waits")
		proxy.restore()
		waitLog(t, ctx, []shown{{Seq: 1, Sender: "user", Text: "before the outage"}, {Seq: 2, Sender: "user", Text: "typed while offline"}})
		var n int
		require.NoError(t, srv.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM messages WHERE conversation_id = $1 AND content = 'typed while offline'`, convID).Scan(&n))
		require.Equal(t, 1, n, "stored once")
	})

	t.Run("content is text only; links are http(s) and safe", func(t *testing.T) {
		ctx := newVisitor(t, browser)
		openWidget(t, ctx, host.URL+"/?open=1")
		payload := `<img src=x onerror="document.body.dataset.xss=1"><b>bold</b>`
		typeAndSend(t, ctx, payload)
		waitLog(t, ctx, []shown{{Seq: 1, Sender: "user", Text: payload}})
		convID, sessionToken := conversationOf(ctx)
		replyText := `<script>document.body.dataset.xss=2</script> see https://example.com/a?b=1. not javascript:alert(1)`
		reply(convID, replyText)
		waitLog(t, ctx, []shown{{Seq: 1, Sender: "user", Text: payload}, {Seq: 2, Sender: "tecnico", Text: replyText}})
		var dom struct {
			XSS     bool
			Markup  int
			Links   []string
			Rel     string
			Targets string
		}
		require.NoError(t, frameEval(ctx, `(() => {
			const log = document.querySelector('[role="log"]');
			const links = [...log.querySelectorAll('a')];
			return {XSS: 'xss' in document.body.dataset, Markup: log.querySelectorAll('img, b, script').length,
				Links: links.map(a => a.href), Rel: links.map(a => a.rel).join(), Targets: links.map(a => a.target).join()};
		})()`, &dom))
		require.False(t, dom.XSS, "no payload ran")
		require.Zero(t, dom.Markup, "no element made of content")
		require.Equal(t, []string{"https://example.com/a?b=1"}, dom.Links)
		require.Equal(t, "noopener noreferrer", dom.Rel)
		require.Equal(t, "_blank", dom.Targets)

		// The host page cannot reach into the frame, and the token is
		// nowhere in the host's page, storage or the frame's URL.
		require.NotEmpty(t, sessionToken)
		var hostView struct {
			Reach string
			Seen  string
		}
		hostEval(t, ctx, `(() => {
			const frame = document.getElementById('chatgw-widget').shadowRoot.querySelector('iframe');
			let reach = '';
			try { reach = frame.contentWindow.localStorage.getItem('chatgw.widget') || 'empty'; } catch (e) { reach = 'blocked: ' + e.name; }
			try { if (frame.contentDocument) reach += ' document readable'; } catch (e) {}
			const seen = document.documentElement.outerHTML + JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage}) + frame.src + document.cookie;
			return {Reach: reach, Seen: seen};
		})()`, &hostView)
		require.Equal(t, "blocked: SecurityError", hostView.Reach)
		require.NotContains(t, hostView.Seen, sessionToken)
		require.NotContains(t, hostView.Seen, convID)
	})

	t.Run("data-jwt: the widget chats as the host's signed-in user", func(t *testing.T) {
		ctx := newVisitor(t, browser)
		userToken := srv.Token(t, "shopper-42")
		openWidget(t, ctx, host.URL+"/?jwt="+userToken)
		typeAndSend(t, ctx, "I am signed in")
		waitLog(t, ctx, []shown{{Seq: 1, Sender: "user", Text: "I am signed in"}})
		var owner, senderID string
		require.NoError(t, srv.Pool.QueryRow(context.Background(),
			`SELECT c.owner_id, m.sender_id FROM conversations c JOIN messages m ON m.conversation_id = c.id WHERE m.content = 'I am signed in'`).Scan(&owner, &senderID))
		require.Equal(t, "shopper-42", owner)
		require.Equal(t, "shopper-42", senderID)
		var stored string
		require.NoError(t, frameEval(ctx, `JSON.stringify({...localStorage})`, &stored))
		require.Contains(t, stored, "chatgw.widget.user.shopper-42")
		require.NotContains(t, stored, userToken, "the JWT is kept in memory only")
		var calls int
		hostEval(t, ctx, `window.tokenCalls`, &calls)
		require.Positive(t, calls)
	})

	t.Run("CSP on every page; the widget only framed by allowed origins", func(t *testing.T) {
		for _, path := range []string{"/widget.js", "/widget/", "/demo/", "/assets/chat-log.js"} {
			resp, err := http.Get(srv.URL + path)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
			csp := resp.Header.Get("Content-Security-Policy")
			require.Contains(t, csp, "default-src 'self'", path)
			require.Contains(t, csp, "script-src 'self';", path)
			require.NotContains(t, csp, "unsafe-inline", path)
			if path == "/widget/" {
				require.Contains(t, csp, "frame-ancestors 'self' "+host.URL, path)
			} else {
				require.Contains(t, csp, "frame-ancestors 'none'", path)
			}
		}
		// The same page from an origin not in CORS_ORIGINS (another port):
		// Chromium shows an error document instead of the chat.
		other := newHostSite(t)
		other.gateway.Store(proxy.URL())
		ctx := newVisitor(t, browser)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(other.URL+"/?open=1")))
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			var state string
			// (Not the initial about:blank: the answer to the frame's request.)
			assert.NoError(c, frameEvalIn(ctx, "", `location.href === 'about:blank' ? 'blank' : document.readyState`, &state))
			assert.Equal(c, "complete", state)
		}, wait, 50*time.Millisecond, "the frame's document, whatever it is, has loaded")
		var chat bool
		require.NoError(t, frameEvalIn(ctx, "", `!!document.querySelector('[role="log"]')`, &chat))
		require.False(t, chat, "the chat must not load for an origin outside CORS_ORIGINS")
	})

	t.Run("size budgets and 320 px", func(t *testing.T) {
		gz := func(path string) int {
			resp, err := http.Get(srv.URL + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body)
			require.NoError(t, zw.Close())
			return buf.Len()
		}
		loader := gz("/widget.js")
		require.LessOrEqual(t, loader, 10*1024, "widget.js gzipped")

		ctx := newVisitor(t, browser)
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(320, 640)))
		openWidget(t, ctx, host.URL+"/")
		// Everything the frame loaded (its document and each resource but
		// the Socket.IO transport's own requests), gzipped.
		var loaded []string
		require.NoError(t, frameEval(ctx, `[location.pathname, ...performance.getEntriesByType('resource').map(e => new URL(e.name).pathname).filter(p => !p.startsWith('/socket.io/') && !p.startsWith('/v1/'))]`, &loaded))
		require.Contains(t, loaded, "/assets/socket.io.min.js")
		total := 0
		for _, p := range loaded {
			total += gz(p)
		}
		t.Logf("gzipped: widget.js %d B; the frame's %d files %d B", loader, len(loaded), total)
		require.LessOrEqual(t, total, 60*1024, "the frame's files gzipped")

		var fit struct {
			PanelLeft, PanelRight, Width float64
			FrameOverflow                bool
			SendVisible                  bool
		}
		hostEval(t, ctx, `(() => { const r = document.getElementById('chatgw-widget').shadowRoot.querySelector('.panel').getBoundingClientRect();
			return {PanelLeft: r.left, PanelRight: r.right, Width: innerWidth}; })()`, &fit)
		require.Equal(t, float64(320), fit.Width)
		require.GreaterOrEqual(t, fit.PanelLeft, float64(0))
		require.LessOrEqual(t, fit.PanelRight, float64(320))
		require.NoError(t, frameEval(ctx, `(() => { const b = [...document.querySelectorAll('button')].find(b => b.textContent === 'Send').getBoundingClientRect();
			return {FrameOverflow: document.documentElement.scrollWidth > innerWidth, SendVisible: b.right <= innerWidth && b.width > 0}; })()`, &fit))
		require.False(t, fit.FrameOverflow, "nothing wider than the frame at 320 px")
		require.True(t, fit.SendVisible, "Send button within the frame")
	})
}

// RATE_LIMITED: the widget waits retryAfterMs and sends again, so every
// message arrives, once, in the order typed.
func TestWidgetWaitsWhenRateLimited(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	host := newHostSite(t)
	srv := apptest.Start(t, map[string]string{
		"CORS_ORIGINS": host.URL,
		// One message per 2 s after a burst of 2: typing is faster than that.
		"RATE_LIMIT_MESSAGES_PER_SEC": "0.5",
		"RATE_LIMIT_MESSAGES_BURST":   "2",
	})
	host.gateway.Store(srv.URL)
	limited := func() float64 { return testutil.ToFloat64(srv.Metrics().RateLimited.WithLabelValues("message")) }

	ctx := newVisitor(t, browser)
	openWidget(t, ctx, host.URL+"/")
	var want []shown
	for i := 1; i <= 5; i++ {
		text := fmt.Sprintf("burst %d", i)
		typeAndSend(t, ctx, text)
		want = append(want, shown{Seq: i, Sender: "user", Text: text})
	}
	waitLog(t, ctx, want)
	require.Positive(t, limited(), "the gateway did refuse some sends")
	var n int
	require.NoError(t, srv.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages`).Scan(&n))
	require.Equal(t, 5, n)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var alert string
		assert.NoError(c, frameEval(ctx, `document.querySelector('[role="alert"]').textContent`, &alert))
		assert.Empty(c, alert, "nothing reported as failed")
	}, wait, 50*time.Millisecond)
}
