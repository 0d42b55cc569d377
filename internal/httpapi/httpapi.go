// Package httpapi is chatgw's HTTP edge: health, readiness, metrics, and
// the /v1 routes. It translates chat errors into the contract's status
// codes and error bodies in one place (writeError).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/guard"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/origins"
)

// TokenVerifier verifies a bearer token into an identity (auth.Verifier for
// users' JWTs, auth.ReplyTokens for n8n's reply tokens).
type TokenVerifier interface {
	Verify(token string) (chat.Identity, error)
}

// Config configures the API.
type Config struct {
	Service     *chat.Service
	Users       TokenVerifier
	ReplyTokens TokenVerifier
	// Ready reports whether the gateway can serve (database up, migrations
	// applied, the identity provider's keys fetched once).
	Ready    func(ctx context.Context) error
	Metrics  http.Handler // the Prometheus handler for /metrics
	Logger   *slog.Logger
	Counters *metrics.Metrics
	// ConversationLimiter limits POST /v1/conversations per client IP; nil
	// disables the limit.
	ConversationLimiter chat.Limiter
	// ClientIP returns the client's address for rate limiting.
	ClientIP func(r *http.Request) string
	// Origins are the browser origins that get CORS answers on /v1
	// (CORS_ORIGINS); the zero Policy gives none to other origins.
	Origins origins.Policy
	// Guard counts failed authentications per IP and wrong session tokens
	// per conversation, and blocks IPs; nil: nothing is counted.
	Guard *guard.Guard
}

// API serves the HTTP routes.
type API struct {
	cfg Config
	mux *http.ServeMux
	log *slog.Logger
}

// Body limits: metadata is at most 4 KB; a message is at most
// MAX_MESSAGE_LENGTH code points, which JSON escapes can make up to 12 bytes each.
const (
	maxConversationBody = 16 << 10
	maxMessageBody      = 64 << 10
)

// New returns the API.
func New(cfg Config) *API {
	if cfg.ClientIP == nil {
		// The peer's address without its port: each connection of one
		// client has a port of its own, and limits and blocks are per IP.
		cfg.ClientIP = func(r *http.Request) string {
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				return host
			}
			return r.RemoteAddr
		}
	}
	a := &API{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger}
	a.route("GET /healthz", "healthz", a.healthz)
	a.route("GET /readyz", "readyz", a.readyz)
	a.mux.Handle("GET /metrics", cfg.Metrics)
	a.route("POST /v1/conversations", "create_conversation", a.createConversation)
	a.route("GET /v1/conversations/{id}/messages", "list_messages", a.listMessages)
	a.route("POST /v1/conversations/{id}/messages", "post_message", a.postMessage)
	a.route("GET /v1/conversations", "list_conversations", a.listConversations)
	a.route("POST /v1/conversations/{id}/status", "set_status", a.setStatus)
	a.route("POST /v1/conversations/{id}/session-token", "rotate_session_token", a.rotateSessionToken)
	a.mux.HandleFunc("OPTIONS /v1/", a.preflight)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if isV1(r.URL.Path) {
			a.cors(w, r)
		}
		a.writeError(w, r, &chat.Error{Code: chat.CodeNotFound, Message: "no such route"})
	})
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// handlerFunc is a route that returns its error instead of writing it, so
// errors are translated in one place.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (a *API) route(pattern, name string, h handlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		serve := h
		if isV1(r.URL.Path) {
			a.cors(rec, r)
			serve = a.unlessBlocked(h)
		}
		if err := serve(rec, r); err != nil {
			a.writeError(rec, r, err)
		}
		a.cfg.Counters.HTTPRequests.WithLabelValues(name, strconv.Itoa(rec.status)).Inc()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.cfg.Ready(ctx); err != nil {
		a.log.Warn("not ready", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// unlessBlocked answers 429 with Retry-After, before any work, to an IP the
// anomaly guard has blocked.
func (a *API) unlessBlocked(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if blocked, wait := a.cfg.Guard.Blocked(a.cfg.ClientIP(r)); blocked {
			return &chat.Error{Code: chat.CodeRateLimited, Message: "too many failed authentications from this address; retry later", RetryAfter: wait}
		}
		return h(w, r)
	}
}

// statusOf maps a contract code to its HTTP status.
func statusOf(code chat.Code) int {
	switch code {
	case chat.CodeValidationFailed:
		return http.StatusBadRequest
	case chat.CodeUnauthorized, chat.CodeTokenInvalid, chat.CodeTokenExpired, chat.CodeSessionInvalid:
		return http.StatusUnauthorized
	case chat.CodeForbidden:
		return http.StatusForbidden
	case chat.CodeNotFound:
		return http.StatusNotFound
	case chat.CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case chat.CodeRateLimited:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// writeError is the one translation from errors to HTTP answers. Unknown
// errors are INTERNAL to the client; their text goes to the log only.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ce := chat.ClientError(err)
	status := statusOf(ce.Code)
	if ce.Code == chat.CodeInternal {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", ce.Code, "error", err)
	} else {
		a.log.Info("request rejected", "method", r.Method, "path", r.URL.Path, "code", ce.Code)
	}
	if ce.Code == chat.CodeRateLimited {
		w.Header().Set("Retry-After", retryAfterSeconds(ce.RetryAfter))
	}
	// A 401 other than TOKEN_EXPIRED (an honest client's stale token) is
	// a failed authentication for the anomaly guard (contract §6).
	if status == http.StatusUnauthorized && ce.Code != chat.CodeTokenExpired {
		a.cfg.Guard.AuthFailed(a.cfg.ClientIP(r))
	}
	body := map[string]any{"code": ce.Code, "message": ce.Message}
	if len(ce.Fields) > 0 {
		body["fields"] = ce.Fields
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads at most limit bytes; a larger body is PAYLOAD_TOO_LARGE.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	buf, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &chat.Error{Code: chat.CodePayloadTooLarge, Message: "request body is too large"}
	}
	if err != nil {
		return nil, chat.ValidationError(chat.FieldError{Field: "body", Message: "could not be read"})
	}
	return buf, nil
}
