// Package logging builds chatgw's JSON logger. Credentials are kept out of
// the code paths that log, and this package is the second line of defence:
// any attribute whose key names a credential is redacted whatever its value.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// Redacted replaces the value of a credential-bearing attribute.
const Redacted = "[REDACTED]"

// sensitiveKeys are substrings of attribute keys that carry credentials.
var sensitiveKeys = []string{"token", "secret", "password", "authorization", "cookie", "jwt"}

// New returns a JSON logger writing to w at level.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return NewFormat(w, level, "json")
}

// NewFormat returns a logger writing to w at level in format (LOG_FORMAT):
// "text" (slog's key=value lines, for people at a terminal) or JSON lines
// for anything else. Both redact alike.
func NewFormat(w io.Writer, level slog.Leveler, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func redact(_ []string, a slog.Attr) slog.Attr {
	key := strings.ToLower(a.Key)
	if strings.HasSuffix(key, "_ttl") {
		return a // a lifetime, not a credential
	}
	for _, s := range sensitiveKeys {
		if strings.Contains(key, s) {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
}

// Discard is a logger that drops everything (for tests that do not check logs).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
