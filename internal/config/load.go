package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chatgw/chatgw/internal/auth"
)

// Defaults of the public contract that no component applies itself: a
// zero rate limit disables the limit, River's own default attempts differ,
// and the rest are the process's. Every other unset variable is left zero,
// which each component reads as its own default (docs/configuration.md
// lists them all).
const (
	DefaultHTTPAddr           = ":3000"
	DefaultPublicURL          = "http://localhost:3000"
	DefaultDatabaseURL        = "postgres://localhost:5432/chatgw?sslmode=disable"
	DefaultTecnicoRoles       = "tecnico,admin"
	DefaultWebhookMaxAttempts = 10
	// DefaultSessionTokenTTL is applied here because SESSION_TOKEN_TTL=0
	// means "never expires", not "default".
	DefaultSessionTokenTTL     = 720 * time.Hour
	DefaultMessagesPerSec      = 10
	DefaultMessagesBurst       = 20
	DefaultConnectsPerMin      = 60
	DefaultConversationsPerMin = 30
	DefaultEventsPerSec        = 20
	DefaultEventsBurst         = 40
	DefaultShutdownTimeout     = 15 * time.Second
	DefaultLogLevel            = "info"
	DefaultLogFormat           = "json"
	// MinSecretLength is the shortest HS256 key (and reply-token key)
	// accepted: 256 bits, as RFC 7518 §3.2 asks of HS256 keys.
	MinSecretLength = 32
)

// webhookSecretPrefix starts a Standard Webhooks secret.
const webhookSecretPrefix = "whsec_"

// Headers a delivery sets itself; N8N_WEBHOOK_AUTH_HEADER may not replace them.
var reservedHeaders = map[string]bool{
	"Content-Type":      true,
	"Content-Length":    true,
	"Host":              true,
	"Transfer-Encoding": true,
	"Connection":        true,
	"Webhook-Id":        true,
	"Webhook-Timestamp": true,
	"Webhook-Signature": true,
}

// varError is a validation failure of one variable. Its text is one line:
// "NAME: problem".
type varError struct {
	name string
	msg  string
}

func (e *varError) Error() string { return e.name + ": " + e.msg }

// Variable returns the name of the environment variable at fault.
func (e *varError) Variable() string { return e.name }

func errf(name, format string, args ...any) error {
	return &varError{name: name, msg: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine keeps an error on one line whatever a value contains.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// VariableOf returns the environment variable named by an error of Load, or
// "" when err is not one.
func VariableOf(err error) string {
	var ve *varError
	if errors.As(err, &ve) {
		return ve.name
	}
	return ""
}

// loader reads variables through getenv; an empty value counts as unset.
type loader struct {
	getenv func(string) string
	err    error
}

func (l *loader) fail(err error) {
	if l.err == nil {
		l.err = err
	}
}

// str returns the trimmed value of a non-secret variable, or def.
func (l *loader) str(name, def string) string {
	if v := strings.TrimSpace(l.getenv(name)); v != "" {
		return v
	}
	return def
}

func (l *loader) boolean(name string, def bool) bool {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(errf(name, "must be a boolean (true or false), got %q", v))
		return def
	}
	return b
}

func (l *loader) positiveInt(name string, def int) int {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		l.fail(errf(name, "must be a positive integer, got %q", v))
		return def
	}
	return n
}

func (l *loader) nonNegativeInt(name string, def int) int {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		l.fail(errf(name, "must be a non-negative integer (0 disables), got %q", v))
		return def
	}
	return n
}

func (l *loader) nonNegativeFloat(name string, def float64) float64 {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		l.fail(errf(name, "must be a non-negative number (0 disables), got %q", v))
		return def
	}
	return f
}

func (l *loader) positiveDuration(name string, def time.Duration) time.Duration {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		l.fail(errf(name, `must be a positive duration such as "30s" or "1h", got %q`, v))
		return def
	}
	return d
}

