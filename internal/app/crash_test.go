package app_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// A gateway killed with SIGKILL after acknowledging messages delivers all
// of them after a restart: the ack means the message and its delivery job
// committed together, and a crashed attempt is rescued.
func TestCrashLosesNoDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; waits for River's leader and rescuer")
	}
	t.Parallel()
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
	first := apptest.StartBinary(t, env)
	s := first.Client()

	want := map[string]bool{}
	for range 3 {
		auth := s.CreateAnonymous(t).Auth()
		for i := range 5 {
			_, msg := connectAndSend(t, s, auth, map[string]any{"content": fmt.Sprint("before the crash ", i)})
			want[msg["id"].(string)] = true
		}
	}

	require.NoError(t, first.Cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, <-first.Exited, "killed")

	n8n.up()
	second := apptest.StartBinary(t, env)
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
	require.NoError(t, second.Cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, second.WaitExit(t, 20*time.Second), second.Logs())
}
