package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/bench/internal/gateway"
	"github.com/chatgw/chatgw/bench/internal/procfs"
	"github.com/chatgw/chatgw/bench/internal/stats"
)

// roundTrip is v as a reader of the -json file sees it.
func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, writeJSON("-", &b, v))
	var out map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &out))
	return out
}

// The names of the JSON fields are what docs/benchmarks/*.json and the
// sessions' comparisons read: they must not change with the code.
func TestThroughputJSONFieldNames(t *testing.T) {
	t.Parallel()
	r := throughputResult{
		Variant: "batching on", Env: map[string]string{}, Senders: 200, Receiver: "ok", DurationSec: 15, Acked: 45000, AckedPerSec: 3000,
		Ack: stats.Latencies{Count: 45000, P50: 60, P90: 90, P99: 120, Max: 300}, DeliveriesPerSec: 2900, DrainSec: 0.5,
		DeliveredTotal: 50000, MessagesTotal: 50000, ServerCPUPct: 95, CPU: procfs.CPUCost{GatewayUS: 318, PostgresUS: 216, BenchUS: 81, MachineUS: 614, GatewayReads: 7, GatewayWrites: 3},
		RSSStart: 1, RSSMax: 2, RSSEnd: 3, FDsStart: 4, FDsMax: 5, HeldByReceiver: 0, HandoffPct: 99, AllocKiB: 37, GCsPer1k: 5, ConnectsPerSec: 3000,
	}
	got := roundTrip(t, r)
	for _, k := range []string{"variant", "env", "senders", "receiver", "durationSec", "acked", "ackedPerSec", "errors", "ackLatency",
		"webhookDeliveriesPerSec", "drainSec", "deliveredTotal", "messagesTotal", "serverCpuPct", "cpuPerMessage", "rssStartBytes",
		"rssMaxBytes", "rssEndBytes", "fdsStart", "fdsMax", "handoffPct", "gatewayAllocKiBPerMessage", "gatewayGCsPer1kMessages", "connectsPerSec"} {
		require.Contains(t, got, k)
	}
	require.NotContains(t, got, "heldByReceiverMax", "omitted when zero")
	require.Len(t, got, 24)
	require.Equal(t, map[string]any{"count": 45000.0, "p50Ms": 60.0, "p90Ms": 90.0, "p99Ms": 120.0, "maxMs": 300.0}, got["ackLatency"])
	require.Equal(t, map[string]any{"gatewayUs": 318.0, "postgresUs": 216.0, "benchUs": 81.0, "machineUs": 614.0, "gatewayReadsPerMsg": 7.0, "gatewayWritesPerMsg": 3.0}, got["cpuPerMessage"])
}

func TestOtherResultsJSONFieldNames(t *testing.T) {
	t.Parallel()
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		return ks
	}
	require.ElementsMatch(t, []string{"variant", "env", "offeredPerSec", "conns", "durationSec", "sent", "acked", "ackedPerSec", "errors", "lateSends", "ackLatency", "serverCpuPct"},
		keys(roundTrip(t, latencyResult{})))
	require.ElementsMatch(t, []string{"env", "conns", "connectsPerSec", "rssBeforeBytes", "rssAfterBytes", "rssPerConnBytes", "heapInuseBeforeBytes", "heapInuseAfterBytes",
		"heapPerConnBytes", "stackPerConnBytes", "goroutinesPerConn", "goroutinesAfter", "fdsAfter", "droppedDuringHold"},
		keys(roundTrip(t, idleResult{})))
	require.ElementsMatch(t, []string{"mode", "clients", "messagesPerTx", "durationSec", "messages", "messagesPerSec", "txPerSec"},
		keys(roundTrip(t, ceilingResult{})))
	require.ElementsMatch(t, []string{"cpus", "cpuModel", "goVersion", "postgres", "when"}, keys(roundTrip(t, machine{})))
}

func TestSummariseThroughputCompare(t *testing.T) {
	t.Parallel()
	// Three paired runs, the order alternating as throughputCmd runs them.
	all := []throughputResult{
		{Variant: "batching on", AckedPerSec: 3000, Ack: stats.Latencies{P99: 30}},
		{Variant: "batching off", AckedPerSec: 1000, Ack: stats.Latencies{P99: 90}},
		{Variant: "batching off", AckedPerSec: 1500, Ack: stats.Latencies{P99: 80}},
		{Variant: "batching on", AckedPerSec: 3300, Ack: stats.Latencies{P99: 20}},
		{Variant: "batching on", AckedPerSec: 2400, Ack: stats.Latencies{P99: 40}},
		{Variant: "batching off", AckedPerSec: 1200, Ack: stats.Latencies{P99: 70}},
	}
	got := roundTrip(t, summariseThroughput(machine{CPUs: 2}, all, variants(true), true))
	require.Equal(t, []any{2.0, 2.2, 3.0}, got["ratiosOnOff"], "on/off of each pair, whichever ran first, sorted")
	require.Equal(t, 2.2, got["ratioOnOffMedian"])
	require.Len(t, got["runs"], 6)
	require.Equal(t, 2.0, got["machine"].(map[string]any)["cpus"])
	meds := got["medians"].(map[string]any)
	on := meds["batching on"].(map[string]any)
	require.Equal(t, "batching on (median of 3)", on["variant"])
	require.Equal(t, 3000.0, on["ackedPerSec"])
	require.Equal(t, 30.0, on["ackLatency"].(map[string]any)["p99Ms"])
	require.Equal(t, 1200.0, meds["batching off"].(map[string]any)["ackedPerSec"])
}

