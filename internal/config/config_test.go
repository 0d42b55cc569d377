package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testJWTSecret   = "jwt-secret-value-1234567890-abcdef"
	testHookKey     = "hook-key-bytes!!" // base64: aG9vay1rZXktYnl0ZXMhIQ==
	testHookSecret  = "whsec_aG9vay1rZXktYnl0ZXMhIQ=="
	testReplySecret = "reply-secret-value-0987654321-0123456789"
	testAuthValue   = "auth-header-value-secret"
	testDBPassword  = "db-pass-secret"
)

// env returns a getenv over m, with a JWT secret unless m sets it ("" unsets).
func env(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		if k == "JWT_SECRET" {
			return testJWTSecret
		}
		return ""
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.pem")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, ":3000", c.HTTPAddr)
	require.Equal(t, "http://localhost:3000", c.PublicURL)
	require.Equal(t, "postgres://localhost:5432/chatgw?sslmode=disable", c.DatabaseURL)
	require.True(t, c.MigrateOnStart)
	require.True(t, c.WebUI)
	require.Equal(t, []byte(testJWTSecret), c.JWT.Secret)
	require.Empty(t, c.JWT.PublicKeyFile)
	require.Nil(t, c.JWT.PublicKeyPEM)
	require.Empty(t, c.JWT.Issuer)
	require.Empty(t, c.JWT.Audience)
	require.Empty(t, c.JWT.RolesClaim, "auth's default")
	require.Equal(t, []string{"tecnico", "admin"}, c.JWT.TecnicoRoles)
	require.Empty(t, c.Webhook.URL)
	require.Empty(t, c.Webhook.Secret)
	require.Nil(t, c.Webhook.SecretKey)
	require.Empty(t, c.Webhook.AuthHeaderName)
	require.Empty(t, c.Webhook.AuthHeaderValue)
	require.False(t, c.Webhook.AllowHTTP)
	require.Equal(t, 10, c.Webhook.MaxAttempts)
	// Zero: the component's default.
	require.Zero(t, c.Webhook.Timeout)
	require.Zero(t, c.Webhook.BackoffBase)
	require.Zero(t, c.Webhook.BackoffMax)
	require.Zero(t, c.ReplyTokenTTL)
	require.Nil(t, c.ReplyTokenSecret, "no reply key unless REPLY_TOKEN_SECRET: the keys live in PostgreSQL")
	require.Equal(t, 720*time.Hour, c.SessionTokenTTL, "applied here: 0 means never")
	require.Zero(t, c.JWT.JWKSRefresh)
	require.Empty(t, c.JWT.JWKSURL)
	require.Zero(t, c.Webhook.Concurrency)
	require.Empty(t, c.CORSOrigins)
	require.Zero(t, c.MaxMessageLength)
	require.Equal(t, RateLimitConfig{MessagesPerSec: 10, MessagesBurst: 20, ConnectsPerMin: 60, ConversationsPerMin: 30, EventsPerSec: 20, EventsBurst: 40}, c.RateLimit)
	require.Zero(t, c.AuthFailuresPerIP)
	require.Zero(t, c.AuthBlockDuration)
	require.Zero(t, c.MaxConnections)
	require.Zero(t, c.ConnectTimeout)
	require.Equal(t, "json", c.LogFormat)
	require.Empty(t, c.TrustedProxies)
	require.Zero(t, c.MaxSocketsPerIdentity)
	require.Empty(t, c.TLSCertFile)
	require.Empty(t, c.TLSKeyFile)
	require.False(t, c.TLSEnabled())
	require.Equal(t, 15*time.Second, c.ShutdownTimeout)
	require.Equal(t, "info", c.LogLevel)
	require.Equal(t, "json", c.LogFormat)
	require.Equal(t, slog.LevelInfo, c.SlogLevel())
}

