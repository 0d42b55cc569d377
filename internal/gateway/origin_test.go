package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// Browsers do not apply CORS to WebSocket upgrades, so the gateway checks
// the Origin of every handshake itself.
func TestOriginCheck(t *testing.T) {
	t.Parallel()
	sameOrigin := apptest.Start(t, nil)
	listed := apptest.Start(t, map[string]string{"CORS_ORIGINS": "https://shop.example.com", "PUBLIC_URL": "https://chat.example.com"})
	anyOrigin := apptest.Start(t, map[string]string{"CORS_ORIGINS": "*"})

	dial := func(srv *apptest.Server, origin string) int {
		t.Helper()
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		conn, resp, err := websocket.DefaultDialer.Dial(url, h)
		if err == nil {
			conn.Close()
			return http.StatusSwitchingProtocols
		}
		require.NotNil(t, resp, "%v", err)
		return resp.StatusCode
	}
	poll := func(srv *apptest.Server, origin string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/socket.io/?EIO=4&transport=polling", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	host := strings.TrimPrefix(sameOrigin.URL, "http://")

	require.Equal(t, http.StatusSwitchingProtocols, dial(sameOrigin, ""), "no Origin: not a browser")
	require.Equal(t, http.StatusSwitchingProtocols, dial(sameOrigin, "http://"+host), "same origin")
	require.NotEqual(t, http.StatusSwitchingProtocols, dial(sameOrigin, "https://evil.example"))
	require.Equal(t, http.StatusSwitchingProtocols, dial(listed, "https://shop.example.com"))
	// The gateway's own pages (the widget frame) connect whatever CORS_ORIGINS says.
	require.Equal(t, http.StatusSwitchingProtocols, dial(listed, listed.URL), "same host with CORS_ORIGINS")
	require.Equal(t, http.StatusSwitchingProtocols, dial(listed, "https://chat.example.com"), "PUBLIC_URL's origin")
	require.Equal(t, http.StatusOK, poll(listed, listed.URL), "same-origin polling with CORS_ORIGINS")
	require.Equal(t, http.StatusOK, poll(listed, "https://shop.example.com"))
	require.Equal(t, http.StatusForbidden, poll(listed, "https://evil.example"))
	require.NotEqual(t, http.StatusSwitchingProtocols, dial(listed, "https://evil.example"))
	require.Equal(t, http.StatusSwitchingProtocols, dial(anyOrigin, "https://evil.example"))
}
