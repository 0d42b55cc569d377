package webhook

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/metrics"
)

// EventType is the "type" of every delivery body.
const EventType = "message.created"

// MessageLoader loads the message a job points at (postgres.Store does).
type MessageLoader interface {
	Message(ctx context.Context, id uuid.UUID) (chat.Message, error)
}

// ReplyTokenIssuer mints the reply token of a delivery (auth.ReplyTokens does).
type ReplyTokenIssuer interface {
	Issue(conversationID uuid.UUID, now time.Time) (string, error)
}

// DefaultTimeout is WEBHOOK_TIMEOUT's default: the bound of one attempt.
const DefaultTimeout = 10 * time.Second

// Config configures a Worker.
type Config struct {
	// URL is N8N_WEBHOOK_URL. Required.
	URL string
	// SecretKey is the decoded N8N_WEBHOOK_SECRET; nil sends unsigned
	// deliveries.
	SecretKey []byte
	// AuthHeaderName and AuthHeaderValue come from N8N_WEBHOOK_AUTH_HEADER;
	// the header is sent when the name is set.
	AuthHeaderName, AuthHeaderValue string
	// PublicURL is PUBLIC_URL, without a trailing slash; replyUrl is built
	// from it. Required.
	PublicURL string
	// Timeout bounds one attempt (WEBHOOK_TIMEOUT). Default DefaultTimeout.
	Timeout time.Duration
	// Backoff spaces the attempts.
	Backoff Backoff
	// Concurrency is WEBHOOK_CONCURRENCY: the most deliveries in flight in
	// this process, where the pacing limit starts. Default 16.
	Concurrency int
	// SlotWait is how long a job waits in the worker for a delivery slot
	// before it is snoozed (put back, still available, no attempt used).
	// Kept short so that waiting holds neither a River worker nor a job in
	// state running for long. Default 100ms.
	SlotWait time.Duration
	// SlotSnooze is the least a snoozed job waits before it is fetched again;
	// the snooze is jittered up to twice that. Capped at 2s so it stays
	// under River's scheduler interval (5s) and the job stays available.
	// Default 250ms.
	SlotSnooze time.Duration
	// Messages loads the message to deliver. Required.
	Messages MessageLoader
	// ReplyTokens mints each attempt's reply token. Required.
	ReplyTokens ReplyTokenIssuer
	// HTTPClient sends the requests. Default: a client that does not follow
	// redirects (a redirected POST would be replayed or turned into a GET, so
	// a 3xx is treated as a failed attempt instead) and whose attempts are
	// bounded by Timeout through the job's context.
	HTTPClient *http.Client
	// Logger; default discards.
	Logger *slog.Logger
	// Metrics counts attempts and their duration; nil records nothing.
	Metrics *metrics.Metrics
	// Now is the clock of webhook-timestamp and reply tokens; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.URL == "":
		return c, errors.New("webhook: Config.URL is required")
	case c.PublicURL == "":
		return c, errors.New("webhook: Config.PublicURL is required")
	case c.Messages == nil:
		return c, errors.New("webhook: Config.Messages is required")
	case c.ReplyTokens == nil:
		return c, errors.New("webhook: Config.ReplyTokens is required")
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	// A base set alone may exceed the default max; say so rather than
	// silently raising the max.
	if base, most := cmp.Or(c.Backoff.Base, DefaultBackoffBase), cmp.Or(c.Backoff.Max, DefaultBackoffMax); base > most {
		return c, fmt.Errorf("WEBHOOK_BACKOFF_BASE: must not exceed WEBHOOK_BACKOFF_MAX (%s), got %q", most, base.String())
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.SlotWait <= 0 {
		c.SlotWait = 100 * time.Millisecond
	}
	if c.SlotSnooze <= 0 {
		c.SlotSnooze = 250 * time.Millisecond
	}
	c.SlotSnooze = min(c.SlotSnooze, maxSlotSnooze)
	c.Backoff = c.Backoff.withDefaults()
	if c.HTTPClient == nil {
		// Keep a connection per delivery slot alive: the default of two idle
		// connections per host had every other delivery dial anew.
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = c.Concurrency
		transport.MaxIdleConns = c.Concurrency
		c.HTTPClient = &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Worker is the River worker that POSTs a message to n8n (contract §5).
type Worker struct {
	river.WorkerDefaults[DeliveryArgs]
	cfg    Config
	signer *Signer // nil: unsigned
	// retryAfter hands a receiver's Retry-After from Work to NextRetry. A
	// Retry-After is honoured as the delay of a normal failed attempt (not
	// with river.JobSnooze, which would not count the attempt and so would
	// let a receiver answering 429 forever keep a delivery alive past
	// WEBHOOK_MAX_ATTEMPTS).
	retryAfter retryAfters
	pacer      *Pacer
}

var _ river.Worker[DeliveryArgs] = (*Worker)(nil)

// NewWorker returns a Worker.
func NewWorker(cfg Config) (*Worker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg}
	if cfg.Metrics != nil {
		w.pacer = NewPacer(cfg.Concurrency, cfg.Metrics.WebhookInflight, cfg.Metrics.WebhookInflightLimit)
	} else {
		w.pacer = NewPacer(cfg.Concurrency, nil, nil)
	}
	if len(cfg.SecretKey) > 0 {
		if w.signer, err = NewSigner(cfg.SecretKey); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Body is the JSON a delivery POSTs.
type Body struct {
	Type           string      `json:"type"`
	MessageID      uuid.UUID   `json:"messageId"`
	ConversationID uuid.UUID   `json:"conversationId"`
	Seq            int64       `json:"seq"`
	SocketID       *string     `json:"socketId"`
	Sender         chat.Sender `json:"sender"`
	SenderID       *string     `json:"senderId"`
	Content        string      `json:"content"`
	CreatedAt      time.Time   `json:"createdAt"`
	ReplyToken     string      `json:"replyToken"`
	ReplyURL       string      `json:"replyUrl"`
}

// Pacer is the worker's pacing (contract §5), shared by all its jobs.
func (w *Worker) Pacer() *Pacer { return w.pacer }

// Timeout implements river.Worker. The request itself gets WEBHOOK_TIMEOUT
// from when it is sent; the job gets that plus the brief wait for a slot and
// the loading of the message.
func (w *Worker) Timeout(*river.Job[DeliveryArgs]) time.Duration { return w.jobTimeout() }

func (w *Worker) jobTimeout() time.Duration { return w.cfg.Timeout + w.cfg.SlotWait + 2*time.Second }

// snoozeDelay is how long a job that found no slot waits before River may
// fetch it again: jittered, so waiting jobs do not come back in one herd.
func (w *Worker) snoozeDelay() time.Duration {
	return w.cfg.SlotSnooze + rand.N(w.cfg.SlotSnooze+1)
}

// NextRetry implements river.Worker: the receiver's Retry-After when it
// sent one with 429 or 503 (bounded by the backoff's range), else the
// exponential backoff. Either way the attempt counts toward
// WEBHOOK_MAX_ATTEMPTS. The Retry-After is found by job id and attempt, so
// job may be another value than the one Work got.
func (w *Worker) NextRetry(job *river.Job[DeliveryArgs]) time.Time {
	if ra, ok := w.retryAfter.take(job.ID, job.Attempt); ok && ra > 0 {
		return w.cfg.Now().Add(w.cfg.Backoff.Clamp(ra))
	}
	return w.cfg.Now().Add(w.cfg.Backoff.Delay(job.Attempt))
}

// Work delivers one message. A nil error completes the job; River retries
// any other error except a JobCancel (410 Gone, message deleted).
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	// Pacing: without a slot the job goes back to River as it was (snoozed:
	// state available, attempt not used) rather than holding a worker.
	if !w.pacer.Acquire(ctx, w.cfg.SlotWait) {
		return river.JobSnooze(w.snoozeDelay())
	}
	outcome := OutcomeNeutral
	defer func() { w.pacer.Release(outcome) }()
	// The job's logger is built only for a line that is written: With
	// formats its attributes at once, which on every delivery was 2 % of
	// the gateway's CPU, for a success path that logs nothing above debug.
	log := func() *slog.Logger {
		return w.cfg.Logger.With("job_id", job.ID, "message_id", job.Args.MessageID,
			"conversation_id", job.Args.ConversationID, "attempt", job.Attempt)
	}
	msg, err := w.cfg.Messages.Message(ctx, job.Args.MessageID)
	if errors.Is(err, chat.ErrNotFound) {
		w.count("gone")
		log().Warn("webhook: message no longer exists; delivery cancelled")
		return river.JobCancel(fmt.Errorf("message %s no longer exists", job.Args.MessageID))
	}
	if err != nil {
		w.count("error")
		return w.failed(log(), job, fmt.Errorf("load message: %w", err))
	}
	if msg.Sender == chat.SenderBot {
		// The store never enqueues bot messages; this guards the contract's
		// "a bot cannot loop" against any job inserted by other means.
		log().Warn("webhook: not delivering a bot message")
		return nil
	}

	now := w.cfg.Now()
	body, err := w.body(msg, job.Args.SocketID, now)
	if err != nil {
		w.count("error")
		return w.failed(log(), job, err)
	}
	// The attempt's own deadline, from when it is sent, so a timeout is
	// told apart from our own shutdown and named in the error.
	attemptCtx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		// Only a bad URL gets here, which config validation prevents.
		w.count("error")
		return w.failed(log(), job, fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chatgw-webhook/1")
	if w.cfg.AuthHeaderName != "" {
		req.Header.Set(w.cfg.AuthHeaderName, w.cfg.AuthHeaderValue)
	}
	// Same id on every attempt (receivers deduplicate on it); fresh
	// timestamp and signature per attempt, so receivers' replay windows hold.
	if err := w.signer.SetHeaders(req.Header, msg.ID.String(), now, body); err != nil {
		w.count("error")
		return w.failed(log(), job, fmt.Errorf("sign: %w", err))
	}

	start := time.Now()
	resp, err := w.cfg.HTTPClient.Do(req)
	if w.cfg.Metrics != nil {
		w.cfg.Metrics.WebhookDuration.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		var terr error
		terr, outcome = w.transportError(ctx, attemptCtx, err)
		w.count(w.failureResult(job))
		return w.failed(log(), job, terr)
	}
	// Read a bounded part of the answer so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		outcome = OutcomeDelivered
		w.count("delivered")
		if w.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
			log().Debug("webhook: delivered", "status", code, "duration", time.Since(start))
		}
		return nil
	case code == http.StatusGone:
		w.count("gone")
		log().Warn("webhook: receiver answered 410 Gone; delivery cancelled")
		return river.JobCancel(fmt.Errorf("receiver answered %s", resp.Status))
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		outcome = OutcomeCongested
		// River asks NextRetry only when another attempt follows.
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), w.cfg.Now()); ok && job.Attempt < job.MaxAttempts {
			w.retryAfter.put(job.ID, job.Attempt, d)
		}
	}
	w.count(w.failureResult(job))
	return w.failed(log(), job, fmt.Errorf("receiver answered %s", resp.Status))
}

