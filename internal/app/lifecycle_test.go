package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// calls records the calls of fake components (together calls them from
// several goroutines).
type calls struct {
	mu   sync.Mutex
	list []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, s)
}

// take returns the calls so far and forgets them.
func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.list
	c.list = nil
	return l
}

// recorder is a fake component that records its calls.
type recorder struct {
	name     string
	calls    *calls
	startErr error
}

func (r recorder) Start(context.Context) error {
	r.calls.add("start " + r.name)
	return r.startErr
}

func (r recorder) Stop(context.Context) error {
	r.calls.add("stop " + r.name)
	return nil
}

func TestLifecycleStopsWhatStartedInReverseWhenAStartFails(t *testing.T) {
	t.Parallel()
	c := &calls{}
	boom := errors.New("boom")
	var l lifecycle
	l.add("a", recorder{"a", c, nil})
	l.add("b", together{recorder{"b1", c, nil}, recorder{"b2", c, nil}})
	l.add("c", recorder{"c", c, boom})
	l.add("d", recorder{"d", c, nil})

	require.ErrorIs(t, l.start(context.Background()), boom)
	got := c.take()
	require.Len(t, got, 7, got)
	require.Equal(t, []string{"start a", "start b1", "start b2", "start c"}, got[:4], "in order, d never")
	require.ElementsMatch(t, []string{"stop b1", "stop b2"}, got[4:6], "b's parts stop together")
	require.Equal(t, "stop a", got[6], "in reverse; c did not start, so it is not stopped")

	require.NoError(t, l.stop(context.Background()))
	require.Empty(t, c.take(), "stopping after a failed start is a no-op")
	require.Error(t, l.start(context.Background()), "no second start")
}

func TestLifecycleStopWithoutStartStopsEverything(t *testing.T) {
	t.Parallel()
	c := &calls{}
	var l lifecycle
	l.add("a", recorder{"a", c, nil})
	l.add("b", recorder{"b", c, nil})
	require.NoError(t, l.stop(context.Background()))
	require.Equal(t, []string{"stop b", "stop a"}, c.take())
	require.NoError(t, l.stop(context.Background()))
	require.Empty(t, c.take(), "once")
}

func TestTogetherStopsItsStartedPartsWhenOneFails(t *testing.T) {
	t.Parallel()
	c := &calls{}
	boom := errors.New("boom")
	tg := together{recorder{"a", c, nil}, recorder{"b", c, boom}, recorder{"c", c, nil}}
	require.ErrorIs(t, tg.Start(context.Background()), boom)
	require.Equal(t, []string{"start a", "start b", "stop a"}, c.take())
}

// The tests below start a whole app and check that nothing outlives it: no
// goroutine (goleak), no listener, no pool. They do not run in parallel, so
// that goleak sees only their own goroutines.

// newTestApp builds an app with webhook delivery on (River workers and the
// depth reporter run), group commit, and pprof on a free port. leaks
// ignores the goroutines that ran before New.
func newTestApp(t *testing.T, env map[string]string) (a *App, vars map[string]string, leaks goleak.Option) {
	t.Helper()
	vars = map[string]string{
		"HTTP_ADDR":       "127.0.0.1:0",
		"PPROF_ADDR":      freeAddr(t),
		"DATABASE_URL":    pgtest.NewDatabase(t),
		"JWT_SECRET":      "lifecycle-test-secret-0123456789abcdef",
		"N8N_WEBHOOK_URL": "http://127.0.0.1:9/unused",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	require.NoError(t, err)
	leaks = goleak.IgnoreCurrent()
	a, err = New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	require.NoError(t, err)
	return a, vars, leaks
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// takenAddr listens on a loopback address until the end of the test.
func takenAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func (a *App) component(t *testing.T, name string) *component {
	t.Helper()
	for i := range a.parts.components {
		if a.parts.components[i].name == name {
			return &a.parts.components[i]
		}
	}
	t.Fatalf("no component %q", name)
	return nil
}

// requireReleased checks that the app holds nothing: its pool is closed and
// nothing listens on addrs.
func requireReleased(t *testing.T, a *App, addrs ...string) {
	t.Helper()
	pool := a.component(t, "database").Component.(database).pool
	require.ErrorContains(t, pool.Ping(context.Background()), "closed pool")
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		require.NoError(t, err, "%s is still listening", addr)
		require.NoError(t, ln.Close())
	}
}

func TestStartFailsOnATakenHTTPAddrAndLeavesNothingRunning(t *testing.T) {
	a, vars, leaks := newTestApp(t, map[string]string{"HTTP_ADDR": takenAddr(t)})
	defer goleak.VerifyNone(t, leaks)

	err := a.Start(context.Background())
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "HTTP_ADDR: "), err)
	// pprof started before the HTTP server, and River before it.
	requireReleased(t, a, vars["PPROF_ADDR"])
	require.NoError(t, a.Stop(context.Background()), "Stop after a failed Start is a no-op")
}

