package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
	"github.com/chatgw/chatgw/internal/webhook"
)

// The Standard Webhooks specification's published test vector.
func TestSignerSpecVector(t *testing.T) {
	t.Parallel()
	key := mustDecodeSecret(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	s, err := webhook.NewSigner(key)
	require.NoError(t, err)
	sig, err := s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	require.NoError(t, err)
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", sig)

	_, err = webhook.NewSigner(nil)
	require.Error(t, err)
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := webhook.Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second}
	for attempt := 1; attempt <= 100; attempt++ {
		for range 20 {
			d := b.Delay(attempt)
			require.GreaterOrEqual(t, d, b.Base, "attempt %d", attempt)
			require.LessOrEqual(t, d, b.Max, "attempt %d", attempt)
		}
	}
	// Exponential: attempt 4 waits 8×base ± 25 %.
	d := b.Delay(4)
	require.GreaterOrEqual(t, d, 600*time.Millisecond)
	require.LessOrEqual(t, d, time.Second)
	// Jittered: not every delay at the cap is the same.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[b.Delay(50)] = true
	}
	require.Greater(t, len(seen), 1)

	require.Equal(t, b.Base, b.Clamp(0))
	require.Equal(t, 3*time.Second, b.Clamp(3*time.Second))
	require.Equal(t, b.Max, b.Clamp(time.Hour))
}

// receiver is a fake n8n: it records requests and answers as told.
type receiver struct {
	*httptest.Server
	reqs chan received
	mu   sync.Mutex
	// answer writes the response; default 200.
	answer func(w http.ResponseWriter, r *http.Request)
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{reqs: make(chan received, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.reqs <- received{header: r.Header.Clone(), body: body}
		rc.mu.Lock()
		answer := rc.answer
		rc.mu.Unlock()
		if answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(w http.ResponseWriter, r *http.Request)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

func status(code int, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
	}
}

func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.reqs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery arrived")
		return received{}
	}
}

// messages is an in-memory webhook.MessageLoader.
type messages map[uuid.UUID]chat.Message

func (m messages) Message(_ context.Context, id uuid.UUID) (chat.Message, error) {
	msg, ok := m[id]
	if !ok {
		return chat.Message{}, chat.ErrNotFound
	}
	return msg, nil
}

var (
	sharedPoolOnce sync.Once
	sharedPool     *pgxpool.Pool
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

type fixture struct {
	rc      *receiver
	msgs    messages
	tokens  *auth.ReplyTokens
	metrics *metrics.Metrics
	tw      *rivertest.Worker[webhook.DeliveryArgs, pgx.Tx]
	tx      pgx.Tx
	cfg     webhook.Config
	w       *webhook.Worker
}

// newFixture builds a worker against a fresh receiver. Every test works its
// jobs inside its own transaction of one shared, migrated database, rolled
// back at the end.
func newFixture(t *testing.T, edit func(*webhook.Config)) *fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	f := &fixture{
		rc:      newReceiver(t),
		msgs:    messages{},
		tokens:  replyTokens(t),
		metrics: metrics.New(prometheus.NewRegistry()),
	}
	f.cfg = webhook.Config{
		URL:             f.rc.URL + "/hook",
		SecretKey:       mustDecodeSecret(t, secret),
		AuthHeaderName:  "X-N8n-Auth",
		AuthHeaderValue: "shared-value",
		PublicURL:       "https://chat.example.com",
		Timeout:         5 * time.Second,
		Backoff:         webhook.Backoff{Base: 10 * time.Millisecond, Max: 10 * time.Second},
		Messages:        f.msgs,
		ReplyTokens:     f.tokens,
		Metrics:         f.metrics,
	}
	if edit != nil {
		edit(&f.cfg)
	}
	w, err := webhook.NewWorker(f.cfg)
	require.NoError(t, err)
	f.w = w
	rc := &river.Config{MaxAttempts: 3}
	webhook.Configure(rc, w, 0)
	f.tw = rivertest.NewWorker(t, riverpgxv5.New(pool), rc, w)
	tx, err := pool.Begin(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	f.tx = tx
	return f
}

func (f *fixture) addMessage(sender chat.Sender) chat.Message {
	sub := "user-1"
	msg := chat.Message{
		ID: uuid.Must(uuid.NewV7()), ConversationID: uuid.Must(uuid.NewV7()), Seq: 7,
		Sender: sender, Content: "hola <b>&</b>", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)),
	}
	if sender != chat.SenderBot {
		msg.SenderID = &sub
	}
	f.msgs[msg.ID] = msg
	return msg
}

