package stats

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSummarisePercentiles(t *testing.T) {
	t.Parallel()
	// 1..100 ms, shuffled: each percentile is its own rank.
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.Shuffle(len(d), func(i, j int) { d[i], d[j] = d[j], d[i] })
	require.Equal(t, Latencies{Count: 100, P50: 50, P90: 90, P99: 99, Max: 100}, Summarise(d))
}

func TestSummariseRanksRoundHalfUp(t *testing.T) {
	t.Parallel()
	// n = 7: p50 → rank round(3.5) = 4, p90 → round(6.3) = 6, p99 → round(6.93) = 7.
	d := []time.Duration{7, 1, 6, 2, 5, 3, 4}
	for i := range d {
		d[i] *= time.Millisecond
	}
	require.Equal(t, Latencies{Count: 7, P50: 4, P90: 6, P99: 7, Max: 7}, Summarise(d))
}

func TestSummariseSmallAndEmpty(t *testing.T) {
	t.Parallel()
	require.Equal(t, Latencies{}, Summarise(nil))
	one := Summarise([]time.Duration{1500 * time.Microsecond})
	require.Equal(t, Latencies{Count: 1, P50: 1.5, P90: 1.5, P99: 1.5, Max: 1.5}, one)
	// Rank 0 (p·n < 0.5) is clamped to the first element.
	require.Equal(t, time.Duration(3), Percentile([]time.Duration{3, 9}, 0.1))
}

func TestMsKeepsMicroseconds(t *testing.T) {
	t.Parallel()
	require.Equal(t, 12.345, Ms(12345*time.Microsecond+999*time.Nanosecond))
}

func TestMedian(t *testing.T) {
	t.Parallel()
	v := []float64{5, 1, 3}
	require.Equal(t, 3.0, Median(v))
	require.Equal(t, []float64{5, 1, 3}, v, "Median must not reorder its input")
	require.Equal(t, 4.0, Median([]float64{4, 1, 9, 2}), "even count: the upper middle")
	require.Equal(t, 0.0, Median(nil))
}

func TestRatesAndShares(t *testing.T) {
	t.Parallel()
	require.Equal(t, 250.0, Rate(500, 2*time.Second))
	require.Equal(t, 0.0, Rate(500, 0))
	require.Equal(t, 2.5, PerMessage(10, 4))
	require.Equal(t, 0.0, PerMessage(10, 0))
	require.Equal(t, 1024.0, PerConn(1<<20, 2<<20, 1024))
	require.Equal(t, -1.0, PerConn(2, 1, 1), "a reading that shrank is reported as it is")
	require.Equal(t, 0.0, PerConn(1, 2, 0))
	require.Equal(t, 75.0, Share(3, 4))
	require.Equal(t, 0.0, Share(3, 0))
}
