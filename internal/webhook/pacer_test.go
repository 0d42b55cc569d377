package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/webhook"
)

// The AIMD rules of contract §5, exactly: start at the maximum, halve per
// congested outcome down to 1, +1 per delivered up to the maximum, neutral
// outcomes change nothing.
func TestPacerAIMDRules(t *testing.T) {
	t.Parallel()
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "inflight"})
	limit := prometheus.NewGauge(prometheus.GaugeOpts{Name: "limit"})
	p := webhook.NewPacer(16, inflight, limit)
	require.Equal(t, 16, p.Limit())
	require.InDelta(t, 16, testutil.ToFloat64(limit), 0)

	step := func(o webhook.Outcome) int {
		require.True(t, p.Acquire(context.Background(), 0))
		p.Release(o)
		return p.Limit()
	}
	require.Equal(t, 16, step(webhook.OutcomeDelivered), "never above the maximum")
	require.Equal(t, 8, step(webhook.OutcomeCongested))
	require.Equal(t, 8, step(webhook.OutcomeNeutral))
	require.Equal(t, 4, step(webhook.OutcomeCongested))
	require.Equal(t, 2, step(webhook.OutcomeCongested))
	require.Equal(t, 1, step(webhook.OutcomeCongested))
	require.Equal(t, 1, step(webhook.OutcomeCongested), "never below 1")
	for want := 2; want <= 16; want++ {
		require.Equal(t, want, step(webhook.OutcomeDelivered))
	}
	require.Equal(t, 16, step(webhook.OutcomeDelivered))
	odd := webhook.NewPacer(15, nil, nil)
	require.True(t, odd.Acquire(context.Background(), 0))
	odd.Release(webhook.OutcomeCongested)
	require.Equal(t, 7, odd.Limit(), "odd limits round down")
	require.InDelta(t, 16, testutil.ToFloat64(limit), 0)
	require.InDelta(t, 0, testutil.ToFloat64(inflight), 0)
}

func TestPacerBoundsInflight(t *testing.T) {
	t.Parallel()
	inflight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "inflight"})
	p := webhook.NewPacer(4, inflight, nil)
	ctx := context.Background()
	for range 4 {
		require.True(t, p.Acquire(ctx, 0))
	}
	require.InDelta(t, 4, testutil.ToFloat64(inflight), 0)
	require.False(t, p.Acquire(ctx, 0), "full")
	require.False(t, p.Acquire(ctx, 20*time.Millisecond), "still full after a brief wait")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.False(t, p.Acquire(cctx, time.Hour), "a cancelled wait gives up")

	// A congested outcome halves the limit to 2 with 3 still in flight: no
	// new slot until fewer than 2 are in flight.
	p.Release(webhook.OutcomeCongested)
	require.Equal(t, 2, p.Limit())
	require.Equal(t, 3, p.Inflight())
	require.False(t, p.Acquire(ctx, 0))
	p.Release(webhook.OutcomeNeutral)
	require.False(t, p.Acquire(ctx, 0))
	p.Release(webhook.OutcomeNeutral)
	require.True(t, p.Acquire(ctx, 0))
	require.Equal(t, 2, p.Inflight())
}

// Waiters are served first come, first served, and a freed slot goes to a
// waiter rather than to a newcomer.
func TestPacerHandsSlotsToWaitersInOrder(t *testing.T) {
	t.Parallel()
	p := webhook.NewPacer(1, nil, nil)
	ctx := context.Background()
	require.True(t, p.Acquire(ctx, 0))
	got := make(chan int, 2)
	for i := range 2 {
		go func() {
			if p.Acquire(ctx, time.Minute) {
				got <- i
			}
		}()
		require.Eventually(t, func() bool { return p.Waiting() == i+1 }, 5*time.Second, time.Millisecond)
	}
	require.False(t, p.Acquire(ctx, 0), "a newcomer does not overtake the waiters")
	p.Release(webhook.OutcomeDelivered)
	require.Equal(t, 0, <-got)
	require.Equal(t, 1, p.Inflight())
	p.Release(webhook.OutcomeDelivered)
	require.Equal(t, 1, <-got)
	p.Release(webhook.OutcomeDelivered)
	require.Equal(t, 0, p.Inflight())
	require.Equal(t, 0, p.Waiting())
}