func (f *fixture) work(t *testing.T, args webhook.DeliveryArgs) *rivertest.WorkResult {
	t.Helper()
	res, _ := f.tw.Work(context.Background(), t, f.tx, args, nil)
	require.NotNil(t, res)
	return res
}

func (f *fixture) rework(t *testing.T, job *rivertype.JobRow) *rivertest.WorkResult {
	t.Helper()
	res, _ := f.tw.WorkJob(context.Background(), t, f.tx, job)
	require.NotNil(t, res)
	return res
}

func TestDeliverySignedWithContractBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	msg := f.addMessage(chat.SenderUser)
	before := time.Now().Unix()
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID, SocketID: "sock-1"})
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, rivertype.JobStateCompleted, res.Job.State)

	got := f.rc.next(t)
	require.Equal(t, "application/json", got.header.Get("Content-Type"))
	require.Equal(t, "shared-value", got.header.Get("X-N8n-Auth"))
	require.Equal(t, msg.ID.String(), got.header.Get("webhook-id"))
	ts := got.header.Get("webhook-timestamp")
	require.NotEmpty(t, ts)
	signer, err := webhook.NewSigner(mustDecodeSecret(t, secret))
	require.NoError(t, err)
	require.NoError(t, signer.Verify(got.body, got.header), "signature must verify")
	var tsN int64
	require.NoError(t, json.Unmarshal([]byte(ts), &tsN))
	require.GreaterOrEqual(t, tsN, before)

	var body map[string]any
	require.NoError(t, json.Unmarshal(got.body, &body))
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"type", "messageId", "conversationId", "seq", "socketId", "sender",
		"senderId", "content", "createdAt", "replyToken", "replyUrl"}, keys)
	require.Equal(t, "message.created", body["type"])
	require.Equal(t, msg.ID.String(), body["messageId"])
	require.Equal(t, msg.ConversationID.String(), body["conversationId"])
	require.EqualValues(t, 7, body["seq"])
	require.Equal(t, "sock-1", body["socketId"])
	require.Equal(t, "user", body["sender"])
	require.Equal(t, "user-1", body["senderId"])
	require.Equal(t, "hola <b>&</b>", body["content"])
	require.Equal(t, "2026-01-02T02:04:05.000006Z", body["createdAt"])
	require.Equal(t, "https://chat.example.com/v1/conversations/"+msg.ConversationID.String()+"/messages", body["replyUrl"])
	id, err := f.tokens.Verify(body["replyToken"].(string))
	require.NoError(t, err)
	require.Equal(t, chat.IdentityReplyToken, id.Kind)
	require.Equal(t, msg.ConversationID, id.ConversationID)

	require.InDelta(t, 1, testutil.ToFloat64(f.metrics.WebhookDeliveries.WithLabelValues("delivered")), 0)
	require.Equal(t, 1, testutil.CollectAndCount(f.metrics.WebhookDuration))
}

func TestDeliveryOverHTTPHasNullSocketAndUnsignedWithoutSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *webhook.Config) { c.SecretKey = nil; c.AuthHeaderName = "" })
	msg := f.addMessage(chat.SenderTecnico)
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	got := f.rc.next(t)
	require.Empty(t, got.header.Get("webhook-signature"))
	require.Empty(t, got.header.Get("X-N8n-Auth"))
	require.Equal(t, msg.ID.String(), got.header.Get("webhook-id"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(got.body, &body))
	require.Contains(t, body, "socketId")
	require.Nil(t, body["socketId"])
	require.Equal(t, "tecnico", body["sender"])
}

