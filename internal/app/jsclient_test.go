package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// jsClient runs test/js/client.mjs — the official socket.io-client v4, as
// users run it — with one scenario.
type jsClient struct {
	cmd    *exec.Cmd
	lines  chan map[string]any
	waited chan error
}

func startJS(t *testing.T, scenario string, cfg map[string]any) *jsClient {
	t.Helper()
	dir, err := filepath.Abs("../../test/js")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("socket.io-client is not installed: run `make js-deps` (npm ci in test/js): %v", err)
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err, "Node.js is needed to run the official client")
	data, err := json.Marshal(cfg)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, node, "client.mjs", scenario)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHATGW_TEST="+string(data))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &jsClient{cmd: cmd, lines: make(chan map[string]any, 16), waited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				c.lines <- m
			}
		}
		close(c.lines)
		c.waited <- cmd.Wait()
	}()
	return c
}

// next returns the client's next JSON line.
func (c *jsClient) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m, ok := <-c.lines:
		require.True(t, ok, "the JS client exited without output")
		require.Nil(t, m["error"], "JS client: %v", m["error"])
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for the JS client")
		return nil
	}
}

func (c *jsClient) result(t *testing.T) map[string]any {
	t.Helper()
	m := c.next(t)
	require.NoError(t, <-c.waited)
	return m
}

func TestJSClientAnonymousSend(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)

	for _, transports := range [][]string{{"websocket"}, {"polling"}} {
		t.Run(transports[0], func(t *testing.T) {
			cfg := map[string]any{
				"url":        srv.URL,
				"auth":       anon.Auth(),
				"transports": transports,
				"upgrade":    false,
				"payload":    map[string]any{"content": "hola desde " + transports[0], "clientMessageId": "js-" + transports[0]},
			}
			got := startJS(t, "send", cfg).result(t)
			require.Equal(t, transports[0], got["transport"])
			ack := got["ack"].(map[string]any)
			require.Equal(t, true, ack["ok"], "%v", ack)
			msg := ack["message"].(map[string]any)
			require.Equal(t, "hola desde "+transports[0], msg["content"])
			require.Equal(t, "user", msg["sender"])
			require.Equal(t, msg["id"], got["saved"].(map[string]any)["id"], "message-saved carries the same message")
		})
	}
}

func TestJSClientJWTSendAndBroadcast(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	alice := srv.Token(t, "alice")
	conv := srv.CreateOwned(t, alice)

	// A technician's browser listens; alice's browser sends.
	listener := startJS(t, "receive", map[string]any{
		"url":  srv.URL,
		"auth": map[string]any{"token": srv.Token(t, "tom", "tecnico"), "conversationId": conv},
	})
	require.Equal(t, true, listener.next(t)["ready"])

	got := startJS(t, "send", map[string]any{
		"url":     srv.URL,
		"auth":    map[string]any{"token": alice, "conversationId": conv},
		"payload": map[string]any{"content": "need help"},
	}).result(t)
	ack := got["ack"].(map[string]any)
	require.Equal(t, true, ack["ok"], "%v", ack)
	require.Equal(t, "alice", ack["message"].(map[string]any)["senderId"])

	received := listener.result(t)["messages"].([]any)
	require.Equal(t, "need help", received[0].(map[string]any)["content"])
}

func TestJSClientRejections(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	cases := map[string]map[string]any{
		"UNAUTHORIZED":    {},
		"TOKEN_INVALID":   {"token": "not-a-jwt"},
		"SESSION_INVALID": {"conversationId": anon.ConversationID, "session_token": "wrong"},
	}
	for code, auth := range cases {
		t.Run(code, func(t *testing.T) {
			got := startJS(t, "reject", map[string]any{"url": srv.URL, "auth": auth}).result(t)
			require.Equal(t, false, got["connected"])
			require.NotEmpty(t, got["message"])
			require.Equal(t, map[string]any{"code": code}, got["data"])
		})
	}
}

func TestJSClientReconnectsAfterShutdown(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	clients := map[string]*jsClient{}
	for _, transport := range []string{"websocket", "polling"} {
		clients[transport] = startJS(t, "shutdown", map[string]any{
			"url": srv.URL, "auth": anon.Auth(), "transports": []string{transport}, "upgrade": false, "reconnection": true,
		})
		require.Equal(t, true, clients[transport].next(t)["ready"])
	}

	stopCtx, cancel := context.WithTimeout(context.Background(), apptest.Timeout)
	defer cancel()
	require.NoError(t, srv.App.Stop(stopCtx))

	for transport, c := range clients {
		got := c.result(t)
		reason := got["reason"]
		if transport == "polling" {
			// A long-polling client between two polls finds the listener
			// closed ("transport error") rather than the close packet on a
			// pending poll ("transport close"); both mean reconnect.
			require.Contains(t, []any{"transport close", "transport error"}, reason, "%s: closed at the transport level", transport)
		} else {
			require.Equal(t, "transport close", reason, "%s: closed at the transport level", transport)
		}
		require.NotEqual(t, "io server disconnect", reason, "not a Socket.IO disconnect, which tells the client not to come back")
		require.Equal(t, true, got["willReconnect"], "%s: the official client comes back on its own", transport)
	}
}
