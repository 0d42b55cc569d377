package app_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
)

// The whole gateway serves health, readiness and every family of metrics
// on its one port. (The HTTP edge's own rules are tested in httpapi over
// the in-memory store.)
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	status, body := srv.Do(t, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
	status, body = srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])

	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, name := range []string{"chatgw_sockets_connected", "chatgw_webhook_queue_depth", "chatgw_webhook_delivery_seconds"} {
		require.Contains(t, string(text), name)
	}
}

func TestReadyzWithoutMigrations(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	_, err := srv.Pool.Exec(context.Background(), "DELETE FROM goose_db_version WHERE version_id > 0")
	require.NoError(t, err)
	status, _ := srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, status, "not ready while migrations are not applied")
}
