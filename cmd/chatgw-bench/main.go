// Command chatgw-bench measures chatgw the way clients use it: Socket.IO
// over WebSocket against a gateway it starts itself (a child process on a
// fresh database, rate limits off, a built-in webhook receiver), plus the
// database's own ceiling for the same rows. See docs/benchmarks.md.
//
//	chatgw-bench throughput [-senders 200] [-duration 15s] [-warmup 3s] [-compare] [-receiver ok|hang|none]
//	chatgw-bench latency    [-rate 1000] [-conns 200] [-duration 15s]
//	chatgw-bench idle       [-conns 10000] [-hold 10s] [-profiles DIR]
//	chatgw-bench ceiling    [-clients 32] [-duration 10s] [-batch 50]
//
// Every command prints a table and, with -json FILE, writes its results as
// JSON. Load is aimed only at 127.0.0.1 and bounded in time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chatgw/chatgw/internal/app"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/logging"
)

const usage = `usage: chatgw-bench COMMAND [flags]

commands:
  throughput   closed-loop senders (one anonymous conversation each): acked msg/s, ack latency, webhook deliveries/s
  latency      open loop at a fixed offered rate: ack latency p50/p90/p99/max
  idle         N idle WebSockets: server RSS per connection, connect rate, heap/goroutine profiles
  ceiling      the same rows straight into PostgreSQL: one message per transaction, and batched

common flags: -admin-url URL (maintenance database, default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
              -pool N (pool_max_conns of the gateway, default 16), -json FILE, -env K=V,... (extra gateway environment)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	raiseFileLimit()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "gateway":
		err = runGateway(ctx)
	case "throughput":
		err = throughputCmd(ctx, args)
	case "latency":
		err = latencyCmd(ctx, args)
	case "idle":
		err = idleCmd(ctx, args)
	case "ceiling":
		err = ceilingCmd(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		err = fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatgw-bench:", err)
		stop()
		os.Exit(1)
	}
}

// runGateway is the child process: chatgw itself (internal/app), configured
// from the environment the parent set.
func runGateway(ctx context.Context) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.SlogLevel())
	// The same collectors as chatgw serve, which the benchmark also reads
	// (allocated bytes and GC cycles per message).
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return app.Run(ctx, cfg, log, reg)
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit, for this
// process and the gateway child it starts (10,000 sockets need 10,000 files
// on each side).
func raiseFileLimit() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

type common struct {
	adminURL string
	pool     int
	jsonOut  string
	env      string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.adminURL, "admin-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL (fresh databases are created next to it)")
	fs.IntVar(&c.pool, "pool", 16, "pool_max_conns of the gateway's database pool")
	fs.StringVar(&c.jsonOut, "json", "", "write results as JSON to this file (- for stdout)")
	fs.StringVar(&c.env, "env", "", "extra gateway environment, K=V,K=V")
}

func (c *common) extraEnv() map[string]string {
	m := map[string]string{}
	for kv := range strings.SplitSeq(c.env, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[strings.TrimSpace(k)] = v
		}
	}
	return m
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// machine describes where the figures come from.
type machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpuModel"`
	GoVersion string `json:"goVersion"`
	Postgres  string `json:"postgres"`
	When      string `json:"when"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), When: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return m
}

func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// latencies summarises durations in milliseconds.
type latencies struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

func summarise(d []time.Duration) latencies {
	if len(d) == 0 {
		return latencies{}
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = max(0, min(i, len(d)-1))
		return ms(d[i])
	}
	return latencies{Count: len(d), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	tw.Flush()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
