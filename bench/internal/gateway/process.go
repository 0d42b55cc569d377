// Package gateway runs the built chatgw binary for the benchmark: fresh
// databases, gateway processes configured through their environment (one,
// or several on one database), and what the benchmark reads of them —
// /proc, /metrics, pprof. It never imports chatgw's code: the binary is
// measured as it ships.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatgw/chatgw/bench/internal/procfs"
)

// DefaultJWTSecret is the JWT_SECRET the benchmark gives its gateways and
// signs its tokens with.
const DefaultJWTSecret = "bench-jwt-secret-0123456789abcdef"

// WebhookSecret signs deliveries to the benchmark's receiver, so signing
// is part of the measured cost.
const WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Config is how to start one chatgw process. Zero values mean the
// benchmark's defaults.
type Config struct {
	Binary      string // path of the chatgw binary (required)
	DatabaseURL string // required
	JWTSecret   string // default DefaultJWTSecret
	// WebhookURL is N8N_WEBHOOK_URL, signed with WebhookSecret; empty
	// leaves webhooks off.
	WebhookURL string
	// Pprof serves net/http/pprof on a free loopback port (PPROF_ADDR).
	Pprof bool
	// NodeID is the process's NODE_ID (empty: the gateway's default).
	NodeID string
	// Env is extra environment, applied last (it may override any of the
	// above).
	Env map[string]string
	// ReadyTimeout bounds the wait for /readyz (default 60 s).
	ReadyTimeout time.Duration
}

// environ is the process environment for cfg listening on httpAddr (and
// pprofAddr, when not empty): the benchmark's settings over the caller's
// environment.
func (cfg Config) environ(base []string, httpAddr, pprofAddr string) []string {
	env := map[string]string{
		"HTTP_ADDR":                        httpAddr,
		"PUBLIC_URL":                       "http://" + httpAddr,
		"DATABASE_URL":                     cfg.DatabaseURL,
		"JWT_SECRET":                       orDefault(cfg.JWTSecret, DefaultJWTSecret),
		"LOG_LEVEL":                        "warn",
		"PPROF_ADDR":                       pprofAddr,
		"RATE_LIMIT_MESSAGES_PER_SEC":      "0",
		"RATE_LIMIT_CONNECTS_PER_MIN":      "0",
		"RATE_LIMIT_CONVERSATIONS_PER_MIN": "0",
		"RATE_LIMIT_EVENTS_PER_SEC":        "0",
		"MAX_CONNECTIONS":                  "1000000",
		"N8N_WEBHOOK_URL":                  cfg.WebhookURL,
	}
	if cfg.WebhookURL != "" {
		env["N8N_WEBHOOK_SECRET"] = WebhookSecret
	}
	if cfg.NodeID != "" {
		env["NODE_ID"] = cfg.NodeID
	}
	maps.Copy(env, cfg.Env)
	out := slices.Clone(base)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k]) // later entries win in exec
	}
	return out
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Process is a running chatgw serve.
type Process struct {
	URL      string // http://127.0.0.1:port
	PprofURL string // empty unless Config.Pprof
	NodeID   string

	cmd    *exec.Cmd
	secret string
	exited chan struct{}
	logs   *tailBuffer
	stop   sync.Once
	err    error
}

// Start starts `chatgw serve` with cfg on free loopback ports and waits
// until it answers /readyz (it migrates the database first, unless
// cfg.Env sets MIGRATE_ON_START=false).
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if cfg.Binary == "" || cfg.DatabaseURL == "" {
		return nil, errors.New("gateway: Binary and DatabaseURL are required")
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var paddr string
	if cfg.Pprof {
		if paddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(cfg.Binary, "serve")
	cmd.Env = cfg.environ(os.Environ(), addr, paddr)
	logs := &tailBuffer{max: 8192}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Binary, err)
	}
	p := &Process{URL: "http://" + addr, NodeID: cfg.NodeID, cmd: cmd, secret: orDefault(cfg.JWTSecret, DefaultJWTSecret), exited: make(chan struct{}), logs: logs}
	if paddr != "" {
		p.PprofURL = "http://" + paddr
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	if err := p.waitReady(ctx, orDefault(cfg.ReadyTimeout, 60*time.Second)); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("chatgw exited before ready (%v):\n%s", p.err, p.logs)
		case <-ctx.Done():
			return fmt.Errorf("chatgw not ready after %s: %w\n%s", timeout, ctx.Err(), p.logs)
		case <-tick.C:
		}
	}
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Logs is the tail of what the process printed.
func (p *Process) Logs() string { return p.logs.String() }

// Stop sends SIGTERM and waits for the exit (killing the process after
// 30 s). It reports an exit other than a clean one, with the log tail. It
// may be called more than once.
func (p *Process) Stop() error {
	p.stop.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	if p.err != nil {
		return fmt.Errorf("chatgw (pid %d): %w\n%s", p.PID(), p.err, p.logs)
	}
	return nil
}

