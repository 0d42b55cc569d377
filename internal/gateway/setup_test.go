package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/chat/chattest"
	"github.com/chatgw/chatgw/internal/gateway"
	"github.com/chatgw/chatgw/internal/logging"
	"github.com/chatgw/chatgw/internal/metrics"
)

// env is the Socket.IO gateway alone on 127.0.0.1:0 over the in-memory
// store: no database, no River, no HTTP API. It drives sockets with the
// same client helpers as the whole-app tests (apptest.Client), and creates
// conversations through the service.
type env struct {
	apptest.Client
	Store   *chattest.Store
	Service *chat.Service
	Gateway *gateway.Gateway
	Logs    *apptest.LogBuffer
	metrics *metrics.Metrics
	users   *auth.Verifier
}

type options struct {
	service chat.ServiceConfig
	gateway func(*gateway.Config)
}

func setup(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	users, err := auth.NewVerifier(auth.VerifierConfig{Secret: []byte(apptest.JWTSecret), TecnicoRoles: []string{"tecnico", "admin"}})
	require.NoError(t, err)
	e := &env{
		Store:   chattest.NewStore(),
		Logs:    &apptest.LogBuffer{},
		metrics: metrics.New(prometheus.NewRegistry()),
		users:   users,
	}
	e.Service = chat.NewService(o.service, e.Store, nil)
	cfg := gateway.Config{
		Service:  e.Service,
		Verifier: users,
		Logger:   logging.New(e.Logs, slog.LevelDebug),
		Metrics:  e.metrics,
	}
	if o.gateway != nil {
		o.gateway(&cfg)
	}
	e.Gateway = gateway.New(cfg)
	e.Service.SetBroadcaster(e.Gateway)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", e.Gateway.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), apptest.Timeout)
		defer cancel()
		require.NoError(t, e.Gateway.Stop(ctx))
		srv.Close()
	})
	e.Client = apptest.Client{URL: srv.URL, HTTP: srv.Client()}
	return e
}

// Metrics returns the gateway's metrics.
func (e *env) Metrics() *metrics.Metrics { return e.metrics }

// Token mints a user JWT valid for an hour.
func (e *env) Token(t testing.TB, sub string, roles ...string) string {
	t.Helper()
	tok, err := auth.MintUserToken([]byte(apptest.JWTSecret), sub, roles, "roles", time.Hour, "", "", time.Now())
	require.NoError(t, err)
	return tok
}

// CreateAnonymous creates an anonymous conversation through the service.
func (e *env) CreateAnonymous(t testing.TB) apptest.Anonymous {
	t.Helper()
	c, err := e.Service.CreateConversation(context.Background(), nil, nil)
	require.NoError(t, err)
	return apptest.Anonymous{ConversationID: c.Conversation.ID.String(), SessionToken: c.SessionToken}
}

// CreateOwned creates a conversation owned by the token's subject.
func (e *env) CreateOwned(t testing.TB, token string) string {
	t.Helper()
	owner, err := e.users.Verify(token)
	require.NoError(t, err)
	c, err := e.Service.CreateConversation(context.Background(), &owner, nil)
	require.NoError(t, err)
	return c.Conversation.ID.String()
}

// Messages returns what the store holds for conversation.
func (e *env) Messages(t testing.TB, conversation string) []chat.Message {
	t.Helper()
	return e.Store.Messages(uuid.MustParse(conversation))
}
