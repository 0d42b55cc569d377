// Package fakeclock is a clock tests move by hand, for the components that
// take a Now func (rate limits, the anomaly guard, session and reply-token
// expiry).
package fakeclock

import (
	"sync"
	"time"
)

// Clock starts at a given time and moves only when Advance is called. It
// is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
