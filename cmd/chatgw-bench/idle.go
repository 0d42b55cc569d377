package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
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

func idleCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	var c common
	c.register(fs)
	n := fs.Int("conns", 10000, "idle WebSocket connections")
	hold := fs.Duration("hold", 10*time.Second, "how long to hold them before measuring (pings keep flowing)")
	parallel := fs.Int("parallel", 64, "concurrent handshakes")
	profiles := fs.String("profiles", "", "directory for the server's heap and goroutine profiles")
	runs := fs.Int("runs", 1, "repetitions (medians are reported)")
	_ = fs.Parse(args)
	if *n > 15000 || *hold > 10*time.Minute {
		return fmt.Errorf("keep the load bounded: -conns ≤ 15000, -hold ≤ 10m")
	}
	var all []idleResult
	for r := range *runs {
		fmt.Fprintf(os.Stderr, "run %d/%d ...\n", r+1, *runs)
		dir := *profiles
		if dir != "" && *runs > 1 {
			dir = filepath.Join(dir, fmt.Sprint("run", r+1))
		}
		res, err := runIdle(ctx, c, c.extraEnv(), *n, *hold, *parallel, dir)
		if err != nil {
			return err
		}
		all = append(all, res)
		printIdle([]idleResult{res})
	}
	out := map[string]any{"machine": describeMachine(), "runs": all}
	if len(all) > 1 {
		var rss, heap, stack, rate []float64
		for _, r := range all {
			rss, heap, rate = append(rss, r.RSSPerConn), append(heap, r.HeapPerConn), append(rate, r.ConnectsPerSec)
			stack = append(stack, r.StackPerConn)
		}
		m := all[len(all)-1]
		m.RSSPerConn, m.HeapPerConn, m.ConnectsPerSec = median(rss), median(heap), median(rate)
		m.StackPerConn = median(stack)
		fmt.Println("\nmedians:")
		printIdle([]idleResult{m})
		out["median"] = m
	}
	return writeJSON(c.jsonOut, out)
}

func printIdle(rs []idleResult) {
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{fmt.Sprint(r.Conns), fmt.Sprintf("%.0f", r.ConnectsPerSec),
			mib(r.RSSBefore) + "→" + mib(r.RSSAfter), fmt.Sprintf("%.1f KiB", r.RSSPerConn/1024),
			fmt.Sprintf("%.1f KiB", r.HeapPerConn/1024), fmt.Sprintf("%.1f KiB", r.StackPerConn/1024), fmt.Sprintf("%.2f", r.GoroutinesPer), fmt.Sprint(r.FDsAfter), fmt.Sprint(r.Dropped)})
	}
	table(os.Stdout, []string{"conns", "connects/s", "server RSS", "RSS/conn", "heap/conn", "stack/conn", "goroutines/conn", "fds", "dropped"}, rows)
}

func runIdle(ctx context.Context, c common, env map[string]string, n int, hold time.Duration, parallel int, profiles string) (idleResult, error) {
	res := idleResult{Env: env, Conns: n}
	g, err := startGateway(ctx, serverOpts{AdminURL: c.adminURL, PoolMax: c.pool, Env: env})
	if err != nil {
		return res, err
	}
	defer g.Stop()
	convs, err := createConversations(ctx, g.URL, n)
	if err != nil {
		return res, err
	}
	// Warm the server (one connection) so the baseline includes the
	// one-off costs of the first handshake.
	if w, _, err := connectAll(ctx, g.URL, convs[:1], 1); err == nil {
		closeAll(w)
	}
	time.Sleep(time.Second)
	heap0, stack0, gr0 := g.memStats()
	res.HeapBefore = heap0
	res.RSSBefore = g.Stats().RSSBytes

	conns, rate, err := connectAll(ctx, g.URL, convs, parallel)
	if err != nil {
		return res, err
	}
	defer closeAll(conns)
	res.ConnectsPerSec = rate
	select {
	case <-time.After(hold):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	heap1, stack1, gr1 := g.memStats()
	time.Sleep(500 * time.Millisecond)
	st := g.Stats()
	res.RSSAfter, res.FDsAfter, res.HeapAfter, res.Goroutines = st.RSSBytes, st.OpenFDs, heap1, gr1
	res.RSSPerConn = float64(res.RSSAfter-res.RSSBefore) / float64(n)
	res.HeapPerConn = float64(heap1-heap0) / float64(n)
	res.StackPerConn = float64(stack1-stack0) / float64(n)
	res.GoroutinesPer = float64(gr1-gr0) / float64(n)
	for _, c := range conns {
		select {
		case <-c.done:
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
			err = g.fetch(path, f)
			f.Close()
			if err != nil {
				return res, err
			}
		}
		res.Profiles = profiles
	}
	return res, nil
}
