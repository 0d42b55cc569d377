package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CORS answers of /v1 (contract §3). No cookies are used, so credentials
// are never allowed.
const (
	corsAllowMethods = "GET, POST, OPTIONS"
	corsAllowHeaders = "Authorization, Content-Type, X-Session-Token"
	corsMaxAge       = "600" // seconds browsers may cache a preflight
)

// cors adds the CORS headers of an allowed cross origin to a /v1 answer;
// other origins get none. Vary: Origin is on every /v1 answer, so caches
// never give one origin's answer to another.
func (a *API) cors(w http.ResponseWriter, r *http.Request) (allowed bool) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !a.cfg.Origins.CrossOrigin(origin) && !a.cfg.Origins.SameOrigin(origin, r.Host) {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "Retry-After")
	return true
}

// preflight answers a browser's OPTIONS before a cross-origin /v1 call.
func (a *API) preflight(w http.ResponseWriter, r *http.Request) {
	if !a.cors(w, r) {
		// Not an allowed origin: no CORS headers, so the browser refuses.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h := w.Header()
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// ServerConfig bounds what a client may hold of an HTTP server (contract
// §3 Limits). Zero means default.
type ServerConfig struct {
	// HeaderTimeout: request headers must arrive within it. Default 10s.
	HeaderTimeout time.Duration
	// BodyTimeout: a whole request (headers and body) must arrive within
	// it of its first byte. Default 30s.
	BodyTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle that long. Default 60s.
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

// NewServer returns an http.Server serving h with the read limits of
// cfg. The whole-request deadline is the server's ReadTimeout, which Go
// counts from a request's first byte; requests that have no body (GET,
// among them long polls and WebSocket upgrades) have their read deadline
// lifted once their headers are in, since they have nothing more to send
// and may rightly last longer (a WebSocket is watched by its heartbeat).
func NewServer(h http.Handler, cfg ServerConfig) *http.Server {
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = 10 * time.Second
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           liftDeadlineWithoutBody(h),
		ReadHeaderTimeout: cfg.HeaderTimeout,
		ReadTimeout:       cfg.BodyTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
}

func liftDeadlineWithoutBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
		h.ServeHTTP(w, r)
	})
}

// retryAfterSeconds is a Retry-After value, rounded up.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(int((d+time.Second-1)/time.Second), 1))
}

func isV1(path string) bool { return strings.HasPrefix(path, "/v1/") }