func (l *loader) nonNegativeDuration(name string, def time.Duration) time.Duration {
	v := l.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		l.fail(errf(name, `must be a duration ≥ 0 such as "0", "500us" or "2ms", got %q`, v))
		return def
	}
	return d
}

// list splits a comma-separated value, trimming items and dropping empties.
func list(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Load reads and validates the configuration of `chatgw serve`: every
// variable. getenv is os.Getenv in production; an empty value is the same
// as an unset variable. The first invalid variable is reported in a
// one-line error "NAME: problem" that never contains a secret's value.
func Load(getenv func(string) string) (Config, error) {
	l := &loader{getenv: getenv}
	var c Config

	c.HTTPAddr = l.str("HTTP_ADDR", DefaultHTTPAddr)
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		l.fail(errf("HTTP_ADDR", "must be host:port or :port, got %q", c.HTTPAddr))
	}
	c.PublicURL = parsePublicURL(l)
	c.DatabaseURL = loadDatabaseURL(l)
	c.MigrateOnStart = l.boolean("MIGRATE_ON_START", true)
	c.WebUI = l.boolean("WEB_UI", true)

	loadJWT(l, &c.JWT)
	loadWebhook(l, &c.Webhook)

	c.ReplyTokenTTL = l.positiveDuration("REPLY_TOKEN_TTL", 0)
	// Never derived from another secret: whoever holds that one (n8n holds
	// N8N_WEBHOOK_SECRET) could forge reply tokens.
	if s := getenv("REPLY_TOKEN_SECRET"); s != "" {
		if len(s) < MinSecretLength {
			l.fail(errf("REPLY_TOKEN_SECRET", "must be at least %d bytes, got %d (value not shown)", MinSecretLength, len(s)))
		}
		c.ReplyTokenSecret = []byte(s)
	}
	c.SessionTokenTTL = l.nonNegativeDuration("SESSION_TOKEN_TTL", DefaultSessionTokenTTL)

	c.CORSOrigins = parseCORS(l)
	c.MaxMessageLength = l.positiveInt("MAX_MESSAGE_LENGTH", 0)

	c.RateLimit.MessagesPerSec = l.nonNegativeFloat("RATE_LIMIT_MESSAGES_PER_SEC", DefaultMessagesPerSec)
	c.RateLimit.MessagesBurst = l.nonNegativeInt("RATE_LIMIT_MESSAGES_BURST", DefaultMessagesBurst)
	if c.RateLimit.MessagesPerSec > 0 && c.RateLimit.MessagesBurst == 0 {
		l.fail(errf("RATE_LIMIT_MESSAGES_BURST", "must be at least 1 while RATE_LIMIT_MESSAGES_PER_SEC is not 0, got %q", "0"))
	}
	c.RateLimit.ConnectsPerMin = l.nonNegativeInt("RATE_LIMIT_CONNECTS_PER_MIN", DefaultConnectsPerMin)
	c.RateLimit.ConversationsPerMin = l.nonNegativeInt("RATE_LIMIT_CONVERSATIONS_PER_MIN", DefaultConversationsPerMin)

	c.RateLimit.EventsPerSec = l.nonNegativeFloat("RATE_LIMIT_EVENTS_PER_SEC", DefaultEventsPerSec)
	c.RateLimit.EventsBurst = l.nonNegativeInt("RATE_LIMIT_EVENTS_BURST", DefaultEventsBurst)
	if c.RateLimit.EventsPerSec > 0 && c.RateLimit.EventsBurst == 0 {
		l.fail(errf("RATE_LIMIT_EVENTS_BURST", "must be at least 1 while RATE_LIMIT_EVENTS_PER_SEC is not 0, got %q", "0"))
	}
	c.AuthFailuresPerIP = l.positiveInt("AUTH_FAILURES_PER_IP", 0)
	c.AuthBlockDuration = l.positiveDuration("AUTH_BLOCK_DURATION", 0)
	c.MaxConnections = l.positiveInt("MAX_CONNECTIONS", 0)
	c.ConnectTimeout = l.positiveDuration("CONNECT_TIMEOUT", 0)

	c.TrustedProxies = parseProxies(l)
	c.MaxSocketsPerIdentity = l.positiveInt("MAX_SOCKETS_PER_IDENTITY", 0)

	c.TLSCertFile = l.str("TLS_CERT_FILE", "")
	c.TLSKeyFile = l.str("TLS_KEY_FILE", "")
	switch {
	case c.TLSCertFile != "" && c.TLSKeyFile == "":
		l.fail(errf("TLS_KEY_FILE", "must be set when TLS_CERT_FILE is set"))
	case c.TLSCertFile == "" && c.TLSKeyFile != "":
		l.fail(errf("TLS_CERT_FILE", "must be set when TLS_KEY_FILE is set"))
	case c.TLSCertFile != "":
		checkReadable(l, "TLS_CERT_FILE", c.TLSCertFile)
		checkReadable(l, "TLS_KEY_FILE", c.TLSKeyFile)
	}

	c.SendBatchMax = l.positiveInt("SEND_BATCH_MAX", 0)
	c.SendBatchWait = l.nonNegativeDuration("SEND_BATCH_WAIT", 0)
	if c.SendBatchWait > time.Second {
		l.fail(errf("SEND_BATCH_WAIT", "must be at most 1s, got %q", c.SendBatchWait.String()))
	}
	c.ClusterBus = strings.ToLower(l.str("CLUSTER_BUS", "postgres"))
	if c.ClusterBus != "postgres" && c.ClusterBus != "off" {
		l.fail(errf("CLUSTER_BUS", "must be postgres or off, got %q", l.str("CLUSTER_BUS", "")))
	}
	c.NodeID = l.str("NODE_ID", "")
	if c.NodeID == "" {
		c.NodeID = defaultNodeID()
	} else if !validNodeID(c.NodeID) {
		l.fail(errf("NODE_ID", "must be 1 to 64 of A-Z a-z 0-9 . _ -, got %q", c.NodeID))
	}
	c.PprofAddr = l.str("PPROF_ADDR", "")
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			l.fail(errf("PPROF_ADDR", "must be host:port or :port, got %q", c.PprofAddr))
		}
	}

	c.ShutdownTimeout = l.positiveDuration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout)
	c.LogLevel = loadLogLevel(l)
	c.LogFormat = loadLogFormat(l)

	if l.err != nil {
		return Config{}, l.err
	}
	return c, nil
}

