package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatgw/chatgw/bench/internal/gateway"
	"github.com/chatgw/chatgw/bench/internal/procfs"
	"github.com/chatgw/chatgw/bench/internal/stats"
)

type throughputResult struct {
	Variant          string            `json:"variant"`
	Env              map[string]string `json:"env"`
	Senders          int               `json:"senders"`
	Receiver         string            `json:"receiver"`
	DurationSec      float64           `json:"durationSec"`
	Acked            int64             `json:"acked"`
	AckedPerSec      float64           `json:"ackedPerSec"`
	Errors           int64             `json:"errors"`
	Ack              stats.Latencies   `json:"ackLatency"`
	DeliveriesPerSec float64           `json:"webhookDeliveriesPerSec"`
	// DrainSec is how long after the last send the receiver took to see
	// every delivery (-1: not within the drain timeout).
	DrainSec       float64 `json:"drainSec"`
	DeliveredTotal int64   `json:"deliveredTotal"`
	MessagesTotal  int64   `json:"messagesTotal"`
	ServerCPUPct   float64 `json:"serverCpuPct"`
	// CPU is the CPU time each acked message cost, by process, over the
	// measured window.
	CPU            procfs.CPUCost `json:"cpuPerMessage"`
	RSSStart       int64          `json:"rssStartBytes"`
	RSSMax         int64          `json:"rssMaxBytes"`
	RSSEnd         int64          `json:"rssEndBytes"`
	FDsStart       int            `json:"fdsStart"`
	FDsMax         int            `json:"fdsMax"`
	HeldByReceiver int64          `json:"heldByReceiverMax,omitempty"`
	// HandoffPct is the share of the delivery worker's messages, in the
	// measured window, that came from the in-memory hand-off rather than a
	// read back from PostgreSQL (chatgw_webhook_message_loads_total).
	HandoffPct float64 `json:"handoffPct"`
	// AllocKiB is what the gateway's heap allocated per acked message in
	// the measured window (go_memstats_alloc_bytes_total): unlike CPU time
	// it does not move with the host's speed, and the GC's share of the
	// gateway's CPU follows it.
	AllocKiB float64 `json:"gatewayAllocKiBPerMessage"`
	// GCsPer1k is the gateway's GC cycles per 1,000 acked messages.
	GCsPer1k       float64 `json:"gatewayGCsPer1kMessages"`
	ConnectsPerSec float64 `json:"connectsPerSec"`
}

// throughputOpts are the throughput command's flags.
type throughputOpts struct {
	common
	senders    int
	duration   time.Duration
	warmup     time.Duration
	compare    bool
	runs       int
	receiver   string
	drain      time.Duration
	size       int
	cpuProfile string
}

func parseThroughput(args []string) (throughputOpts, error) {
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	var o throughputOpts
	o.common.register(fs)
	fs.IntVar(&o.senders, "senders", 200, "closed-loop senders, one anonymous conversation and socket each")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "measured time")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "time before measuring")
	fs.BoolVar(&o.compare, "compare", false, "also run with group commit off (SEND_BATCH_MAX=1), alternating, and report the ratio")
	fs.IntVar(&o.runs, "runs", 1, "repetitions of each variant (medians are reported)")
	fs.StringVar(&o.receiver, "receiver", "ok", "webhook receiver: ok (answers 204), hang (accepts, never answers), none (N8N_WEBHOOK_URL unset)")
	fs.DurationVar(&o.drain, "drain", 30*time.Second, "how long to wait for the webhook backlog after sending stops")
	fs.IntVar(&o.size, "size", 64, "message content length in bytes")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the gateway's CPU profile of the measured window of the last run to this file")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.duration <= 0 || o.duration > 10*time.Minute || o.senders < 1 || o.senders > 5000:
		return o, fmt.Errorf("keep the load bounded: 0 < -duration ≤ 10m, 1 ≤ -senders ≤ 5000")
	case o.runs < 1:
		return o, fmt.Errorf("-runs must be at least 1")
	case o.receiver != "ok" && o.receiver != "hang" && o.receiver != "none":
		return o, fmt.Errorf("-receiver: want ok, hang or none, got %q", o.receiver)
	case o.size < 1:
		return o, fmt.Errorf("-size must be at least 1")
	}
	return o, nil
}

