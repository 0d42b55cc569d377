package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
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
	Ack              latencies         `json:"ackLatency"`
	DeliveriesPerSec float64           `json:"webhookDeliveriesPerSec"`
	// DrainSec is how long after the last send the receiver took to see
	// every delivery (-1: not within the drain timeout).
	DrainSec       float64 `json:"drainSec"`
	DeliveredTotal int64   `json:"deliveredTotal"`
	MessagesTotal  int64   `json:"messagesTotal"`
	ServerCPUPct   float64 `json:"serverCpuPct"`
	// CPU is the CPU time each acked message cost, by process, over the
	// measured window.
	CPU            cpuCost `json:"cpuPerMessage"`
	RSSStart       int64   `json:"rssStartBytes"`
	RSSMax         int64   `json:"rssMaxBytes"`
	RSSEnd         int64   `json:"rssEndBytes"`
	FDsStart       int     `json:"fdsStart"`
	FDsMax         int     `json:"fdsMax"`
	HeldByReceiver int64   `json:"heldByReceiverMax,omitempty"`
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

// cpuProfile is the -cpuprofile file of the throughput command.
var cpuProfile string

func throughputCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("throughput", flag.ExitOnError)
	var c common
	c.register(fs)
	senders := fs.Int("senders", 200, "closed-loop senders, one anonymous conversation and socket each")
	duration := fs.Duration("duration", 15*time.Second, "measured time")
	warmup := fs.Duration("warmup", 3*time.Second, "time before measuring")
	compare := fs.Bool("compare", false, "also run with group commit off (SEND_BATCH_MAX=1), alternating, and report the ratio")
	runs := fs.Int("runs", 1, "repetitions of each variant (medians are reported)")
	recv := fs.String("receiver", "ok", "webhook receiver: ok (answers 204), hang (accepts, never answers), none (N8N_WEBHOOK_URL unset)")
	drain := fs.Duration("drain", 30*time.Second, "how long to wait for the webhook backlog after sending stops")
	size := fs.Int("size", 64, "message content length in bytes")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the gateway's CPU profile of the measured window of the last run to this file")
	_ = fs.Parse(args)
	if *duration > 10*time.Minute || *senders > 5000 {
		return fmt.Errorf("keep the load bounded: -duration ≤ 10m, -senders ≤ 5000")
	}

	variants := []string{"batching on"}
	if *compare {
		variants = append(variants, "batching off")
	}
	var all []throughputResult
	for r := range *runs {
		for i := range variants {
			// Alternate the order so neither variant always runs first.
			v := variants[(i+r)%len(variants)]
			env := map[string]string{}
			if v == "batching off" {
				env["SEND_BATCH_MAX"] = "1"
			}
			env = merge(env, c.extraEnv())
			fmt.Fprintf(os.Stderr, "run %d/%d: %s ...\n", r+1, *runs, v)
			res, err := runThroughput(ctx, c, env, v, *senders, *warmup, *duration, *recv, *drain, *size)
			if err != nil {
				return err
			}
			all = append(all, res)
			printThroughput([]throughputResult{res})
		}
	}
	summary := map[string]any{"machine": describeMachine(), "runs": all}
	if len(all) > 1 {
		fmt.Println("\nmedians:")
		med := map[string]throughputResult{}
		for _, v := range variants {
			med[v] = medianThroughput(all, v)
		}
		var rows []throughputResult
		for _, v := range variants {
			rows = append(rows, med[v])
		}
		printThroughput(rows)
		summary["medians"] = med
		if *compare {
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
			summary["ratioOnOffMedian"] = ratios[len(ratios)/2]
			fmt.Printf("batching on / off: %.2f× (median of %d paired runs: %v)\n", ratios[len(ratios)/2], len(ratios), fmtFloats(ratios))
		}
	} else if *compare && len(all) == 2 {
		on, off := all[0], all[1]
		if on.Variant != "batching on" {
			on, off = off, on
		}
		summary["ratioOnOffMedian"] = on.AckedPerSec / off.AckedPerSec
		fmt.Printf("batching on / off: %.2f×\n", on.AckedPerSec/off.AckedPerSec)
	}
	return writeJSON(c.jsonOut, summary)
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
	m.CPU = cpuCost{
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

func printThroughput(rs []throughputResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{
			r.Variant, strconv.Itoa(r.Senders), fmt.Sprintf("%.0f", r.AckedPerSec),
			fmt.Sprintf("%.1f", r.Ack.P50), fmt.Sprintf("%.1f", r.Ack.P90), fmt.Sprintf("%.1f", r.Ack.P99), fmt.Sprintf("%.1f", r.Ack.Max),
			strconv.FormatInt(r.Errors, 10), r.Receiver, fmt.Sprintf("%.0f", r.DeliveriesPerSec), fmt.Sprintf("%.0f%%", r.HandoffPct), fmt.Sprintf("%.1f", r.DrainSec),
			fmt.Sprintf("%.0f%%", r.ServerCPUPct), r.CPU.String(), fmt.Sprintf("%.2f/%.2f", r.CPU.GatewayReads, r.CPU.GatewayWrites), fmt.Sprintf("%.1f", r.AllocKiB), fmt.Sprintf("%.2f", r.GCsPer1k), mib(r.RSSStart) + "→" + mib(r.RSSMax), fmt.Sprintf("%d→%d", r.FDsStart, r.FDsMax),
		})
	}
	table(os.Stdout, []string{"variant", "senders", "acked/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "receiver", "deliveries/s", "hand-off", "drain s", "server CPU", "CPU µs/msg gw+pg+bench=machine", "gw reads/writes per msg", "gw alloc KiB/msg", "gw GCs/1k msgs", "server RSS", "server fds"}, rows)
}

func runThroughput(ctx context.Context, c common, env map[string]string, variant string, senders int, warmup, duration time.Duration, recvMode string, drain time.Duration, size int) (throughputResult, error) {
	res := throughputResult{Variant: variant, Env: env, Senders: senders, Receiver: recvMode}
	f, err := startFleet(ctx, c, env, recvMode, senders)
	if err != nil {
		return res, err
	}
	defer f.Close()
	recv, g, conns := f.recv, f.g, f.conns
	res.ConnectsPerSec = f.rate

	content := make([]byte, size)
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
				err := conn.emitAck("client-send-message", payload, func(ok bool, _ []byte) { done <- ok })
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
						return
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}

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
			time.Sleep(min(500*time.Millisecond, time.Until(end)))
			sample()
		}
	}
	sleep(warmup)
	var d0 int64
	if recv != nil {
		d0 = recv.unique.Load()
	}
	cpu0 := g.Stats().CPUTicks
	ticks0, total0 := readCPUTicks(g.cmd.Process.Pid), total.Load()
	metrics0 := g.metrics()
	t0 := time.Now()
	profiled := make(chan struct{})
	if cpuProfile != "" {
		go func() {
			defer close(profiled)
			f, err := os.Create(cpuProfile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "cpuprofile:", err)
				return
			}
			defer f.Close()
			if err := g.fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(duration.Seconds())), f); err != nil {
				fmt.Fprintln(os.Stderr, "cpuprofile:", err)
			}
		}()
	} else {
		close(profiled)
	}
	measuring.Store(true)
	sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(t0)
	<-profiled
	cpu1 := g.Stats().CPUTicks
	sent := total.Load() - total0
	res.CPU = ticks0.perMessage(readCPUTicks(g.cmd.Process.Pid), sent)
	metrics1 := g.metrics()
	if sent > 0 {
		res.AllocKiB = metrics1.since(metrics0, "go_memstats_alloc_bytes_total") / 1024 / float64(sent)
		res.GCsPer1k = metrics1.since(metrics0, "go_gc_duration_seconds_count") * 1000 / float64(sent)
	}
	handoff := metrics1.since(metrics0, `chatgw_webhook_message_loads_total{source="handoff"}`)
	if all := handoff + metrics1.since(metrics0, `chatgw_webhook_message_loads_total{source="database"}`); all > 0 {
		res.HandoffPct = 100 * handoff / all
	}
	var d1 int64
	if recv != nil {
		d1 = recv.unique.Load()
	}
	stopping.Store(true)
	wg.Wait()
	stopAt := time.Now()

	res.DurationSec = elapsed.Seconds()
	res.Acked = acked.Load()
	res.AckedPerSec = float64(res.Acked) / elapsed.Seconds()
	res.Errors = errs.Load()
	res.Ack = summarise(lat)
	res.ServerCPUPct = float64(cpu1-cpu0) / 100 / elapsed.Seconds() * 100 // USER_HZ = 100
	res.MessagesTotal = total.Load()
	res.DrainSec = -1
	if recv != nil && recvMode == "ok" {
		res.DeliveriesPerSec = float64(d1-d0) / elapsed.Seconds()
		for time.Since(stopAt) < drain && ctx.Err() == nil {
			if recv.unique.Load() >= res.MessagesTotal {
				res.DrainSec = time.Since(stopAt).Seconds()
				break
			}
			time.Sleep(20 * time.Millisecond)
			sample()
		}
		res.DeliveredTotal = recv.unique.Load()
	} else {
		sleep(time.Second)
	}
	res.RSSEnd = g.Stats().RSSBytes
	sample()
	return res, nil
}
