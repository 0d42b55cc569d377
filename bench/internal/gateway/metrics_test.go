package gateway

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A /metrics page as client_golang prints it, plus what the format allows
// and the gateway does not print today (timestamps, braces and escaped
// quotes in label values).
const page = `# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.1e-05
go_gc_duration_seconds_sum 0.0123
go_gc_duration_seconds_count 42

# TYPE go_memstats_alloc_bytes_total counter
go_memstats_alloc_bytes_total 1.048576e+06
chatgw_webhook_message_loads_total{source="handoff"} 990
chatgw_webhook_message_loads_total{source="database"} 10
odd_label_values{path="/a b}",note="say \"hi\" }"} 7 1700000000000
process_start_time_seconds 1.7e+09
not_a_number NaN
`

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	m, err := ParseMetrics(strings.NewReader(page))
	require.NoError(t, err)
	require.Equal(t, 42.0, m["go_gc_duration_seconds_count"])
	require.Equal(t, 2.1e-05, m[`go_gc_duration_seconds{quantile="0"}`])
	require.Equal(t, 1048576.0, m["go_memstats_alloc_bytes_total"])
	require.Equal(t, 990.0, m[`chatgw_webhook_message_loads_total{source="handoff"}`])
	require.Equal(t, 10.0, m[`chatgw_webhook_message_loads_total{source="database"}`])
	require.Equal(t, 7.0, m[`odd_label_values{path="/a b}",note="say \"hi\" }"}`], "value, not the timestamp; the label set ends at the brace outside quotes")
	require.Contains(t, m, "not_a_number")
	require.Len(t, m, 9)
}

func TestParseMetricsRejectsWhatIsNotASample(t *testing.T) {
	t.Parallel()
	for name, line := range map[string]string{
		"no value":       "go_goroutines\n",
		"bad value":      "go_goroutines twelve\n",
		"unclosed":       `x{a="b" 1` + "\n",
		"extra field":    "x 1 2 3\n",
		"no metric name": `{a="b"} 1` + "\n",
	} {
		_, err := ParseMetrics(strings.NewReader(line))
		require.Error(t, err, name)
	}
}

func TestMetricsSince(t *testing.T) {
	t.Parallel()
	m0 := Metrics{"a": 10}
	m1 := Metrics{"a": 25, "b": 3}
	require.Equal(t, 15.0, m1.Since(m0, "a"))
	require.Equal(t, 3.0, m1.Since(m0, "b"), "missing before: counts from 0")
	require.Equal(t, 0.0, m1.Since(m0, "c"))
}

func TestParseHeapProfile(t *testing.T) {
	t.Parallel()
	text := "heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1\n\n# runtime.MemStats\n# Alloc = 123\n# HeapInuse = 4202496\n# Stack = 1015808 / 1015808\n# MSpan = 1 / 2\n"
	heap, stack, err := ParseHeapProfile(text)
	require.NoError(t, err)
	require.Equal(t, int64(4202496), heap)
	require.Equal(t, int64(1015808), stack)
	_, _, err = ParseHeapProfile("# HeapInuse = 5\n")
	require.Error(t, err, "no Stack line")
}

func TestParseGoroutineTotal(t *testing.T) {
	t.Parallel()
	n, err := ParseGoroutineTotal("goroutine profile: total 10023\n5 @ 0x1 0x2\n")
	require.NoError(t, err)
	require.Equal(t, 10023, n)
	_, err = ParseGoroutineTotal("heap profile: 1\n")
	require.Error(t, err)
}
