package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatgw/chatgw/bench/internal/gateway"
	"github.com/chatgw/chatgw/bench/internal/stats"
)

// crossnodeResult is one run of the crossnode command: messages sent on
// node 1 and received on node 2 (the cluster bus), open loop.
type crossnodeResult struct {
	OfferedRate float64 `json:"offeredPerSec"`
	Conns       int     `json:"conns"`
	DurationSec float64 `json:"durationSec"`
	Sent        int64   `json:"sent"`
	Acked       int64   `json:"acked"`
	Received    int64   `json:"received"`
	Errors      int64   `json:"errors"`
	Late        int64   `json:"lateSends"`
	// Delivery is from the sender's ack to the receiver's `message` on the
	// other node (negative values, a message seen before its ack, count
	// as 0).
	Delivery stats.Latencies `json:"ackToRemoteDelivery"`
	// EndToEnd is from the send's scheduled time to the remote delivery.
	EndToEnd stats.Latencies `json:"sendToRemoteDelivery"`
	Ack      stats.Latencies `json:"ackLatency"`
	// GapFills is chatgw_bus_gap_fills_total of the receiving node.
	GapFills float64 `json:"receiverGapFills"`
}

type crossnodeOpts struct {
	common
	rate     float64
	conns    int
	duration time.Duration
	warmup   time.Duration
	runs     int
}

func parseCrossnode(args []string) (crossnodeOpts, error) {
	fs := flag.NewFlagSet("crossnode", flag.ContinueOnError)
	var o crossnodeOpts
	o.common.register(fs)
	fs.Float64Var(&o.rate, "rate", 1000, "messages per second offered (open loop), all sent on node 1")
	fs.IntVar(&o.conns, "conns", 100, "conversations; each has a sender socket on node 1 and a receiver socket on node 2")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "measured time")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured time first")
	fs.IntVar(&o.runs, "runs", 1, "runs, each on a fresh cluster")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.duration <= 0 || o.duration > 10*time.Minute || o.rate <= 0 || o.rate > 20000:
		return o, fmt.Errorf("keep the load bounded: 0 < -duration ≤ 10m, 0 < -rate ≤ 20000")
	case o.conns < 1 || o.conns > 5000:
		return o, fmt.Errorf("-conns: want 1 to 5000")
	case o.runs < 1:
		return o, fmt.Errorf("-runs must be at least 1")
	}
	return o, nil
}

func crossnodeCmd(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseCrossnode(args)
	if err != nil {
		return err
	}
	var all []crossnodeResult
	for r := range o.runs {
		fmt.Fprintf(os.Stderr, "run %d/%d ...\n", r+1, o.runs)
		res, err := runCrossnode(ctx, o)
		if err != nil {
			return err
		}
		all = append(all, res)
		printCrossnode(stdout, []crossnodeResult{res})
	}
	return writeJSON(o.jsonOut, stdout, map[string]any{"machine": describeMachine(), "runs": all})
}

func printCrossnode(w io.Writer, rs []crossnodeResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{fmt.Sprintf("%.0f", r.OfferedRate), strconv.FormatInt(r.Acked, 10), strconv.FormatInt(r.Received, 10),
			fmt.Sprintf("%.1f", r.Ack.P50), fmt.Sprintf("%.1f", r.Delivery.P50), fmt.Sprintf("%.1f", r.Delivery.P99), fmt.Sprintf("%.1f", r.Delivery.Max),
			fmt.Sprintf("%.1f", r.EndToEnd.P50), fmt.Sprintf("%.1f", r.EndToEnd.P99),
			strconv.FormatInt(r.Errors, 10), strconv.FormatInt(r.Late, 10), fmt.Sprintf("%.0f", r.GapFills)})
	}
	table(w, []string{"offered/s", "acked", "received", "ack p50 ms", "ack→remote p50 ms", "p99 ms", "max ms", "send→remote p50 ms", "p99 ms", "errors", "late sends", "gap fills"}, rows)
}

