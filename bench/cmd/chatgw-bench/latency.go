package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatgw/chatgw/bench/internal/procfs"
	"github.com/chatgw/chatgw/bench/internal/stats"
)

type latencyResult struct {
	Variant     string            `json:"variant"`
	Env         map[string]string `json:"env"`
	OfferedRate float64           `json:"offeredPerSec"`
	Conns       int               `json:"conns"`
	DurationSec float64           `json:"durationSec"`
	Sent        int64             `json:"sent"`
	Acked       int64             `json:"acked"`
	AckedPerSec float64           `json:"ackedPerSec"`
	Errors      int64             `json:"errors"`
	// Late counts sends that left more than 5 ms after their scheduled
	// time (the generator could not keep up); latency counts from the
	// scheduled time anyway, so it is never hidden.
	Late         int64           `json:"lateSends"`
	Ack          stats.Latencies `json:"ackLatency"`
	ServerCPUPct float64         `json:"serverCpuPct"`
}

// latencyOpts are the latency command's flags.
type latencyOpts struct {
	common
	rate     float64
	conns    int
	duration time.Duration
	warmup   time.Duration
	runs     int
	compare  bool
	receiver string
}

func parseLatency(args []string) (latencyOpts, error) {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	var o latencyOpts
	o.common.register(fs)
	fs.Float64Var(&o.rate, "rate", 1000, "offered messages per second (open loop)")
	fs.IntVar(&o.conns, "conns", 200, "sockets the sends are spread over (one anonymous conversation each)")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "measured time")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "time before measuring")
	fs.IntVar(&o.runs, "runs", 1, "repetitions (medians are reported)")
	fs.BoolVar(&o.compare, "compare", false, "also run with group commit off")
	fs.StringVar(&o.receiver, "receiver", "ok", "webhook receiver: ok or none")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.duration <= 0 || o.duration > 10*time.Minute || o.rate <= 0 || o.rate > 50000:
		return o, fmt.Errorf("keep the load bounded: 0 < -duration ≤ 10m, 0 < -rate ≤ 50000")
	case o.conns < 1 || o.conns > 15000:
		return o, fmt.Errorf("-conns: want 1 to 15000")
	case o.runs < 1:
		return o, fmt.Errorf("-runs must be at least 1")
	case o.receiver != "ok" && o.receiver != "none":
		return o, fmt.Errorf("-receiver: want ok or none, got %q", o.receiver)
	}
	return o, nil
}

func latencyCmd(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseLatency(args)
	if err != nil {
		return err
	}
	vs := variants(o.compare)
	var all []latencyResult
	for r := range o.runs {
		for _, v := range vs {
			fmt.Fprintf(os.Stderr, "run %d/%d: %s ...\n", r+1, o.runs, v)
			res, err := runLatency(ctx, o, variantEnv(v, o.env), v)
			if err != nil {
				return err
			}
			all = append(all, res)
			printLatency(stdout, []latencyResult{res})
		}
	}
	out := map[string]any{"machine": describeMachine(), "runs": all}
	if o.runs > 1 {
		meds := medianLatencies(all, vs)
		fmt.Fprintln(stdout, "\nmedians:")
		printLatency(stdout, meds)
		out["medians"] = meds
	}
	return writeJSON(o.jsonOut, stdout, out)
}

// medianLatencies is, for each variant, its last run with the median of
// the runs' percentiles and acked rate.
func medianLatencies(all []latencyResult, vs []string) []latencyResult {
	var meds []latencyResult
	for _, v := range vs {
		var p50, p90, p99, mx, ar []float64
		var last latencyResult
		for _, r := range all {
			if r.Variant == v {
				p50, p90, p99, mx, ar = append(p50, r.Ack.P50), append(p90, r.Ack.P90), append(p99, r.Ack.P99), append(mx, r.Ack.Max), append(ar, r.AckedPerSec)
				last = r
			}
		}
		m := last
		m.Variant = fmt.Sprintf("%s (median of %d)", v, len(p50))
		m.Ack.P50, m.Ack.P90, m.Ack.P99, m.Ack.Max, m.AckedPerSec = stats.Median(p50), stats.Median(p90), stats.Median(p99), stats.Median(mx), stats.Median(ar)
		meds = append(meds, m)
	}
	return meds
}

func printLatency(w io.Writer, rs []latencyResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.Variant, fmt.Sprintf("%.0f", r.OfferedRate), fmt.Sprintf("%.0f", r.AckedPerSec),
			fmt.Sprintf("%.1f", r.Ack.P50), fmt.Sprintf("%.1f", r.Ack.P90), fmt.Sprintf("%.1f", r.Ack.P99), fmt.Sprintf("%.1f", r.Ack.Max),
			strconv.FormatInt(r.Errors, 10), strconv.FormatInt(r.Late, 10), fmt.Sprintf("%.0f%%", r.ServerCPUPct)})
	}
	table(w, []string{"variant", "offered/s", "acked/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "late sends", "server CPU"}, rows)
}

func runLatency(ctx context.Context, o latencyOpts, env map[string]string, variant string) (latencyResult, error) {
	res := latencyResult{Variant: variant, Env: env, OfferedRate: o.rate, Conns: o.conns}
	f, err := startFleet(ctx, o.common, env, o.receiver, false, o.conns)
	if err != nil {
		return res, err
	}
	defer f.Close()
	g, conns := f.g, f.conns

	var (
		sent, acked, errs, late atomic.Int64
		mu                      sync.Mutex
		lat                     []time.Duration
		inflight                sync.WaitGroup
	)
	measureFrom := time.Now().Add(o.warmup)
	end := measureFrom.Add(o.duration)
	interval := time.Duration(float64(time.Second) / o.rate)
	// One scheduler: send number n is due at start + n*interval, whatever
	// happened to the earlier ones (open loop).
	start := time.Now()
	var cpu0 int64
	cpuTaken := false
	for n := int64(0); ctx.Err() == nil; n++ {
		due := start.Add(time.Duration(n) * interval)
		if !due.Before(end) {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d) // the schedule itself, not a wait for a signal
		}
		if time.Since(due) > 5*time.Millisecond {
			late.Add(1)
		}
		measured := !due.Before(measureFrom)
		conn := conns[n%int64(len(conns))]
		payload := fmt.Appendf(nil, `{"content":"latency probe %d","clientMessageId":"l%d"}`, n, n)
		inflight.Add(1)
		if measured {
			sent.Add(1)
		}
		err := conn.EmitAck("client-send-message", payload, func(ok bool, _ []byte) {
			defer inflight.Done()
			if !measured {
				return
			}
			if !ok {
				errs.Add(1)
				return
			}
			d := time.Since(due)
			acked.Add(1)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		})
		if err != nil {
			inflight.Done()
			if measured {
				errs.Add(1)
			}
		}
		if measured && !cpuTaken {
			cpu0, cpuTaken = g.Stats().CPUTicks, true
		}
	}
	res.ServerCPUPct = procfs.CPUPercent(g.Stats().CPUTicks-cpu0, o.duration.Seconds())
	waitDone := make(chan struct{})
	go func() { inflight.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(15 * time.Second):
	}
	res.DurationSec = o.duration.Seconds()
	res.Sent, res.Acked, res.Errors, res.Late = sent.Load(), acked.Load(), errs.Load(), late.Load()
	res.AckedPerSec = stats.Rate(res.Acked, o.duration)
	mu.Lock()
	res.Ack = stats.Summarise(lat)
	mu.Unlock()
	return res, ctx.Err()
}
