// Package logging builds chatgw's loggers: JSON lines for machines
// (LOG_FORMAT=json, the default) or short text lines for people reading a
// terminal (LOG_FORMAT=text). Credentials are kept out of the code paths that
// log, and this package is the second line of defence: any attribute whose
// key names a credential is redacted whatever its value.
package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Redacted replaces the value of a credential-bearing attribute.
const Redacted = "[REDACTED]"

// The values of LOG_FORMAT.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// sensitiveKeys are substrings of attribute keys that carry credentials.
var sensitiveKeys = []string{"token", "secret", "password", "authorization", "cookie", "jwt"}

// New returns a JSON logger writing to w at level.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: redact,
	}))
}

// NewFormat returns a logger in format (FormatText, else JSON as New).
func NewFormat(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	if format == FormatText {
		return NewText(w, level)
	}
	return New(w, level)
}

// NewText returns a logger of readable lines for a terminal:
//
//	14:03:07.412 INFO  chatgw listening addr=127.0.0.1:3000
//
// the time of day, the level, the message, then the attributes as
// key=value pairs (quoted when needed, groups as dotted keys).
func NewText(w io.Writer, level slog.Leveler) *slog.Logger {
	h := &textHandler{out: &textOutput{w: w}}
	// The attributes are formatted by slog's own text handler into a buffer,
	// with time, level and message left out: this handler writes those first.
	h.attrs = slog.NewTextHandler(&h.out.buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return redact(groups, a)
		},
	})
	return slog.New(h)
}

// textOutput is shared by a text logger and every logger derived from it
// (With, WithGroup), so their lines never interleave.
type textOutput struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
}

type textHandler struct {
	out   *textOutput
	attrs slog.Handler // writes the attributes into out.buf
}

func (h *textHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.attrs.Enabled(ctx, l)
}

func (h *textHandler) Handle(ctx context.Context, r slog.Record) error {
	o := h.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Reset()
	if err := h.attrs.Handle(ctx, r); err != nil {
		return err
	}
	attrs := bytes.TrimSpace(o.buf.Bytes())
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	line := make([]byte, 0, 64+len(r.Message)+len(attrs))
	line = t.AppendFormat(line, "15:04:05.000")
	line = append(line, ' ')
	line = append(line, padLevel(r.Level)...)
	line = append(line, ' ')
	line = append(line, r.Message...)
	if len(attrs) > 0 {
		line = append(line, ' ')
		line = append(line, attrs...)
	}
	line = append(line, '\n')
	_, err := o.w.Write(line)
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &textHandler{out: h.out, attrs: h.attrs.WithAttrs(as)}
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	return &textHandler{out: h.out, attrs: h.attrs.WithGroup(name)}
}

func padLevel(l slog.Level) string {
	s := l.String()
	if len(s) < 5 {
		s += strings.Repeat(" ", 5-len(s))
	}
	return s
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

// DropMessages returns l without the records whose message contains any of
// substrings. It silences a library's line that chatgw logs better itself
// (River's "Job errored", which the webhook worker reports with its cause).
func DropMessages(l *slog.Logger, substrings ...string) *slog.Logger {
	return slog.New(dropHandler{next: l.Handler(), substrings: substrings})
}

type dropHandler struct {
	next       slog.Handler
	substrings []string
}

func (h dropHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h dropHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, s := range h.substrings {
		if strings.Contains(r.Message, s) {
			return nil
		}
	}
	return h.next.Handle(ctx, r)
}

func (h dropHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return dropHandler{next: h.next.WithAttrs(as), substrings: h.substrings}
}

func (h dropHandler) WithGroup(name string) slog.Handler {
	return dropHandler{next: h.next.WithGroup(name), substrings: h.substrings}
}

// Discard is a logger that drops everything (for tests that do not check logs).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
