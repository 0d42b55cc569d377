package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
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
	Late         int64     `json:"lateSends"`
	Ack          latencies `json:"ackLatency"`
	ServerCPUPct float64   `json:"serverCpuPct"`
}

func latencyCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	var c common
	c.register(fs)
	rate := fs.Float64("rate", 1000, "offered messages per second (open loop)")
	conns := fs.Int("conns", 200, "sockets the sends are spread over (one anonymous conversation each)")
	duration := fs.Duration("duration", 15*time.Second, "measured time")
	warmup := fs.Duration("warmup", 2*time.Second, "time before measuring")
	runs := fs.Int("runs", 1, "repetitions (medians are reported)")
	compare := fs.Bool("compare", false, "also run with group commit off")
	recv := fs.String("receiver", "ok", "webhook receiver: ok or none")
	_ = fs.Parse(args)
	if *duration > 10*time.Minute || *rate > 50000 {
		return fmt.Errorf("keep the load bounded: -duration ≤ 10m, -rate ≤ 50000")
	}
	variants := []string{"batching on"}
	if *compare {
		variants = append(variants, "batching off")
	}
	var all []latencyResult
	for r := range *runs {
		for _, v := range variants {
			env := map[string]string{}
			if v == "batching off" {
				env["SEND_BATCH_MAX"] = "1"
			}
			env = merge(env, c.extraEnv())
			fmt.Fprintf(os.Stderr, "run %d/%d: %s ...\n", r+1, *runs, v)
			res, err := runLatency(ctx, c, env, v, *rate, *conns, *warmup, *duration, *recv)
			if err != nil {
				return err
			}
			all = append(all, res)
			printLatency([]latencyResult{res})
		}
	}
	out := map[string]any{"machine": describeMachine(), "runs": all}
	if *runs > 1 {
		var meds []latencyResult
		for _, v := range variants {
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
			m.Ack.P50, m.Ack.P90, m.Ack.P99, m.Ack.Max, m.AckedPerSec = median(p50), median(p90), median(p99), median(mx), median(ar)
			meds = append(meds, m)
		}
		fmt.Println("\nmedians:")
		printLatency(meds)
		out["medians"] = meds
	}
	return writeJSON(c.jsonOut, out)
}

func printLatency(rs []latencyResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.Variant, fmt.Sprintf("%.0f", r.OfferedRate), fmt.Sprintf("%.0f", r.AckedPerSec),
			fmt.Sprintf("%.1f", r.Ack.P50), fmt.Sprintf("%.1f", r.Ack.P90), fmt.Sprintf("%.1f", r.Ack.P99), fmt.Sprintf("%.1f", r.Ack.Max),
			strconv.FormatInt(r.Errors, 10), strconv.FormatInt(r.Late, 10), fmt.Sprintf("%.0f%%", r.ServerCPUPct)})
	}
	table(os.Stdout, []string{"variant", "offered/s", "acked/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "late sends", "server CPU"}, rows)
}

func runLatency(ctx context.Context, c common, env map[string]string, variant string, rate float64, nconns int, warmup, duration time.Duration, recvMode string) (latencyResult, error) {
	res := latencyResult{Variant: variant, Env: env, OfferedRate: rate, Conns: nconns}
	f, err := startFleet(ctx, c, env, recvMode, nconns)
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
	measureFrom := time.Now().Add(warmup)
	end := measureFrom.Add(duration)
	interval := time.Duration(float64(time.Second) / rate)
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
			time.Sleep(d)
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
		err := conn.emitAck("client-send-message", payload, func(ok bool, _ []byte) {
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
	res.ServerCPUPct = float64(g.Stats().CPUTicks-cpu0) / 100 / duration.Seconds() * 100
	waitDone := make(chan struct{})
	go func() { inflight.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(15 * time.Second):
	}
	res.DurationSec = duration.Seconds()
	res.Sent, res.Acked, res.Errors, res.Late = sent.Load(), acked.Load(), errs.Load(), late.Load()
	res.AckedPerSec = float64(res.Acked) / duration.Seconds()
	mu.Lock()
	res.Ack = summarise(lat)
	mu.Unlock()
	return res, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
