package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/chatgw/chatgw/bench/internal/stats"
)

type idleResult struct {
	Env            map[string]string `json:"env"`
	Conns          int               `json:"conns"`
	ConnectsPerSec float64           `json:"connectsPerSec"`
	RSSBefore      int64             `json:"rssBeforeBytes"`
	RSSAfter       int64             `json:"rssAfterBytes"`
	RSSPerConn     float64           `json:"rssPerConnBytes"`
	HeapBefore     int64             `json:"heapInuseBeforeBytes"`
	HeapAfter      int64             `json:"heapInuseAfterBytes"`
	HeapPerConn    float64           `json:"heapPerConnBytes"`
	StackPerConn   float64           `json:"stackPerConnBytes"` // goroutine stacks in use
	GoroutinesPer  float64           `json:"goroutinesPerConn"`
	Goroutines     int               `json:"goroutinesAfter"`
	FDsAfter       int               `json:"fdsAfter"`
	Dropped        int               `json:"droppedDuringHold"`
	Profiles       string            `json:"profiles,omitempty"`
}

// idleOpts are the idle command's flags.
type idleOpts struct {
	common
	conns    int
	hold     time.Duration
	parallel int
	profiles string
	runs     int
}

func parseIdle(args []string) (idleOpts, error) {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	var o idleOpts
	o.common.register(fs)
	fs.IntVar(&o.conns, "conns", 10000, "idle WebSocket connections")
	fs.DurationVar(&o.hold, "hold", 10*time.Second, "how long to hold them before measuring (pings keep flowing)")
	fs.IntVar(&o.parallel, "parallel", 64, "concurrent handshakes")
	fs.StringVar(&o.profiles, "profiles", "", "directory for the server's heap and goroutine profiles")
	fs.IntVar(&o.runs, "runs", 1, "repetitions (medians are reported)")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.conns < 1 || o.conns > 15000 || o.hold < 0 || o.hold > 10*time.Minute:
		return o, fmt.Errorf("keep the load bounded: 1 ≤ -conns ≤ 15000, -hold ≤ 10m")
	case o.parallel < 1:
		return o, fmt.Errorf("-parallel must be at least 1")
	case o.runs < 1:
		return o, fmt.Errorf("-runs must be at least 1")
	}
	return o, nil
}

func idleCmd(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseIdle(args)
	if err != nil {
		return err
	}
	var all []idleResult
	for r := range o.runs {
		fmt.Fprintf(os.Stderr, "run %d/%d ...\n", r+1, o.runs)
		dir := o.profiles
		if dir != "" && o.runs > 1 {
			dir = filepath.Join(dir, fmt.Sprint("run", r+1))
		}
		res, err := runIdle(ctx, o, dir)
		if err != nil {
			return err
		}
		all = append(all, res)
		printIdle(stdout, []idleResult{res})
	}
	out := map[string]any{"machine": describeMachine(), "runs": all}
	if len(all) > 1 {
		m := medianIdle(all)
		fmt.Fprintln(stdout, "\nmedians:")
		printIdle(stdout, []idleResult{m})
		out["median"] = m
	}
	return writeJSON(o.jsonOut, stdout, out)
}

// medianIdle is the last run with the median of the runs' per-connection
// figures and connect rates.
func medianIdle(all []idleResult) idleResult {
	var rss, heap, stack, rate []float64
	for _, r := range all {
		rss, heap, rate = append(rss, r.RSSPerConn), append(heap, r.HeapPerConn), append(rate, r.ConnectsPerSec)
		stack = append(stack, r.StackPerConn)
	}
	m := all[len(all)-1]
	m.RSSPerConn, m.HeapPerConn, m.ConnectsPerSec = stats.Median(rss), stats.Median(heap), stats.Median(rate)
	m.StackPerConn = stats.Median(stack)
	return m
}

func printIdle(w io.Writer, rs []idleResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{fmt.Sprint(r.Conns), fmt.Sprintf("%.0f", r.ConnectsPerSec),
			mib(r.RSSBefore) + "→" + mib(r.RSSAfter), fmt.Sprintf("%.1f KiB", r.RSSPerConn/1024),
			fmt.Sprintf("%.1f KiB", r.HeapPerConn/1024), fmt.Sprintf("%.1f KiB", r.StackPerConn/1024), fmt.Sprintf("%.2f", r.GoroutinesPer), fmt.Sprint(r.FDsAfter), fmt.Sprint(r.Dropped)})
	}
	table(w, []string{"conns", "connects/s", "server RSS", "RSS/conn", "heap/conn", "stack/conn", "goroutines/conn", "fds", "dropped"}, rows)
}

func runIdle(ctx context.Context, o idleOpts, profiles string) (res idleResult, err error) {
	n := o.conns
	res = idleResult{Env: o.env, Conns: n}
	if res.Env == nil {
		res.Env = map[string]string{}
	}
	cl, err := o.cluster(ctx, o.env, "", true)
	if err != nil {
		return res, err
	}
	defer warnStop(cl.Stop)
	g := cl.Nodes[0]
	convs, err := createConversations(ctx, g.URL, n)
	if err != nil {
		return res, err
	}
	// Warm the server (one connection) so the baseline includes the
	// one-off costs of the first handshake.
	if w, _, err := connectAll(ctx, g.URL, convs[:1], 1); err == nil {
		closeAll(w)
	}
	if err := sleepCtx(ctx, time.Second); err != nil { // let the warm-up connection's goroutines end
		return res, err
	}
	heap0, stack0, gr0, err := g.MemStats()
	if err != nil {
		return res, err
	}
	res.HeapBefore = heap0
	res.RSSBefore = g.Stats().RSSBytes

	conns, rate, err := connectAll(ctx, g.URL, convs, o.parallel)
	if err != nil {
		return res, err
	}
	defer closeAll(conns)
	res.ConnectsPerSec = rate
	if err := sleepCtx(ctx, o.hold); err != nil {
		return res, err
	}
	heap1, stack1, gr1, err := g.MemStats()
	if err != nil {
		return res, err
	}
	if err := sleepCtx(ctx, 500*time.Millisecond); err != nil { // RSS settles after the forced GC
		return res, err
	}
	st := g.Stats()
	res.RSSAfter, res.FDsAfter, res.HeapAfter, res.Goroutines = st.RSSBytes, st.OpenFDs, heap1, gr1
	res.RSSPerConn = stats.PerConn(res.RSSBefore, res.RSSAfter, n)
	res.HeapPerConn = stats.PerConn(heap0, heap1, n)
	res.StackPerConn = stats.PerConn(stack0, stack1, n)
	res.GoroutinesPer = stats.PerConn(int64(gr0), int64(gr1), n)
	for _, c := range conns {
		select {
		case <-c.Done():
			res.Dropped++
		default:
		}
	}
	if profiles != "" {
		if err := os.MkdirAll(profiles, 0o755); err != nil {
			return res, err
		}
		for name, path := range map[string]string{
			"heap.pb.gz":      "/debug/pprof/heap?gc=1",
			"goroutine.txt":   "/debug/pprof/goroutine?debug=1",
			"goroutine.pb.gz": "/debug/pprof/goroutine",
		} {
			f, err := os.Create(filepath.Join(profiles, name))
			if err != nil {
				return res, err
			}
			err = g.Pprof(path, f)
			f.Close()
			if err != nil {
				return res, err
			}
		}
		res.Profiles = profiles
	}
	return res, nil
}
