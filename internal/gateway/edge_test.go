package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	client "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/gateway"
	"github.com/chatgw/chatgw/internal/guard"
	"github.com/chatgw/chatgw/internal/ratelimit"
)

func withGateway(f func(*gateway.Config)) func(*options) {
	return func(o *options) { o.gateway = f }
}

// openEngine opens an Engine.IO session over WebSocket and never sends
// CONNECT: what an unauthenticated peer holds.
func openEngine(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(apptest.Timeout)))
	_, open, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(open), "0{"), "%s", open)
	return conn
}

// waitClosed waits until the server closes conn (a read fails with
// anything but a timeout).
func waitClosed(t *testing.T, conn *websocket.Conn, within time.Duration) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(within)))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			var ne interface{ Timeout() bool }
			if ok := asTimeout(err, &ne); ok && ne.Timeout() {
				t.Fatal("the server did not close the connection")
			}
			return
		}
	}
}

func asTimeout(err error, target *interface{ Timeout() bool }) bool {
	ne, ok := err.(interface{ Timeout() bool })
	if ok {
		*target = ne
	}
	return ok
}

// placeholders is a Socket.IO binary event announcing n attachments.
func placeholders(n int) string {
	args := make([]string, n)
	for i := range args {
		args[i] = fmt.Sprintf(`{"_placeholder":true,"num":%d}`, i)
	}
	return fmt.Sprintf(`45%d-["client-send-message",%s]`, n, strings.Join(args, ","))
}

// Contract §4: a packet announcing binary attachments closes its
// connection at once, before or after the handshake.
func TestBinaryPacketClosesItsConnection(t *testing.T) {
	t.Parallel()
	e := setup(t)
	anon := e.CreateAnonymous(t)

	before := openEngine(t, e.URL)
	require.NoError(t, before.WriteMessage(websocket.TextMessage, []byte(placeholders(1))))
	waitClosed(t, before, apptest.Timeout)

	after := openEngine(t, e.URL)
	auth, _ := json.Marshal(anon.Auth())
	require.NoError(t, after.WriteMessage(websocket.TextMessage, append([]byte("40"), auth...)))
	_, msg, err := after.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(msg), "40{"), "%s", msg)
	require.NoError(t, after.WriteMessage(websocket.TextMessage, []byte(`461-["client-typing",{"_placeholder":true,"num":0}]`)))
	waitClosed(t, after, apptest.Timeout)
}

// The attachment flood of issue 11: 100 connections that never
// authenticate, each announcing ten attachments and sending 1 MB frames.
// The library would keep every frame until the packet completes (up to the
// connect timeout): here the first packet closes the connection, so the
// heap barely grows. (Measured RSS of the binary: docs/operations.md.)
func TestAttachmentFloodKeepsNothing(t *testing.T) {
	// A long connect timeout: only the binary refusal may save the heap.
	e := setup(t, withGateway(func(c *gateway.Config) { c.ConnectTimeout = time.Minute }))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	base := heap()
	frame := append([]byte{4}, bytes.Repeat([]byte{7}, 1<<20-64)...)
	conns := make([]*websocket.Conn, 100)
	var wg sync.WaitGroup
	for i := range conns {
		conns[i] = openEngine(t, e.URL)
		wg.Add(1)
		go func(c *websocket.Conn) {
			defer wg.Done()
			if c.WriteMessage(websocket.TextMessage, []byte(placeholders(10))) != nil {
				return
			}
			for range 3 {
				if c.WriteMessage(websocket.BinaryMessage, frame) != nil {
					return
				}
			}
		}(conns[i])
	}
	wg.Wait()
	// Each connection is closed by the server at its first packet (with a
	// one-minute connect timeout nothing else would close it in time).
	for _, c := range conns {
		waitClosed(t, c, apptest.Timeout)
	}
	grown := int64(heap()) - int64(base)
	t.Logf("heap grew by %d KiB under the flood", grown>>10)
	require.Less(t, grown, int64(32<<20), "the gateway kept attachments: heap grew by %d MiB", grown>>20)
}