func TestStartFailsOnATakenPprofAddrAndLeavesNothingRunning(t *testing.T) {
	a, _, leaks := newTestApp(t, map[string]string{"PPROF_ADDR": takenAddr(t)})
	defer goleak.VerifyNone(t, leaks)

	err := a.Start(context.Background())
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "PPROF_ADDR: "), err)
	requireReleased(t, a)
}

// failingStart stands in for a component whose start fails.
type failingStart struct{ err error }

func (f failingStart) Start(context.Context) error { return f.err }
func (failingStart) Stop(context.Context) error    { return nil }

func TestAFailedRiverStartStopsGroupCommitAndTheDatabase(t *testing.T) {
	a, vars, leaks := newTestApp(t, nil)
	defer goleak.VerifyNone(t, leaks)
	boom := errors.New("river: cannot start")
	a.component(t, "river").Component = failingStart{boom}

	require.ErrorIs(t, a.Start(context.Background()), boom)
	// Nothing after River started: pprof never listened.
	requireReleased(t, a, vars["PPROF_ADDR"])
}

func TestALateStartFailureStopsEverythingStarted(t *testing.T) {
	a, vars, leaks := newTestApp(t, nil)
	defer goleak.VerifyNone(t, leaks)
	boom := errors.New("late failure")
	a.parts.add("late", failingStart{boom})

	require.ErrorIs(t, a.Start(context.Background()), boom)
	httpAddr := a.Addr()
	require.NotEmpty(t, httpAddr, "the HTTP server had started")
	requireReleased(t, a, vars["PPROF_ADDR"], httpAddr)
}

func TestStopIsIdempotentAndLeavesNothingRunning(t *testing.T) {
	a, vars, leaks := newTestApp(t, nil)
	defer goleak.VerifyNone(t, leaks)
	ctx := context.Background()

	require.NoError(t, a.Start(ctx))
	res, err := http.Get("http://" + a.Addr() + "/healthz")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)
	http.DefaultClient.CloseIdleConnections()

	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, a.Stop(stopCtx))
	require.NoError(t, a.Stop(stopCtx), "a second Stop is fine")
	requireReleased(t, a, vars["PPROF_ADDR"], a.Addr())

	// Each component's own Stop is idempotent too.
	for _, c := range a.parts.components {
		require.NoError(t, c.Stop(stopCtx), c.name)
	}
}

func TestStopWithoutStartReleasesThePool(t *testing.T) {
	a, _, leaks := newTestApp(t, nil)
	defer goleak.VerifyNone(t, leaks)
	require.NoError(t, a.Stop(context.Background()))
	requireReleased(t, a)
}

// Run used to leave group commit's goroutines behind when Start failed.
func TestRunLeavesNothingRunningWhenStartFails(t *testing.T) {
	vars := map[string]string{
		"HTTP_ADDR":    takenAddr(t),
		"DATABASE_URL": pgtest.NewDatabase(t),
		"JWT_SECRET":   "lifecycle-test-secret-0123456789abcdef",
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	require.NoError(t, err)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	err = Run(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	require.ErrorContains(t, err, "HTTP_ADDR: ")
}
