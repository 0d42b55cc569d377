package webui_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/webui"
)

func get(t *testing.T, h http.Handler, path string, headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestCachingAndCompression(t *testing.T) {
	t.Parallel()
	h := webui.New(webui.Config{CORSOrigins: []string{"https://shop.example.com"}})

	plain := get(t, h, "/widget.js")
	require.Equal(t, http.StatusOK, plain.StatusCode)
	require.Equal(t, "text/javascript; charset=utf-8", plain.Header.Get("Content-Type"))
	require.Equal(t, "cross-origin", plain.Header.Get("Cross-Origin-Resource-Policy"), "other sites load it")
	require.Equal(t, "no-cache", plain.Header.Get("Cache-Control"))
	etag := plain.Header.Get("ETag")
	require.NotEmpty(t, etag)
	body, _ := io.ReadAll(plain.Body)
	require.Contains(t, string(body), "Open chat")

	notModified := get(t, h, "/widget.js", "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, notModified.StatusCode)

	zipped := get(t, h, "/widget.js", "Accept-Encoding", "br, gzip")
	require.Equal(t, "gzip", zipped.Header.Get("Content-Encoding"))
	require.NotEqual(t, etag, zipped.Header.Get("ETag"), "each encoding its own ETag")
	zr, err := gzip.NewReader(zipped.Body)
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, body, unzipped)
	require.Empty(t, get(t, h, "/widget.js", "Accept-Encoding", "gzip;q=0").Header.Get("Content-Encoding"))

	frame := get(t, h, "/widget/")
	require.Equal(t, http.StatusOK, frame.StatusCode)
	require.Contains(t, frame.Header.Get("Content-Security-Policy"), "frame-ancestors 'self' https://shop.example.com")
	require.Contains(t, get(t, webui.New(webui.Config{CORSOrigins: []string{"*"}}), "/widget/").Header.Get("Content-Security-Policy"), "frame-ancestors *")
	require.Equal(t, http.StatusNotFound, get(t, h, "/widget/nope.js").StatusCode)
	require.Equal(t, http.StatusNotFound, get(t, h, "/widget/index.html").StatusCode, "one URL per file")
}

// The frame's Socket.IO client is the one pinned in test/js's lock file
// (make webui-vendor copies it; CI runs make check-webui-vendor).
func TestVendoredSocketIOClientIsThePinnedOne(t *testing.T) {
	t.Parallel()
	lock, err := os.ReadFile("../../test/js/package-lock.json")
	require.NoError(t, err)
	i := strings.Index(string(lock), `"node_modules/socket.io-client": {`)
	require.Positive(t, i)
	rest := string(lock)[i:]
	v := strings.Index(rest, `"version": "`) + len(`"version": "`)
	version := rest[v : v+strings.Index(rest[v:], `"`)]
	client, err := os.ReadFile("static/assets/socket.io.min.js")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(client), "/*!\n * Socket.IO v"+version+"\n"), "vendored client is not v%s: run make webui-vendor", version)
}

// WEB_UI=false serves none of the browser faces.
func TestWebUIOff(t *testing.T) {
	t.Parallel()
	on := apptest.Start(t, nil)
	off := apptest.Start(t, map[string]string{"WEB_UI": "false"})
	for _, path := range []string{"/widget.js", "/widget/", "/demo/", "/assets/socket.io.min.js"} {
		resp, err := http.Get(on.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		resp, err = http.Get(off.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
	}
}
