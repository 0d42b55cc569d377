package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchWebhookSecret signs deliveries, so signing is part of the cost.
const benchWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// freshDatabase creates an empty database next to adminURL's and returns
// its URL and a function that drops it.
func freshDatabase(ctx context.Context, adminURL string, poolMax int) (string, func(), error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("admin database: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "chatgw_bench_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		admin.Close(ctx)
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		admin.Close(ctx)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		drop()
		return "", nil, err
	}
	u.Path = "/" + name
	q := u.Query()
	if poolMax > 0 {
		q.Set("pool_max_conns", strconv.Itoa(poolMax))
	}
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// receiver is the built-in n8n stand-in: it counts deliveries (unique by
// webhook-id) or, in "hang" mode, accepts them and never answers.
type receiver struct {
	mode   string // ok | hang
	srv    *http.Server
	ln     net.Listener
	unique atomic.Int64
	total  atomic.Int64
	open   atomic.Int64 // requests being held (hang)
	seen   sync.Map
	stop   chan struct{}
}

func startReceiver(mode string) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{mode: mode, ln: ln, stop: make(chan struct{})}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) URL() string { return "http://" + r.ln.Addr().String() + "/hook" }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.total.Add(1)
	if r.mode == "hang" {
		r.open.Add(1)
		defer r.open.Add(-1)
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
		return
	}
	if _, dup := r.seen.LoadOrStore(req.Header.Get("webhook-id"), struct{}{}); !dup {
		r.unique.Add(1)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) Close() {
	close(r.stop)
	_ = r.srv.Close()
}

// gatewayProc is a chatgw running in a child process (this binary's hidden
// "gateway" command, i.e. internal/app), so that its RSS, CPU and open files
// are its own and not the load generator's.
type gatewayProc struct {
	cmd       *exec.Cmd
	URL       string
	PprofURL  string
	DBURL     string
	dropDB    func()
	exited    chan struct{}
	stderrBuf *tailBuffer
}

