// Package stats holds the arithmetic of the benchmark's figures:
// latency percentiles, medians of runs, rates and per-message costs.
package stats

import (
	"slices"
	"time"
)

// Latencies summarises durations in milliseconds.
type Latencies struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

// Summarise sorts d in place and returns its percentiles (see Percentile)
// and maximum.
func Summarise(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	return Latencies{
		Count: len(d),
		P50:   Ms(Percentile(d, 0.50)),
		P90:   Ms(Percentile(d, 0.90)),
		P99:   Ms(Percentile(d, 0.99)),
		Max:   Ms(d[len(d)-1]),
	}
}

// Percentile is the p-quantile (0 < p ≤ 1) of sorted: the element of rank
// p·n rounded half up (1-based, at least the first), as the bench has
// always computed it, so figures stay comparable across sessions.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Ms is d in milliseconds, to the microsecond.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Median is the middle value of v (the upper one of an even count), or 0
// for none. v is not modified.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// Rate is n events over d, per second (0 for an empty window).
func Rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// PerMessage is how much a counter grew per message (0 without messages).
func PerMessage(grew float64, messages int64) float64 {
	if messages <= 0 {
		return 0
	}
	return grew / float64(messages)
}

// PerConn is how much a reading grew between before and after, per
// connection (0 without connections).
func PerConn(before, after int64, conns int) float64 {
	if conns <= 0 {
		return 0
	}
	return float64(after-before) / float64(conns)
}

// Share is part as a percentage of whole (0 when whole is 0).
func Share(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * part / whole
}