func loadDatabaseURL(l *loader) string { return l.str("DATABASE_URL", DefaultDatabaseURL) }

func loadLogFormat(l *loader) string {
	format := strings.ToLower(l.str("LOG_FORMAT", DefaultLogFormat))
	if format != "json" && format != "text" {
		l.fail(errf("LOG_FORMAT", "must be json or text, got %q", l.str("LOG_FORMAT", "")))
	}
	return format
}

func loadLogLevel(l *loader) string {
	level := strings.ToLower(l.str("LOG_LEVEL", DefaultLogLevel))
	switch level {
	case "debug", "info", "warn", "error":
	default:
		l.fail(errf("LOG_LEVEL", "must be one of debug, info, warn, error, got %q", l.str("LOG_LEVEL", "")))
	}
	return level
}

func parsePublicURL(l *loader) string {
	v := l.str("PUBLIC_URL", DefaultPublicURL)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		l.fail(errf("PUBLIC_URL", "must be an absolute http(s) URL without query, got %q", redactURL(v)))
		return v
	}
	return strings.TrimRight(v, "/")
}

func loadJWT(l *loader, j *JWTConfig) {
	if s := l.getenv("JWT_SECRET"); s != "" {
		j.Secret = []byte(s)
		if len(s) < MinSecretLength {
			l.fail(errf("JWT_SECRET", "must be at least %d bytes, got %d", MinSecretLength, len(s)))
		}
	}
	j.JWKSURL = l.str("JWT_JWKS_URL", "")
	if j.JWKSURL != "" {
		if err := auth.CheckJWKSURL(j.JWKSURL); err != nil {
			l.fail(errf("JWT_JWKS_URL", "%v, got %q", err, redactURL(j.JWKSURL)))
		}
	}
	j.JWKSRefresh = l.positiveDuration("JWT_JWKS_REFRESH", 0)
	j.PublicKeyFile = l.str("JWT_PUBLIC_KEY_FILE", "")
	if j.PublicKeyFile != "" {
		pem, err := os.ReadFile(j.PublicKeyFile)
		switch {
		case err != nil:
			l.fail(errf("JWT_PUBLIC_KEY_FILE", "cannot read %q: %v", j.PublicKeyFile, unwrapPathError(err)))
		case len(pem) == 0:
			l.fail(errf("JWT_PUBLIC_KEY_FILE", "file %q is empty", j.PublicKeyFile))
		default:
			j.PublicKeyPEM = pem
		}
	} else if len(j.Secret) == 0 && j.JWKSURL == "" {
		l.fail(errf("JWT_SECRET", "is required unless JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL is set"))
	}
	loadClaims(l, j)
	raw := l.str("TECNICO_ROLES", DefaultTecnicoRoles)
	j.TecnicoRoles = list(raw)
	if len(j.TecnicoRoles) == 0 {
		l.fail(errf("TECNICO_ROLES", "must list at least one role, got %q", raw))
	}
}