type serverOpts struct {
	AdminURL string
	PoolMax  int
	Env      map[string]string // extra environment
	Receiver *receiver         // nil: no webhook (N8N_WEBHOOK_URL unset)
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startGateway(ctx context.Context, o serverOpts) (*gatewayProc, error) {
	dbURL, drop, err := freshDatabase(ctx, o.AdminURL, o.PoolMax)
	if err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		drop()
		return nil, err
	}
	paddr, err := freePort()
	if err != nil {
		drop()
		return nil, err
	}
	env := map[string]string{
		"HTTP_ADDR":                        addr,
		"PUBLIC_URL":                       "http://" + addr,
		"DATABASE_URL":                     dbURL,
		"JWT_SECRET":                       "bench-jwt-secret-0123456789abcdef",
		"LOG_LEVEL":                        "warn",
		"PPROF_ADDR":                       paddr,
		"RATE_LIMIT_MESSAGES_PER_SEC":      "0",
		"RATE_LIMIT_CONNECTS_PER_MIN":      "0",
		"RATE_LIMIT_CONVERSATIONS_PER_MIN": "0",
		"N8N_WEBHOOK_URL":                  "",
	}
	if o.Receiver != nil {
		env["N8N_WEBHOOK_URL"] = o.Receiver.URL()
		env["N8N_WEBHOOK_SECRET"] = benchWebhookSecret
	}
	for k, v := range o.Env {
		env[k] = v
	}
	self, err := os.Executable()
	if err != nil {
		drop()
		return nil, err
	}
	cmd := exec.Command(self, "gateway")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	tb := &tailBuffer{max: 8192}
	cmd.Stdout = tb
	cmd.Stderr = tb
	if err := cmd.Start(); err != nil {
		drop()
		return nil, err
	}
	g := &gatewayProc{cmd: cmd, URL: "http://" + addr, PprofURL: "http://" + paddr, DBURL: dbURL, dropDB: drop, exited: make(chan struct{}), stderrBuf: tb}
	go func() { _ = cmd.Wait(); close(g.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
		select {
		case <-g.exited:
			drop()
			return nil, fmt.Errorf("gateway exited: %s", tb.String())
		default:
		}
		if time.Now().After(deadline) {
			g.Stop()
			return nil, errors.New("gateway not ready after 60s: " + tb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends SIGTERM, waits for the exit and drops the database.
func (g *gatewayProc) Stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
	g.dropDB()
}

type procStats struct {
	RSSBytes int64 `json:"rssBytes"`
	OpenFDs  int   `json:"openFds"`
	CPUTicks int64 `json:"-"`
}

// Stats reads the child's RSS, open files and CPU time from /proc.
func (g *gatewayProc) Stats() procStats {
	pid := g.cmd.Process.Pid
	var s procStats
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				s.RSSBytes = kb * 1024
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.OpenFDs = len(ents)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			f := strings.Fields(string(b[i+2:]))
			if len(f) > 13 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				s.CPUTicks = u + st
			}
		}
	}
	return s
}

// metrics is one reading of the gateway's /metrics: each series' value by
// its name and label set as printed, e.g.
// chatgw_webhook_message_loads_total{source="database"}. Empty if the
// gateway did not answer.
type metrics map[string]float64

// metrics reads the gateway's /metrics once.
func (g *gatewayProc) metrics() metrics {
	out := metrics{}
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space (label values may hold spaces).
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// since is how much series grew from the earlier reading m0.
func (m metrics) since(m0 metrics, series string) float64 { return m[series] - m0[series] }

// fetch GETs path on the pprof listener into w.
func (g *gatewayProc) fetch(path string, w io.Writer) error {
	resp, err := http.Get(g.PprofURL + path)
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

// memStats forces a GC in the child (heap?gc=1) and returns its heap and
// goroutine stacks in use and its goroutine count, read through pprof.
func (g *gatewayProc) memStats() (heapInuse, stackInuse int64, goroutines int) {
	var b bytes.Buffer
	if g.fetch("/debug/pprof/heap?gc=1&debug=1", &b) == nil {
		for _, line := range strings.Split(b.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
				heapInuse, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(line, "# Stack = "); ok {
				v, _, _ = strings.Cut(v, " / ") // "Stack = inuse / sys"
				stackInuse, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	b.Reset()
	if g.fetch("/debug/pprof/goroutine?debug=1", &b) == nil {
		line, _, _ := strings.Cut(b.String(), "\n")
		if v, ok := strings.CutPrefix(line, "goroutine profile: total "); ok {
			goroutines, _ = strconv.Atoi(v)
		}
	}
	return
}

// anonymous is a conversation and its session token.
type anonymous struct {
	ConversationID string `json:"conversationId"`
	SessionToken   string `json:"session_token"`
}

var httpClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
}

// createConversations creates n anonymous conversations over HTTP.
func createConversations(ctx context.Context, base string, n int) ([]anonymous, error) {
	out := make([]anonymous, n)
	errs := make(chan error, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, 32) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				resp, err := httpClient.Post(base+"/v1/conversations", "application/json", strings.NewReader("{}"))
				if err == nil {
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("POST /v1/conversations: HTTP %d", resp.StatusCode)
					} else {
						err = json.NewDecoder(resp.Body).Decode(&out[i])
					}
					resp.Body.Close()
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
		return out, nil
	}
}

func (a anonymous) auth() map[string]any {
	return map[string]any{"conversationId": a.ConversationID, "session_token": a.SessionToken}
}

// connectAll opens one socket per conversation with bounded concurrency
// and returns the sockets and the connect rate.
func connectAll(ctx context.Context, base string, convs []anonymous, parallel int) ([]*sioConn, float64, error) {
	conns := make([]*sioConn, len(convs))
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range min(parallel, len(convs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(convs) || ctx.Err() != nil || firstErr.Load() != nil {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				c, err := dialSocketIO(cctx, base, convs[i].auth())
				cancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("socket %d: %w", i, err))
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	rate := float64(len(convs)) / time.Since(start).Seconds()
	if err, _ := firstErr.Load().(error); err != nil {
		closeAll(conns)
		return nil, 0, err
	}
	return conns, rate, nil
}

func closeAll(conns []*sioConn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// tailBuffer keeps the last max bytes written (the child's logs).
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

// fleet is a gateway (with its webhook receiver) and n connected sockets,
// one anonymous conversation each: the set-up of the send benchmarks.
type fleet struct {
	recv  *receiver // nil with receiver mode "none"
	g     *gatewayProc
	conns []*sioConn
	rate  float64 // handshakes per second while connecting
}

func startFleet(ctx context.Context, c common, env map[string]string, recvMode string, n int) (_ *fleet, err error) {
	f := &fleet{}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if recvMode != "none" {
		if f.recv, err = startReceiver(recvMode); err != nil {
			return nil, err
		}
	}
	if f.g, err = startGateway(ctx, serverOpts{AdminURL: c.adminURL, PoolMax: c.pool, Env: env, Receiver: f.recv}); err != nil {
		return nil, err
	}
	convs, err := createConversations(ctx, f.g.URL, n)
	if err != nil {
		return nil, err
	}
	if f.conns, f.rate, err = connectAll(ctx, f.g.URL, convs, 50); err != nil {
		return nil, err
	}
	return f, nil
}

// Close disconnects the sockets, stops the gateway and the receiver.
func (f *fleet) Close() {
	if f.conns != nil {
		closeAll(f.conns)
	}
	if f.g != nil {
		f.g.Stop()
	}
	if f.recv != nil {
		f.recv.Close()
	}
}
