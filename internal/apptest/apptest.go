// Package apptest starts a whole chatgw on 127.0.0.1:0 against a fresh
// database, and drives it with the Go Socket.IO client, for end-to-end tests.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	client "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/chatgw/chatgw/internal/app"
	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/gateway"
	"github.com/chatgw/chatgw/internal/logging"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// JWTSecret signs the test users' tokens.
const JWTSecret = "apptest-jwt-secret-0123456789abcdef"

// Timeout bounds every wait in these helpers.
const Timeout = 10 * time.Second

// Client drives a chatgw at URL over HTTP and Socket.IO. Server embeds
// one; edge tests that serve only the gateway (over an in-memory store) use
// their own.
type Client struct {
	URL string
	// HTTP is the client Do uses (HTTPClient unless a test sets one, e.g.
	// one that trusts a test certificate).
	HTTP *http.Client
}

// Server is a running chatgw.
type Server struct {
	Client
	Config      config.Config
	DatabaseURL string
	Pool        *pgxpool.Pool
	Registry    *prometheus.Registry
	Logs        *LogBuffer
	App         *app.App
}

// Start runs a gateway on a fresh database. env overrides the environment
// it is configured from (HTTP_ADDR, DATABASE_URL and JWT_SECRET have test
// defaults); the gateway stops at the end of the test.
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	return StartWith(t, env)
}

// StartWith is Start with options for what the environment does not
// configure (a short typing expiry, for one).
func StartWith(t testing.TB, env map[string]string, opts ...app.Option) *Server {
	t.Helper()
	vars := map[string]string{
		"HTTP_ADDR":  "127.0.0.1:0",
		"JWT_SECRET": JWTSecret,
		// Tests open many sockets and conversations from one IP.
		"RATE_LIMIT_CONNECTS_PER_MIN":      "0",
		"RATE_LIMIT_CONVERSATIONS_PER_MIN": "0",
		"RATE_LIMIT_EVENTS_PER_SEC":        "0",
		// Tests fail authentications on purpose; the guard's own tests
		// set a low threshold.
		"AUTH_FAILURES_PER_IP": "1000000",
		"LOG_LEVEL":            "debug",
	}
	for k, v := range env {
		vars[k] = v
	}
	// A test may put a second gateway on the first one's database.
	if vars["DATABASE_URL"] == "" {
		vars["DATABASE_URL"] = pgtest.NewDatabase(t)
	}
	dbURL := vars["DATABASE_URL"]
	cfg, err := config.Load(func(k string) string { return vars[k] })
	require.NoError(t, err)

	logs := &LogBuffer{}
	reg := prometheus.NewRegistry()
	ctx := context.Background()
	a, err := app.New(ctx, cfg, logging.New(logs, cfg.SlogLevel()), reg, opts...)
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := a.Stop(stopCtx); err != nil {
			t.Errorf("stop gateway: %v", err)
		}
	})
	pool, err := postgres.NewPool(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	scheme := "http"
	if cfg.TLSEnabled() {
		scheme = "https"
	}
	return &Server{
		Client:      Client{URL: scheme + "://" + a.Addr(), HTTP: HTTPClient},
		Config:      cfg,
		DatabaseURL: dbURL,
		Pool:        pool,
		Registry:    reg,
		Logs:        logs,
		App:         a,
	}
}

// StartCluster runs n gateways on one fresh database, as n nodes of one
// cluster (CLUSTER_BUS=postgres), named node-1..node-n.
func StartCluster(t testing.TB, n int, env map[string]string, opts ...app.Option) []*Server {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	nodes := make([]*Server, n)
	for i := range nodes {
		vars := map[string]string{"DATABASE_URL": dbURL, "NODE_ID": fmt.Sprintf("node-%d", i+1)}
		for k, v := range env {
			vars[k] = v
		}
		nodes[i] = StartWith(t, vars, opts...)
	}
	return nodes
}

// WaitStats waits until the gateway's registry satisfies cond (it wakes on
// every change of the registry, never sleeps) and returns that state.
func (s *Server) WaitStats(t testing.TB, cond func(gateway.Stats) bool) gateway.Stats {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		st, changed := s.App.Gateway().Stats()
		if cond(st) {
			return st
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for the gateway's registry; last %+v", st)
		}
	}
}

