package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// buildBinary builds cmd/chatgw once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "chatgw-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "chatgw")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/chatgw/chatgw/cmd/chatgw").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is a running chatgw binary.
type process struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan error
}

// startBinary runs `chatgw serve` with env and waits until it listens.
func startBinary(t *testing.T, bin string, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	listening := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.logs.Write(line)
			p.logs.WriteByte('\n')
			p.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "chatgw listening" {
				listening <- rec.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanned // Wait must not run before the pipe is drained
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("chatgw (pid %d) log:\n%s", cmd.Process.Pid, p.log())
		}
	})
	select {
	case p.addr = <-listening:
	case err := <-p.done:
		t.Fatalf("chatgw exited before listening: %v\n%s", err, p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("chatgw did not listen in time\n%s", p.log())
	}
	return p
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// A gateway killed with SIGKILL after acknowledging messages delivers all
// of them after a restart: the ack means the message and its delivery job
// committed together, and a crashed attempt is rescued.
func TestCrashLosesNoDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; waits for River's leader and rescuer")
	}
	t.Parallel()
	bin, err := buildBinary()
	require.NoError(t, err)

	n8n := newFakeN8N(t)
	n8n.down() // the receiver is away while the messages are sent
	env := webhookEnv(n8n,
		"DATABASE_URL", pgtest.NewDatabase(t),
		"JWT_SECRET", apptest.JWTSecret,
		"HTTP_ADDR", "127.0.0.1:0",
		"WEBHOOK_MAX_ATTEMPTS", "100000",
		"WEBHOOK_TIMEOUT", "1s",
		"RATE_LIMIT_CONNECTS_PER_MIN", "0",
		"RATE_LIMIT_CONVERSATIONS_PER_MIN", "0",
		"RATE_LIMIT_MESSAGES_PER_SEC", "0",
		"LOG_LEVEL", "info",
	)
	first := startBinary(t, bin, env)
	s := &apptest.Server{URL: "http://" + first.addr, HTTP: apptest.HTTPClient}

	want := map[string]bool{}
	for range 3 {
		auth := s.CreateAnonymous(t).Auth()
		for i := range 5 {
			_, msg := connectAndSend(t, s, auth, map[string]any{"content": fmt.Sprint("before the crash ", i)})
			want[msg["id"].(string)] = true
		}
	}

	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	err = <-first.done
	require.Error(t, err, "killed")

	n8n.up()
	second := startBinary(t, bin, env)
	got := map[string]bool{}
	deadline := time.After(90 * time.Second) // River's leader TTL + rescuer interval, with margin
	for len(got) < len(want) {
		select {
		case d := <-n8n.got:
			require.NoError(t, d.SignatureErr)
			id := d.Header.Get("webhook-id")
			require.True(t, want[id], "unexpected delivery %s", id)
			got[id] = true
		case <-deadline:
			t.Fatalf("after restart, %d of %d deliveries arrived", len(got), len(want))
		}
	}

	// A graceful stop after that exits 0.
	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-second.done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("chatgw did not stop on SIGTERM")
	}
}