// variants are the runs' configurations: group commit on, and off with
// -compare.
func variants(compare bool) []string {
	if compare {
		return []string{"batching on", "batching off"}
	}
	return []string{"batching on"}
}

// variantEnv is the gateway environment of a variant, under the -env
// flag's.
func variantEnv(variant string, extra map[string]string) map[string]string {
	env := map[string]string{}
	if variant == "batching off" {
		env["SEND_BATCH_MAX"] = "1"
	}
	return merge(env, extra)
}

func throughputCmd(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseThroughput(args)
	if err != nil {
		return err
	}
	vs := variants(o.compare)
	var all []throughputResult
	for r := range o.runs {
		for i := range vs {
			// Alternate the order so neither variant always runs first.
			v := vs[(i+r)%len(vs)]
			fmt.Fprintf(os.Stderr, "run %d/%d: %s ...\n", r+1, o.runs, v)
			res, err := runThroughput(ctx, o, variantEnv(v, o.env), v)
			if err != nil {
				return err
			}
			all = append(all, res)
			printThroughput(stdout, []throughputResult{res})
		}
	}
	summary := summariseThroughput(describeMachine(), all, vs, o.compare)
	if med, ok := summary["medians"].(map[string]throughputResult); ok {
		fmt.Fprintln(stdout, "\nmedians:")
		var rows []throughputResult
		for _, v := range vs {
			rows = append(rows, med[v])
		}
		printThroughput(stdout, rows)
	}
	if ratios, ok := summary["ratiosOnOff"].([]float64); ok {
		fmt.Fprintf(stdout, "batching on / off: %.2f× (median of %d paired runs: %v)\n", summary["ratioOnOffMedian"], len(ratios), fmtFloats(ratios))
	}
	return writeJSON(o.jsonOut, stdout, summary)
}

// summariseThroughput is the JSON document of a throughput command: the
// machine and every run; with several runs, each variant's medians; with
// -compare, the on/off ratio of each pair of runs and their median.
func summariseThroughput(m machine, all []throughputResult, vs []string, compare bool) map[string]any {
	summary := map[string]any{"machine": m, "runs": all}
	if len(all) < 2 {
		return summary
	}
	med := map[string]throughputResult{}
	for _, v := range vs {
		med[v] = medianThroughput(all, v)
	}
	summary["medians"] = med
	if compare {
		var ratios []float64
		for i := 0; i+1 < len(all); i += 2 {
			on, off := all[i], all[i+1]
			if on.Variant != "batching on" {
				on, off = off, on
			}
			ratios = append(ratios, on.AckedPerSec/off.AckedPerSec)
		}
		slices.Sort(ratios)
		summary["ratiosOnOff"] = ratios
		summary["ratioOnOffMedian"] = stats.Median(ratios)
	}
	return summary
}

func fmtFloats(f []float64) string {
	s := "["
	for i, v := range f {
		if i > 0 {
			s += " "
		}
		s += strconv.FormatFloat(v, 'f', 2, 64)
	}
	return s + "]"
}