func TestEveryVariable(t *testing.T) {
	t.Parallel()
	pem := writeFile(t, "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n")
	cert := writeFile(t, "cert")
	key := writeFile(t, "key")

	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"HTTP_ADDR", map[string]string{"HTTP_ADDR": "127.0.0.1:8080"}, func(t *testing.T, c Config) {
			require.Equal(t, "127.0.0.1:8080", c.HTTPAddr)
		}},
		{"PUBLIC_URL trailing slash", map[string]string{"PUBLIC_URL": "https://chat.example.com/"}, func(t *testing.T, c Config) {
			require.Equal(t, "https://chat.example.com", c.PublicURL)
		}},
		{"PUBLIC_URL with path", map[string]string{"PUBLIC_URL": "https://example.com/chat//"}, func(t *testing.T, c Config) {
			require.Equal(t, "https://example.com/chat", c.PublicURL)
		}},
		{"DATABASE_URL", map[string]string{"DATABASE_URL": "postgres://u:p@db/x"}, func(t *testing.T, c Config) {
			require.Equal(t, "postgres://u:p@db/x", c.DatabaseURL)
		}},
		{"MIGRATE_ON_START", map[string]string{"MIGRATE_ON_START": "false"}, func(t *testing.T, c Config) {
			require.False(t, c.MigrateOnStart)
		}},
		{"MIGRATE_ON_START 0", map[string]string{"MIGRATE_ON_START": "0"}, func(t *testing.T, c Config) {
			require.False(t, c.MigrateOnStart)
		}},
		{"WEB_UI", map[string]string{"WEB_UI": "false"}, func(t *testing.T, c Config) {
			require.False(t, c.WebUI)
		}},
		{"JWT_PUBLIC_KEY_FILE without secret", map[string]string{"JWT_SECRET": "", "JWT_PUBLIC_KEY_FILE": pem}, func(t *testing.T, c Config) {
			require.Equal(t, pem, c.JWT.PublicKeyFile)
			require.Contains(t, string(c.JWT.PublicKeyPEM), "BEGIN PUBLIC KEY")
			require.Nil(t, c.JWT.Secret)
			require.Nil(t, c.ReplyTokenSecret)
		}},
		{"JWT_PUBLIC_KEY_FILE and secret", map[string]string{"JWT_PUBLIC_KEY_FILE": pem}, func(t *testing.T, c Config) {
			require.NotEmpty(t, c.JWT.PublicKeyPEM)
			require.Equal(t, []byte(testJWTSecret), c.JWT.Secret)
		}},
		{"JWT_SECRET kept verbatim", map[string]string{"JWT_SECRET": " spaced 0123456789abcdef0123456789 "}, func(t *testing.T, c Config) {
			require.Equal(t, []byte(" spaced 0123456789abcdef0123456789 "), c.JWT.Secret)
		}},
		{"JWT_ISSUER JWT_AUDIENCE", map[string]string{"JWT_ISSUER": "iss", "JWT_AUDIENCE": "aud"}, func(t *testing.T, c Config) {
			require.Equal(t, "iss", c.JWT.Issuer)
			require.Equal(t, "aud", c.JWT.Audience)
		}},
		{"JWT_ROLES_CLAIM", map[string]string{"JWT_ROLES_CLAIM": "realm_roles"}, func(t *testing.T, c Config) {
			require.Equal(t, "realm_roles", c.JWT.RolesClaim)
		}},
		{"TECNICO_ROLES", map[string]string{"TECNICO_ROLES": " support , ,ops,"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"support", "ops"}, c.JWT.TecnicoRoles)
		}},
		{"N8N_WEBHOOK_URL https", map[string]string{"N8N_WEBHOOK_URL": "https://n8n.example.com/webhook/x"}, func(t *testing.T, c Config) {
			require.Equal(t, "https://n8n.example.com/webhook/x", c.Webhook.URL)
		}},
		{"N8N_WEBHOOK_URL http localhost", map[string]string{"N8N_WEBHOOK_URL": "http://localhost:5678/webhook/x"}, func(t *testing.T, c Config) {
			require.Equal(t, "http://localhost:5678/webhook/x", c.Webhook.URL)
		}},
		{"N8N_WEBHOOK_URL http 127.x", map[string]string{"N8N_WEBHOOK_URL": "http://127.3.4.5/x"}, func(t *testing.T, c Config) {
			require.Equal(t, "http://127.3.4.5/x", c.Webhook.URL)
		}},
		{"N8N_WEBHOOK_URL http ::1", map[string]string{"N8N_WEBHOOK_URL": "http://[::1]:5678/x"}, func(t *testing.T, c Config) {
			require.Equal(t, "http://[::1]:5678/x", c.Webhook.URL)
		}},
		{"WEBHOOK_ALLOW_HTTP", map[string]string{"N8N_WEBHOOK_URL": "http://n8n:5678/x", "WEBHOOK_ALLOW_HTTP": "true"}, func(t *testing.T, c Config) {
			require.True(t, c.Webhook.AllowHTTP)
			require.Equal(t, "http://n8n:5678/x", c.Webhook.URL)
		}},
		{"N8N_WEBHOOK_SECRET", map[string]string{"N8N_WEBHOOK_SECRET": testHookSecret}, func(t *testing.T, c Config) {
			require.Equal(t, testHookSecret, c.Webhook.Secret)
			require.Equal(t, []byte(testHookKey), c.Webhook.SecretKey)
			require.Nil(t, c.ReplyTokenSecret, "never derived from the webhook or JWT secret")
		}},
		{"no reply secret from webhook secret", map[string]string{"JWT_SECRET": "", "JWT_PUBLIC_KEY_FILE": pem, "N8N_WEBHOOK_SECRET": testHookSecret}, func(t *testing.T, c Config) {
			require.Nil(t, c.ReplyTokenSecret)
		}},
		{"JWT_JWKS_URL without secret", map[string]string{"JWT_SECRET": "", "JWT_JWKS_URL": "https://idp.example/realms/acme/protocol/openid-connect/certs", "JWT_JWKS_REFRESH": "5m"}, func(t *testing.T, c Config) {
			require.Equal(t, "https://idp.example/realms/acme/protocol/openid-connect/certs", c.JWT.JWKSURL)
			require.Equal(t, 5*time.Minute, c.JWT.JWKSRefresh)
		}},
		{"JWT_JWKS_URL http loopback", map[string]string{"JWT_JWKS_URL": "http://127.0.0.1:8080/certs"}, func(t *testing.T, c Config) {
			require.Equal(t, "http://127.0.0.1:8080/certs", c.JWT.JWKSURL)
		}},
		{"SESSION_TOKEN_TTL", map[string]string{"SESSION_TOKEN_TTL": "2h"}, func(t *testing.T, c Config) {
			require.Equal(t, 2*time.Hour, c.SessionTokenTTL)
		}},
		{"SESSION_TOKEN_TTL 0 never", map[string]string{"SESSION_TOKEN_TTL": "0"}, func(t *testing.T, c Config) {
			require.Zero(t, c.SessionTokenTTL)
		}},
		{"REPLY_TOKEN_SECRET", map[string]string{"REPLY_TOKEN_SECRET": testReplySecret, "N8N_WEBHOOK_SECRET": testHookSecret}, func(t *testing.T, c Config) {
			require.Equal(t, []byte(testReplySecret), c.ReplyTokenSecret)
		}},
		{"N8N_WEBHOOK_AUTH_HEADER", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": "x-n8n-key:  " + testAuthValue + " "}, func(t *testing.T, c Config) {
			require.Equal(t, "X-N8n-Key", c.Webhook.AuthHeaderName)
			require.Equal(t, testAuthValue, c.Webhook.AuthHeaderValue)
		}},
		{"N8N_WEBHOOK_AUTH_HEADER value with colon", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": "Authorization: Basic a:b"}, func(t *testing.T, c Config) {
			require.Equal(t, "Authorization", c.Webhook.AuthHeaderName)
			require.Equal(t, "Basic a:b", c.Webhook.AuthHeaderValue)
		}},
		{"WEBHOOK_CONCURRENCY", map[string]string{"WEBHOOK_CONCURRENCY": "4"}, func(t *testing.T, c Config) {
			require.Equal(t, 4, c.Webhook.Concurrency)
		}},
		{"WEBHOOK_MAX_ATTEMPTS", map[string]string{"WEBHOOK_MAX_ATTEMPTS": "3"}, func(t *testing.T, c Config) {
			require.Equal(t, 3, c.Webhook.MaxAttempts)
		}},
		{"WEBHOOK_TIMEOUT", map[string]string{"WEBHOOK_TIMEOUT": "2s"}, func(t *testing.T, c Config) {
			require.Equal(t, 2*time.Second, c.Webhook.Timeout)
		}},
		{"WEBHOOK_BACKOFF", map[string]string{"WEBHOOK_BACKOFF_BASE": "100ms", "WEBHOOK_BACKOFF_MAX": "100ms"}, func(t *testing.T, c Config) {
			require.Equal(t, 100*time.Millisecond, c.Webhook.BackoffBase)
			require.Equal(t, 100*time.Millisecond, c.Webhook.BackoffMax)
		}},
		{"REPLY_TOKEN_TTL", map[string]string{"REPLY_TOKEN_TTL": "90m"}, func(t *testing.T, c Config) {
			require.Equal(t, 90*time.Minute, c.ReplyTokenTTL)
		}},
		{"CORS_ORIGINS", map[string]string{"CORS_ORIGINS": " https://a.example.com, ,http://localhost:8080/,"}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"https://a.example.com", "http://localhost:8080"}, c.CORSOrigins)
		}},
		{"CORS_ORIGINS star", map[string]string{"CORS_ORIGINS": " * "}, func(t *testing.T, c Config) {
			require.Equal(t, []string{"*"}, c.CORSOrigins)
		}},
		{"MAX_MESSAGE_LENGTH", map[string]string{"MAX_MESSAGE_LENGTH": "10"}, func(t *testing.T, c Config) {
			require.Equal(t, 10, c.MaxMessageLength)
		}},
		{"rate limits", map[string]string{
			"RATE_LIMIT_MESSAGES_PER_SEC": "0.5", "RATE_LIMIT_MESSAGES_BURST": "3",
			"RATE_LIMIT_CONNECTS_PER_MIN": "7", "RATE_LIMIT_CONVERSATIONS_PER_MIN": "8",
			"RATE_LIMIT_EVENTS_PER_SEC": "2.5", "RATE_LIMIT_EVENTS_BURST": "4",
		}, func(t *testing.T, c Config) {
			require.Equal(t, RateLimitConfig{MessagesPerSec: 0.5, MessagesBurst: 3, ConnectsPerMin: 7, ConversationsPerMin: 8, EventsPerSec: 2.5, EventsBurst: 4}, c.RateLimit)
		}},
		{"edge limits", map[string]string{
			"AUTH_FAILURES_PER_IP": "3", "AUTH_BLOCK_DURATION": "2m",
			"MAX_CONNECTIONS": "50", "CONNECT_TIMEOUT": "3s",
		}, func(t *testing.T, c Config) {
			require.Equal(t, 3, c.AuthFailuresPerIP)
			require.Equal(t, 2*time.Minute, c.AuthBlockDuration)
			require.Equal(t, 50, c.MaxConnections)
			require.Equal(t, 3*time.Second, c.ConnectTimeout)
		}},
		{"rate limits disabled", map[string]string{
			"RATE_LIMIT_MESSAGES_PER_SEC": "0", "RATE_LIMIT_MESSAGES_BURST": "0",
			"RATE_LIMIT_CONNECTS_PER_MIN": "0", "RATE_LIMIT_CONVERSATIONS_PER_MIN": "0",
			"RATE_LIMIT_EVENTS_PER_SEC": "0", "RATE_LIMIT_EVENTS_BURST": "0",
		}, func(t *testing.T, c Config) {
			require.Equal(t, RateLimitConfig{}, c.RateLimit)
		}},
		{"TRUSTED_PROXIES", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1, 172.16.5.4/12,::ffff:10.1.2.3"}, func(t *testing.T, c Config) {
			require.Equal(t, []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("192.168.1.7/32"),
				netip.MustParsePrefix("fd00::/8"),
				netip.MustParsePrefix("::1/128"),
				netip.MustParsePrefix("172.16.0.0/12"),
				netip.MustParsePrefix("10.1.2.3/32"),
			}, c.TrustedProxies)
		}},
		{"MAX_SOCKETS_PER_IDENTITY", map[string]string{"MAX_SOCKETS_PER_IDENTITY": "1"}, func(t *testing.T, c Config) {
			require.Equal(t, 1, c.MaxSocketsPerIdentity)
		}},
		{"TLS", map[string]string{"TLS_CERT_FILE": cert, "TLS_KEY_FILE": key}, func(t *testing.T, c Config) {
			require.Equal(t, cert, c.TLSCertFile)
			require.Equal(t, key, c.TLSKeyFile)
			require.True(t, c.TLSEnabled())
		}},
		{"SHUTDOWN_TIMEOUT", map[string]string{"SHUTDOWN_TIMEOUT": "1m"}, func(t *testing.T, c Config) {
			require.Equal(t, time.Minute, c.ShutdownTimeout)
		}},
		{"LOG_LEVEL", map[string]string{"LOG_LEVEL": "DEBUG"}, func(t *testing.T, c Config) {
			require.Equal(t, "debug", c.LogLevel)
			require.Equal(t, slog.LevelDebug, c.SlogLevel())
		}},
		{"LOG_FORMAT", map[string]string{"LOG_FORMAT": "Text"}, func(t *testing.T, c Config) {
		}},
		{"LOG_LEVEL warn", map[string]string{"LOG_LEVEL": "warn"}, func(t *testing.T, c Config) {
			require.Equal(t, slog.LevelWarn, c.SlogLevel())
		}},
		{"LOG_LEVEL error", map[string]string{"LOG_LEVEL": "error"}, func(t *testing.T, c Config) {
			require.Equal(t, slog.LevelError, c.SlogLevel())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(env(tt.env))
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestValidationFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	cert := writeFile(t, "cert")

	tests := []struct {
		name    string
		env     map[string]string
		varName string
		want    string // substring of the message
	}{
		{"HTTP_ADDR", map[string]string{"HTTP_ADDR": "nonsense"}, "HTTP_ADDR", `got "nonsense"`},
		{"PUBLIC_URL relative", map[string]string{"PUBLIC_URL": "/chat"}, "PUBLIC_URL", "absolute"},
		{"PUBLIC_URL scheme", map[string]string{"PUBLIC_URL": "ftp://x"}, "PUBLIC_URL", "absolute"},
		{"MIGRATE_ON_START", map[string]string{"MIGRATE_ON_START": "yes please"}, "MIGRATE_ON_START", `must be a boolean`},
		{"JWT_SECRET missing", map[string]string{"JWT_SECRET": ""}, "JWT_SECRET", "required unless JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL"},
		{"JWT_JWKS_URL plain http", map[string]string{"JWT_JWKS_URL": "http://idp.example/certs"}, "JWT_JWKS_URL", "loopback"},
		{"JWT_JWKS_URL not a URL", map[string]string{"JWT_JWKS_URL": "idp.example/certs"}, "JWT_JWKS_URL", "https://"},
		{"JWT_JWKS_REFRESH", map[string]string{"JWT_JWKS_REFRESH": "0"}, "JWT_JWKS_REFRESH", ""},
		{"REPLY_TOKEN_SECRET short", map[string]string{"REPLY_TOKEN_SECRET": "short-secret"}, "REPLY_TOKEN_SECRET", "at least 32 bytes"},
		{"SESSION_TOKEN_TTL negative", map[string]string{"SESSION_TOKEN_TTL": "-1h"}, "SESSION_TOKEN_TTL", ""},
		{"JWT_PUBLIC_KEY_FILE missing", map[string]string{"JWT_PUBLIC_KEY_FILE": missing}, "JWT_PUBLIC_KEY_FILE", "cannot read"},
		{"JWT_PUBLIC_KEY_FILE dir", map[string]string{"JWT_PUBLIC_KEY_FILE": dir}, "JWT_PUBLIC_KEY_FILE", "cannot read"},
		{"JWT_PUBLIC_KEY_FILE empty", map[string]string{"JWT_PUBLIC_KEY_FILE": writeFile(t, "")}, "JWT_PUBLIC_KEY_FILE", "empty"},
		{"TECNICO_ROLES", map[string]string{"TECNICO_ROLES": " , ,"}, "TECNICO_ROLES", "at least one"},
		{"N8N_WEBHOOK_URL relative", map[string]string{"N8N_WEBHOOK_URL": "/webhook"}, "N8N_WEBHOOK_URL", "absolute"},
		{"N8N_WEBHOOK_URL scheme", map[string]string{"N8N_WEBHOOK_URL": "ftp://n8n/x"}, "N8N_WEBHOOK_URL", "absolute"},
		{"N8N_WEBHOOK_URL bad", map[string]string{"N8N_WEBHOOK_URL": "https://%zz"}, "N8N_WEBHOOK_URL", "absolute"},
		{"N8N_WEBHOOK_URL http", map[string]string{"N8N_WEBHOOK_URL": "http://n8n.example.com/x"}, "N8N_WEBHOOK_URL", "WEBHOOK_ALLOW_HTTP"},
		{"N8N_WEBHOOK_URL http localhost lookalike", map[string]string{"N8N_WEBHOOK_URL": "http://localhost.evil.com/x"}, "N8N_WEBHOOK_URL", "plain http"},
		{"N8N_WEBHOOK_URL http allow false", map[string]string{"N8N_WEBHOOK_URL": "http://10.0.0.1/x", "WEBHOOK_ALLOW_HTTP": "false"}, "N8N_WEBHOOK_URL", "plain http"},
		{"WEBHOOK_ALLOW_HTTP", map[string]string{"WEBHOOK_ALLOW_HTTP": "maybe"}, "WEBHOOK_ALLOW_HTTP", "boolean"},
		{"N8N_WEBHOOK_SECRET prefix", map[string]string{"N8N_WEBHOOK_SECRET": "aG9vay1rZXktYnl0ZXMhIQ=="}, "N8N_WEBHOOK_SECRET", "whsec_"},
		{"N8N_WEBHOOK_SECRET base64", map[string]string{"N8N_WEBHOOK_SECRET": "whsec_not*base64!"}, "N8N_WEBHOOK_SECRET", "base64"},
		{"N8N_WEBHOOK_SECRET empty key", map[string]string{"N8N_WEBHOOK_SECRET": "whsec_"}, "N8N_WEBHOOK_SECRET", "empty"},
		{"N8N_WEBHOOK_AUTH_HEADER no colon", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": "X-Key " + testAuthValue}, "N8N_WEBHOOK_AUTH_HEADER", "Name: value"},
		{"N8N_WEBHOOK_AUTH_HEADER bad name", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": "X Key: " + testAuthValue}, "N8N_WEBHOOK_AUTH_HEADER", "token"},
		{"N8N_WEBHOOK_AUTH_HEADER empty name", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": ": " + testAuthValue}, "N8N_WEBHOOK_AUTH_HEADER", "token"},
		{"N8N_WEBHOOK_AUTH_HEADER empty value", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": "X-Key:  "}, "N8N_WEBHOOK_AUTH_HEADER", "empty"},
		{"N8N_WEBHOOK_AUTH_HEADER ctl value", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": "X-Key: " + testAuthValue + "\x01x"}, "N8N_WEBHOOK_AUTH_HEADER", "control"},
		{"N8N_WEBHOOK_AUTH_HEADER reserved", map[string]string{"N8N_WEBHOOK_AUTH_HEADER": "webhook-signature: " + testAuthValue}, "N8N_WEBHOOK_AUTH_HEADER", "cannot be replaced"},
		{"WEBHOOK_CONCURRENCY 0", map[string]string{"WEBHOOK_CONCURRENCY": "0"}, "WEBHOOK_CONCURRENCY", "positive integer"},
		{"WEBHOOK_MAX_ATTEMPTS abc", map[string]string{"WEBHOOK_MAX_ATTEMPTS": "abc"}, "WEBHOOK_MAX_ATTEMPTS", `must be a positive integer, got "abc"`},
		{"WEBHOOK_MAX_ATTEMPTS 0", map[string]string{"WEBHOOK_MAX_ATTEMPTS": "0"}, "WEBHOOK_MAX_ATTEMPTS", "positive integer"},
		{"WEBHOOK_TIMEOUT", map[string]string{"WEBHOOK_TIMEOUT": "10"}, "WEBHOOK_TIMEOUT", "duration"},
		{"WEBHOOK_TIMEOUT negative", map[string]string{"WEBHOOK_TIMEOUT": "-1s"}, "WEBHOOK_TIMEOUT", "positive duration"},
		{"WEBHOOK_BACKOFF_BASE", map[string]string{"WEBHOOK_BACKOFF_BASE": "0s"}, "WEBHOOK_BACKOFF_BASE", "positive duration"},
		{"WEBHOOK_BACKOFF_MAX", map[string]string{"WEBHOOK_BACKOFF_MAX": "forever"}, "WEBHOOK_BACKOFF_MAX", "duration"},
		{"WEBHOOK_BACKOFF_BASE > MAX", map[string]string{"WEBHOOK_BACKOFF_BASE": "2m", "WEBHOOK_BACKOFF_MAX": "1m"}, "WEBHOOK_BACKOFF_BASE", "WEBHOOK_BACKOFF_MAX"},
		{"REPLY_TOKEN_TTL", map[string]string{"REPLY_TOKEN_TTL": "1d"}, "REPLY_TOKEN_TTL", "duration"},
		{"CORS_ORIGINS star mixed", map[string]string{"CORS_ORIGINS": "*,https://a.example.com"}, "CORS_ORIGINS", "only origin"},
		{"CORS_ORIGINS bad", map[string]string{"CORS_ORIGINS": "a.example.com"}, "CORS_ORIGINS", "scheme://host"},
		{"CORS_ORIGINS path", map[string]string{"CORS_ORIGINS": "https://a.example.com/app"}, "CORS_ORIGINS", "scheme://host"},
		{"MAX_MESSAGE_LENGTH", map[string]string{"MAX_MESSAGE_LENGTH": "0"}, "MAX_MESSAGE_LENGTH", "positive integer"},
		{"MAX_MESSAGE_LENGTH text", map[string]string{"MAX_MESSAGE_LENGTH": "lots"}, "MAX_MESSAGE_LENGTH", "positive integer"},
		{"RATE_LIMIT_MESSAGES_PER_SEC", map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "-1"}, "RATE_LIMIT_MESSAGES_PER_SEC", "non-negative"},
		{"RATE_LIMIT_MESSAGES_PER_SEC NaN", map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "NaN"}, "RATE_LIMIT_MESSAGES_PER_SEC", "non-negative"},
		{"RATE_LIMIT_MESSAGES_PER_SEC Inf", map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "+Inf"}, "RATE_LIMIT_MESSAGES_PER_SEC", "non-negative"},
		{"RATE_LIMIT_MESSAGES_BURST", map[string]string{"RATE_LIMIT_MESSAGES_BURST": "x"}, "RATE_LIMIT_MESSAGES_BURST", "non-negative integer"},
		{"RATE_LIMIT_MESSAGES_BURST zero with rate", map[string]string{"RATE_LIMIT_MESSAGES_BURST": "0"}, "RATE_LIMIT_MESSAGES_BURST", "at least 1"},
		{"RATE_LIMIT_CONNECTS_PER_MIN", map[string]string{"RATE_LIMIT_CONNECTS_PER_MIN": "-5"}, "RATE_LIMIT_CONNECTS_PER_MIN", "non-negative integer"},
		{"RATE_LIMIT_CONVERSATIONS_PER_MIN", map[string]string{"RATE_LIMIT_CONVERSATIONS_PER_MIN": "1.5"}, "RATE_LIMIT_CONVERSATIONS_PER_MIN", "non-negative integer"},
		{"TRUSTED_PROXIES", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}, "TRUSTED_PROXIES", `got "not-an-ip"`},
		{"TRUSTED_PROXIES bad prefix", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES", "CIDR"},
		{"MAX_SOCKETS_PER_IDENTITY", map[string]string{"MAX_SOCKETS_PER_IDENTITY": "-1"}, "MAX_SOCKETS_PER_IDENTITY", "positive integer"},
		{"TLS cert only", map[string]string{"TLS_CERT_FILE": cert}, "TLS_KEY_FILE", "TLS_CERT_FILE"},
		{"TLS key only", map[string]string{"TLS_KEY_FILE": cert}, "TLS_CERT_FILE", "TLS_KEY_FILE"},
		{"TLS cert unreadable", map[string]string{"TLS_CERT_FILE": missing, "TLS_KEY_FILE": cert}, "TLS_CERT_FILE", "cannot read"},
		{"TLS key unreadable", map[string]string{"TLS_CERT_FILE": cert, "TLS_KEY_FILE": missing}, "TLS_KEY_FILE", "cannot read"},
		{"SHUTDOWN_TIMEOUT", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT", "duration"},
		{"LOG_LEVEL", map[string]string{"LOG_LEVEL": "verbose"}, "LOG_LEVEL", `got "verbose"`},
		{"JWT_SECRET short", map[string]string{"JWT_SECRET": "a"}, "JWT_SECRET", "at least 32 bytes"},
		{"JWT_SECRET 31 bytes", map[string]string{"JWT_SECRET": strings.Repeat("k", 31)}, "JWT_SECRET", "at least 32 bytes"},
		{"REPLY_TOKEN_SECRET short", map[string]string{"REPLY_TOKEN_SECRET": "short"}, "REPLY_TOKEN_SECRET", "at least 32 bytes"},
		{"RATE_LIMIT_EVENTS_BURST zero with rate", map[string]string{"RATE_LIMIT_EVENTS_BURST": "0"}, "RATE_LIMIT_EVENTS_BURST", "at least 1"},
		{"MAX_CONNECTIONS", map[string]string{"MAX_CONNECTIONS": "0"}, "MAX_CONNECTIONS", "positive"},
		{"CONNECT_TIMEOUT", map[string]string{"CONNECT_TIMEOUT": "soon"}, "CONNECT_TIMEOUT", "positive duration"},
		{"AUTH_FAILURES_PER_IP", map[string]string{"AUTH_FAILURES_PER_IP": "-1"}, "AUTH_FAILURES_PER_IP", "positive"},
		{"AUTH_BLOCK_DURATION", map[string]string{"AUTH_BLOCK_DURATION": "0"}, "AUTH_BLOCK_DURATION", "positive"},
		{"LOG_FORMAT", map[string]string{"LOG_FORMAT": "logfmt"}, "LOG_FORMAT", `got "logfmt"`},
	}
	secrets := []string{testJWTSecret, testReplySecret, testAuthValue, "aG9vay1rZXktYnl0ZXMhIQ", "not*base64", testHookKey}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := map[string]string{"REPLY_TOKEN_SECRET": testReplySecret}
			for k, v := range tt.env {
				m[k] = v
			}
			_, err := Load(env(m))
			require.Error(t, err)
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, tt.varName+": "), "error %q does not start with %s", msg, tt.varName)
			require.Equal(t, tt.varName, VariableOf(err))
			require.Contains(t, msg, tt.want)
			require.NotContains(t, msg, "\n")
			for _, s := range secrets {
				require.NotContains(t, msg, s)
			}
		})
	}
}

