// Package leaktest proves that connect/disconnect cycles leave nothing
// behind in the gateway. It is a package of its own so that no other test
// runs in the same process and the goroutine count means something.
package leaktest

import (
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/gateway"
)

// cycles is 10,000 unless CHATGW_LEAK_CYCLES says otherwise.
func cycles(t *testing.T) int {
	if v := os.Getenv("CHATGW_LEAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		return n
	}
	return 10_000
}

// rawConnect speaks just enough Engine.IO 4 / Socket.IO 5 over a raw
// websocket to be accepted (the Go Socket.IO client costs far more per
// connection than the server does, and has races of its own on connect),
// then leaves: politely (an Engine.IO close packet) or by dropping the TCP
// connection, alternately.
func rawConnect(t *testing.T, wsURL string, auth []byte, polite bool) {
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(apptest.Timeout)))
	_, open, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(open), "0{"), "%s", open)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, append([]byte("40"), auth...)))
	for {
		_, msg, err := conn.ReadMessage()
		require.NoError(t, err)
		if strings.HasPrefix(string(msg), "40") {
			break
		}
		require.False(t, strings.HasPrefix(string(msg), "44"), "connect_error: %s", msg)
	}
	if polite {
		_ = conn.WriteMessage(websocket.TextMessage, []byte("1"))
	}
}

func TestConnectDisconnectCyclesLeaveNothing(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"LOG_LEVEL": "warn"})
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	token := srv.Token(t, "leaky", "tecnico")
	conv := srv.CreateOwned(t, token)
	plain, _ := json.Marshal(map[string]any{"token": token})
	// Every tenth socket joins a conversation and replays it, so rooms and
	// replay goroutines are exercised too.
	withRoom, _ := json.Marshal(map[string]any{"token": token, "conversationId": conv, "lastSeq": 0})

	settle := func() gateway.Stats {
		return srv.WaitStats(t, func(s gateway.Stats) bool { return s == gateway.Stats{} })
	}
	for i := range 50 { // warm up pools and lazily started goroutines
		rawConnect(t, wsURL, plain, i%2 == 0)
	}
	settle()
	baseline := settledGoroutines(t, 0, 0)

	n := cycles(t)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				auth := plain
				if i%10 == 0 {
					auth = withRoom
				}
				rawConnect(t, wsURL, auth, i%2 == 0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	require.Equal(t, gateway.Stats{}, settle(), "registry back to empty")
	after := settledGoroutines(t, baseline, 5)
	gauge := testutil.ToFloat64(srv.Metrics().SocketsConnected)
	require.Zero(t, gauge, "chatgw_sockets_connected")
	require.Equal(t, float64(n+50), testutil.ToFloat64(srv.Metrics().Handshakes.WithLabelValues("ok")))
	t.Logf("%d connect/disconnect cycles in %v; goroutines %d before, %d after; chatgw_sockets_connected %v",
		n, elapsed.Round(time.Millisecond), baseline, after, gauge)
	for _, line := range strings.Split(srv.Logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("error logged: %s", line)
		}
	}
}

// settledGoroutines polls the goroutine count until it is at most
// baseline+slack (or, with baseline 0, until it stops falling), and
// returns it. Connections close asynchronously, so a count taken at once
// would be noise.
func settledGoroutines(t *testing.T, baseline, slack int) int {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	last, stable := runtime.NumGoroutine(), 0
	for {
		select {
		case <-tick.C:
		case <-deadline:
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines did not settle: %d, baseline %d\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		n := runtime.NumGoroutine()
		if baseline > 0 && n <= baseline+slack {
			return n
		}
		if baseline == 0 {
			if n >= last {
				stable++
			} else {
				stable = 0
			}
			if stable >= 10 {
				return n
			}
		}
		last = n
	}
}

// An idle WebSocket costs the gateway one goroutine, its reader: the
// heartbeat runs on timers that park none (third_party/socket.io-engine),
// and nothing else waits per socket. Not parallel, unlike the rest: it
// reads the process's goroutine count while its sockets are open, and
// serial tests run before parallel ones resume.
func TestIdleWebSocketCostsOneGoroutine(t *testing.T) {
	srv := apptest.Start(t, map[string]string{"LOG_LEVEL": "warn"})
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	var users atomic.Int64
	open := func() *websocket.Conn { // connected, then left idle: no reads, so no client goroutine
		// A user each: one identity's sockets are capped.
		auth, _ := json.Marshal(map[string]any{"token": srv.Token(t, "idle-"+strconv.FormatInt(users.Add(1), 10), "tecnico")})
		conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(apptest.Timeout)))
		_, msg, err := conn.ReadMessage()
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(msg), "0{"), "%s", msg)
		require.NoError(t, conn.WriteMessage(websocket.TextMessage, append([]byte("40"), auth...)))
		_, msg, err = conn.ReadMessage()
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(msg), "40{"), "%s", msg)
		return conn
	}
	for range 20 { // warm up pools and lazily started goroutines
		open()
	}
	srv.WaitStats(t, func(s gateway.Stats) bool { return s.Sockets == 20 })
	baseline := settledGoroutines(t, 0, 0)

	const n = 500
	for range n {
		open()
	}
	srv.WaitStats(t, func(s gateway.Stats) bool { return s.Sockets == 20+n })
	after := settledGoroutines(t, 0, 0)
	perSocket := float64(after-baseline) / n
	t.Logf("%d idle sockets: goroutines %d → %d, %.2f per socket", n, baseline, after, perSocket)
	require.InDelta(t, 1.0, perSocket, 0.05, "goroutines per idle WebSocket")
}