func medianThroughput(all []throughputResult, variant string) throughputResult {
	var rs []throughputResult
	for _, r := range all {
		if r.Variant == variant {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b throughputResult) int {
		switch {
		case a.AckedPerSec < b.AckedPerSec:
			return -1
		case a.AckedPerSec > b.AckedPerSec:
			return 1
		}
		return 0
	})
	m := rs[len(rs)/2]
	med := func(f func(throughputResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m.Ack.P50 = med(func(r throughputResult) float64 { return r.Ack.P50 })
	m.Ack.P90 = med(func(r throughputResult) float64 { return r.Ack.P90 })
	m.Ack.P99 = med(func(r throughputResult) float64 { return r.Ack.P99 })
	m.Ack.Max = med(func(r throughputResult) float64 { return r.Ack.Max })
	m.DeliveriesPerSec = med(func(r throughputResult) float64 { return r.DeliveriesPerSec })
	m.DrainSec = med(func(r throughputResult) float64 { return r.DrainSec })
	m.ServerCPUPct = med(func(r throughputResult) float64 { return r.ServerCPUPct })
	m.HandoffPct = med(func(r throughputResult) float64 { return r.HandoffPct })
	m.AllocKiB = med(func(r throughputResult) float64 { return r.AllocKiB })
	m.GCsPer1k = med(func(r throughputResult) float64 { return r.GCsPer1k })
	m.CPU = procfs.CPUCost{
		GatewayUS:     med(func(r throughputResult) float64 { return r.CPU.GatewayUS }),
		PostgresUS:    med(func(r throughputResult) float64 { return r.CPU.PostgresUS }),
		BenchUS:       med(func(r throughputResult) float64 { return r.CPU.BenchUS }),
		MachineUS:     med(func(r throughputResult) float64 { return r.CPU.MachineUS }),
		GatewayReads:  med(func(r throughputResult) float64 { return r.CPU.GatewayReads }),
		GatewayWrites: med(func(r throughputResult) float64 { return r.CPU.GatewayWrites }),
	}
	m.Variant = variant + fmt.Sprintf(" (median of %d)", len(rs))
	return m
}

func printThroughput(w io.Writer, rs []throughputResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{
			r.Variant, strconv.Itoa(r.Senders), fmt.Sprintf("%.0f", r.AckedPerSec),
			fmt.Sprintf("%.1f", r.Ack.P50), fmt.Sprintf("%.1f", r.Ack.P90), fmt.Sprintf("%.1f", r.Ack.P99), fmt.Sprintf("%.1f", r.Ack.Max),
			strconv.FormatInt(r.Errors, 10), r.Receiver, fmt.Sprintf("%.0f", r.DeliveriesPerSec), fmt.Sprintf("%.0f%%", r.HandoffPct), fmt.Sprintf("%.1f", r.DrainSec),
			fmt.Sprintf("%.0f%%", r.ServerCPUPct), r.CPU.String(), fmt.Sprintf("%.2f/%.2f", r.CPU.GatewayReads, r.CPU.GatewayWrites), fmt.Sprintf("%.1f", r.AllocKiB), fmt.Sprintf("%.2f", r.GCsPer1k), mib(r.RSSStart) + "→" + mib(r.RSSMax), fmt.Sprintf("%d→%d", r.FDsStart, r.FDsMax),
		})
	}
	table(w, []string{"variant", "senders", "acked/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "receiver", "deliveries/s", "hand-off", "drain s", "server CPU", "CPU µs/msg gw+pg+bench=machine", "gw reads/writes per msg", "gw alloc KiB/msg", "gw GCs/1k msgs", "server RSS", "server fds"}, rows)
}

func runThroughput(ctx context.Context, o throughputOpts, env map[string]string, variant string) (res throughputResult, err error) {
	res = throughputResult{Variant: variant, Env: env, Senders: o.senders, Receiver: o.receiver}
	f, err := startFleet(ctx, o.common, env, o.receiver, o.cpuProfile != "", o.senders)
	if err != nil {
		return res, err
	}
	defer f.Close()
	recv, g, conns := f.recv, f.g, f.conns
	res.ConnectsPerSec = f.rate

	content := make([]byte, o.size)
	for i := range content {
		content[i] = 'a' + byte(i%26)
	}
	var (
		measuring atomic.Bool
		stopping  atomic.Bool
		acked     atomic.Int64
		errs      atomic.Int64
		total     atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
	)
	var wg sync.WaitGroup
	for i, conn := range conns {
		wg.Go(func() {
			done := make(chan bool, 1)
			local := make([]time.Duration, 0, 4096)
			for n := 0; !stopping.Load() && ctx.Err() == nil; n++ {
				payload := fmt.Appendf(nil, `{"content":"%s %d","clientMessageId":"s%d-%d"}`, content, n, i, n)
				t0 := time.Now()
				err := conn.EmitAck("client-send-message", payload, func(ok bool, _ []byte) { done <- ok })
				ok := err == nil && <-done
				d := time.Since(t0)
				if ok {
					total.Add(1)
				}
				if !measuring.Load() {
					continue
				}
				if ok {
					acked.Add(1)
					local = append(local, d)
				} else {
					errs.Add(1)
					if err != nil {
						break
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	defer func() {
		stopping.Store(true)
		closeAll(conns) // unblocks senders waiting on an ack when the run ends early
		wg.Wait()
	}()

	// Sample the server every 500 ms.
	s0 := g.Stats()
	res.RSSStart, res.FDsStart = s0.RSSBytes, s0.OpenFDs
	res.RSSMax, res.FDsMax = s0.RSSBytes, s0.OpenFDs
	sample := func() {
		s := g.Stats()
		res.RSSMax = max(res.RSSMax, s.RSSBytes)
		res.FDsMax = max(res.FDsMax, s.OpenFDs)
		if recv != nil {
			res.HeldByReceiver = max(res.HeldByReceiver, recv.open.Load())
		}
	}
	sleep := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) && ctx.Err() == nil {
			_ = sleepCtx(ctx, min(500*time.Millisecond, time.Until(end)))
			sample()
		}
	}
	sleep(o.warmup)
	var d0 int64
	if recv != nil {
		d0 = recv.unique.Load()
	}
	pids := f.cluster.PIDs()
	cpu0, total0 := procfs.ReadCPU(pids...), total.Load()
	metrics0, err := g.Metrics()
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	profiled := make(chan error, 1)
	if o.cpuProfile != "" {
		go func() { profiled <- writeCPUProfile(g, o.cpuProfile, o.duration) }()
	} else {
		profiled <- nil
	}
	measuring.Store(true)
	sleep(o.duration)
	measuring.Store(false)
	elapsed := time.Since(t0)
	if err := <-profiled; err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
	}
	sent := total.Load() - total0
	cpu1 := procfs.ReadCPU(pids...)
	res.CPU = cpu0.PerMessage(cpu1, sent)
	metrics1, err := g.Metrics()
	if err != nil {
		return res, err
	}
	res.AllocKiB, res.GCsPer1k, res.HandoffPct = metricFigures(metrics0, metrics1, sent)
	var d1 int64
	if recv != nil {
		d1 = recv.unique.Load()
	}
	stopping.Store(true)
	wg.Wait()
	stopAt := time.Now()

	res.DurationSec = elapsed.Seconds()
	res.Acked = acked.Load()
	res.AckedPerSec = stats.Rate(res.Acked, elapsed)
	res.Errors = errs.Load()
	mu.Lock()
	res.Ack = stats.Summarise(lat)
	mu.Unlock()
	res.ServerCPUPct = procfs.CPUPercent(cpu1.Gateway-cpu0.Gateway, elapsed.Seconds())
	res.MessagesTotal = total.Load()
	res.DrainSec = -1
	if recv != nil && o.receiver == "ok" {
		res.DeliveriesPerSec = stats.Rate(d1-d0, elapsed)
		for time.Since(stopAt) < o.drain && ctx.Err() == nil {
			if recv.unique.Load() >= res.MessagesTotal {
				res.DrainSec = time.Since(stopAt).Seconds()
				break
			}
			_ = sleepCtx(ctx, 20*time.Millisecond)
			sample()
		}
		res.DeliveredTotal = recv.unique.Load()
	} else {
		sleep(time.Second)
	}
	res.RSSEnd = g.Stats().RSSBytes
	sample()
	return res, ctx.Err()
}

// metricFigures are the throughput figures read from two /metrics
// readings around a window in which sent messages were acked: the
// gateway's heap allocated per message (KiB), its GC cycles per 1,000
// messages, and the share of deliveries whose message came from the
// in-memory hand-off rather than a read back from PostgreSQL.
func metricFigures(m0, m1 gateway.Metrics, sent int64) (allocKiB, gcsPer1k, handoffPct float64) {
	allocKiB = stats.PerMessage(m1.Since(m0, "go_memstats_alloc_bytes_total")/1024, sent)
	gcsPer1k = stats.PerMessage(m1.Since(m0, "go_gc_duration_seconds_count")*1000, sent)
	handoff := m1.Since(m0, `chatgw_webhook_message_loads_total{source="handoff"}`)
	handoffPct = stats.Share(handoff, handoff+m1.Since(m0, `chatgw_webhook_message_loads_total{source="database"}`))
	return allocKiB, gcsPer1k, handoffPct
}

// writeCPUProfile writes the gateway's CPU profile over the next d to path.
func writeCPUProfile(g *gateway.Process, path string, d time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = g.Pprof(fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(d.Seconds()))), f)
	return errors.Join(err, f.Close())
}