// ReplyToken returns a reply token for conversationID, issued by the
// gateway's own reply tokens (what n8n gets in a delivery).
func (s *Server) ReplyToken(t testing.TB, conversationID uuid.UUID) string {
	t.Helper()
	tok, err := s.App.ReplyTokens().Issue(conversationID, time.Now())
	require.NoError(t, err)
	return tok
}

// Metrics returns the gateway's metrics.
func (s *Server) Metrics() *metrics.Metrics { return s.App.Metrics() }

// Token mints a user JWT valid for an hour.
func (s *Server) Token(t testing.TB, sub string, roles ...string) string {
	t.Helper()
	tok, err := auth.MintUserToken([]byte(JWTSecret), sub, roles, s.Config.JWT.RolesClaim, time.Hour, s.Config.JWT.Issuer, s.Config.JWT.Audience, time.Now())
	require.NoError(t, err)
	return tok
}

// Anonymous is an anonymous conversation and its session token.
type Anonymous struct {
	ConversationID string
	SessionToken   string
}

// Auth is the handshake auth of the anonymous visitor.
func (a Anonymous) Auth() map[string]any {
	return map[string]any{"conversationId": a.ConversationID, "session_token": a.SessionToken}
}

// CreateAnonymous creates an anonymous conversation over HTTP.
func (s *Client) CreateAnonymous(t testing.TB) Anonymous {
	t.Helper()
	status, body := s.Do(t, http.MethodPost, "/v1/conversations", "", `{}`)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	return Anonymous{ConversationID: body["conversationId"].(string), SessionToken: body["session_token"].(string)}
}

// CreateOwned creates a conversation owned by the token's subject.
func (s *Client) CreateOwned(t testing.TB, token string) string {
	t.Helper()
	status, body := s.Do(t, http.MethodPost, "/v1/conversations", token, `{}`)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	return body["conversationId"].(string)
}

// Do sends an HTTP request (bearer is the Authorization token, if any) and
// decodes the JSON answer.
func (s *Client) Do(t testing.TB, method, path, bearer, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.HTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(data, &out), "%s", data)
	}
	return resp.StatusCode, out
}

// HTTPClient is the client Do uses; TLS tests replace its transport.
var HTTPClient = &http.Client{Timeout: Timeout}

// Socket is a connected Go Socket.IO client that records the events it gets.
type Socket struct {
	*client.Socket
	Events *Recorder
}

// ClientOptions returns options for one deterministic client: websocket
// only (the client otherwise picks a transport at random), no reconnection,
// a connection of its own.
func ClientOptions(auth map[string]any) *client.Options {
	opts := client.DefaultOptions()
	opts.SetTransports(types.NewSet(client.WebSocket))
	opts.SetReconnection(false)
	opts.SetForceNew(true)
	opts.SetMultiplex(false)
	opts.SetTimeout(Timeout)
	if auth != nil {
		opts.SetAuth(auth)
	}
	return opts
}

// recorded are the server → client events a Socket records.
var recorded = []string{"message", "message-saved", "error", "validation-error", "typing", "session-replaced", "disconnect", "conversation-activity", "conversation-updated"}

