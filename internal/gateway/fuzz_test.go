package gateway

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/payload"
)

var handshakeConv = uuid.MustParse("0193f8a4-1c2b-7d3e-8f40-123456789abc")

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"token":"a.b.c"}`, `{"token":""}`, `{"token":null,"conversationId":"0193f8a4-1c2b-7d3e-8f40-123456789abc","session_token":"x"}`,
		`{"token":5}`, `{"token":"t","conversationId":"nope"}`, `{"conversationId":"0193f8a4-1c2b-7d3e-8f40-123456789abc"}`,
		`{"session_token":"x"}`, `{"conversationId":"0193f8a4-1c2b-7d3e-8f40-123456789abc","session_token":"x","lastSeq":-1}`,
		`{"token":"t","lastSeq":1.5}`, `{"token":"t","lastSeq":"2"}`, `{"token":"t","lastSeq":1e19}`,
		`{"content":"hi","clientMessageId":"c"}`, `{"conversationId":"0193f8a4-1c2b-7d3e-8f40-123456789abc","content":"x"}`,
		`{"afterSeq":2,"limit":200}`, `{"limit":0}`, `{"typing":false}`, `{"typing":1}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseAuth: the handshake auth decoder never panics, fails only with
// a contract code, and what it accepts is well formed.
func FuzzParseAuth(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var auth map[string]any
		if json.Unmarshal(data, &auth) != nil {
			return
		}
		req, err := parseAuth(auth)
		if err != nil {
			switch chat.ErrorCode(err) {
			case chat.CodeUnauthorized, chat.CodeTokenInvalid, chat.CodeSessionInvalid, chat.CodeValidationFailed:
				return
			default:
				t.Fatalf("unexpected code for %s: %v", data, err)
			}
		}
		if req.token == "" && (req.conversationID == uuid.Nil || req.sessionToken == "") {
			t.Fatalf("accepted %s without credentials", data)
		}
		if req.lastSeq != nil && *req.lastSeq < 0 {
			t.Fatalf("accepted negative lastSeq from %s", data)
		}
	})
}

// FuzzEventPayloads runs every client event's decoder on arbitrary JSON.
func FuzzEventPayloads(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(err error) {
			if err != nil && chat.ErrorCode(err) != chat.CodeValidationFailed {
				t.Fatalf("decoder error for %s is not VALIDATION_FAILED: %v", data, err)
			}
		}
		fresh := func() *payload.Object {
			p, err := payload.FromJSON(data)
			check(err)
			return p
		}
		if fresh() == nil {
			return
		}
		for _, tech := range []bool{false, true} {
			in, err := decodeSend(fresh(), handshakeConv, tech)
			check(err)
			if err == nil && in.ConversationID == uuid.Nil && !tech {
				t.Fatal("send without a conversation")
			}
		}
		h, err := decodeHistory(fresh(), handshakeConv)
		check(err)
		if err == nil && (h.AfterSeq < 0 || h.Limit < 0 || h.Limit > chat.MaxHistoryLimit) {
			t.Fatalf("history input out of range: %+v", h)
		}
		conv, _, err := decodeTyping(fresh(), handshakeConv)
		check(err)
		if err == nil && conv == uuid.Nil {
			t.Fatal("typing without a conversation")
		}
		id, err := decodeConversationID(fresh())
		check(err)
		if err == nil && id == uuid.Nil {
			t.Fatal("join without a conversation")
		}
	})
}
