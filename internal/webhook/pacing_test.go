package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
	"github.com/chatgw/chatgw/internal/webhook"
)

// limitRecorder is a gauge that also keeps every distinct value it is set
// to, in order: the history of the pacing limit.
type limitRecorder struct {
	prometheus.Gauge
	mu     sync.Mutex
	values []int
}

func (g *limitRecorder) Set(v float64) {
	g.Gauge.Set(v)
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := len(g.values); n == 0 || g.values[n-1] != int(v) {
		g.values = append(g.values, int(v))
	}
}

func (g *limitRecorder) history() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.values...)
}

// A receiver that stops answering (every request times out), then answers
// 429 and 503, then recovers, driven by a real River client: the limit moves
// exactly as §5 says, the receiver never sees more requests at once than the
// limit allows, waiting jobs are snoozed without using an attempt, and every
// message is delivered.
func TestPacingAgainstAStrugglingReceiver(t *testing.T) {
	t.Parallel()
	const (
		concurrency = 8
		messagesN   = 40
		timeout     = time.Second
	)
	ctx := context.Background()
	pool := pgtest.NewPool(t)

	// The script, by order of arrival: the first 8 requests hang until
	// they time out, the next 4 get 429, the next 4 get 503, then 200 (the
	// first of them slowly).
	var (
		mu          sync.Mutex
		arrivals    int
		concurrent  int
		concAtStart []int              // receiver-side concurrency when request n arrived
		perID       = map[string]int{} // requests per webhook-id
		delivered   = map[string]bool{}
	)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		n := arrivals
		arrivals++
		perID[id]++
		// Requests that are answered are counted while they run; the hung
		// ones are left out, as their handlers notice the client gave up
		// only some time after it did.
		if n >= 8 {
			concurrent++
			concAtStart = append(concAtStart, concurrent)
			defer func() {
				mu.Lock()
				concurrent--
				mu.Unlock()
			}()
		}
		mu.Unlock()
		switch {
		case n < 8:
			select { // never answers: the attempt times out
			case <-r.Context().Done():
			case <-release:
			}
			return
		case n < 12:
			w.WriteHeader(http.StatusTooManyRequests)
		case n < 16:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			if n == 16 { // the first 2xx is slow: jobs waiting for the one slot give up and are snoozed
				time.Sleep(300 * time.Millisecond)
			}
			mu.Lock()
			delivered[id] = true
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for handlers

	msgs := messages{}
	for range messagesN {
		id := uuid.Must(uuid.NewV7())
		sub := "user-1"
		msgs[id] = chat.Message{ID: id, ConversationID: uuid.Must(uuid.NewV7()), Seq: 1,
			Sender: chat.SenderUser, SenderID: &sub, Content: "hola", CreatedAt: time.Now()}
	}
	m := metrics.New(prometheus.NewRegistry())
	limit := &limitRecorder{Gauge: m.WebhookInflightLimit}
	m.WebhookInflightLimit = limit
	w, err := webhook.NewWorker(webhook.Config{
		URL:         srv.URL + "/hook",
		PublicURL:   "https://chat.example.com",
		Timeout:     timeout,
		Backoff:     webhook.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Concurrency: concurrency,
		Messages:    msgs,
		ReplyTokens: replyTokens(t),
		Metrics:     m,
	})
	require.NoError(t, err)
	rc := &river.Config{MaxAttempts: 25}
	webhook.Configure(rc, w, 0)
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.StopAndCancel(sctx)
	})

	params := make([]river.InsertManyParams, 0, messagesN)
	for id, msg := range msgs {
		params = append(params, river.InsertManyParams{Args: webhook.DeliveryArgs{MessageID: id, ConversationID: msg.ConversationID}})
	}
	_, err = client.InsertMany(ctx, params)
	require.NoError(t, err)

	var jobs []*rivertype.JobRow
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res, err := client.JobList(ctx, river.NewJobListParams().Kinds(webhook.Kind).First(messagesN+1))
		if !assert.NoError(c, err) {
			return
		}
		jobs = res.Jobs
		assert.Len(c, jobs, messagesN)
		for _, j := range jobs {
			assert.Equal(c, rivertype.JobStateCompleted, j.State, "job %d", j.ID)
		}
	}, 60*time.Second, 50*time.Millisecond)

	// 8 timeouts halve 8 → 4 → 2 → 1 (and stay at 1), the 429s and 503s
	// keep it at 1, then each 2xx raises it by one back to 8.
	require.Equal(t, []int{8, 4, 2, 1, 2, 3, 4, 5, 6, 7, 8}, limit.history())
	require.InDelta(t, concurrency, testutil.ToFloat64(m.WebhookInflightLimit), 0)
	require.InDelta(t, 0, testutil.ToFloat64(m.WebhookInflight), 0)

	mu.Lock()
	defer mu.Unlock()
	for n, c := range concAtStart {
		require.LessOrEqual(t, c, concurrency, "request %d", n)
	}
	// With the limit at 1, the 429s and 503s and the first 2xx came one at
	// a time, though River had 8 workers and many jobs ready.
	require.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, concAtStart[:9])

	snoozed := 0
	for _, j := range jobs {
		var args webhook.DeliveryArgs
		require.NoError(t, json.Unmarshal(j.EncodedArgs, &args))
		id := args.MessageID.String()
		require.True(t, delivered[id], "message %s answered with 2xx", id)
		// Every attempt used is a request the receiver saw: waiting for a
		// slot used none.
		require.Equal(t, perID[id], j.Attempt, "job %d: attempts vs requests", j.ID)
		var meta struct {
			Snoozes int `json:"snoozes"`
		}
		require.NoError(t, json.Unmarshal(j.Metadata, &meta))
		if meta.Snoozes > 0 {
			snoozed++
		}
		for _, e := range j.Errors {
			require.Regexp(t, `^(timeout after 1s: no answer from the receiver|receiver answered 429 Too Many Requests|receiver answered 503 Service Unavailable)$`, e.Error)
		}
	}
	require.Positive(t, snoozed, "some jobs waited for a slot")
}