// body marshals the delivery; it carries a reply token minted for this
// attempt, so a token never outlives REPLY_TOKEN_TTL from its sending.
func (w *Worker) body(msg chat.Message, socketID string, now time.Time) ([]byte, error) {
	token, err := w.cfg.ReplyTokens.Issue(msg.ConversationID, now)
	if err != nil {
		return nil, fmt.Errorf("reply token: %w", err)
	}
	b := Body{
		Type:           EventType,
		MessageID:      msg.ID,
		ConversationID: msg.ConversationID,
		Seq:            msg.Seq,
		Sender:         msg.Sender,
		SenderID:       msg.SenderID,
		Content:        msg.Content,
		CreatedAt:      msg.CreatedAt.UTC(),
		ReplyToken:     token,
		ReplyURL:       ReplyURL(w.cfg.PublicURL, msg.ConversationID),
	}
	if socketID != "" {
		b.SocketID = &socketID
	}
	return json.Marshal(b)
}

// ReplyURL is where a workflow posts its answer for conversationID.
func ReplyURL(publicURL string, conversationID uuid.UUID) string {
	return publicURL + "/v1/conversations/" + conversationID.String() + "/messages"
}

// failed logs a failed attempt and returns err for River to record.
func (w *Worker) failed(log *slog.Logger, job *river.Job[DeliveryArgs], err error) error {
	if job.Attempt >= job.MaxAttempts {
		log.Warn("webhook: delivery failed for the last time; dead-lettered (discarded)", "error", err)
	} else {
		log.Info("webhook: delivery attempt failed; will retry", "error", err)
	}
	return err
}

