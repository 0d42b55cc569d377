package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/webhook"
)

const (
	hookSecret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	hookAuthHeader = "X-Chatgw-Auth"
	hookAuthValue  = "n8n-header-auth-value"
)

// delivery is one request the fake n8n got.
type delivery struct {
	Header http.Header
	Raw    []byte
	Body   webhook.Body
	// SignatureErr is the result of verifying the Standard Webhooks signature.
	SignatureErr error
}

// fakeN8N is a webhook receiver the tests can make fail, answer 410 or
// 429, or take down and bring back on the same address.
type fakeN8N struct {
	t      testing.TB
	signer *webhook.Signer
	got    chan delivery
	mu     sync.Mutex
	answer func(w http.ResponseWriter, d delivery)
	addr   string
	srv    *httptest.Server
}

func newFakeN8N(t testing.TB) *fakeN8N {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hookSecret, "whsec_"))
	require.NoError(t, err)
	signer, err := webhook.NewSigner(key)
	require.NoError(t, err)
	f := &fakeN8N{t: t, signer: signer, got: make(chan delivery, 1000)}
	f.up()
	return f
}

func (f *fakeN8N) URL() string { return "http://" + f.addr + "/webhook/chat" }

func (f *fakeN8N) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		d := delivery{Header: r.Header.Clone(), Raw: raw, SignatureErr: f.signer.Verify(raw, r.Header)}
		_ = json.Unmarshal(raw, &d.Body)
		f.mu.Lock()
		answer := f.answer
		f.mu.Unlock()
		// n8n's Header Auth: a wrong or missing header is a 403.
		if r.Header.Get(hookAuthHeader) != hookAuthValue {
			w.WriteHeader(http.StatusForbidden)
		} else if answer != nil {
			answer(w, d)
		}
		f.got <- d
	})
}

// up (re)starts the receiver, on the address it had before if any.
func (f *fakeN8N) up() {
	f.t.Helper()
	addr := f.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	require.NoError(f.t, err)
	f.srv = httptest.NewUnstartedServer(f.handler())
	f.srv.Listener.Close()
	f.srv.Listener = ln
	f.srv.Start()
	f.addr = ln.Addr().String()
	f.t.Cleanup(f.srv.Close)
}

// down closes the receiver: connections to its address are refused.
func (f *fakeN8N) down() { f.srv.Close() }

func (f *fakeN8N) setAnswer(a func(w http.ResponseWriter, d delivery)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

func answerStatus(code int, headers ...string) func(http.ResponseWriter, delivery) {
	return func(w http.ResponseWriter, _ delivery) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
	}
}

func (f *fakeN8N) next(t testing.TB) delivery {
	t.Helper()
	select {
	case d := <-f.got:
		return d
	case <-time.After(apptest.Timeout):
		t.Fatal("no webhook delivery arrived")
		return delivery{}
	}
}

// webhookEnv configures a gateway for fast, observable deliveries.
func webhookEnv(f *fakeN8N, extra ...string) map[string]string {
	env := map[string]string{
		"N8N_WEBHOOK_URL":         f.URL(),
		"N8N_WEBHOOK_SECRET":      hookSecret,
		"N8N_WEBHOOK_AUTH_HEADER": hookAuthHeader + ": " + hookAuthValue,
		"WEBHOOK_BACKOFF_BASE":    "10ms",
		"WEBHOOK_BACKOFF_MAX":     "50ms",
		"WEBHOOK_TIMEOUT":         "2s",
		"PUBLIC_URL":              "https://chat.example.com",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// replyPath maps a delivery's replyUrl (on PUBLIC_URL) to the test server.
func replyPath(t testing.TB, d delivery) string {
	t.Helper()
	p, ok := strings.CutPrefix(d.Body.ReplyURL, "https://chat.example.com")
	require.True(t, ok, "replyUrl %q is not on PUBLIC_URL", d.Body.ReplyURL)
	return p
}

func riverClient(t testing.TB, pool *pgxpool.Pool) *river.Client[pgx.Tx] {
	t.Helper()
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	return c
}

// jobState is the state of the delivery job of messageID.
func jobState(t testing.TB, pool *pgxpool.Pool, messageID string) string {
	t.Helper()
	state, err := queryJobState(pool, messageID)
	require.NoError(t, err)
	return state
}

func queryJobState(pool *pgxpool.Pool, messageID string) (string, error) {
	var state string
	err := pool.QueryRow(context.Background(),
		`SELECT state FROM river_job WHERE kind = $1 AND args->>'message_id' = $2`, webhook.Kind, messageID).Scan(&state)
	return state, err
}

func waitJobState(t testing.TB, pool *pgxpool.Pool, messageID, want string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		state, err := queryJobState(pool, messageID)
		if assert.NoError(c, err) {
			assert.Equal(c, want, state)
		}
	}, apptest.Timeout, 10*time.Millisecond, "delivery of %s never became %s", messageID, want)
}

