package gateway_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// TestEmitRightAfterConnect sends an event the instant CONNECT arrives, as
// the official client does with the events it buffered while connecting.
// The Socket.IO server library (v3.0.6) wrote CONNECT before it recorded
// the socket's namespace, and closed the connection as "invalid state" when
// the event won that race; chatgw builds with a patched copy (third_party/).
func TestEmitRightAfterConnect(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, map[string]string{"RATE_LIMIT_MESSAGES_PER_SEC": "0"})
	anon := srv.CreateAnonymous(t)
	auth, _ := json.Marshal(anon.Auth())
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	const rounds = 1000
	for i := range rounds {
		conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		require.NoError(t, err)
		r := &rawSocket{t: t, conn: conn}
		require.True(t, strings.HasPrefix(r.read(), "0{"))
		r.write("40" + string(auth))
		require.True(t, strings.HasPrefix(r.readSkippingPings(), "40{"))
		r.write(fmt.Sprintf(`420["client-send-message",{"content":"hi","clientMessageId":"race-%d"}]`, i))
		for {
			require.NoError(t, conn.SetReadDeadline(timeoutFromNow()))
			_, msg, err := conn.ReadMessage()
			require.NoError(t, err, "round %d: the connection was closed instead of answering", i)
			if strings.HasPrefix(string(msg), "430") {
				require.Contains(t, string(msg), `"ok":true`)
				break
			}
			if string(msg) == "2" {
				r.write("3")
			}
		}
		conn.Close()
	}
}
