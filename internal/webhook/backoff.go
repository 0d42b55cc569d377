package webhook

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// Backoff is the delay between delivery attempts: exponential from Base,
// doubling per attempt, capped at Max, with ±25 % jitter so that deliveries
// failed by one receiver outage do not all come back at the same instant.
// The result always stays within [Base, Max].
type Backoff struct {
	Base time.Duration // WEBHOOK_BACKOFF_BASE; default 1s
	Max  time.Duration // WEBHOOK_BACKOFF_MAX; default 1h
	// Now is the clock of NextRetry; default time.Now.
	Now func() time.Time
}

// Defaults of WEBHOOK_BACKOFF_BASE and WEBHOOK_BACKOFF_MAX.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = time.Hour
)

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBackoffBase
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	b.Max = max(b.Max, b.Base)
	if b.Now == nil {
		b.Now = time.Now
	}
	return b
}

// Delay is the wait after failed attempt number attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2 // stops at Max long before overflowing
	}
	d = min(d, b.Max)
	// Uniform in [0.75 d, 1.25 d).
	jittered := d - d/4 + time.Duration(rand.Int64N(int64(d/2)+1))
	return min(max(jittered, b.Base), b.Max)
}

// Clamp bounds a receiver's Retry-After to [Base, Max]: the receiver may
// ask for a later retry, never for an unbounded one or a tight loop.
func (b Backoff) Clamp(d time.Duration) time.Duration {
	b = b.withDefaults()
	return min(max(d, b.Base), b.Max)
}

// NextRetry implements river.ClientRetryPolicy. Installed as the client's
// policy it also governs jobs River retries without asking the worker —
// those rescued after a crash — so they come back on the webhook schedule
// rather than River's attempt⁴-seconds default.
func (b Backoff) NextRetry(job *rivertype.JobRow) time.Time {
	b = b.withDefaults()
	return b.Now().Add(b.Delay(job.Attempt))
}