func runCrossnode(ctx context.Context, o crossnodeOpts) (crossnodeResult, error) {
	res := crossnodeResult{OfferedRate: o.rate, Conns: o.conns, DurationSec: o.duration.Seconds()}
	bin, err := o.binary()
	if err != nil {
		return res, err
	}
	cl, err := gateway.StartCluster(ctx, gateway.ClusterConfig{
		AdminURL: o.adminURL, PoolMax: o.pool, Nodes: 2,
		Gateway: gateway.Config{Binary: bin, Env: o.env},
	})
	if err != nil {
		return res, err
	}
	defer warnStop(cl.Stop)
	sendNode, recvNode := cl.Nodes[0], cl.Nodes[1]
	convs, err := createConversations(ctx, sendNode.URL, o.conns)
	if err != nil {
		return res, err
	}
	senders, _, err := connectAll(ctx, sendNode.URL, convs, 50)
	if err != nil {
		return res, err
	}
	defer closeAll(senders)
	receivers, _, err := connectAll(ctx, recvNode.URL, convs, 50)
	if err != nil {
		return res, err
	}
	defer closeAll(receivers)

	// Times by message number, in nanoseconds since start (0: not yet).
	total := int(o.rate*(o.warmup+o.duration).Seconds()) + 1
	due := make([]int64, total)
	ackAt := make([]int64, total)
	recvAt := make([]int64, total)
	start := time.Now()
	var received atomic.Int64
	marker := []byte(`"content":"x`)
	for _, c := range receivers {
		c.OnEvent(func(body []byte) {
			if !bytes.HasPrefix(body, []byte(`["message"`)) {
				return
			}
			i := bytes.Index(body, marker)
			if i < 0 {
				return
			}
			j := i + len(marker)
			k := j
			for k < len(body) && body[k] >= '0' && body[k] <= '9' {
				k++
			}
			n, err := strconv.Atoi(string(body[j:k]))
			if err != nil || n >= total {
				return
			}
			if atomic.CompareAndSwapInt64(&recvAt[n], 0, int64(time.Since(start))) {
				received.Add(1)
			}
		})
	}

	var sent, acked, errs, late atomic.Int64
	var inflight sync.WaitGroup
	interval := time.Duration(float64(time.Second) / o.rate)
	measureFrom := o.warmup
	end := o.warmup + o.duration
	for n := 0; n < total && ctx.Err() == nil; n++ {
		d := time.Duration(n) * interval
		if d >= end {
			total = n
			break
		}
		if w := time.Until(start.Add(d)); w > 0 {
			time.Sleep(w) // the schedule itself, not a wait for a signal
		}
		if time.Since(start.Add(d)) > 5*time.Millisecond {
			late.Add(1)
		}
		due[n] = int64(d)
		conn := senders[n%len(senders)]
		payload := fmt.Appendf(nil, `{"content":"x%d","clientMessageId":"x%d"}`, n, n)
		inflight.Add(1)
		sent.Add(1)
		if err := conn.EmitAck("client-send-message", payload, func(ok bool, _ []byte) {
			defer inflight.Done()
			if !ok {
				errs.Add(1)
				return
			}
			atomic.StoreInt64(&ackAt[n], int64(time.Since(start)))
			acked.Add(1)
		}); err != nil {
			inflight.Done()
			errs.Add(1)
		}
	}
	waitDone := make(chan struct{})
	go func() { inflight.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(15 * time.Second):
	}
	// Give the last messages time to cross.
	deadline := time.Now().Add(10 * time.Second)
	for received.Load() < acked.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling a counter; the bench's own pacing
	}

	var delivery, endToEnd, ack []time.Duration
	for n := 0; n < total; n++ {
		if time.Duration(due[n]) < measureFrom {
			continue
		}
		a, r := atomic.LoadInt64(&ackAt[n]), atomic.LoadInt64(&recvAt[n])
		if a != 0 {
			ack = append(ack, time.Duration(a-due[n]))
		}
		if a != 0 && r != 0 {
			delivery = append(delivery, max(time.Duration(r-a), 0))
			endToEnd = append(endToEnd, time.Duration(r-due[n]))
		}
	}
	res.Sent, res.Acked, res.Received, res.Errors, res.Late = sent.Load(), acked.Load(), received.Load(), errs.Load(), late.Load()
	res.Delivery, res.EndToEnd, res.Ack = stats.Summarise(delivery), stats.Summarise(endToEnd), stats.Summarise(ack)
	if m, err := recvNode.Metrics(); err == nil {
		res.GapFills = m["chatgw_bus_gap_fills_total"]
	}
	return res, ctx.Err()
}
