// Package config reads chatgw's configuration from the environment once, at
// start, and validates it. Variable names and defaults are those of the
// public contract; see docs/configuration.md.
package config

import (
	"net/netip"
	"time"
)

// Config is chatgw's whole configuration (that of `chatgw serve`). Build
// it with Load. A zero duration, count or name below means "unset": the
// component that uses it applies its own default (named after the field).
//
// Config holds secrets: log it through its LogValue (slog.LogValuer) or
// String methods, which redact them, never field by field.
type Config struct {
	HTTPAddr       string // HTTP_ADDR, ":3000"
	PublicURL      string // PUBLIC_URL, "http://localhost:3000" (no trailing slash)
	DatabaseURL    string // DATABASE_URL, "postgres://localhost:5432/chatgw?sslmode=disable"
	MigrateOnStart bool   // MIGRATE_ON_START, true
	WebUI          bool   // WEB_UI, true: serve the widget, the demo page and the console (§8)

	JWT JWTConfig

	Webhook WebhookConfig

	ReplyTokenTTL time.Duration // REPLY_TOKEN_TTL; 0: auth.DefaultReplyTokenTTL
	// ReplyTokenSecret (REPLY_TOKEN_SECRET, optional, ≥ 32 bytes) signs
	// reply tokens. When unset, keys are kept in PostgreSQL (made on first
	// start, rotated with `chatgw reply-keys rotate`). Never derived from
	// another secret.
	ReplyTokenSecret []byte
	// SessionTokenTTL (SESSION_TOKEN_TTL, 720h): an anonymous session token
	// unused this long stops working; 0 never expires.
	SessionTokenTTL time.Duration

	CORSOrigins      []string // CORS_ORIGINS, comma-separated (trimmed, empties dropped, no trailing slash); ["*"] for any; empty = same origin only
	MaxMessageLength int      // MAX_MESSAGE_LENGTH (code points after trimming); 0: chat.DefaultMaxMessageLength

	RateLimit RateLimitConfig

	TrustedProxies        []netip.Prefix // TRUSTED_PROXIES, comma-separated CIDRs (a bare IP is a /32 or /128); masked
	MaxSocketsPerIdentity int            // MAX_SOCKETS_PER_IDENTITY; 0: gateway.DefaultMaxSocketsPerIdentity

	AuthFailuresPerIP int           // AUTH_FAILURES_PER_IP, 20 (within 10 min, then the IP is blocked; > 0)
	AuthBlockDuration time.Duration // AUTH_BLOCK_DURATION, 15m
	MaxConnections    int           // MAX_CONNECTIONS, 10000 (open Engine.IO sessions per process; > 0)
	ConnectTimeout    time.Duration // CONNECT_TIMEOUT, 10s (to complete the Socket.IO handshake)

	TLSCertFile string // TLS_CERT_FILE (readable)
	TLSKeyFile  string // TLS_KEY_FILE (readable; both or neither)

	// Group commit of sends (docs/performance.md).
	SendBatchMax  int           // SEND_BATCH_MAX: most messages per transaction; 1 disables group commit; 0: postgres.DefaultBatchMax
	SendBatchWait time.Duration // SEND_BATCH_WAIT, 0: extra wait for a batch that is not full (0: a lone send never waits)

	ClusterBus string // CLUSTER_BUS, "postgres": every process on DATABASE_URL is one gateway; "off": a lone process
	NodeID     string // NODE_ID, "<hostname>-<random>": this process in logs, metrics and the cluster (1..64 of [A-Za-z0-9._-])

	PprofAddr string // PPROF_ADDR: listen address of net/http/pprof on its own listener; empty = off

	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT, 15s
	LogLevel        string        // LOG_LEVEL: debug, info, warn, error (lower case); "info". See SlogLevel.
	LogFormat       string        // LOG_FORMAT: json or text (lower case); "json"
}

// JWTConfig configures verification of users' JWTs.
type JWTConfig struct {
	Secret        []byte        // JWT_SECRET (HS256); required unless PublicKeyFile or JWKSURL is set
	JWKSURL       string        // JWT_JWKS_URL: an identity provider's JWKS (https://, or http:// on loopback); wins over PublicKeyFile and Secret
	JWKSRefresh   time.Duration // JWT_JWKS_REFRESH; 0: auth.DefaultJWKSRefresh (15m)
	PublicKeyFile string        // JWT_PUBLIC_KEY_FILE (PEM RSA → RS256, EC → ES256); wins over Secret when both are set
	Issuer        string        // JWT_ISSUER; enforced when set
	Audience      string        // JWT_AUDIENCE; enforced when set
	RolesClaim    string        // JWT_ROLES_CLAIM; "": auth.DefaultRolesClaim
	TecnicoRoles  []string      // TECNICO_ROLES, "tecnico,admin" (comma-separated, trimmed)

	// PublicKeyPEM is the content of PublicKeyFile, read by Load (nil when
	// the file is not set). It is not parsed here: auth.NewVerifier does.
	PublicKeyPEM []byte
}

// WebhookConfig configures delivery to n8n.
type WebhookConfig struct {
	URL             string // N8N_WEBHOOK_URL; empty disables delivery. Absolute http(s); http only to loopback or with AllowHTTP
	Secret          string // N8N_WEBHOOK_SECRET, "whsec_<base64>"; empty = unsigned deliveries
	AuthHeaderName  string // from N8N_WEBHOOK_AUTH_HEADER "Name: value" (canonical form)
	AuthHeaderValue string
	AllowHTTP       bool          // WEBHOOK_ALLOW_HTTP, false
	MaxAttempts     int           // WEBHOOK_MAX_ATTEMPTS, 10 (> 0)
	Timeout         time.Duration // WEBHOOK_TIMEOUT; 0: webhook.DefaultTimeout
	BackoffBase     time.Duration // WEBHOOK_BACKOFF_BASE (≤ BackoffMax); 0: webhook.DefaultBackoffBase
	BackoffMax      time.Duration // WEBHOOK_BACKOFF_MAX; 0: webhook.DefaultBackoffMax
	Concurrency     int           // WEBHOOK_CONCURRENCY (> 0); 0: webhook.DefaultConcurrency

	// SecretKey is the base64-decoded part of Secret after "whsec_": the
	// HMAC key of the Standard Webhooks signature. Nil when Secret is empty.
	SecretKey []byte
}

// RateLimitConfig holds the abuse limits. Every value is ≥ 0, and a zero
// rate disables that limit (benchmarks set them to 0).
type RateLimitConfig struct {
	MessagesPerSec      float64 // RATE_LIMIT_MESSAGES_PER_SEC, 10 (per conversation); 0 disables
	MessagesBurst       int     // RATE_LIMIT_MESSAGES_BURST, 20; must be ≥ 1 when MessagesPerSec > 0
	ConnectsPerMin      int     // RATE_LIMIT_CONNECTS_PER_MIN, 60 (per client IP); 0 disables
	ConversationsPerMin int     // RATE_LIMIT_CONVERSATIONS_PER_MIN, 30 (per client IP); 0 disables
	EventsPerSec        float64 // RATE_LIMIT_EVENTS_PER_SEC, 20 (every client event, per socket); 0 disables
	EventsBurst         int     // RATE_LIMIT_EVENTS_BURST, 40; must be ≥ 1 when EventsPerSec > 0
}
