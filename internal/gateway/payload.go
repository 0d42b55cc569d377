package gateway

import (
	"math"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

// payload reads the fields of one client event's JSON object, collecting a
// FieldError for every field of the wrong type instead of failing on the first.
// Unknown fields are ignored (the contract says so: clients may send more).
type payload struct {
	m      map[string]any
	fields []chat.FieldError
}

// decodePayload accepts exactly one JSON object. Arrays, null, strings and
// a missing argument are VALIDATION_FAILED.
func decodePayload(args []any) (*payload, error) {
	if len(args) == 0 {
		return nil, chat.ValidationError(chat.FieldError{Field: "payload", Message: "must be a JSON object"})
	}
	m, ok := args[0].(map[string]any)
	if !ok || m == nil {
		return nil, chat.ValidationError(chat.FieldError{Field: "payload", Message: "must be a JSON object"})
	}
	return &payload{m: m}, nil
}

func (p *payload) fail(field, msg string) {
	p.fields = append(p.fields, chat.FieldError{Field: field, Message: msg})
}

// err returns the collected field errors, if any.
func (p *payload) err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return chat.ValidationError(p.fields...)
}

// present reports whether field is set to something other than null.
func (p *payload) present(field string) bool {
	v, ok := p.m[field]
	return ok && v != nil
}

// string returns a string field ("" when absent or null).
func (p *payload) string(field string) string {
	if !p.present(field) {
		return ""
	}
	s, ok := p.m[field].(string)
	if !ok {
		p.fail(field, "must be a string")
	}
	return s
}

// optionalString returns nil when the field is absent or null.
func (p *payload) optionalString(field string) *string {
	if !p.present(field) {
		return nil
	}
	s := p.string(field)
	return &s
}

// uuid returns a UUID field, or fallback when absent or null.
func (p *payload) uuid(field string, fallback uuid.UUID) uuid.UUID {
	if !p.present(field) {
		return fallback
	}
	s, ok := p.m[field].(string)
	if !ok {
		p.fail(field, "must be a UUID string")
		return uuid.Nil
	}
	id, err := parseUUID(s)
	if err != nil {
		p.fail(field, "must be a UUID string")
		return uuid.Nil
	}
	return id
}

// int returns a non-negative integer field, or fallback when absent or null.
func (p *payload) int(field string, fallback int64) int64 {
	if !p.present(field) {
		return fallback
	}
	n, ok := asInt(p.m[field])
	if !ok {
		p.fail(field, "must be an integer")
		return fallback
	}
	return n
}

// bool returns a boolean field; required says whether absence is an error.
func (p *payload) bool(field string, required bool) bool {
	if !p.present(field) {
		if required {
			p.fail(field, "is required")
		}
		return false
	}
	b, ok := p.m[field].(bool)
	if !ok {
		p.fail(field, "must be a boolean")
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

// parseUUID accepts only the canonical 36-character form: uuid.Parse also
// takes urn: and braced forms, which clients have no reason to send.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, errBadUUID
	}
	return uuid.Parse(s)
}

var errBadUUID = chat.ValidationError(chat.FieldError{Field: "id", Message: "must be a UUID string"})