// Stats reads the process's RSS, open files and CPU time from /proc.
func (p *Process) Stats() procfs.Process { return procfs.ReadProcess(p.PID()) }

// Metrics reads the gateway's /metrics once.
func (p *Process) Metrics() (Metrics, error) {
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	return ParseMetrics(resp.Body)
}

// Pprof GETs path (e.g. /debug/pprof/heap) on the pprof listener into w.
func (p *Process) Pprof(path string, w io.Writer) error {
	if p.PprofURL == "" {
		return errors.New("gateway started without pprof")
	}
	resp, err := http.Get(p.PprofURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// MemStats forces a GC in the gateway (heap?gc=1) and returns its heap and
// goroutine stacks in use and its goroutine count, read through pprof.
func (p *Process) MemStats() (heapInuse, stackInuse int64, goroutines int, err error) {
	var b bytes.Buffer
	if err := p.Pprof("/debug/pprof/heap?gc=1&debug=1", &b); err != nil {
		return 0, 0, 0, err
	}
	if heapInuse, stackInuse, err = ParseHeapProfile(b.String()); err != nil {
		return 0, 0, 0, err
	}
	b.Reset()
	if err := p.Pprof("/debug/pprof/goroutine?debug=1", &b); err != nil {
		return 0, 0, 0, err
	}
	goroutines, err = ParseGoroutineTotal(b.String())
	return heapInuse, stackInuse, goroutines, err
}

// Token is a JWT for sub with roles, signed with the gateway's JWT_SECRET
// (HS256, valid for ttl), as an identity provider would issue it.
func (p *Process) Token(sub string, roles []string, ttl time.Duration) (string, error) {
	return MintToken(p.secret, sub, roles, ttl, time.Now())
}

// MintToken signs an HS256 JWT with sub, the roles claim (chatgw's default
// JWT_ROLES_CLAIM), iat and exp.
func MintToken(secret, sub string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	claims := jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	if len(roles) > 0 {
		claims["roles"] = roles
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tailBuffer keeps the last max bytes written (the process's logs).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Cluster is a fresh database and the gateways started on it. One node is
// today's benchmark; several are one chatgw cluster (every process on the
// same DATABASE_URL).
type Cluster struct {
	DB    *Database
	Nodes []*Process
}

// ClusterConfig is how to start a Cluster.
type ClusterConfig struct {
	AdminURL string // default DefaultAdminURL
	Nodes    int    // default 1
	PoolMax  int    // each node's pool_max_conns (0: the driver's default)
	// Gateway is every node's configuration; DatabaseURL and NodeID are
	// set per node (NodeID bench-1, bench-2, … when there are several).
	Gateway Config
}

// StartCluster creates a database and starts the nodes on it, one after
// the other (the first migrates the database). On error, whatever was
// started is stopped and the database dropped.
func StartCluster(ctx context.Context, cfg ClusterConfig) (_ *Cluster, err error) {
	db, err := CreateDatabase(ctx, orDefault(cfg.AdminURL, DefaultAdminURL))
	if err != nil {
		return nil, err
	}
	c := &Cluster{DB: db}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()
	for i := range max(cfg.Nodes, 1) {
		gc := cfg.Gateway
		gc.DatabaseURL = db.URL(cfg.PoolMax)
		if cfg.Nodes > 1 {
			gc.NodeID = "bench-" + strconv.Itoa(i+1)
		}
		p, err := Start(ctx, gc)
		if err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, p)
	}
	return c, nil
}

// PIDs are the nodes' process ids.
func (c *Cluster) PIDs() []int {
	pids := make([]int, len(c.Nodes))
	for i, p := range c.Nodes {
		pids[i] = p.PID()
	}
	return pids
}

// Stop stops the nodes (in reverse order) and drops the database.
func (c *Cluster) Stop() error {
	var errs []error
	for _, p := range slices.Backward(c.Nodes) {
		errs = append(errs, p.Stop())
	}
	errs = append(errs, c.DB.Drop())
	return errors.Join(errs...)
}

// Migrate runs `chatgw migrate` on databaseURL: the gateway's own schema
// and River's, exactly as `chatgw serve` would apply them.
func Migrate(ctx context.Context, binary, databaseURL string) error {
	cmd := exec.CommandContext(ctx, binary, "migrate")
	// JWT_SECRET: today's binary loads its whole configuration for every
	// command; migrate does not use it.
	cmd.Env = append(os.Environ(), "DATABASE_URL="+databaseURL, "JWT_SECRET="+DefaultJWTSecret, "LOG_LEVEL=warn")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("chatgw migrate: %w\n%s", err, out)
	}
	return nil
}