// connectAndSend connects with auth and sends payload, reconnecting when the
// connection drops right after the handshake (a transport close seen now and
// then under load on HEAD, reported separately). Sends carry a
// clientMessageId, so a resend after a lost ack cannot duplicate.
func connectAndSend(t testing.TB, s *apptest.Server, auth map[string]any, payload map[string]any) (*apptest.Socket, map[string]any) {
	t.Helper()
	if _, ok := payload["clientMessageId"]; !ok {
		payload["clientMessageId"] = fmt.Sprintf("cm-%d", time.Now().UnixNano())
	}
	for attempt := 1; ; attempt++ {
		sock := s.Connect(t, auth)
		type result struct {
			args []any
			err  error
		}
		done := make(chan result, 1)
		sock.Socket.Timeout(apptest.Timeout).EmitWithAck("client-send-message", payload)(func(args []any, err error) {
			done <- result{args, err}
		})
		r := <-done
		if r.err != nil && attempt < 5 {
			t.Logf("send attempt %d: %v; reconnecting", attempt, r.err)
			continue
		}
		require.NoError(t, r.err)
		require.Len(t, r.args, 1)
		ack, _ := r.args[0].(map[string]any)
		require.Equal(t, true, ack["ok"], "%v", ack)
		return sock, ack["message"].(map[string]any)
	}
}