func TestVariableOfOtherError(t *testing.T) {
	t.Parallel()
	require.Empty(t, VariableOf(fmt.Errorf("x")))
}

func TestLogValueRedactsSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		env    map[string]string
		hidden []string
	}{
		{"url form", map[string]string{
			"DATABASE_URL":            "postgres://chat:" + testDBPassword + "@db:5432/chatgw?sslmode=require",
			"N8N_WEBHOOK_URL":         "https://user:" + testDBPassword + "x@n8n.example.com/webhook/x",
			"N8N_WEBHOOK_SECRET":      testHookSecret,
			"N8N_WEBHOOK_AUTH_HEADER": "X-Key: " + testAuthValue,
			"REPLY_TOKEN_SECRET":      testReplySecret,
		}, []string{testJWTSecret, testDBPassword, "aG9vay1rZXktYnl0ZXMhIQ", testHookKey, testAuthValue, testReplySecret}},
		{"query password", map[string]string{
			"DATABASE_URL": "postgres://db/chatgw?user=chat&password=" + testDBPassword,
		}, []string{testJWTSecret, testDBPassword}},
		{"keyword form", map[string]string{
			"DATABASE_URL": "host=db user=chat password=" + testDBPassword + " dbname=chatgw",
		}, []string{testJWTSecret, testDBPassword}},
		{"keyword form quoted", map[string]string{
			"DATABASE_URL": "host=db password = '" + testDBPassword + " with space' dbname=chatgw",
		}, []string{testJWTSecret, testDBPassword, "with space"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(env(tt.env))
			require.NoError(t, err)

			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
			out := buf.String()
			require.Contains(t, out, `"secret":"[REDACTED]"`)
			if tt.env["REPLY_TOKEN_SECRET"] != "" {
				require.Contains(t, out, `"reply_token_secret":"[REDACTED]"`)
			}
			require.Contains(t, out, `"max_message_length":0`, "non-secret fields kept")
			require.Contains(t, out, "chatgw", "non-secret parts kept")
			for _, s := range tt.hidden {
				require.NotContains(t, out, s)
				require.NotContains(t, c.String(), s)
				require.NotContains(t, fmt.Sprintf("%v %+v %#v %s", c, c, c, c), s)
			}
		})
	}
}

