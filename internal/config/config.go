// Package config reads chatgw's configuration from the environment once, at
// start, and validates it. Variable names and defaults are those of the
// public contract (shared CONTRACT.md §1); see docs/configuration.md.
package config

import (
	"net/netip"
	"time"
)

// Config is chatgw's whole configuration.
type Config struct {
	HTTPAddr       string // HTTP_ADDR, ":3000"
	PublicURL      string // PUBLIC_URL, "http://localhost:3000" (no trailing slash)
	DatabaseURL    string // DATABASE_URL
	MigrateOnStart bool   // MIGRATE_ON_START, true

	JWT JWTConfig

	Webhook WebhookConfig

	ReplyTokenTTL time.Duration // REPLY_TOKEN_TTL, 24h
	// ReplyTokenSecret (REPLY_TOKEN_SECRET, optional) signs reply tokens.
	// When unset it is derived from JWT_SECRET, else from N8N_WEBHOOK_SECRET.
	ReplyTokenSecret []byte

	CORSOrigins      []string // CORS_ORIGINS, comma-separated; ["*"] for any; empty = same origin only
	MaxMessageLength int      // MAX_MESSAGE_LENGTH, 4000

	RateLimit RateLimitConfig

	TrustedProxies        []netip.Prefix // TRUSTED_PROXIES, CIDRs (a bare IP is a /32 or /128)
	MaxSocketsPerIdentity int            // MAX_SOCKETS_PER_IDENTITY, 5

	TLSCertFile string // TLS_CERT_FILE
	TLSKeyFile  string // TLS_KEY_FILE (both or neither)

	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT, 15s
	LogLevel        string        // LOG_LEVEL: debug, info, warn, error; "info"
}

// JWTConfig configures verification of users' JWTs.
type JWTConfig struct {
	Secret        []byte   // JWT_SECRET (HS256)
	PublicKeyFile string   // JWT_PUBLIC_KEY_FILE (PEM RSA → RS256, EC → ES256); wins over Secret when both are set
	Issuer        string   // JWT_ISSUER
	Audience      string   // JWT_AUDIENCE
	RolesClaim    string   // JWT_ROLES_CLAIM, "roles"
	TecnicoRoles  []string // TECNICO_ROLES, "tecnico,admin"
}

// WebhookConfig configures delivery to n8n.
type WebhookConfig struct {
	URL             string // N8N_WEBHOOK_URL; empty disables delivery
	Secret          string // N8N_WEBHOOK_SECRET, "whsec_<base64>"
	AuthHeaderName  string // from N8N_WEBHOOK_AUTH_HEADER "Name: value"
	AuthHeaderValue string
	AllowHTTP       bool          // WEBHOOK_ALLOW_HTTP, false
	MaxAttempts     int           // WEBHOOK_MAX_ATTEMPTS, 10
	Timeout         time.Duration // WEBHOOK_TIMEOUT, 10s
	BackoffBase     time.Duration // WEBHOOK_BACKOFF_BASE, 1s
	BackoffMax      time.Duration // WEBHOOK_BACKOFF_MAX, 1h
}

// RateLimitConfig holds the abuse limits. A zero rate disables that limit
// (benchmarks set them to 0).
type RateLimitConfig struct {
	MessagesPerSec      float64 // RATE_LIMIT_MESSAGES_PER_SEC, 10 (per conversation)
	MessagesBurst       int     // RATE_LIMIT_MESSAGES_BURST, 20
	ConnectsPerMin      int     // RATE_LIMIT_CONNECTS_PER_MIN, 60 (per client IP)
	ConversationsPerMin int     // RATE_LIMIT_CONVERSATIONS_PER_MIN, 30 (per client IP)
}