// The whole path: a visitor's message reaches n8n signed, the workflow's
// reply (with the reply token, to replyUrl) appears in the visitor's
// socket, and the bot's reply is not delivered back.
func TestWebhookRoundTrip(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	s := apptest.Start(t, webhookEnv(n8n))
	anon := s.CreateAnonymous(t)
	visitor, sent := connectAndSend(t, s, anon.Auth(), map[string]any{"content": "my printer is on fire", "clientMessageId": "c-1"})

	d := n8n.next(t)
	require.NoError(t, d.SignatureErr)
	require.Equal(t, sent["id"], d.Header.Get("webhook-id"))
	require.Equal(t, "application/json", d.Header.Get("Content-Type"))
	require.Equal(t, "message.created", d.Body.Type)
	require.Equal(t, sent["id"], d.Body.MessageID.String())
	require.Equal(t, anon.ConversationID, d.Body.ConversationID.String())
	require.EqualValues(t, 1, d.Body.Seq)
	require.NotNil(t, d.Body.SocketID)
	require.Equal(t, string(visitor.Id()), *d.Body.SocketID)
	require.Equal(t, "user", string(d.Body.Sender))
	require.Nil(t, d.Body.SenderID)
	require.Equal(t, "my printer is on fire", d.Body.Content)
	require.Equal(t, "https://chat.example.com/v1/conversations/"+anon.ConversationID+"/messages", d.Body.ReplyURL)
	require.NotContains(t, string(d.Raw), anon.SessionToken, "the session token is never sent")

	// The workflow answers through replyUrl with the reply token.
	path := replyPath(t, d)
	reply := `{"content":"Unplug it and step away.","clientMessageId":"n8n-` + d.Body.MessageID.String() + `"}`
	code, body := s.Do(t, http.MethodPost, path, d.Body.ReplyToken, reply)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	botMsg := body["message"].(map[string]any)
	require.Equal(t, "bot", botMsg["sender"])
	require.Nil(t, botMsg["senderId"])
	require.EqualValues(t, 2, botMsg["seq"])
	got := visitor.Events.WaitFor(t, "message", 1)
	require.Equal(t, botMsg["id"], got[0]["id"])
	require.Equal(t, "Unplug it and step away.", got[0]["content"])

	// Idempotent on clientMessageId: a redelivered webhook's second reply
	// returns the first message.
	code, body = s.Do(t, http.MethodPost, path, d.Body.ReplyToken, reply)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, botMsg["id"], body["message"].(map[string]any)["id"])

	// A bot's message has no delivery job at all, so it cannot loop.
	var jobs int
	require.NoError(t, s.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'conversation_id' = $2`, webhook.Kind, anon.ConversationID).Scan(&jobs))
	require.Equal(t, 1, jobs)

	// The reply token also reads the history.
	code, body = s.Do(t, http.MethodGet, path+"?afterSeq=0&limit=10", d.Body.ReplyToken, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Len(t, body["messages"], 2)
	require.Equal(t, false, body["hasMore"])

	waitJobState(t, s.Pool, sent["id"].(string), "completed")
}

// A reply token is scoped to one conversation and is not a user token.
func TestReplyTokenScope(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	s := apptest.Start(t, webhookEnv(n8n))
	mine := s.CreateAnonymous(t)
	other := s.CreateAnonymous(t)
	connectAndSend(t, s, mine.Auth(), map[string]any{"content": "hello"})
	d := n8n.next(t)
	token := d.Body.ReplyToken

	code, body := s.Do(t, http.MethodPost, "/v1/conversations/"+other.ConversationID+"/messages", token, `{"content":"hi"}`)
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	require.Equal(t, "FORBIDDEN", body["error"].(map[string]any)["code"])
	code, _ = s.Do(t, http.MethodGet, "/v1/conversations/"+other.ConversationID+"/messages", token, "")
	require.Equal(t, http.StatusForbidden, code)

	// Not a user JWT: neither for creating conversations nor for a socket.
	code, body = s.Do(t, http.MethodPost, "/v1/conversations", token, `{}`)
	require.Equal(t, http.StatusUnauthorized, code, "%v", body)
	require.Equal(t, "TOKEN_INVALID", body["error"].(map[string]any)["code"])
	errCode, _ := s.ConnectError(t, map[string]any{"token": token, "conversationId": mine.ConversationID})
	require.Equal(t, "TOKEN_INVALID", errCode)

	// A forged token (signed with another key) is refused.
	parts := strings.Split(token, ".")
	forged := parts[0] + "." + parts[1] + ".AAAA" + parts[2][4:]
	code, _ = s.Do(t, http.MethodPost, "/v1/conversations/"+mine.ConversationID+"/messages", forged, `{"content":"hi"}`)
	require.Equal(t, http.StatusUnauthorized, code)
}

// Technicians reply over HTTP as "tecnico"; that message is delivered too
// (with a null socketId), and reaches the visitor's socket.
func TestTechnicianReplyOverHTTP(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	s := apptest.Start(t, webhookEnv(n8n))
	anon := s.CreateAnonymous(t)
	visitor := s.Connect(t, anon.Auth())
	tech := s.Token(t, "tech-1", "tecnico")
	path := "/v1/conversations/" + anon.ConversationID + "/messages"

	code, body := s.Do(t, http.MethodPost, path, tech, `{"content":"on my way","clientMessageId":"t-1"}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	msg := body["message"].(map[string]any)
	require.Equal(t, "tecnico", msg["sender"])
	require.Equal(t, "tech-1", msg["senderId"])
	require.Equal(t, msg["id"], visitor.Events.WaitFor(t, "message", 1)[0]["id"])

	d := n8n.next(t)
	require.NoError(t, d.SignatureErr)
	require.Nil(t, d.Body.SocketID)
	require.Equal(t, "tecnico", string(d.Body.Sender))

	// A user without the role may not post; nor may anyone without a token.
	user := s.Token(t, "user-1")
	code, _ = s.Do(t, http.MethodPost, path, user, `{"content":"x"}`)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = s.Do(t, http.MethodPost, path, "", `{"content":"x"}`)
	require.Equal(t, http.StatusUnauthorized, code)
	// The visitor reads with its session token.
	code, body = s.Do(t, http.MethodGet, path, "", "", "X-Session-Token", anon.SessionToken)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Len(t, body["messages"], 1)
}

func TestWebhookRedeliveredAfter5xxWithSameID(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	n8n.setAnswer(answerStatus(http.StatusBadGateway))
	s := apptest.Start(t, webhookEnv(n8n))
	_, sent := connectAndSend(t, s, s.CreateAnonymous(t).Auth(), map[string]any{"content": "hello"})

	first := n8n.next(t)
	n8n.setAnswer(nil)
	second := n8n.next(t)
	require.Equal(t, sent["id"], first.Header.Get("webhook-id"))
	require.Equal(t, first.Header.Get("webhook-id"), second.Header.Get("webhook-id"))
	require.NoError(t, second.SignatureErr)
	waitJobState(t, s.Pool, sent["id"].(string), "completed")

	// The failed attempt is logged once, by the worker (River's own
	// "Job errored" line is dropped: it would say the same without the cause).
	logs := s.Logs.String()
	require.Equal(t, 1, strings.Count(logs, "delivery attempt failed"), logs)
	require.NotContains(t, logs, "Job errored")

	// chatgw_webhook_message_loads_total: one load per attempt. The first
	// attempt takes the hand-off's copy (or, in a rare race with River's
	// fetch, reads it back); the retry always reads it back.
	loads := s.Metrics().WebhookLoads
	handoff := testutil.ToFloat64(loads.WithLabelValues("handoff"))
	database := testutil.ToFloat64(loads.WithLabelValues("database"))
	require.InDelta(t, 2, handoff+database, 0, "one load per attempt")
	require.GreaterOrEqual(t, database, 1.0, "a retry reads the message back")
}

