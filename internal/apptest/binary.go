package apptest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/chatgw once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "chatgw-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "chatgw")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/chatgw")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./cmd/chatgw: " + e.err.Error() + "\n" + e.out }

// Process is a chatgw binary running `serve`.
type Process struct {
	Cmd  *exec.Cmd
	Addr string // host:port it listens on
	// Exited yields Wait's result once the process ends.
	Exited <-chan error
	logs   *LogBuffer
}

// Logs returns what the process logged so far.
func (p *Process) Logs() string { return p.logs.String() }

// StartBinary runs `chatgw serve` with env (plus HTTP_ADDR=127.0.0.1:0
// unless given) and waits until it listens. The process is killed at the
// end of the test if it is still running.
func StartBinary(t testing.TB, env map[string]string) *Process {
	t.Helper()
	vars := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "JWT_SECRET": JWTSecret}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(Binary(t), "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	logs := &LogBuffer{}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, logs))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "chatgw listening" {
				listening <- line.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // Wait must not run before the pipe is drained
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("chatgw (pid %d) log:\n%s", cmd.Process.Pid, logs.String())
		}
	})
	p := &Process{Cmd: cmd, Exited: exited, logs: logs}
	select {
	case p.Addr = <-listening:
	case err := <-exited:
		t.Fatalf("chatgw exited before listening: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("chatgw did not start listening\n%s", logs.String())
	}
	return p
}

// WaitExit waits for the process to end and returns its exit code.
func (p *Process) WaitExit(t testing.TB, timeout time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	select {
	case <-p.Exited:
		return p.Cmd.ProcessState.ExitCode()
	case <-ctx.Done():
		t.Fatalf("chatgw did not exit within %s\n%s", timeout, p.Logs())
		return -1
	}
}

// Client returns a Server handle for driving the process over HTTP and
// Socket.IO (it has no App, Pool or Logs of its own).
func (p *Process) Client() *Server {
	return &Server{Client: Client{URL: "http://" + p.Addr, HTTP: HTTPClient}}
}
