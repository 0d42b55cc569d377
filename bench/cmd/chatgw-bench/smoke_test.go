package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/bench/internal/gateway"
	"github.com/chatgw/chatgw/bench/internal/sioclient"
)

// builtChatgw builds the product from the repository this module sits in,
// once per test binary: the bench measures the binary as it ships.
var builtChatgw = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "chatgw-bench-smoke-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "chatgw")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/chatgw")
	cmd.Dir = filepath.Join("..", "..", "..") // the main module's root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err: err, out: out}
	}
	return bin, nil
})

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

func chatgwBinary(t *testing.T) string {
	t.Helper()
	bin, err := builtChatgw()
	if err != nil {
		t.Skipf("cannot build the chatgw binary, so there is nothing to drive: %v", err)
	}
	return bin
}

func adminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return gateway.DefaultAdminURL
}

// A tiny throughput run against the built binary: every figure the command
// reports from /proc, /metrics and the receiver is there and consistent.
func TestSmokeThroughput(t *testing.T) {
	t.Parallel()
	bin := chatgwBinary(t)
	out := filepath.Join(t.TempDir(), "throughput.json")
	var table bytes.Buffer
	err := run(t.Context(), []string{"throughput", "-chatgw", bin, "-admin-url", adminURL(), "-pool", "4",
		"-senders", "4", "-warmup", "300ms", "-duration", "1s", "-drain", "30s", "-json", out}, &table)
	require.NoError(t, err)
	require.Contains(t, table.String(), "batching on")

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var doc struct {
		Machine machine            `json:"machine"`
		Runs    []throughputResult `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Positive(t, doc.Machine.CPUs)
	require.Len(t, doc.Runs, 1)
	r := doc.Runs[0]
	require.Positive(t, r.Acked)
	require.Zero(t, r.Errors)
	require.Equal(t, int(r.Acked), r.Ack.Count)
	require.Positive(t, r.Ack.P50)
	require.LessOrEqual(t, r.Ack.P50, r.Ack.Max)
	require.Positive(t, r.ConnectsPerSec)
	require.GreaterOrEqual(t, r.DrainSec, 0.0, "every delivery arrived")
	require.Equal(t, r.MessagesTotal, r.DeliveredTotal)
	require.Positive(t, r.DeliveriesPerSec)
	require.Positive(t, r.AllocKiB, "read from the gateway's /metrics")
	require.InDelta(t, 50, r.HandoffPct, 50, "a share of the deliveries")
	require.Positive(t, r.CPU.MachineUS)
	require.Positive(t, r.CPU.GatewayReads, "from /proc/PID/io of the gateway")
	require.Positive(t, r.RSSStart)
	require.GreaterOrEqual(t, r.RSSMax, r.RSSStart)
	require.Positive(t, r.FDsStart)
}

// The gateway accepts the bench's own JWTs, and the River jobs it writes
// are the rows the ceiling command writes (kind, queue, argument names).
func TestSmokeGatewayMatchesBench(t *testing.T) {
	t.Parallel()
	bin := chatgwBinary(t)
	ctx := t.Context()
	recv, err := startReceiver("ok")
	require.NoError(t, err)
	defer recv.Close()
	cl, err := gateway.StartCluster(ctx, gateway.ClusterConfig{AdminURL: adminURL(), PoolMax: 4,
		Gateway: gateway.Config{Binary: bin, WebhookURL: recv.URL()}})
	require.NoError(t, err)
	defer func() { require.NoError(t, cl.Stop(), "a clean exit on SIGTERM") }()
	g := cl.Nodes[0]

	convs, err := createConversations(ctx, g.URL, 1)
	require.NoError(t, err)
	user, _, err := connectAll(ctx, g.URL, convs, 1)
	require.NoError(t, err)
	defer closeAll(user)
	tok, err := g.Token("agent-1", []string{"tecnico"}, time.Hour)
	require.NoError(t, err)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tech, err := sioclient.Dial(dctx, g.URL, map[string]any{"token": tok, "conversationId": convs[0].ConversationID})
	require.NoError(t, err, "the gateway accepts a token the bench signed with the JWT_SECRET it passed")
	defer tech.Close()

	acked := make(chan bool, 1)
	require.NoError(t, user[0].EmitAck("client-send-message", []byte(`{"content":"hello","clientMessageId":"smoke-1"}`), func(ok bool, _ []byte) { acked <- ok }))
	require.True(t, <-acked)
	require.Eventually(t, func() bool { return tech.Events() > 0 && recv.unique.Load() == 1 }, 20*time.Second, 20*time.Millisecond,
		"the technician sees the message and the receiver gets its delivery")

	conn, err := pgx.Connect(ctx, cl.DB.URL(0))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var kind, queue string
	var args map[string]any
	require.NoError(t, conn.QueryRow(ctx, `SELECT kind, queue, args FROM river_job LIMIT 1`).Scan(&kind, &queue, &args))
	require.Equal(t, deliveryArgs{}.Kind(), kind)
	require.Equal(t, deliveryArgs{}.InsertOpts().Queue, queue)
	var ours map[string]any
	b, err := json.Marshal(deliveryArgs{SocketID: "s"})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &ours))
	require.Equal(t, sortedKeys(ours), sortedKeys(args), "the ceiling's job arguments are the gateway's")
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
