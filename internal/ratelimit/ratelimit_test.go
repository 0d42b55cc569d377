package ratelimit

import (
	"github.com/chatgw/chatgw/internal/fakeclock"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Unix(1_700_000_000, 0)) }

func TestZeroRateDisables(t *testing.T) {
	t.Parallel()
	l := New(Config{Rate: 0, Burst: 1})
	require.Nil(t, l)
	for range 1000 {
		ok, _ := l.Allow("k")
		require.True(t, ok)
	}
	require.Zero(t, l.Len())
}

func TestBurstThenRetryAfter(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := New(Config{Rate: 2, Burst: 3, Now: clk.Now})
	for range 3 {
		ok, _ := l.Allow("a")
		require.True(t, ok)
	}
	ok, wait := l.Allow("a")
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait)

	// A refused call takes nothing: the wait does not grow.
	ok, wait = l.Allow("a")
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait)

	// Keys are independent.
	ok, _ = l.Allow("b")
	require.True(t, ok)

	clk.Advance(500 * time.Millisecond)
	ok, _ = l.Allow("a")
	require.True(t, ok)
	ok, _ = l.Allow("a")
	require.False(t, ok)
}

func TestPerMinute(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cfg := PerMinute(2)
	cfg.Now = clk.Now
	l := New(cfg)
	require.True(t, first(l.Allow("ip")))
	require.True(t, first(l.Allow("ip")))
	ok, wait := l.Allow("ip")
	require.False(t, ok)
	require.Equal(t, 30*time.Second, wait)
}

func TestIdleEntriesExpire(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := New(Config{Rate: 10, Burst: 10, IdleTTL: time.Minute, Now: clk.Now})
	for i := range 10_000 {
		l.Allow("ip-" + strconv.Itoa(i))
	}
	require.Equal(t, 10_000, l.Len())

	clk.Advance(30 * time.Second)
	l.Allow("recent")
	require.Equal(t, 10_001, l.Len(), "nothing is idle for a minute yet")

	clk.Advance(31 * time.Second)
	l.Allow("another")
	require.Equal(t, 2, l.Len(), "only the keys seen within the TTL remain")
}

func TestIdleTTLCoversRefill(t *testing.T) {
	t.Parallel()
	clk := newClock()
	// A bucket of 10 at 1 per 10 s takes 100 s to refill; forgetting the key
	// after a 1 s TTL would hand out a fresh burst early.
	l := New(Config{Rate: 0.1, Burst: 10, IdleTTL: time.Second, Now: clk.Now})
	for range 10 {
		require.True(t, first(l.Allow("k")))
	}
	clk.Advance(50 * time.Second)
	l.Allow("other") // triggers a sweep
	granted := 0
	for range 10 {
		if ok, _ := l.Allow("k"); ok {
			granted++
		}
	}
	require.Equal(t, 5, granted, "half refilled after half the refill time")
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	l := New(Config{Rate: 1, Burst: 50})
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if ok, _ := l.Allow("shared"); ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	// 160 attempts within well under a second: the burst, and at most a
	// token or two of refill.
	require.GreaterOrEqual(t, granted, 50)
	require.LessOrEqual(t, granted, 52)
}

func first(ok bool, _ time.Duration) bool { return ok }
