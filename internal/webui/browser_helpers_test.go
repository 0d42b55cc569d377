package webui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const chromiumPath = "/usr/bin/chromium"

// wait bounds every wait on the browser.
const wait = 20 * time.Second

// newBrowser starts headless Chromium for the test. Without Chromium the
// test is skipped, with a clear message, except in CI
// (CHATGW_REQUIRE_BROWSER=1), where that is a failure.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CHATGW_REQUIRE_BROWSER") != "" {
			t.Fatalf("no Chromium at %s (CHATGW_REQUIRE_BROWSER is set): %v", path, err)
		}
		t.Skipf("SKIPPED: browser tests need Chromium at %s (apt-get install chromium, or set CHROMIUM)", path)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(1024, 768),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	return ctx
}

// newVisitor is a fresh browser profile (its own storage): one visitor.
func newVisitor(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx))
	return ctx
}

// newTab is another tab of the same visitor.
func newTab(t *testing.T, visitor context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(visitor)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx))
	return ctx
}

// hostSite is a shop on an origin other than the gateway's, with the
// widget's script tag on its page.
type hostSite struct {
	*httptest.Server
	gateway atomic.Value // string: the gateway URL the page loads the widget from
}

func newHostSite(t *testing.T) *hostSite {
	h := &hostSite{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw, _ := h.gateway.Load().(string)
		if alt := r.URL.Query().Get("gw"); alt != "" {
			gw = alt
		}
		attrs := `data-metadata='{"from":"host test"}'`
		if r.URL.Query().Get("open") == "1" {
			attrs += ` data-open="true"`
		}
		script := ""
		if tok := r.URL.Query().Get("jwt"); tok != "" {
			// The host's own token function (no CSP on this page).
			script = fmt.Sprintf(`<script>window.hostToken = () => { window.tokenCalls = (window.tokenCalls || 0) + 1; return Promise.resolve(%q); };</script>`, tok)
			attrs += ` data-jwt="hostToken"`
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Host shop</title>
<style>button{background:red!important;display:none} iframe{display:none!important}</style>
%s<script src="%s/widget.js" %s defer></script></head>
<body><h1>A shop</h1><p>Products.</p></body></html>`, script, gw, attrs)
	}))
	t.Cleanup(h.Close)
	return h
}

// cutProxy forwards TCP to the gateway until cut: then it drops every
// connection and refuses new ones, a real outage for the browser.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *cutProxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// hostEval evaluates JavaScript in the host page.
func hostEval(t *testing.T, ctx context.Context, expr string, out any) {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "host: %s", expr)
	if out != nil {
		require.NoError(t, json.Unmarshal(v, out))
	}
}

// frameEval evaluates JavaScript in the widget's frame, in a world of its
// own: it shares the frame's DOM and storage (what tests read and drive)
// but none of its scripts' variables.
func frameEval(ctx context.Context, expr string, out any) error {
	return frameEvalIn(ctx, "/widget/", expr, out)
}

// frameEvalIn is frameEval in the first child frame whose URL contains
// urlPart ("" for any).
func frameEvalIn(ctx context.Context, urlPart, expr string, out any) error {
	_, err := chromedp.Run(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return err
		}
		frame := findFrame(tree.FrameTree, urlPart)
		if frame == nil {
			return errors.New("no widget frame yet")
		}
		world, err := cdp.Call(ctx, t, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: frame.ID, WorldName: "chatgw-test"})
		if err != nil {
			return err
		}
		yes := true
		res, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: expr, ContextID: world.ExecutionContextID, ReturnByValue: &yes, AwaitPromise: &yes})
		if err != nil {
			return err
		}
		if res.ExceptionDetails != nil {
			return fmt.Errorf("frame: %s: %s", expr, res.ExceptionDetails.Text+" "+exceptionText(res.ExceptionDetails))
		}
		if out == nil || res.Result == nil || len(res.Result.Value) == 0 {
			return nil
		}
		return json.Unmarshal(res.Result.Value, out)
	}))
	return err
}

func findFrame(tree *page.FrameTree, pathPart string) *cdp.Frame {
	if tree == nil {
		return nil
	}
	if strings.Contains(tree.Frame.URL, pathPart) && tree.Frame.ParentID != "" {
		return tree.Frame
	}
	for _, child := range tree.ChildFrames {
		if f := findFrame(child, pathPart); f != nil {
			return f
		}
	}
	return nil
}

// frameWait waits until the frame's expression is true.
func frameWait(t *testing.T, ctx context.Context, expr, what string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var ok bool
		if !assert.NoError(c, frameEval(ctx, expr, &ok)) {
			return
		}
		assert.True(c, ok, what)
	}, wait, 50*time.Millisecond, what)
}

func hostWait(t *testing.T, ctx context.Context, expr, what string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if !assert.NoError(c, err) {
			return
		}
		assert.True(c, ok, what)
	}, wait, 50*time.Millisecond, what)
}

// shown is one message element of the frame's log.
type shown struct {
	Seq     int    `json:"seq"`
	Sender  string `json:"sender"`
	Text    string `json:"text"`
	Pending bool   `json:"pending"`
}

const logJS = `[...document.querySelectorAll('[role="log"] [data-sender]')].map(e => ({seq: Number(e.dataset.seq || 0), sender: e.dataset.sender, text: e.querySelector('.body').textContent, pending: !!e.dataset.pending}))`

func frameLog(t *testing.T, ctx context.Context) []shown {
	t.Helper()
	var out []shown
	require.NoError(t, frameEval(ctx, logJS, &out))
	return out
}

// waitLog waits until the log shows want (seq, sender and text of each
// message, nothing pending) exactly, in this order.
func waitLog(t *testing.T, ctx context.Context, want []shown) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var got []shown
		if !assert.NoError(c, frameEval(ctx, logJS, &got)) {
			return
		}
		assert.Equal(c, want, got)
	}, wait, 50*time.Millisecond)
}

const launcherJS = `document.getElementById('chatgw-widget').shadowRoot.querySelector('button[aria-label="Open chat"]')`

// openWidget loads the host page and opens the chat with a real click on
// the launcher; the frame then has the focus in its "Message" textbox.
func openWidget(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)))
	hostWait(t, ctx, `!!document.getElementById('chatgw-widget') && !!`+launcherJS, "launcher shown")
	frameWait(t, ctx, `document.readyState === 'complete' && !!document.getElementById('input')`, "frame loaded")
	var open bool
	hostEval(t, ctx, launcherJS+`.getAttribute('aria-expanded') === 'true'`, &open)
	if open { // data-open="true" opened it at load, without taking the focus
		return
	}
	clickLauncher(t, ctx)
	hostWait(t, ctx, launcherJS+`.getAttribute('aria-expanded') === 'true'`, "panel open")
	frameWait(t, ctx, `document.hasFocus() && document.activeElement === document.querySelector('textarea') && document.activeElement.labels[0].textContent === 'Message'`, "focus in the Message textbox")
}

func clickLauncher(t *testing.T, ctx context.Context) {
	t.Helper()
	var rect struct{ X, Y float64 }
	hostEval(t, ctx, `(() => { const r = `+launcherJS+`.getBoundingClientRect(); return {X: r.x + r.width/2, Y: r.y + r.height/2}; })()`, &rect)
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(rect.X, rect.Y)))
}

// typeAndSend types text into the focused textbox with real key events and
// presses Enter.
func typeAndSend(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	clickInFrame(t, ctx, "textarea")
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text})
		return err
	}), chromedp.KeyEvent("\r")))
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

// clickInFrame clicks, with the mouse, the centre of the frame's element.
func clickInFrame(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	var frame, el struct{ X, Y, W, H float64 }
	hostEval(t, ctx, `(() => { const r = document.getElementById('chatgw-widget').shadowRoot.querySelector('iframe').getBoundingClientRect(); return {X: r.x, Y: r.y}; })()`, &frame)
	require.NoError(t, frameEval(ctx, `(() => { const r = document.querySelector(`+"`"+selector+"`"+`).getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, &el))
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(frame.X+el.X+el.W/2, frame.Y+el.Y+el.H/2)))
}