// Contract §1 CONNECT_TIMEOUT: an Engine.IO session that has not completed
// the Socket.IO handshake is closed; one that has stays.
func TestConnectTimeoutClosesSessionsThatNeverConnect(t *testing.T) {
	t.Parallel()
	e := setup(t, withGateway(func(c *gateway.Config) { c.ConnectTimeout = 300 * time.Millisecond }))
	anon := e.CreateAnonymous(t)
	sock := e.Connect(t, anon.Auth())
	idle := openEngine(t, e.URL) // opened after sock: closed after sock's timeout would have fired
	start := time.Now()
	waitClosed(t, idle, apptest.Timeout)
	require.Less(t, time.Since(start), 5*time.Second)
	ack := sock.Emit(t, "client-get-history", map[string]any{})
	require.Equal(t, true, ack["ok"], "a connected socket is not closed by the connect timeout")
}

// Contract §4: handshake limits per IP count Engine.IO sessions, not only
// Socket.IO connections.
func TestPerIPLimitCountsEngineSessions(t *testing.T) {
	t.Parallel()
	e := setup(t, withGateway(func(c *gateway.Config) {
		c.ConnectLimiter = ratelimit.New(ratelimit.PerMinute(3))
	}))
	anon := e.CreateAnonymous(t)
	for range 3 {
		openEngine(t, e.URL)
	}
	sock, err := e.ConnectWith(t, func() *client.Options { return apptest.ClientOptions(anon.Auth()) })
	defer sock.Disconnect()
	require.Error(t, err)
	data := connectErrorData(t, err)
	require.Equal(t, "RATE_LIMITED", data["code"])
	require.Greater(t, data["retryAfterMs"], 0.0)
}

// Contract §1 MAX_CONNECTIONS: beyond it new sessions get 503, counted.
func TestMaxConnectionsRefusesWith503(t *testing.T) {
	t.Parallel()
	e := setup(t, withGateway(func(c *gateway.Config) { c.MaxConnections = 2 }))
	first := openEngine(t, e.URL)
	openEngine(t, e.URL)
	handshake := e.URL + "/socket.io/?EIO=4&transport=polling"
	resp, err := http.Get(handshake)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Equal(t, 1.0, testutil.ToFloat64(e.Metrics().ConnectionsRefused.WithLabelValues("max_connections")))

	first.Close()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := http.Get(handshake)
		if !assert.NoError(c, err) {
			return
		}
		resp.Body.Close()
		assert.Equal(c, http.StatusOK, resp.StatusCode)
	}, apptest.Timeout, 20*time.Millisecond, "a freed slot is given again")
}

// Contract §4 Budgets: every client event counts against its socket's
// budget; over it, RATE_LIMITED with retryAfterMs, and the event is not
// handled.
func TestEveryEventHasABudget(t *testing.T) {
	t.Parallel()
	e := setup(t, withGateway(func(c *gateway.Config) { c.EventsPerSec, c.EventsBurst = 0.01, 3 }))
	anon := e.CreateAnonymous(t)
	conv := anon.ConversationID
	events := map[string]map[string]any{
		"client-send-message":       {"content": "hi"},
		"client-send-user":          {"content": "hi"},
		"client-send-tecnico":       {"conversationId": conv, "content": "hi"},
		"client-join-conversation":  {"conversationId": conv},
		"client-leave-conversation": {"conversationId": conv},
		"client-get-history":        {},
		"client-typing":             {"typing": true},
	}
	for event, payload := range events {
		sock := e.Connect(t, anon.Auth())
		for range 3 {
			ack := sock.Emit(t, event, payload)
			if ack["ok"] != true {
				errBody := ack["error"].(map[string]any)
				require.NotEqual(t, "RATE_LIMITED", errBody["code"], "%s within the burst", event)
			}
		}
		ack := sock.Emit(t, event, payload)
		require.Equal(t, false, ack["ok"], event)
		errBody := ack["error"].(map[string]any)
		require.Equal(t, "RATE_LIMITED", errBody["code"], event)
		require.Greater(t, errBody["retryAfterMs"], 0.0, event)
		sock.Disconnect()
	}
	require.Len(t, e.Messages(t, conv), 6, "three sends of each send event; the over-budget ones stored nothing")
}

