package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// dialRawSocketIO opens a bare WebSocket to the Engine.IO endpoint of the
// server at httpURL and connects it to the main Socket.IO namespace, for
// tests that look at frames as they are on the wire.
func dialRawSocketIO(t *testing.T, httpURL string, header http.Header) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(httpURL, "http")+"/socket.io/?EIO=4&transport=websocket", header)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, open, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(open), "0{"), "%s", open)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("40")))
	_, ok, err := conn.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(ok), "40{"), "%s", ok)
	return conn
}
