// Command chatgw-bench measures chatgw the way clients use it: Socket.IO
// over WebSocket against the built chatgw binary, which it starts itself
// (on a fresh database, rate limits off, a built-in webhook receiver), plus
// the database's own ceiling for the same rows. It imports nothing of
// chatgw: what it reads of the gateway comes from /proc, /metrics, pprof
// and PostgreSQL. See docs/benchmarks.md.
//
//	chatgw-bench throughput [-senders 200] [-duration 15s] [-warmup 3s] [-compare] [-receiver ok|hang|none]
//	chatgw-bench latency    [-rate 1000] [-conns 200] [-duration 15s]
//	chatgw-bench crossnode  [-rate 1000] [-conns 100] [-duration 15s]  (two nodes: send on one, receive on the other)
//	chatgw-bench idle       [-conns 10000] [-hold 10s] [-profiles DIR]
//	chatgw-bench ceiling    [-clients 32] [-duration 10s] [-batch 50]
//
// Every command prints a table and, with -json FILE, writes its results as
// JSON. Load is aimed only at 127.0.0.1 and bounded in time.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/chatgw/chatgw/bench/internal/gateway"
)

const usage = `usage: chatgw-bench COMMAND [flags]

commands:
  throughput   closed-loop senders (one anonymous conversation each): acked msg/s, ack latency, webhook deliveries/s
  latency      open loop at a fixed offered rate: ack latency p50/p90/p99/max
  crossnode    two nodes: open loop sends on node 1, delivery to sockets on node 2 (cluster bus) p50/p99
  idle         N idle WebSockets: server RSS per connection, connect rate, heap/goroutine profiles
  ceiling      the same rows straight into PostgreSQL: one message per transaction, and batched

common flags: -chatgw PATH (the built binary; default: next to chatgw-bench, ../bin/chatgw, bin/chatgw, then PATH),
              -admin-url URL (maintenance database, default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
              -pool N (pool_max_conns of the gateway, default 16), -json FILE, -env K=V,... (extra gateway environment)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	raiseFileLimit()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "chatgw-bench:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("no command\n" + usage)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "throughput":
		return throughputCmd(ctx, rest, stdout)
	case "latency":
		return latencyCmd(ctx, rest, stdout)
	case "crossnode":
		return crossnodeCmd(ctx, rest, stdout)
	case "idle":
		return idleCmd(ctx, rest, stdout)
	case "ceiling":
		return ceilingCmd(ctx, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit, for this
// process and the gateways it starts (10,000 sockets need 10,000 files on
// each side).
func raiseFileLimit() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// common are the flags every command has.
type common struct {
	chatgw   string
	adminURL string
	pool     int
	jsonOut  string
	env      map[string]string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.chatgw, "chatgw", "", "the built chatgw binary (default: next to chatgw-bench, ../bin/chatgw, bin/chatgw, then PATH)")
	fs.StringVar(&c.adminURL, "admin-url", gateway.DefaultAdminURL, "maintenance database URL (fresh databases are created next to it)")
	fs.IntVar(&c.pool, "pool", 16, "pool_max_conns of the gateway's database pool")
	fs.StringVar(&c.jsonOut, "json", "", "write results as JSON to this file (- for stdout)")
	fs.Func("env", "extra gateway environment, K=V,K=V", func(s string) error {
		m, err := parseEnv(s)
		c.env = m
		return err
	})
}

// parseFlags parses args into fs (errors returned, not exiting) and
// rejects arguments left over.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stderr)
		fmt.Fprintf(os.Stderr, "usage of chatgw-bench %s:\n", fs.Name())
		fs.PrintDefaults()
		return err
	} else if err != nil {
		return fmt.Errorf("%s: %w (-h lists the flags)", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// parseEnv reads K=V,K=V; a value may be empty, a key may not.
func parseEnv(s string) (map[string]string, error) {
	m := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, fmt.Errorf("-env: want K=V, got %q", kv)
		}
		m[k] = v
	}
	return m, nil
}

// binary resolves -chatgw: the flag's path, else the first chatgw found
// next to this executable (make bench puts both in bin/), in ../bin (run
// from bench/), in bin (run from the repository), then on PATH.
func (c *common) binary() (string, error) {
	self, _ := os.Executable()
	return findChatgw(c.chatgw, filepath.Dir(self), exec.LookPath)
}

func findChatgw(flagValue, selfDir string, lookPath func(string) (string, error)) (string, error) {
	if flagValue != "" {
		if !isExecutable(flagValue) {
			return "", fmt.Errorf("-chatgw %s: not an executable file", flagValue)
		}
		return flagValue, nil
	}
	for _, p := range []string{filepath.Join(selfDir, "chatgw"), filepath.Join("..", "bin", "chatgw"), filepath.Join("bin", "chatgw")} {
		if isExecutable(p) {
			return p, nil
		}
	}
	if p, err := lookPath("chatgw"); err == nil {
		return p, nil
	}
	return "", errors.New("no chatgw binary: run `make bench` (or `make build`) in the repository, or pass -chatgw PATH")
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// cluster starts the gateway(s) of a run: this binary's configuration plus
// env, webhooks to webhookURL when not empty, pprof when asked.
func (c *common) cluster(ctx context.Context, env map[string]string, webhookURL string, pprof bool) (*gateway.Cluster, error) {
	bin, err := c.binary()
	if err != nil {
		return nil, err
	}
	return gateway.StartCluster(ctx, gateway.ClusterConfig{
		AdminURL: c.adminURL,
		PoolMax:  c.pool,
		Gateway:  gateway.Config{Binary: bin, WebhookURL: webhookURL, Pprof: pprof, Env: env},
	})
}

// merge returns the union of ms, later maps winning.
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
		m.CPUModel = cpuModel(string(b))
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo string) string {
	for line := range strings.Lines(cpuinfo) {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return ""
}

// writeJSON writes v, indented, to path ("-": stdout; "": nowhere).
func writeJSON(path string, stdout io.Writer, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	tw.Flush()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// warnStop stops what a run started, reporting (not failing on) a gateway
// that did not exit cleanly: the figures are already taken.
func warnStop(stop func() error) {
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "chatgw-bench: warning:", err)
	}
}
