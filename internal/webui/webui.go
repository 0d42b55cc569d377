// Package webui serves chatgw's browser faces (contract §8) from files
// embedded in the binary: the visitor widget's loader (/widget.js), the
// widget's frame (/widget/), a demo page (/demo/) and the modules they share
// (/assets/). No build step: the files are served as they are.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// Config configures the Handler.
type Config struct {
	// CORSOrigins (CORS_ORIGINS) may frame the widget (/widget/); ["*"]
	// lets any page frame it. Every other page may not be framed at all.
	CORSOrigins []string
}

// Routes are the patterns the Handler serves; mount each on the mux.
var Routes = []string{"/widget.js", "/widget/", "/demo/", "/assets/"}

// Handler serves the embedded files.
type Handler struct {
	files     map[string]*file // by URL path
	csp       string
	widgetCSP string
}

type file struct {
	body, gzipped []byte
	etag          string
	contentType   string
}

// basePolicy allows only the gateway's own origin and no inline scripts.
// connect-src 'self' covers the same origin's ws:/wss: (CSP level 3).
const basePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"

// New reads the embedded files once and precomputes their ETags and
// compressed forms.
func New(cfg Config) *Handler {
	h := &Handler{files: map[string]*file{}}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &file{body: body, etag: hex.EncodeToString(sum[:12]), contentType: contentType(p)}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body) {
			f.gzipped = buf.Bytes()
		}
		urlPath := "/" + p
		if strings.HasSuffix(urlPath, "/index.html") {
			urlPath = strings.TrimSuffix(urlPath, "index.html")
		}
		h.files[urlPath] = f
		return nil
	})
	if err != nil {
		panic(err)
	}
	h.csp = basePolicy + "; frame-ancestors 'none'"
	h.widgetCSP = basePolicy + "; frame-ancestors " + frameAncestors(cfg.CORSOrigins)
	return h
}

// frameAncestors is who may frame /widget/: the gateway's own pages and the
// sites of CORS_ORIGINS.
func frameAncestors(origins []string) string {
	if slices.Contains(origins, "*") {
		return "*"
	}
	parts := []string{"'self'"}
	for _, o := range origins {
		// An origin with a character CSP gives meaning to would change the
		// policy; config validates CORS_ORIGINS, this only keeps the header whole.
		if o != "" && !strings.ContainsAny(o, " ;,'\"") {
			parts = append(parts, o)
		}
	}
	return strings.Join(parts, " ")
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt", ".LICENSE":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// ServeHTTP serves one file with its CSP, ETag and, when the client accepts
// it, gzip.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	csp := h.csp
	if strings.HasPrefix(r.URL.Path, "/widget/") {
		csp = h.widgetCSP
	}
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	if r.URL.Path == "/widget.js" {
		// Loaded by <script> from other sites.
		hdr.Set("Cross-Origin-Resource-Policy", "cross-origin")
	} else {
		hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	}
	hdr.Set("Content-Type", f.contentType)
	// Stable URLs: browsers keep a copy but ask again (a cheap 304) so a new
	// release reaches every visitor at once.
	hdr.Set("Cache-Control", "no-cache")
	body, etag := f.body, `"`+f.etag+`"`
	if f.gzipped != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = f.gzipped, `"`+f.etag+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !found {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
