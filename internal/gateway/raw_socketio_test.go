package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// newBareSocketIO is a Socket.IO server with none of chatgw's handlers, for
// tests of the library patches; connected yields each connected socket.
func newBareSocketIO(t *testing.T) (io *socket.Server, connected <-chan *socket.Socket) {
	t.Helper()
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	io = socket.NewServer(nil, opts)
	t.Cleanup(func() { io.Close(nil) })
	sockets := make(chan *socket.Socket, 1)
	_ = io.On("connection", func(args ...any) { sockets <- args[0].(*socket.Socket) })
	return io, sockets
}

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