func TestClusterVariables(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"JWT_SECRET": strings.Repeat("k", 32)}))
	require.NoError(t, err)
	require.Equal(t, "postgres", c.ClusterBus)
	require.Regexp(t, `^[A-Za-z0-9._-]+-[0-9a-f]{8}$`, c.NodeID)
	c2, err := Load(env(map[string]string{"JWT_SECRET": strings.Repeat("k", 32)}))
	require.NoError(t, err)
	require.NotEqual(t, c.NodeID, c2.NodeID, "two processes on one host get different ids")

	c, err = Load(env(map[string]string{"JWT_SECRET": strings.Repeat("k", 32), "CLUSTER_BUS": "off", "NODE_ID": "gw-1"}))
	require.NoError(t, err)
	require.Equal(t, "off", c.ClusterBus)
	require.Equal(t, "gw-1", c.NodeID)

	_, err = Load(env(map[string]string{"JWT_SECRET": strings.Repeat("k", 32), "CLUSTER_BUS": "redis"}))
	require.ErrorContains(t, err, "CLUSTER_BUS")
	_, err = Load(env(map[string]string{"JWT_SECRET": strings.Repeat("k", 32), "NODE_ID": "a b"}))
	require.ErrorContains(t, err, "NODE_ID")
}

// The webhook URL's path and query are n8n's secret: the start-up line
// shows its origin only (contract §6).
func TestLogValueShowsWebhookOriginOnly(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"N8N_WEBHOOK_URL": "https://n8n.example.com:8443/webhook/5f0c-secret-path?token=hush"}))
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting chatgw", "config", c)
	require.Contains(t, buf.String(), `"url":"https://n8n.example.com:8443"`)
	require.NotContains(t, buf.String(), "secret-path")
	require.NotContains(t, buf.String(), "hush")
	require.Equal(t, "[REDACTED]", URLOrigin("://bad"))
}