// Dial connects without waiting; it returns the socket and a channel that
// yields nil on connect or the connect_error.
func (s *Client) Dial(t testing.TB, opts *client.Options) (*Socket, <-chan error) {
	t.Helper()
	// Connect only once the handlers are on (a fast server can otherwise
	// answer before "connect" has a listener) and the Engine.IO connection
	// is open: the Go client (v3.0.6) sends its Socket.IO CONNECT twice when
	// the transport opens during Socket.Connect, and the server then has two
	// sockets for this one client.
	opts.SetAutoConnect(false)
	sock, err := client.Connect(s.URL+"/", opts)
	require.NoError(t, err)
	rec := NewRecorder()
	for _, ev := range recorded {
		ev := ev
		_ = sock.On(types.EventName(ev), func(args ...any) { rec.add(ev, args) })
	}
	result := make(chan error, 1)
	var once sync.Once
	_ = sock.On("connect", func(...any) { once.Do(func() { result <- nil }) })
	_ = sock.On("connect_error", func(args ...any) {
		once.Do(func() {
			if len(args) > 0 {
				if e, ok := args[0].(*types.ExtendedError); ok {
					result <- e
					return
				}
				result <- fmt.Errorf("connect_error: %v", args[0])
				return
			}
			result <- fmt.Errorf("connect_error")
		})
	})
	t.Cleanup(func() { sock.Disconnect() })
	// On polling, the CONNECT goes out from inside the open callback: the
	// Go client's polling transport runs its requests one at a time, and
	// once its first long-poll GET is queued a later POST waits behind it
	// until the server's next ping (25 s).
	if opts.Transports() != nil && opts.Transports().Len() == 1 && opts.Transports().Has(client.Polling) {
		sock.Io().Open(func(err error) {
			if err == nil {
				sock.Connect()
			}
		})
		return &Socket{Socket: sock, Events: rec}, result
	}
	opened := make(chan error, 1)
	sock.Io().Open(func(err error) { opened <- err })
	go func() {
		select {
		case err := <-opened:
			if err == nil {
				sock.Connect()
			}
			// An error opening is not the server's answer: ConnectWith
			// times out and retries.
		case <-time.After(connectAttempt):
		}
	}()
	return &Socket{Socket: sock, Events: rec}, result
}

// Connect connects with auth and waits until the server accepted it.
func (s *Client) Connect(t testing.TB, auth map[string]any) *Socket {
	t.Helper()
	sock, err := s.ConnectWith(t, func() *client.Options { return ClientOptions(auth) })
	require.NoError(t, err, "connect")
	return sock
}

// ConnectError connects with auth, expects a rejection, and returns the
// code in its data and its message.
func (s *Client) ConnectError(t testing.TB, auth map[string]any) (code string, message string) {
	t.Helper()
	sock, err := s.ConnectWith(t, func() *client.Options { return ClientOptions(auth) })
	defer sock.Disconnect()
	require.Error(t, err, "expected the handshake to be rejected")
	ext, ok := err.(*types.ExtendedError)
	require.True(t, ok, "connect_error is %T", err)
	data, _ := ext.Data.(map[string]any)
	c, _ := data["code"].(string)
	return c, ext.Message
}

// connectAttempt bounds one attempt of dialRetry.
const connectAttempt = 5 * time.Second

// ConnectWith dials with fresh options from opts until the handshake gets
// an answer, and returns the socket and nil or the connect_error. The Go client
// (v3.0.6) sometimes never sends its CONNECT packet when the transport
// opens concurrently with Socket.Connect (about 1 in 200 connects here; the
// server then has no socket at all), so an attempt that gets no answer is
// abandoned and retried. A real answer, accept or reject, is returned as is.
func (s *Client) ConnectWith(t testing.TB, opts func() *client.Options) (*Socket, error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		sock, result := s.Dial(t, opts())
		select {
		case err := <-result:
			return sock, err
		case <-time.After(connectAttempt):
			sock.Disconnect()
			if attempt == 4 {
				t.Fatal("connect timed out")
			}
		}
	}
}

// Emit sends event with payload and returns the ack body.
func (s *Socket) Emit(t testing.TB, event string, payload any) map[string]any {
	t.Helper()
	type result struct {
		args []any
		err  error
	}
	done := make(chan result, 1)
	s.Socket.Timeout(Timeout).EmitWithAck(event, payload)(func(args []any, err error) {
		done <- result{args, err}
	})
	r := <-done
	require.NoError(t, r.err, "ack of %s", event)
	require.Len(t, r.args, 1, "ack of %s", event)
	body, ok := r.args[0].(map[string]any)
	require.True(t, ok, "ack body is %T", r.args[0])
	return body
}

// Send emits client-send-message and requires success; it returns the message.
func (s *Socket) Send(t testing.TB, payload map[string]any) map[string]any {
	t.Helper()
	ack := s.Emit(t, "client-send-message", payload)
	require.Equal(t, true, ack["ok"], "%v", ack)
	return ack["message"].(map[string]any)
}

// ParseUUID parses a string id in tests.
func ParseUUID(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	require.NoError(t, err)
	return id
}
