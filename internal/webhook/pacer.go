package webhook

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcome is what a finished attempt tells the Pacer about the receiver.
type Outcome int

const (
	// OutcomeNeutral says nothing about the receiver's load: a 4xx other
	// than 429, a 500, an attempt that never reached the network, or one
	// cut short by our own shutdown. The limit stays.
	OutcomeNeutral Outcome = iota
	// OutcomeDelivered is a 2xx: the limit grows by one, up to its maximum.
	OutcomeDelivered
	// OutcomeCongested is a timeout, a connection failure, 429 or 503: the
	// limit halves, down to 1.
	OutcomeCongested
)

// Pacer bounds the deliveries in flight in one process with AIMD (contract
// §5 Pacing): the limit starts at Max, halves on every congested outcome
// (never below 1) and grows by one on every delivered one (never above
// Max). A receiver that slows down is so sent fewer requests, not more.
//
// Slots are handed to waiters first come, first served. When the limit
// drops below the deliveries already in flight, they all finish; new ones
// start only once fewer than the limit are in flight.
type Pacer struct {
	mu       sync.Mutex
	max      int
	limit    int
	inflight int
	waiters  []chan struct{} // FIFO; closed when handed a slot

	inflightGauge, limitGauge prometheus.Gauge // may be nil
}

// NewPacer returns a pacer whose limit starts at maxInflight (≤ 0: 1). The
// gauges, when not nil, follow the deliveries in flight and the limit.
func NewPacer(maxInflight int, inflight, limit prometheus.Gauge) *Pacer {
	maxInflight = max(maxInflight, 1)
	p := &Pacer{max: maxInflight, limit: maxInflight, inflightGauge: inflight, limitGauge: limit}
	p.publish()
	return p
}

// Max is the most the limit can be (WEBHOOK_CONCURRENCY).
func (p *Pacer) Max() int { return p.max }

// Limit is the limit in force.
func (p *Pacer) Limit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// Inflight is how many slots are taken.
func (p *Pacer) Inflight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

// Waiting is how many Acquire calls wait for a slot.
func (p *Pacer) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

// Acquire takes a slot, waiting at most wait (and not past ctx) for one.
// It reports whether it got one; each slot taken must be given back with
// exactly one Release.
func (p *Pacer) Acquire(ctx context.Context, wait time.Duration) bool {
	p.mu.Lock()
	if p.inflight < p.limit && len(p.waiters) == 0 {
		p.inflight++
		p.publish()
		p.mu.Unlock()
		return true
	}
	if wait <= 0 {
		p.mu.Unlock()
		return false
	}
	ready := make(chan struct{})
	p.waiters = append(p.waiters, ready)
	p.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ready:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-ready: // handed a slot while giving up: keep it
		return true
	default:
	}
	for i, w := range p.waiters {
		if w == ready {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			break
		}
	}
	// Leaving may unblock the waiter behind us when slots are free.
	p.handOff()
	return false
}

// Release gives a slot back and adjusts the limit by the attempt's outcome.
func (p *Pacer) Release(o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	switch o {
	case OutcomeDelivered:
		p.limit = min(p.limit+1, p.max)
	case OutcomeCongested:
		p.limit = max(p.limit/2, 1)
	}
	p.handOff()
	p.publish()
}

// handOff gives free slots to the longest waiters. Called with mu held.
func (p *Pacer) handOff() {
	for p.inflight < p.limit && len(p.waiters) > 0 {
		close(p.waiters[0])
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		p.inflight++
	}
	p.publish()
}

func (p *Pacer) publish() {
	if p.inflightGauge != nil {
		p.inflightGauge.Set(float64(p.inflight))
	}
	if p.limitGauge != nil {
		p.limitGauge.Set(float64(p.limit))
	}
}