func TestDeliveryRetriedAfter5xxWithSameID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.rc.setAnswer(status(http.StatusInternalServerError))
	msg := f.addMessage(chat.SenderUser)
	start := time.Now()
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
	took := time.Since(start)
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.Equal(t, 1, res.Job.Attempt)
	require.Len(t, res.Job.Errors, 1)
	require.Contains(t, res.Job.Errors[0].Error, "500")
	require.Equal(t, webhook.DefaultConcurrency, f.w.Pacer().Limit(), "a 500 says nothing about load: the limit stays")
	require.NotContains(t, res.Job.Errors[0].Error, f.rc.URL, "the URL is not recorded")
	// The worker's backoff (base 10 ms, attempt 1, jittered), not River's
	// default of seconds; bounded by when the attempt ran.
	require.WithinRange(t, res.Job.ScheduledAt, start.Add(9*time.Millisecond), start.Add(took+20*time.Millisecond))
	first := f.rc.next(t)

	f.rc.setAnswer(nil)
	res = f.rework(t, res.Job)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	second := f.rc.next(t)
	require.Equal(t, first.header.Get("webhook-id"), second.header.Get("webhook-id"))
	require.Equal(t, msg.ID.String(), second.header.Get("webhook-id"))
	require.InDelta(t, 1, testutil.ToFloat64(f.metrics.WebhookDeliveries.WithLabelValues("retry")), 0)
	require.InDelta(t, 1, testutil.ToFloat64(f.metrics.WebhookDeliveries.WithLabelValues("delivered")), 0)
}

// When the message cannot be loaded (the database is down), nothing is
// sent, the attempt fails and is retried, and it is counted as an error;
// once the database is back, the retry delivers.
func TestDeliveryRetriedWhileTheMessageCannotBeLoaded(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	msgs := messages{}
	f := newFixture(t, func(c *webhook.Config) {
		c.Messages = loaderFunc(func(ctx context.Context, id uuid.UUID) (chat.Message, error) {
			if down.Load() { // as a store whose database is down
				return chat.Message{}, errors.New("connection refused")
			}
			return msgs.Message(ctx, id)
		})
	})
	f.msgs = msgs
	msg := f.addMessage(chat.SenderUser)
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.Equal(t, 1, res.Job.Attempt)
	require.Contains(t, res.Job.Errors[0].Error, "load message")
	require.InDelta(t, 1, testutil.ToFloat64(f.metrics.WebhookDeliveries.WithLabelValues("error")), 0)
	select {
	case got := <-f.rc.reqs:
		t.Fatalf("delivered without its message: %s", got.body)
	default:
	}

	down.Store(false)
	res = f.rework(t, res.Job)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, msg.ID.String(), f.rc.next(t).header.Get("webhook-id"))
}

// loaderFunc adapts a function to webhook.MessageLoader.
type loaderFunc func(context.Context, uuid.UUID) (chat.Message, error)

func (f loaderFunc) Message(ctx context.Context, id uuid.UUID) (chat.Message, error) {
	return f(ctx, id)
}

func TestDeliveryGoneStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.rc.setAnswer(status(http.StatusGone))
	msg := f.addMessage(chat.SenderUser)
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)
	require.Equal(t, rivertype.JobStateCancelled, res.Job.State)
	f.rc.next(t)
}

func TestDeliveryRetryAfterHonouredAndCounted(t *testing.T) {
	t.Parallel()
	// retryAfter returns the header value and the earliest time the retry
	// may be scheduled at. An HTTP date names an absolute instant (to the second), so it is
	// made when the subtest runs, not when the table is built: under load a
	// subtest can start seconds later.
	seconds := func(v string, d time.Duration) func(time.Time) (string, time.Time) {
		return func(now time.Time) (string, time.Time) { return v, now.Add(d) }
	}
	for _, tc := range []struct {
		name       string
		code       int
		retryAfter func(now time.Time) (string, time.Time)
	}{
		{"429 seconds", http.StatusTooManyRequests, seconds("3", 3*time.Second)},
		{"503 capped at max", http.StatusServiceUnavailable, seconds("86400", 10*time.Second)},
		{"503 http date", http.StatusServiceUnavailable, func(now time.Time) (string, time.Time) {
			at := now.Add(5 * time.Second).UTC().Truncate(time.Second)
			return at.Format(http.TimeFormat), at
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			msg := f.addMessage(chat.SenderUser)
			before := time.Now()
			header, wantAt := tc.retryAfter(before)
			f.rc.setAnswer(status(tc.code, "Retry-After", header))
			res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
			took := time.Since(before)
			require.Equal(t, river.EventKindJobFailed, res.EventKind)
			require.Equal(t, webhook.DefaultConcurrency/2, f.w.Pacer().Limit(), "429 and 503 halve the pacing limit")
			// Unlike a snooze, the attempt counts toward the cap.
			require.Equal(t, 1, res.Job.Attempt)
			require.Len(t, res.Job.Errors, 1)
			// Bounded by when the attempt ran, however slow the machine;
			// the millisecond covers Postgres storing microseconds.
			require.WithinRange(t, res.Job.ScheduledAt, wantAt.Add(-time.Millisecond), wantAt.Add(took+time.Millisecond))
		})
	}
}

func TestDeliveryDeadLettersAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.rc.setAnswer(status(http.StatusTooManyRequests, "Retry-After", "0"))
	msg := f.addMessage(chat.SenderUser)
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID}) // max_attempts 3 from the client config
	for res.Job.State != rivertype.JobStateDiscarded {
		require.Less(t, res.Job.Attempt, 3, "still %s after the last attempt", res.Job.State)
		res = f.rework(t, res.Job)
	}
	require.Equal(t, 3, res.Job.Attempt)
	require.Len(t, res.Job.Errors, 3)
	require.InDelta(t, 1, testutil.ToFloat64(f.metrics.WebhookDeliveries.WithLabelValues("discarded")), 0)
}

func TestDeliveryTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *webhook.Config) { c.Timeout = 100 * time.Millisecond })
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.rc.setAnswer(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	msg := f.addMessage(chat.SenderUser)
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.Equal(t, "timeout after 100ms: no answer from the receiver", res.Job.Errors[0].Error)
	require.Equal(t, webhook.DefaultConcurrency/2, f.w.Pacer().Limit(), "a timeout halves the pacing limit")
}

func TestConnectionErrorRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.rc.Close() // nobody listens any more
	msg := f.addMessage(chat.SenderUser)
	res := f.work(t, webhook.DeliveryArgs{MessageID: msg.ID, ConversationID: msg.ConversationID})
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.NotContains(t, res.Job.Errors[0].Error, "/hook")
	require.Equal(t, "connection refused", res.Job.Errors[0].Error)
	require.Equal(t, webhook.DefaultConcurrency/2, f.w.Pacer().Limit(), "a connection failure halves the pacing limit")
	require.InDelta(t, 0, testutil.ToFloat64(f.metrics.WebhookInflight), 0)
}

func TestBotAndMissingMessagesAreNotDelivered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	bot := f.addMessage(chat.SenderBot)
	res := f.work(t, webhook.DeliveryArgs{MessageID: bot.ID, ConversationID: bot.ConversationID})
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)

	missing := uuid.Must(uuid.NewV7())
	res = f.work(t, webhook.DeliveryArgs{MessageID: missing, ConversationID: uuid.Must(uuid.NewV7())})
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)

	select {
	case r := <-f.rc.reqs:
		t.Fatalf("unexpected delivery: %s", r.body)
	default:
	}
}

func TestDepthReporter(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	for range 3 {
		_, err := client.Insert(ctx, webhook.DeliveryArgs{MessageID: uuid.New(), ConversationID: uuid.New()}, nil)
		require.NoError(t, err)
	}
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "depth"})
	d := webhook.NewDepthReporter(webhook.DepthConfig{DB: pool, Gauge: gauge})
	d.Update(ctx)
	require.InDelta(t, 3, testutil.ToFloat64(gauge), 0)
	require.NoError(t, d.Start(ctx)) // the first count runs at once
	require.Error(t, d.Start(ctx), "no second start")
	require.NoError(t, d.Stop(ctx))
	require.NoError(t, d.Stop(ctx), "Stop is idempotent")
}

func mustDecodeSecret(t *testing.T, s string) []byte {
	t.Helper()
	key, err := decodeSecret(s)
	require.NoError(t, err)
	return key
}

// replyTokens are reply tokens on a fixed key.
func replyTokens(t testing.TB) *auth.ReplyTokens {
	t.Helper()
	rt, err := auth.NewReplyTokens(auth.ReplyTokensConfig{Secret: []byte("reply-key-0123456789abcdef0123456"), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}
