package webui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// A page on a shop's own site calls the HTTP API from a real browser
// (contract §3 CORS): with the shop's origin in CORS_ORIGINS, the
// preflighted POST and the GET with X-Session-Token succeed and the page
// can read Retry-After's exposure; a site not listed gets nothing.
func TestBrowserFetchFromAnotherOrigin(t *testing.T) {
	t.Parallel()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><title>shop</title>"))
	}))
	t.Cleanup(page.Close)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><title>other</title>"))
	}))
	t.Cleanup(other.Close)
	srv := apptest.Start(t, map[string]string{"CORS_ORIGINS": page.URL})

	script := `(async () => {
	  try {
	    const r = await fetch(` + "`" + srv.URL + `/v1/conversations` + "`" + `, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({metadata: {page: "shop"}})});
	    const c = await r.json();
	    const m = await fetch(` + "`" + srv.URL + `/v1/conversations/${c.conversationId}/messages` + "`" + `, {headers: {"X-Session-Token": c.session_token}});
	    return r.status + " " + m.status + " " + (typeof (await m.json()).messages.length);
	  } catch (e) { return "refused: " + e.name; }
	})()`
	run := func(url string) string {
		ctx := newVisitor(t, newBrowser(t))
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		_, err := chromedp.Run(ctx, chromedp.Navigate(url))
		require.NoError(t, err)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		return got
	}
	require.Equal(t, "201 200 number", run(page.URL))
	require.Equal(t, "refused: TypeError", run(other.URL))
}
