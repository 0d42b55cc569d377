package gateway_test

import (
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// rawSocket is a hand-driven Engine.IO/Socket.IO connection, for sending
// what no well-behaved client would.
type rawSocket struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialRaw(t *testing.T, srv *apptest.Server, auth map[string]any) *rawSocket {
	t.Helper()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	r := &rawSocket{t: t, conn: conn}
	require.True(t, strings.HasPrefix(r.read(), "0{"))
	data, _ := json.Marshal(auth)
	r.write("40" + string(data))
	connected := r.readSkippingPings()
	require.True(t, strings.HasPrefix(connected, "40{"), connected)
	var ok struct{ Sid string }
	require.NoError(t, json.Unmarshal([]byte(connected[2:]), &ok))
	require.NotEmpty(t, ok.Sid)
	return r
}

func (r *rawSocket) write(s string) {
	r.t.Helper()
	require.NoError(r.t, r.conn.WriteMessage(websocket.TextMessage, []byte(s)))
}

func (r *rawSocket) read() string {
	r.t.Helper()
	require.NoError(r.t, r.conn.SetReadDeadline(time.Now().Add(apptest.Timeout)))
	_, msg, err := r.conn.ReadMessage()
	require.NoError(r.t, err)
	return string(msg)
}

func (r *rawSocket) readSkippingPings() string {
	for {
		if m := r.read(); m != "2" {
			return m
		}
		r.write("3")
	}
}

// closed waits until the server closes the connection.
func (r *rawSocket) closed() {
	r.t.Helper()
	require.NoError(r.t, r.conn.SetReadDeadline(time.Now().Add(apptest.Timeout)))
	for {
		if _, _, err := r.conn.ReadMessage(); err != nil {
			var netErr interface{ Timeout() bool }
			if errors.As(err, &netErr) && netErr.Timeout() {
				r.t.Fatal("the server did not close the connection")
			}
			return
		}
	}
}

// requireHealthy proves the gateway still serves: a fresh client sends and
// another socket of the conversation gets the broadcast.
func requireHealthy(t *testing.T, srv *apptest.Server, bystander *apptest.Socket, anon apptest.Anonymous) {
	t.Helper()
	n := len(bystander.Events.Named("message"))
	msg := srv.Connect(t, anon.Auth()).Send(t, map[string]any{"content": "still alive"})
	got := bystander.Events.WaitFor(t, "message", n+1)
	require.Equal(t, msg["id"], got[n]["id"])
}

func TestHostileFramesCloseOnlyTheirConnection(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "0"})
	anon := srv.CreateAnonymous(t)
	bystander := srv.Connect(t, anon.Auth())

	deep := strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)
	cases := map[string]string{
		"oversized Engine.IO frame":    "42" + `["client-send-message",{"content":"` + strings.Repeat("a", 2<<20) + `"}]`,
		"broken JSON":                  `42["client-send-message",{"content":`,
		"unknown Engine.IO type":       "9hello",
		"unknown Socket.IO type":       "49[]",
		"binary event (attachments)":   `451-["client-send-message",{"_placeholder":true,"num":0}]`,
		"binary ack (attachments)":     `461-0[{"_placeholder":true,"num":0}]`,
		"event that is not an array":   `42{"content":"x"}`,
		"JSON nested beyond the limit": `42["client-send-message",{"content":"x","extra":` + deep + `}]`,
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			r := dialRaw(t, srv, anon.Auth())
			// The server may close the connection while a 2 MiB frame is
			// still being written: a reset on the write is that close.
			if err := r.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
				require.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE), "write: %v", err)
				return
			}
			r.closed()
		})
	}
	requireHealthy(t, srv, bystander, anon)
	for _, line := range strings.Split(srv.Logs.String(), "\n") {
		require.NotContains(t, line, "panic")
	}
}

// Payloads that parse but are wrong get a clear validation-error on the
// socket that sent them, which stays connected.
func TestHostilePayloadsGetClearErrors(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "0"})
	anon := srv.CreateAnonymous(t)
	bystander := srv.Connect(t, anon.Auth())
	r := dialRaw(t, srv, anon.Auth())

	cases := []struct{ name, frame, field string }{
		{"NUL byte", `42["client-send-message",{"content":"a\u0000b"}]`, "content"},
		{"string payload", `42["client-send-message","hello"]`, "payload"},
		{"null payload", `42["client-send-message",null]`, "payload"},
		{"array payload", `42["client-send-message",[1,2]]`, "payload"},
		{"number content", `42["client-send-message",{"content":12}]`, "content"},
		{"whitespace content", `42["client-send-message",{"content":"  \t "}]`, "content"},
		{"deep but legal JSON", `42["client-send-message",{"content":5,"x":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}]`, "content"},
		{"bad uuid", `42["client-join-conversation",{"conversationId":"../../etc"}]`, "conversationId"},
		{"huge clientMessageId", `42["client-send-message",{"content":"x","clientMessageId":"` + strings.Repeat("z", 200) + `"}]`, "clientMessageId"},
		{"no payload at all", `42["client-get-history"]`, "payload"},
	}
	for _, tc := range cases {
		r.write(tc.frame)
		msg := r.readSkippingPings()
		require.True(t, strings.HasPrefix(msg, `42["validation-error",`), "%s: %s", tc.name, msg)
		var ev []any
		require.NoError(t, json.Unmarshal([]byte(msg[2:]), &ev), tc.name)
		body := ev[1].(map[string]any)
		require.Equal(t, "VALIDATION_FAILED", body["code"], tc.name)
		fields := body["fields"].([]any)
		require.NotEmpty(t, fields, tc.name)
		require.Equal(t, tc.field, fields[0].(map[string]any)["field"], tc.name)
	}

	// Invalid UTF-8 inside a JSON string reaches the gateway as U+FFFD,
	// which is refused rather than stored.
	r.write("42[\"client-send-message\",{\"content\":\"ok \xff\xfe\"}]")
	msg := r.readSkippingPings()
	require.True(t, strings.HasPrefix(msg, `42["validation-error",`), msg)
	require.Contains(t, msg, "valid UTF-8")
	requireHealthy(t, srv, bystander, anon)
	require.Equal(t, 0, countRows(t, srv, `SELECT count(*) FROM messages WHERE content LIKE '%' || chr(65533) || '%'`))
}
