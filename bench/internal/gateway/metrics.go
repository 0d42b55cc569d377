package gateway

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Metrics is one reading of a gateway's /metrics (Prometheus text format
// 0.0.4): each sample's value by its series as printed, name and label set,
// e.g. chatgw_webhook_message_loads_total{source="database"}.
type Metrics map[string]float64

// Since is how much series grew from the earlier reading m0 (a series
// missing from a reading counts as 0).
func (m Metrics) Since(m0 Metrics, series string) float64 { return m[series] - m0[series] }

// ParseMetrics reads the samples of a Prometheus text exposition. Comments
// (# HELP, # TYPE) and blank lines are skipped; a sample's optional
// timestamp is ignored; label values may hold spaces, braces and escaped
// quotes. A line that is not a sample is an error.
func ParseMetrics(r io.Reader) (Metrics, error) {
	out := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		series, rest, err := splitSeries(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w: %q", n, err, line)
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, fmt.Errorf("metrics line %d: want a value and an optional timestamp: %q", n, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value: %w", n, err)
		}
		out[series] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// splitSeries splits a sample line after its series: the name, and the
// label set up to its closing brace outside any quoted value.
func splitSeries(line string) (series, rest string, err error) {
	open := strings.IndexAny(line, "{ \t")
	if open <= 0 {
		return "", "", fmt.Errorf("no metric name")
	}
	if line[open] != '{' {
		return line[:open], line[open:], nil
	}
	quoted := false
	for i := open + 1; i < len(line); i++ {
		switch c := line[i]; {
		case quoted && c == '\\':
			i++ // the escaped character
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return line[:i+1], line[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("unclosed label set")
}

// ParseHeapProfile reads the heap and goroutine stack bytes in use from
// the runtime.MemStats comment lines of a heap profile in text form
// (/debug/pprof/heap?debug=1): "# HeapInuse = N" and "# Stack = inuse / sys".
func ParseHeapProfile(text string) (heapInuse, stackInuse int64, err error) {
	var haveHeap, haveStack bool
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
			heapInuse, err = strconv.ParseInt(v, 10, 64)
			haveHeap = err == nil
		}
		if v, ok := strings.CutPrefix(line, "# Stack = "); ok {
			v, _, _ = strings.Cut(v, " / ")
			stackInuse, err = strconv.ParseInt(v, 10, 64)
			haveStack = err == nil
		}
	}
	if !haveHeap || !haveStack {
		return 0, 0, fmt.Errorf("heap profile: no HeapInuse or Stack line")
	}
	return heapInuse, stackInuse, nil
}

// ParseGoroutineTotal reads the count from the first line of a goroutine
// profile in text form (/debug/pprof/goroutine?debug=1):
// "goroutine profile: total N".
func ParseGoroutineTotal(text string) (int, error) {
	line, _, _ := strings.Cut(text, "\n")
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("goroutine profile: unexpected first line %q", line)
	}
	return strconv.Atoi(v)
}
