package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
	"github.com/chatgw/chatgw/internal/httpapi"
	"github.com/chatgw/chatgw/internal/logging"
	"github.com/chatgw/chatgw/internal/metrics"
)

var fuzzSecret = []byte("fuzz-secret-0123456789abcdef0123")

type fuzzAPI struct {
	api   *httpapi.API
	conv  uuid.UUID
	reply string
}

func newFuzzAPI(f *testing.F) fuzzAPI {
	store := chattest.NewStore()
	svc := chat.NewService(chat.ServiceConfig{}, store, nil)
	created, err := svc.CreateConversation(context.Background(), nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	users, err := auth.NewVerifier(auth.VerifierConfig{Secret: fuzzSecret, TecnicoRoles: []string{"tecnico"}})
	if err != nil {
		f.Fatal(err)
	}
	replies, err := auth.NewReplyTokens(auth.ReplyTokensConfig{Secret: fuzzSecret, TTL: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	reply, err := replies.Issue(created.Conversation.ID, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{
		Service: svc, Users: users, ReplyTokens: replies,
		Ready:    func(context.Context) error { return nil },
		Metrics:  http.NotFoundHandler(),
		Logger:   logging.Discard(),
		Counters: metrics.New(prometheus.NewRegistry()),
	})
	return fuzzAPI{api: api, conv: created.Conversation.ID, reply: reply}
}

// serve runs one request and checks the answer: never a 500, always JSON,
// errors in the contract's shape.
func (a fuzzAPI) serve(t *testing.T, req *http.Request) {
	rec := httptest.NewRecorder()
	a.api.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: status %d: %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %q", rec.Body)
	}
	if rec.Code >= 400 {
		e, _ := body["error"].(map[string]any)
		if code, _ := e["code"].(string); code == "" || code == string(chat.CodeInternal) {
			t.Fatalf("bad error body: %s", rec.Body)
		}
	}
}

func bodySeeds(f *testing.F) {
	for _, s := range []string{"", "{}", `{"metadata":{"plan":"pro"}}`, `{"metadata":[]}`, `{"metadata":"x"}`,
		`{"content":"hi","clientMessageId":"c1"}`, `{"content":""}`, `{"content":"a\u0000"}`, "{\"content\":\"\xff\"}",
		`{"metadata":{"a":"\u0000"}}`, `[]`, `null`, `{"content":` + "\"" + string(bytes.Repeat([]byte("é"), 5000)) + "\"}"} {
		f.Add([]byte(s))
	}
}

func FuzzCreateConversationBody(f *testing.F) {
	bodySeeds(f)
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		a.serve(t, httptest.NewRequest(http.MethodPost, "/v1/conversations", bytes.NewReader(body)))
	})
}

func FuzzPostMessageBody(f *testing.F) {
	bodySeeds(f)
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/conversations/"+a.conv.String()+"/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.reply)
		a.serve(t, req)
	})
}

func FuzzListMessagesQuery(f *testing.F) {
	for _, s := range []string{"", "afterSeq=1&limit=2", "limit=0", "limit=201", "afterSeq=-1", "afterSeq=x", "limit=1e3", "afterSeq=99999999999999999999"} {
		f.Add(s)
	}
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, query string) {
		u := &url.URL{Path: "/v1/conversations/" + a.conv.String() + "/messages", RawQuery: query}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = u
		req.RequestURI = u.RequestURI()
		req.Header.Set("Authorization", "Bearer "+a.reply)
		a.serve(t, req)
	})
}
