package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

// rawHandshake opens one Engine.IO session over a bare WebSocket and sends
// one CONNECT with auth; it returns the connect_error's data, or nil when
// the handshake was accepted. Tests of per-IP handshake limits use it
// rather than the Go client, which can lose its CONNECT when the transport
// opens first and then retries on a new session (apptest.ConnectWith):
// every session counts against the limit, so that retry spends a token.
func rawHandshake(t *testing.T, httpURL string, header http.Header, auth map[string]any) map[string]any {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(httpURL, "http")+"/socket.io/?EIO=4&transport=websocket", header)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, open, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(open), "0{"), "%s", open)
	body, err := json.Marshal(auth)
	require.NoError(t, err)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, append([]byte("40"), body...)))
	_, answer, err := conn.ReadMessage()
	require.NoError(t, err)
	switch {
	case strings.HasPrefix(string(answer), "40{"):
		return nil
	case strings.HasPrefix(string(answer), "44{"):
		var refusal struct {
			Data map[string]any `json:"data"`
		}
		require.NoError(t, json.Unmarshal(answer[2:], &refusal), "%s", answer)
		require.NotNil(t, refusal.Data, "%s", answer)
		return refusal.Data
	default:
		t.Fatalf("no handshake answer: %s", answer)
		return nil
	}
}
