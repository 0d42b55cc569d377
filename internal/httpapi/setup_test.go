package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
	"github.com/chatgw/chatgw/internal/httpapi"
	"github.com/chatgw/chatgw/internal/logging"
	"github.com/chatgw/chatgw/internal/metrics"
)

const jwtSecret = "httpapi-test-secret-0123456789abcdef"

// env is the HTTP API on 127.0.0.1:0 over the in-memory store: no
// database, no River, no Socket.IO.
type env struct {
	URL      string
	Store    *chattest.Store
	Service  *chat.Service
	Replies  *auth.ReplyTokens
	Counters *metrics.Metrics
	Logs     *logBuffer
}

// options adjust what setup builds.
type options struct {
	service chat.ServiceConfig
	api     func(*httpapi.Config)
	// server, when set, serves through httpapi.NewServer with these limits.
	server *httpapi.ServerConfig
}

func setup(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	store := chattest.NewStore()
	if o.service.Sessions == nil {
		o.service.Sessions = store
	}
	svc := chat.NewService(o.service, store, nil)
	replies, err := auth.NewReplyTokens(auth.ReplyTokensConfig{Secret: []byte("reply-" + jwtSecret), TTL: time.Hour})
	require.NoError(t, err)
	users, err := auth.NewVerifier(auth.VerifierConfig{Secret: []byte(jwtSecret), TecnicoRoles: []string{"tecnico"}})
	require.NoError(t, err)
	e := &env{
		Store:    store,
		Service:  svc,
		Replies:  replies,
		Counters: metrics.New(prometheus.NewRegistry()),
		Logs:     &logBuffer{},
	}
	cfg := httpapi.Config{
		Service:     svc,
		Users:       users,
		ReplyTokens: e.Replies,
		Ready:       func(context.Context) error { return nil },
		Metrics:     http.NotFoundHandler(),
		Logger:      logging.New(e.Logs, nil),
		Counters:    e.Counters,
	}
	if o.api != nil {
		o.api(&cfg)
	}
	srv := httptest.NewUnstartedServer(httpapi.New(cfg))
	if o.server != nil {
		srv.Config = httpapi.NewServer(srv.Config.Handler, *o.server)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// token mints a user JWT.
func (e *env) token(t *testing.T, sub string, roles ...string) string {
	t.Helper()
	tok, err := auth.MintUserToken([]byte(jwtSecret), sub, roles, "roles", time.Hour, "", "", time.Now())
	require.NoError(t, err)
	return tok
}

// reply mints conversation's reply token.
func (e *env) reply(t *testing.T, conversation uuid.UUID) string {
	t.Helper()
	tok, err := e.Replies.Issue(conversation, time.Now())
	require.NoError(t, err)
	return tok
}

// anonymous creates an anonymous conversation through the service.
func (e *env) anonymous(t *testing.T) chat.CreatedConversation {
	t.Helper()
	c, err := e.Service.CreateConversation(context.Background(), nil, nil)
	require.NoError(t, err)
	return c
}

// owned creates a conversation owned by sub through the service.
func (e *env) owned(t *testing.T, sub string) uuid.UUID {
	t.Helper()
	c, err := e.Service.CreateConversation(context.Background(), &chat.Identity{Kind: chat.IdentityUser, UserID: sub}, nil)
	require.NoError(t, err)
	return c.Conversation.ID
}

// send stores n messages in conversation as the bot.
func (e *env) send(t *testing.T, conversation uuid.UUID, n int) {
	t.Helper()
	bot := chat.Identity{Kind: chat.IdentityReplyToken, ConversationID: conversation}
	for range n {
		_, err := e.Service.SendMessage(context.Background(), bot, chat.SendInput{ConversationID: conversation, Content: "m"})
		require.NoError(t, err)
	}
}

// answer is a decoded HTTP answer.
type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// code is the error code of the answer ("" for none).
func (a answer) code() string {
	e, _ := a.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// do sends a request (bearer is the Authorization token, if any; headers
// are name, value pairs) and decodes the JSON answer.
func (e *env) do(t *testing.T, method, path, bearer, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: string(data)}
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s", data)
	require.NoError(t, json.Unmarshal(data, &a.Body), "%s", data)
	return a
}

// logBuffer is a log destination tests can read while the server writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