// Contract §6 through the handshake: wrong session tokens block the IP
// (then even a right one gets RATE_LIMITED with retryAfterMs) and are
// session_guessing for their conversation; TOKEN_EXPIRED is not counted.
func TestHandshakeAuthFailuresBlockTheIP(t *testing.T) {
	t.Parallel()
	var g *guard.Guard
	e := setup(t, withGateway(func(c *gateway.Config) {
		g = guard.New(guard.Config{AuthFailures: 6, BlockDuration: time.Hour, Anomalies: c.Metrics.Anomalies, Logger: c.Logger})
		c.Guard = g
	}))
	anon := e.CreateAnonymous(t)
	expired := expiredToken(t)
	for range 8 {
		code, _ := e.ConnectError(t, map[string]any{"token": expired})
		require.Equal(t, "TOKEN_EXPIRED", code)
	}
	e.Connect(t, anon.Auth()).Disconnect()

	for i := range 6 {
		code, _ := e.ConnectError(t, map[string]any{"conversationId": anon.ConversationID, "session_token": fmt.Sprintf("guess-%d", i)})
		require.Equal(t, "SESSION_INVALID", code)
	}
	sock, err := e.ConnectWith(t, func() *client.Options { return apptest.ClientOptions(anon.Auth()) })
	defer sock.Disconnect()
	require.Error(t, err, "a blocked IP cannot connect even with the right token")
	data := connectErrorData(t, err)
	require.Equal(t, "RATE_LIMITED", data["code"])
	require.Greater(t, data["retryAfterMs"], float64(59*60*1000))

	m := e.Metrics().Anomalies
	require.Equal(t, 1.0, testutil.ToFloat64(m.WithLabelValues("auth_failures")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.WithLabelValues("session_guessing")))
	logs := e.Logs.String()
	require.Contains(t, logs, `"msg":"anomaly","kind":"session_guessing","conversation_id":"`+anon.ConversationID+`"`)
	require.Contains(t, logs, `"msg":"anomaly","kind":"auth_failures","client_ip":"127.0.0.1"`)
}

// Contract §6 send_flood: 50 rate-limited sends within a minute.
func TestSendFloodIsAnAnomaly(t *testing.T) {
	t.Parallel()
	e := setup(t,
		func(o *options) {
			o.service.SendLimiter = ratelimit.New(ratelimit.Config{Rate: 0.001, Burst: 1})
			o.gateway = func(c *gateway.Config) {
				c.EventsPerSec = -1
				c.Guard = guard.New(guard.Config{Anomalies: c.Metrics.Anomalies, Logger: c.Logger})
			}
		})
	anon := e.CreateAnonymous(t)
	sock := e.Connect(t, anon.Auth())
	sock.Send(t, map[string]any{"content": "first"})
	for range 50 {
		ack := sock.Emit(t, "client-send-message", map[string]any{"content": "again"})
		require.Equal(t, "RATE_LIMITED", ack["error"].(map[string]any)["code"])
	}
	require.Equal(t, 1.0, testutil.ToFloat64(e.Metrics().Anomalies.WithLabelValues("send_flood")))
	require.Equal(t, 1, strings.Count(e.Logs.String(), `"kind":"send_flood"`))
}

// connectErrorData is the data of a connect_error.
func connectErrorData(t *testing.T, err error) map[string]any {
	t.Helper()
	ext, ok := err.(*types.ExtendedError)
	require.True(t, ok, "connect_error is %T: %v", err, err)
	data, _ := ext.Data.(map[string]any)
	return data
}

// expiredToken is a user JWT that expired an hour ago.
func expiredToken(t *testing.T) string {
	t.Helper()
	tok, err := auth.MintUserToken([]byte(apptest.JWTSecret), "late", nil, "roles", time.Minute, "", "", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	return tok
}