// loadClaims reads what a token must carry besides its signature.
func loadClaims(l *loader, j *JWTConfig) {
	j.Issuer = l.str("JWT_ISSUER", "")
	j.Audience = l.str("JWT_AUDIENCE", "")
	j.RolesClaim = l.str("JWT_ROLES_CLAIM", "")
}

// unwrapPathError drops the path (already in the message) from a file error.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func checkReadable(l *loader, name, path string) {
	f, err := os.Open(path)
	if err != nil {
		l.fail(errf(name, "cannot read %q: %v", path, unwrapPathError(err)))
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		l.fail(errf(name, "%q is a directory", path))
	}
}

func loadWebhook(l *loader, w *WebhookConfig) {
	w.AllowHTTP = l.boolean("WEBHOOK_ALLOW_HTTP", false)
	w.URL = l.str("N8N_WEBHOOK_URL", "")
	if w.URL != "" {
		if err := checkWebhookURL(w.URL, w.AllowHTTP); err != nil {
			l.fail(err)
		}
	}

	if s := l.getenv("N8N_WEBHOOK_SECRET"); s != "" {
		s = strings.TrimSpace(s)
		rest, ok := strings.CutPrefix(s, webhookSecretPrefix)
		key, err := base64.StdEncoding.DecodeString(rest)
		switch {
		case !ok:
			l.fail(errf("N8N_WEBHOOK_SECRET", `must start with "whsec_" (value not shown)`))
		case err != nil:
			l.fail(errf("N8N_WEBHOOK_SECRET", `the part after "whsec_" must be standard base64 (value not shown)`))
		case len(key) == 0:
			l.fail(errf("N8N_WEBHOOK_SECRET", `the key after "whsec_" is empty`))
		default:
			w.Secret = s
			w.SecretKey = key
		}
	}

	if h := l.getenv("N8N_WEBHOOK_AUTH_HEADER"); strings.TrimSpace(h) != "" {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		switch {
		case !ok:
			l.fail(errf("N8N_WEBHOOK_AUTH_HEADER", `must be "Name: value" (value not shown)`))
		case !validHeaderName(name):
			l.fail(errf("N8N_WEBHOOK_AUTH_HEADER", `header name must be a valid HTTP token, got %q`, name))
		case reservedHeaders[http.CanonicalHeaderKey(name)]:
			l.fail(errf("N8N_WEBHOOK_AUTH_HEADER", `header %q is set by chatgw itself and cannot be replaced`, name))
		case value == "":
			l.fail(errf("N8N_WEBHOOK_AUTH_HEADER", `header value must not be empty`))
		case !validHeaderValue(value):
			l.fail(errf("N8N_WEBHOOK_AUTH_HEADER", `header value contains control characters (value not shown)`))
		default:
			w.AuthHeaderName = http.CanonicalHeaderKey(name)
			w.AuthHeaderValue = value
		}
	}

	w.MaxAttempts = l.positiveInt("WEBHOOK_MAX_ATTEMPTS", DefaultWebhookMaxAttempts)
	w.Timeout = l.positiveDuration("WEBHOOK_TIMEOUT", 0)
	w.BackoffBase = l.positiveDuration("WEBHOOK_BACKOFF_BASE", 0)
	w.BackoffMax = l.positiveDuration("WEBHOOK_BACKOFF_MAX", 0)
	w.Concurrency = l.positiveInt("WEBHOOK_CONCURRENCY", 0)
	// With one of them unset, the webhook worker checks against its default.
	if w.BackoffBase > 0 && w.BackoffMax > 0 && w.BackoffBase > w.BackoffMax {
		l.fail(errf("WEBHOOK_BACKOFF_BASE", "must not exceed WEBHOOK_BACKOFF_MAX (%s), got %q", w.BackoffMax, w.BackoffBase.String()))
	}
}