func TestSummariseThroughputSingleRun(t *testing.T) {
	t.Parallel()
	got := roundTrip(t, summariseThroughput(machine{}, []throughputResult{{Variant: "batching on"}}, variants(false), false))
	require.NotContains(t, got, "medians")
	require.NotContains(t, got, "ratiosOnOff")
	got = roundTrip(t, summariseThroughput(machine{}, []throughputResult{{Variant: "batching on", AckedPerSec: 3}, {Variant: "batching off", AckedPerSec: 2}}, variants(true), true))
	require.Equal(t, []any{1.5}, got["ratiosOnOff"])
	require.Equal(t, 1.5, got["ratioOnOffMedian"])
}

func TestMedianThroughputTakesEachFigureSMedian(t *testing.T) {
	t.Parallel()
	all := []throughputResult{
		{Variant: "v", AckedPerSec: 10, AllocKiB: 30, HandoffPct: 99, CPU: procfs.CPUCost{GatewayUS: 300}, Senders: 1},
		{Variant: "v", AckedPerSec: 30, AllocKiB: 10, HandoffPct: 97, CPU: procfs.CPUCost{GatewayUS: 100}, Senders: 2},
		{Variant: "v", AckedPerSec: 20, AllocKiB: 20, HandoffPct: 98, CPU: procfs.CPUCost{GatewayUS: 200}, Senders: 3},
		{Variant: "other", AckedPerSec: 1000},
	}
	m := medianThroughput(all, "v")
	require.Equal(t, 20.0, m.AckedPerSec)
	require.Equal(t, 3, m.Senders, "the median-throughput run's own fields")
	require.Equal(t, 20.0, m.AllocKiB)
	require.Equal(t, 98.0, m.HandoffPct)
	require.Equal(t, 200.0, m.CPU.GatewayUS)
	require.Equal(t, "v (median of 3)", m.Variant)
}

func TestMetricFigures(t *testing.T) {
	t.Parallel()
	m0 := gateway.Metrics{"go_memstats_alloc_bytes_total": 1 << 20, "go_gc_duration_seconds_count": 10,
		`chatgw_webhook_message_loads_total{source="handoff"}`: 100, `chatgw_webhook_message_loads_total{source="database"}`: 5}
	m1 := gateway.Metrics{"go_memstats_alloc_bytes_total": 1<<20 + 2000*36*1024, "go_gc_duration_seconds_count": 20,
		`chatgw_webhook_message_loads_total{source="handoff"}`: 2090, `chatgw_webhook_message_loads_total{source="database"}`: 15}
	alloc, gcs, handoff := metricFigures(m0, m1, 2000)
	require.Equal(t, 36.0, alloc, "KiB per message")
	require.Equal(t, 5.0, gcs, "10 GCs over 2,000 messages")
	require.Equal(t, 99.5, handoff, "1,990 of 2,000 deliveries in the window")
	alloc, gcs, handoff = metricFigures(m0, m0, 0)
	require.Zero(t, alloc+gcs+handoff)
}

func TestMedianLatenciesIdleCeilings(t *testing.T) {
	t.Parallel()
	lat := medianLatencies([]latencyResult{
		{Variant: "batching on", Ack: stats.Latencies{P50: 5, P99: 50}, AckedPerSec: 990},
		{Variant: "batching on", Ack: stats.Latencies{P50: 3, P99: 10}, AckedPerSec: 1000},
		{Variant: "batching on", Ack: stats.Latencies{P50: 4, P99: 20}, AckedPerSec: 995},
	}, variants(false))
	require.Len(t, lat, 1)
	require.Equal(t, "batching on (median of 3)", lat[0].Variant)
	require.Equal(t, stats.Latencies{P50: 4, P99: 20}, lat[0].Ack)
	require.Equal(t, 995.0, lat[0].AckedPerSec)

	idle := medianIdle([]idleResult{{RSSPerConn: 28, HeapPerConn: 19, StackPerConn: 4, ConnectsPerSec: 3000}, {RSSPerConn: 26, HeapPerConn: 18, StackPerConn: 5, ConnectsPerSec: 2000}, {RSSPerConn: 30, HeapPerConn: 20, StackPerConn: 3, ConnectsPerSec: 2500}})
	require.Equal(t, idleResult{RSSPerConn: 28, HeapPerConn: 19, StackPerConn: 4, ConnectsPerSec: 2500}, idle)

	ceil := medianCeilings([]ceilingResult{
		{Mode: "one message per tx", PerTx: 1, MsgsPerSec: 2000, TxPerSec: 2000}, {Mode: "batched 50 per tx", PerTx: 50, MsgsPerSec: 19000, TxPerSec: 380},
		{Mode: "one message per tx", PerTx: 1, MsgsPerSec: 2200, TxPerSec: 2200}, {Mode: "batched 50 per tx", PerTx: 50, MsgsPerSec: 20000, TxPerSec: 400},
		{Mode: "one message per tx", PerTx: 1, MsgsPerSec: 2100, TxPerSec: 2100}, {Mode: "batched 50 per tx", PerTx: 50, MsgsPerSec: 18000, TxPerSec: 360},
	}, 50)
	require.Equal(t, []ceilingResult{
		{Mode: "one message per tx (median of 3)", PerTx: 1, MsgsPerSec: 2100, TxPerSec: 2100},
		{Mode: "batched 50 per tx (median of 3)", PerTx: 50, MsgsPerSec: 19000, TxPerSec: 380},
	}, ceil)
}

func TestWriteJSONToFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.json")
	require.NoError(t, writeJSON(path, nil, map[string]any{"a": 1}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{\n  \"a\": 1\n}\n", string(b))
	require.NoError(t, writeJSON("", nil, map[string]any{"a": 1}), "no -json: nothing written")
}
