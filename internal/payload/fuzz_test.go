package payload

import (
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

// FuzzFromJSON feeds arbitrary bytes through the decoder and every
// accessor: no panic, and every failure is a VALIDATION_FAILED naming
// fields.
func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"content":"hi","clientMessageId":"c-1"}`, `{"conversationId":"0193f8a4-1c2b-7d3e-8f40-123456789abc"}`,
		`{"afterSeq":3,"limit":50}`, `{"afterSeq":-1,"limit":1e300}`, `{"typing":true}`, `{"typing":"yes"}`,
		`{"metadata":{"a":[1,2,{"b":null}]}}`, `{"metadata":[]}`, `[]`, `null`, `"str"`, `{"content":"a\u0000b"}`,
		"{\"content\":\"\xff\"}", `{"content":"\ufffd"}`, `{"limit":9223372036854775807}`, `{"limit":-0}`, `{"x":` + "[[[[[[[[" + `}`,
		`{"conversationId":"{0193f8a4-1c2b-7d3e-8f40-123456789abc}"}`, `{"conversationId":12}`,
		`{"conversationId":"00000000-0000-0000-0000-000000000000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := FromJSON(data)
		if err != nil {
			requireValidation(t, err)
			return
		}
		_ = p.String("content")
		_ = p.OptionalString("clientMessageId")
		id := p.UUID("conversationId", uuid.Nil)
		_ = p.Int("afterSeq", 0)
		_ = p.Int("limit", 0)
		_ = p.Bool("typing", false)
		meta := p.Object("metadata")
		if err := p.Err(); err != nil {
			requireValidation(t, err)
			return
		}
		if p.Present("conversationId") && id == uuid.Nil {
			t.Fatalf("accepted conversationId %v as nil", p.m["conversationId"])
		}
		if s := p.String("content"); !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		if meta != nil {
			if _, err := FromJSON(meta); err != nil {
				t.Fatalf("metadata re-encoded to something that is not an object: %s", meta)
			}
		}
	})
}

func requireValidation(t *testing.T, err error) {
	t.Helper()
	ce := chat.AsError(err)
	if ce == nil || ce.Code != chat.CodeValidationFailed || len(ce.Fields) == 0 {
		t.Fatalf("error is not a VALIDATION_FAILED with fields: %#v", err)
	}
}

func TestDecoding(t *testing.T) {
	t.Parallel()
	p, err := FromJSON([]byte(`{"content":"ok","n":3,"bad":1.5,"id":"0193f8a4-1c2b-7d3e-8f40-123456789abc","urn":"urn:uuid:0193f8a4-1c2b-7d3e-8f40-123456789abc"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.String("content") != "ok" || p.Int("n", 0) != 3 || p.UUID("id", uuid.Nil) == uuid.Nil {
		t.Fatal("good fields misread")
	}
	p.Int("bad", 0)
	p.UUID("urn", uuid.Nil)
	ce := chat.AsError(p.Err())
	if ce == nil || len(ce.Fields) != 2 {
		t.Fatalf("want two field errors, got %#v", p.Err())
	}
	for _, bad := range []string{"[]", "null", "1", "\xff{}", "{"} {
		if _, err := FromJSON([]byte(bad)); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	p, _ = FromJSON([]byte("{\"content\":\"bad \ufffd\"}"))
	p.String("content")
	if p.Err() == nil {
		t.Fatal("U+FFFD accepted")
	}
}