func checkWebhookURL(raw string, allowHTTP bool) error {
	const name = "N8N_WEBHOOK_URL"
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return errf(name, "must be an absolute http(s) URL, got %q", redactURL(raw))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP && !isLoopback(u.Hostname()) {
			return errf(name, "plain http is refused for a non-loopback host (use https, or set WEBHOOK_ALLOW_HTTP=true), got %q", redactURL(raw))
		}
	default:
		return errf(name, "must be an absolute http(s) URL, got %q", redactURL(raw))
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func parseCORS(l *loader) []string {
	raw := l.str("CORS_ORIGINS", "")
	items := list(raw)
	var out []string
	for _, o := range items {
		if o == "*" {
			if len(items) > 1 {
				return fail[[]string](l, errf("CORS_ORIGINS", `"*" must be the only origin, got %q`, raw))
			}
			return []string{"*"}
		}
		o = strings.TrimRight(o, "/")
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fail[[]string](l, errf("CORS_ORIGINS", `each origin must be scheme://host[:port] or "*", got %q`, o))
		}
		out = append(out, o)
	}
	return out
}

func fail[T any](l *loader, err error) T {
	l.fail(err)
	var zero T
	return zero
}

func parseProxies(l *loader) []netip.Prefix {
	var out []netip.Prefix
	for item := range strings.SplitSeq(l.str("TRUSTED_PROXIES", ""), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return fail[[]netip.Prefix](l, errf("TRUSTED_PROXIES", "must be comma-separated CIDRs or IP addresses, got %q", item))
			}
		} else {
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return fail[[]netip.Prefix](l, errf("TRUSTED_PROXIES", "must be comma-separated CIDRs or IP addresses, got %q", item))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than horizontal tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// defaultNodeID is "<hostname>-<random>": readable in logs, unique even
// when two processes share a host name (containers restarted in place).
func defaultNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "chatgw"
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	id := host + "-" + hex.EncodeToString(r[:])
	var b strings.Builder
	for _, ch := range id {
		if validNodeIDRune(ch) {
			b.WriteRune(ch)
		} else {
			b.WriteByte('-')
		}
	}
	id = b.String()
	if len(id) > 64 {
		id = id[len(id)-64:]
	}
	return id
}

func validNodeID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, ch := range id {
		if !validNodeIDRune(ch) {
			return false
		}
	}
	return true
}

func validNodeIDRune(ch rune) bool {
	return ch == '.' || ch == '_' || ch == '-' || ('0' <= ch && ch <= '9') || ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z')
}
