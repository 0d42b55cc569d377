package guard_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/guard"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

func newGuard(t *testing.T, cfg guard.Config) (*guard.Guard, *clock, *bytes.Buffer, *prometheus.CounterVec) {
	t.Helper()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	var logs bytes.Buffer
	anomalies := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chatgw_anomalies_total"}, []string{"kind"})
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	cfg.Anomalies = anomalies
	cfg.Now = c.Now
	return guard.New(cfg), c, &logs, anomalies
}

func TestAuthFailuresBlockThenExpire(t *testing.T) {
	t.Parallel()
	g, clk, logs, anomalies := newGuard(t, guard.Config{AuthFailures: 3, BlockDuration: time.Minute})
	for range 2 {
		g.AuthFailed("203.0.113.7")
	}
	blocked, _ := g.Blocked("203.0.113.7")
	require.False(t, blocked, "below the threshold")
	g.AuthFailed("203.0.113.7")
	blocked, wait := g.Blocked("203.0.113.7")
	require.True(t, blocked)
	require.Equal(t, time.Minute, wait)
	blocked, _ = g.Blocked("203.0.113.8")
	require.False(t, blocked, "another IP is not blocked")
	require.Equal(t, 1.0, testutil.ToFloat64(anomalies.WithLabelValues(guard.KindAuthFailures)))
	require.Equal(t, 1, strings.Count(logs.String(), `"msg":"anomaly"`))
	require.Contains(t, logs.String(), `"kind":"auth_failures","client_ip":"203.0.113.7"`)
	require.Contains(t, logs.String(), `"level":"WARN"`)

	clk.advance(59 * time.Second)
	blocked, wait = g.Blocked("203.0.113.7")
	require.True(t, blocked)
	require.Equal(t, time.Second, wait)
	clk.advance(time.Second)
	blocked, _ = g.Blocked("203.0.113.7")
	require.False(t, blocked, "the block expires")
}

func TestAuthFailuresOutsideTheWindowDoNotAddUp(t *testing.T) {
	t.Parallel()
	g, clk, _, _ := newGuard(t, guard.Config{AuthFailures: 3})
	g.AuthFailed("198.51.100.1")
	g.AuthFailed("198.51.100.1")
	clk.advance(guard.DefaultAuthWindow)
	g.AuthFailed("198.51.100.1")
	blocked, _ := g.Blocked("198.51.100.1")
	require.False(t, blocked)
}

func TestSessionGuessingAndSendFloodReportOncePerWindow(t *testing.T) {
	t.Parallel()
	g, clk, logs, anomalies := newGuard(t, guard.Config{})
	conv := "6f1c7c1e-6d0b-4a43-9d1e-0a4b0f6f0a01"
	for range 4 {
		g.WrongSessionToken(conv)
	}
	require.Zero(t, testutil.ToFloat64(anomalies.WithLabelValues(guard.KindSessionGuessing)))
	for range 10 {
		g.WrongSessionToken(conv)
	}
	require.Equal(t, 1.0, testutil.ToFloat64(anomalies.WithLabelValues(guard.KindSessionGuessing)))
	require.Contains(t, logs.String(), `"kind":"session_guessing","conversation_id":"`+conv+`"`)

	for range 49 {
		g.RateLimited(conv)
	}
	require.Zero(t, testutil.ToFloat64(anomalies.WithLabelValues(guard.KindSendFlood)))
	g.RateLimited(conv)
	require.Equal(t, 1.0, testutil.ToFloat64(anomalies.WithLabelValues(guard.KindSendFlood)))
	clk.advance(time.Minute)
	for range 50 {
		g.RateLimited(conv)
	}
	require.Equal(t, 2.0, testutil.ToFloat64(anomalies.WithLabelValues(guard.KindSendFlood)), "a new window reports again")
}

// However many IPs fail, the bookkeeping holds at most MaxKeys entries per
// table, and a block survives a flood of fresh counters.
func TestMemoryIsBoundedWhateverTheNumberOfIPs(t *testing.T) {
	t.Parallel()
	g, _, _, _ := newGuard(t, guard.Config{AuthFailures: 2, MaxKeys: 1000})
	g.AuthFailed("192.0.2.1")
	g.AuthFailed("192.0.2.1")
	for i := range 200_000 {
		ip := fmt.Sprintf("2001:db8::%x", i)
		g.AuthFailed(ip)
		g.WrongSessionToken(ip)
		g.RateLimited(ip)
	}
	require.LessOrEqual(t, g.Len(), 4*1000)
	blocked, _ := g.Blocked("192.0.2.1")
	require.True(t, blocked, "counters never evict a block")
}

func TestNilGuardNoticesNothing(t *testing.T) {
	t.Parallel()
	var g *guard.Guard
	g.AuthFailed("x")
	g.WrongSessionToken("y")
	g.RateLimited("z")
	blocked, _ := g.Blocked("x")
	require.False(t, blocked)
}