func TestWebhookGoneStops(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	n8n.setAnswer(answerStatus(http.StatusGone))
	s := apptest.Start(t, webhookEnv(n8n))
	_, sent := connectAndSend(t, s, s.CreateAnonymous(t).Auth(), map[string]any{"content": "hello"})
	n8n.next(t)
	waitJobState(t, s.Pool, sent["id"].(string), "cancelled")
	select {
	case d := <-n8n.got:
		t.Fatalf("delivered again after 410: %s", d.Raw)
	default:
	}
}

// 429 with Retry-After: the delivery waits as asked, and the attempt counts.
func TestWebhookRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	n8n.setAnswer(answerStatus(http.StatusTooManyRequests, "Retry-After", "1"))
	s := apptest.Start(t, webhookEnv(n8n, "WEBHOOK_BACKOFF_MAX", "5s"))
	connectAndSend(t, s, s.CreateAnonymous(t).Auth(), map[string]any{"content": "hello"})
	first := n8n.next(t)
	at := time.Now()
	n8n.setAnswer(nil)
	second := n8n.next(t)
	require.GreaterOrEqual(t, time.Since(at), 900*time.Millisecond, "Retry-After: 1 was not honoured")
	require.Equal(t, first.Header.Get("webhook-id"), second.Header.Get("webhook-id"))
}

// The attempt cap dead-letters a delivery; `webhooks retry` brings it back.
func TestWebhookDeadLetterAndRetry(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	n8n.setAnswer(answerStatus(http.StatusInternalServerError))
	s := apptest.Start(t, webhookEnv(n8n, "WEBHOOK_MAX_ATTEMPTS", "3"))
	_, sent := connectAndSend(t, s, s.CreateAnonymous(t).Auth(), map[string]any{"content": "hello"})
	id := sent["id"].(string)
	for range 3 {
		require.Equal(t, id, n8n.next(t).Header.Get("webhook-id"))
	}
	waitJobState(t, s.Pool, id, "discarded")
	select {
	case d := <-n8n.got:
		t.Fatalf("a fourth attempt: %s", d.Raw)
	default:
	}

	ctx := context.Background()
	rc := riverClient(t, s.Pool)
	dead, err := webhook.List(ctx, rc, "discarded", 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, id, dead[0].MessageID)
	require.Equal(t, 3, dead[0].Attempts)
	require.Contains(t, dead[0].LastError, "500")

	n8n.setAnswer(nil)
	n, err := webhook.RetryDiscarded(ctx, rc)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	d := n8n.next(t)
	require.Equal(t, id, d.Header.Get("webhook-id"))
	require.NoError(t, d.SignatureErr)
	waitJobState(t, s.Pool, id, "completed")
}

// A receiver that is down while messages are sent gets all of them, once
// each, when it is back.
func TestWebhookReceiverDownThenBack(t *testing.T) {
	t.Parallel()
	n8n := newFakeN8N(t)
	n8n.down()
	s := apptest.Start(t, webhookEnv(n8n, "WEBHOOK_MAX_ATTEMPTS", "1000"))
	auth := s.CreateAnonymous(t).Auth()
	want := map[string]bool{}
	for i := range 10 {
		_, msg := connectAndSend(t, s, auth, map[string]any{"content": "msg", "clientMessageId": fmt.Sprint("m-", i)})
		want[msg["id"].(string)] = true
	}
	// Every delivery has failed at least once against the closed port.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var failing int
		err := s.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM river_job WHERE kind = $1 AND cardinality(errors) > 0`, webhook.Kind).Scan(&failing)
		if assert.NoError(c, err) {
			assert.Equal(c, len(want), failing)
		}
	}, apptest.Timeout, 10*time.Millisecond)

	n8n.up()
	got := map[string]bool{}
	for len(got) < len(want) {
		d := n8n.next(t)
		require.NoError(t, d.SignatureErr)
		id := d.Header.Get("webhook-id")
		require.True(t, want[id], "unexpected delivery %s", id)
		got[id] = true
	}
	for id := range want {
		waitJobState(t, s.Pool, id, "completed")
	}
}