func (w *Worker) failureResult(job *river.Job[DeliveryArgs]) string {
	if job.Attempt >= job.MaxAttempts {
		return "discarded"
	}
	return "retry"
}

func (w *Worker) count(result string) {
	if w.cfg.Metrics != nil {
		w.cfg.Metrics.WebhookDeliveries.WithLabelValues(result).Inc()
	}
}

// transportError names what went wrong when no answer came (a timeout, a
// refused connection, …) in words an operator reads in river_job.errors,
// without the URL, and says what it tells the pacer.
func (w *Worker) transportError(jobCtx, attemptCtx context.Context, err error) (error, Outcome) {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case jobCtx.Err() != nil:
		// River cancelled the job (the gateway is stopping): nothing learnt
		// about the receiver.
		return fmt.Errorf("attempt cancelled before an answer: %w", context.Cause(jobCtx)), OutcomeNeutral
	case errors.Is(attemptCtx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("timeout after %s: no answer from the receiver", w.cfg.Timeout), OutcomeCongested
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused"), OutcomeCongested
	case errors.Is(err, syscall.ECONNRESET):
		return errors.New("connection reset by the receiver"), OutcomeCongested
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("connection closed by the receiver before an answer"), OutcomeCongested
	case errors.As(err, &dnsErr):
		return fmt.Errorf("connection failed: DNS lookup of %s: %s", dnsErr.Name, dnsErr.Err), OutcomeCongested
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("connection failed: %v", opErr.Err), OutcomeCongested
	}
	return fmt.Errorf("connection failed: %w", redactURL(err)), OutcomeCongested
}

// redactURL drops the URL from a transport error: n8n webhook URLs are
// bearer-like secrets, and these errors end up in logs and river_job.errors.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Cap before multiplying so absurd values cannot overflow.
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
