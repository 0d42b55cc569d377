// Package ratelimit is a keyed token-bucket limiter (one
// golang.org/x/time/rate bucket per key: a conversation, a client IP) whose
// memory stays bounded: a key that has been idle long enough for its bucket
// to refill completely is forgotten, which loses nothing, because a full
// bucket and a fresh one behave the same.
//
// Sweeping is lazy (done by Allow at most once per IdleTTL), so a Limiter
// owns no goroutine and needs no Start/Stop.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config configures a Limiter.
type Config struct {
	// Rate is the sustained rate in events per second. Zero (or less)
	// disables the limit: New returns nil, whose Allow always succeeds.
	Rate float64
	// Burst is the bucket size: how many events may come at once. Default 1.
	Burst int
	// IdleTTL is how long a key must be idle before it is forgotten. It is
	// raised to the time the bucket takes to refill (Burst/Rate), so
	// forgetting never gives a key more than it should have. Default 1m.
	IdleTTL time.Duration
	// Now is the clock. Default time.Now (tests pass a fake one).
	Now func() time.Time
}

// PerMinute is a Config allowing n events per minute per key, all of them
// at once if they come in a burst: the meaning of the RATE_LIMIT_*_PER_MIN
// variables.
func PerMinute(n int) Config {
	return Config{Rate: float64(n) / 60, Burst: n}
}

// Limiter limits events per key. A nil *Limiter allows everything.
type Limiter struct {
	rate    rate.Limit
	burst   int
	idleTTL time.Duration
	now     func() time.Time

	mu        sync.Mutex
	entries   map[string]*entry
	lastSweep time.Time
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns a Limiter, or nil when cfg.Rate disables the limit.
func New(cfg Config) *Limiter {
	if cfg.Rate <= 0 {
		return nil
	}
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = time.Minute
	}
	if refill := time.Duration(float64(cfg.Burst) / cfg.Rate * float64(time.Second)); refill > cfg.IdleTTL {
		cfg.IdleTTL = refill
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{
		rate:      rate.Limit(cfg.Rate),
		burst:     cfg.Burst,
		idleTTL:   cfg.IdleTTL,
		now:       cfg.Now,
		entries:   make(map[string]*entry),
		lastSweep: cfg.Now(),
	}
}

// Allow takes one token from key's bucket. When the bucket is empty it
// takes nothing and says how long until a token is available.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	e := l.entries[key]
	if e == nil {
		e = &entry{lim: rate.NewLimiter(l.rate, l.burst)}
		l.entries[key] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		// A refused event must not consume a future token.
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets idle keys, at most once per idleTTL, so its cost is
// amortised over the calls of one period. Call with mu held.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.idleTTL {
		return
	}
	l.lastSweep = now
	for k, e := range l.entries {
		if now.Sub(e.seen) >= l.idleTTL {
			delete(l.entries, k)
		}
	}
}

// Len is the number of keys remembered (for tests and metrics).
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
