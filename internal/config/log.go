package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

const redacted = "[REDACTED]"

// secret shows whether a secret is set, never its value.
func secret(set bool) string {
	if set {
		return redacted
	}
	return ""
}

// LogValue implements slog.LogValuer: the configuration with every secret
// (JWT secret, webhook secret, auth header value, reply-token secret, the
// passwords of DATABASE_URL and N8N_WEBHOOK_URL) redacted.
func (c Config) LogValue() slog.Value {
	proxies := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		proxies[i] = p.String()
	}
	return slog.GroupValue(
		slog.String("http_addr", c.HTTPAddr),
		slog.String("public_url", c.PublicURL),
		slog.String("database_url", RedactDatabaseURL(c.DatabaseURL)),
		slog.Bool("migrate_on_start", c.MigrateOnStart),
		slog.Bool("web_ui", c.WebUI),
		slog.Group("jwt",
			slog.String("secret", secret(len(c.JWT.Secret) > 0)),
			slog.String("public_key_file", c.JWT.PublicKeyFile),
			slog.String("jwks_url", redactURL(c.JWT.JWKSURL)),
			slog.String("jwks_refresh", c.JWT.JWKSRefresh.String()),
			slog.String("issuer", c.JWT.Issuer),
			slog.String("audience", c.JWT.Audience),
			slog.String("roles_claim", c.JWT.RolesClaim),
			slog.Any("tecnico_roles", c.JWT.TecnicoRoles),
		),
		slog.Group("webhook",
			slog.String("url", URLOrigin(c.Webhook.URL)),
			slog.String("secret", secret(c.Webhook.Secret != "" || len(c.Webhook.SecretKey) > 0)),
			slog.String("auth_header_name", c.Webhook.AuthHeaderName),
			slog.String("auth_header_value", secret(c.Webhook.AuthHeaderValue != "")),
			slog.Bool("allow_http", c.Webhook.AllowHTTP),
			slog.Int("max_attempts", c.Webhook.MaxAttempts),
			slog.String("timeout", c.Webhook.Timeout.String()),
			slog.String("backoff_base", c.Webhook.BackoffBase.String()),
			slog.String("backoff_max", c.Webhook.BackoffMax.String()),
		),
		slog.String("reply_token_ttl", c.ReplyTokenTTL.String()),
		slog.String("reply_token_secret", secret(len(c.ReplyTokenSecret) > 0)),
		slog.String("session_token_ttl", c.SessionTokenTTL.String()),
		slog.Any("cors_origins", c.CORSOrigins),
		slog.Int("max_message_length", c.MaxMessageLength),
		slog.Group("rate_limit",
			slog.Float64("messages_per_sec", c.RateLimit.MessagesPerSec),
			slog.Int("messages_burst", c.RateLimit.MessagesBurst),
			slog.Int("connects_per_min", c.RateLimit.ConnectsPerMin),
			slog.Int("conversations_per_min", c.RateLimit.ConversationsPerMin),
			slog.Float64("events_per_sec", c.RateLimit.EventsPerSec),
			slog.Int("events_burst", c.RateLimit.EventsBurst),
		),
		slog.Any("trusted_proxies", proxies),
		slog.Int("max_sockets_per_identity", c.MaxSocketsPerIdentity),
		slog.Int("auth_failures_per_ip", c.AuthFailuresPerIP),
		slog.String("auth_block_duration", c.AuthBlockDuration.String()),
		slog.Int("max_connections", c.MaxConnections),
		slog.String("connect_timeout", c.ConnectTimeout.String()),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
		slog.Int("send_batch_max", c.SendBatchMax),
		slog.String("send_batch_wait", c.SendBatchWait.String()),
		slog.String("pprof_addr", c.PprofAddr),
		slog.String("cluster_bus", c.ClusterBus),
		slog.String("node_id", c.NodeID),
	)
}

// String is the redacted configuration, so that fmt's %v and %+v never
// print a secret.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("{")
	for i, a := range c.LogValue().Group() {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%v", a.Key, a.Value)
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, for %#v.
func (c Config) GoString() string { return "config.Config" + c.String() }

// SlogLevel returns LogLevel as a slog.Level (info for anything unknown).
func (c Config) SlogLevel() slog.Level { return slogLevel(c.LogLevel) }

func slogLevel(level string) slog.Level {
	switch level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// TLSEnabled reports whether HTTPS/WSS is configured.
func (c Config) TLSEnabled() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)

// RedactDatabaseURL hides the password of a PostgreSQL URL or keyword/value
// connection string.
func RedactDatabaseURL(s string) string {
	if strings.Contains(s, "://") {
		r := redactURL(s)
		// A password may also be passed as a query parameter.
		if u, err := url.Parse(r); err == nil {
			q := u.Query()
			if q.Has("password") {
				q.Set("password", "xxxxx")
				u.RawQuery = q.Encode()
				r = u.String()
			}
		}
		return r
	}
	return dsnPassword.ReplaceAllString(s, "${1}xxxxx")
}

// URLOrigin is a URL's origin (scheme://host[:port]) only: the path and
// query of an n8n webhook URL are its secret (contract §6). An unparsable
// URL is hidden whole.
func URLOrigin(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return redacted
	}
	return u.Scheme + "://" + u.Host
}

// redactURL hides a URL's password; an unparsable URL is hidden whole
// when it may hold credentials.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return redacted
		}
		return s
	}
	return u.Redacted()
}
