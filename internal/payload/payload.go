// Package payload decodes the JSON objects clients send (Socket.IO event
// payloads, handshake auth, HTTP bodies) into typed values, collecting one
// chat.FieldError per bad field rather than stopping at the first.
package payload

import (
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

// Object reads the fields of one JSON object. Unknown fields are ignored
// (the contract says so: clients may send more than is read).
type Object struct {
	m      map[string]any
	fields []chat.FieldError
}

// FromEventArgs accepts exactly one JSON object as a Socket.IO event's
// first argument. Arrays, null, strings and a missing argument are
// VALIDATION_FAILED.
func FromEventArgs(args []any) (*Object, error) {
	if len(args) == 0 {
		return nil, errNotObject
	}
	return FromValue(args[0])
}

// FromValue accepts a decoded JSON value that must be an object.
func FromValue(v any) (*Object, error) {
	m, ok := v.(map[string]any)
	if !ok || m == nil {
		return nil, errNotObject
	}
	return &Object{m: m}, nil
}

// FromJSON decodes a JSON document that must be an object, in UTF-8.
func FromJSON(data []byte) (*Object, error) {
	if !utf8.Valid(data) {
		return nil, chat.ValidationError(chat.FieldError{Field: "body", Message: "must be valid UTF-8"})
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, chat.ValidationError(chat.FieldError{Field: "body", Message: "must be valid JSON"})
	}
	return FromValue(v)
}

var errNotObject = chat.ValidationError(chat.FieldError{Field: "payload", Message: "must be a JSON object"})

func (p *Object) Fail(field, msg string) {
	p.fields = append(p.fields, chat.FieldError{Field: field, Message: msg})
}

// Err returns the collected field errors, if any.
func (p *Object) Err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return chat.ValidationError(p.fields...)
}

// Present reports whether field is set to something other than null.
func (p *Object) Present(field string) bool {
	v, ok := p.m[field]
	return ok && v != nil
}

// String returns a string field ("" when absent or null).
//
// A string holding U+FFFD is refused: JSON decoders (Go's, and the
// Socket.IO parser's) silently turn bytes that are not UTF-8 into U+FFFD,
// so the character is how invalid UTF-8 shows after decoding, and storing
// it would keep a corrupted text as if the client had meant it.
func (p *Object) String(field string) string {
	if !p.Present(field) {
		return ""
	}
	s, ok := p.m[field].(string)
	switch {
	case !ok:
		p.Fail(field, "must be a string")
	case strings.ContainsRune(s, utf8.RuneError):
		p.Fail(field, "must be valid UTF-8")
	}
	return s
}

// OptionalString returns nil when the field is absent or null.
func (p *Object) OptionalString(field string) *string {
	if !p.Present(field) {
		return nil
	}
	s := p.String(field)
	return &s
}

// UUID returns a UUID field, or fallback when absent or null; see
// ParseUUID for what is accepted.
func (p *Object) UUID(field string, fallback uuid.UUID) uuid.UUID {
	if !p.Present(field) {
		return fallback
	}
	s, ok := p.m[field].(string)
	if !ok {
		p.Fail(field, "must be a UUID string")
		return uuid.Nil
	}
	id, err := ParseUUID(s)
	if err != nil {
		p.Fail(field, "must be a UUID string")
		return uuid.Nil
	}
	return id
}

// Int returns an integer field, or fallback when absent or null.
func (p *Object) Int(field string, fallback int64) int64 {
	if !p.Present(field) {
		return fallback
	}
	n, ok := asInt(p.m[field])
	if !ok {
		p.Fail(field, "must be an integer")
		return fallback
	}
	return n
}

// Bool returns a boolean field; required says whether absence is an error.
func (p *Object) Bool(field string, required bool) bool {
	if !p.Present(field) {
		if required {
			p.Fail(field, "is required")
		}
		return false
	}
	b, ok := p.m[field].(bool)
	if !ok {
		p.Fail(field, "must be a boolean")
	}
	return b
}

// asInt accepts JSON numbers that are exact integers within int64.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 || math.IsNaN(n) {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

// ParseUUID accepts only the canonical 36-character form: uuid.Parse also
// takes urn: and braced forms, which clients have no reason to send. The
// nil UUID is refused too.
func ParseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, errBadUUID
	}
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		// Nothing chatgw names has the nil UUID, and callers would take
		// it for "absent".
		return uuid.Nil, errBadUUID
	}
	return id, nil
}

var errBadUUID = chat.ValidationError(chat.FieldError{Field: "id", Message: "must be a UUID string"})

// HasErrors reports whether any field failed so far.
func (p *Object) HasErrors() bool { return len(p.fields) > 0 }

// Object returns a nested object field re-encoded as JSON, or nil when the
// field is absent or null.
func (p *Object) Object(field string) json.RawMessage {
	if !p.Present(field) {
		return nil
	}
	m, ok := p.m[field].(map[string]any)
	if !ok {
		p.Fail(field, "must be a JSON object")
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		p.Fail(field, "must be a JSON object")
		return nil
	}
	return data
}
