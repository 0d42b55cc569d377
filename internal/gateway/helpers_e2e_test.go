package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/gateway"
)

// socketsGauge reads chatgw_sockets_connected.
func socketsGauge(srv *apptest.Server) int {
	return int(testutil.ToFloat64(srv.Metrics().SocketsConnected))
}

// waitSockets waits until the registry holds n sockets, and checks that
// the gauge says the same.
func waitSockets(t *testing.T, srv *apptest.Server, n int) gateway.Stats {
	t.Helper()
	st := srv.WaitStats(t, func(s gateway.Stats) bool { return s.Sockets == n })
	require.Equal(t, n, socketsGauge(srv), "chatgw_sockets_connected")
	return st
}

func countRows(t *testing.T, srv *apptest.Server, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, srv.Pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// seqs returns the seq of each message event, in arrival order.
func seqs(events []map[string]any) []int {
	out := make([]int, 0, len(events))
	for _, e := range events {
		out = append(out, int(e["seq"].(float64)))
	}
	return out
}

func seqRange(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func timeoutFromNow() time.Time { return time.Now().Add(apptest.Timeout) }
