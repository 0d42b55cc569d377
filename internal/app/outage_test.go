package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// TestDatabaseOutage takes the gateway's database away mid-run: sends fail
// with INTERNAL (and no internal detail), readiness fails, the process and
// its sockets stay up, and everything works again once the database is back.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	srv := apptest.Start(t, nil)
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	sock.Send(t, map[string]any{"content": "before"})

	u, err := url.Parse(srv.DatabaseURL)
	require.NoError(t, err)
	dbName := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, pgtest.BaseURL())
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	setAllowed := func(allowed bool) {
		t.Helper()
		_, err := admin.Exec(ctx, "ALTER DATABASE "+quoteIdent(dbName)+" ALLOW_CONNECTIONS "+map[bool]string{true: "true", false: "false"}[allowed])
		require.NoError(t, err)
	}
	setAllowed(false)
	t.Cleanup(func() { setAllowed(true) })
	_, err = admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", dbName)
	require.NoError(t, err)

	ack := sock.Emit(t, "client-send-message", map[string]any{"content": "during"})
	require.Equal(t, false, ack["ok"], "%v", ack)
	e := ack["error"].(map[string]any)
	require.Equal(t, "INTERNAL", e["code"])
	require.NotContains(t, strings.ToLower(e["message"].(string)), "database", "the cause stays in the log")
	require.Equal(t, "INTERNAL", sock.Events.WaitFor(t, "error", 1)[0]["code"])

	status, _ := srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, status)
	status, _ = srv.Do(t, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusOK, status, "the process is alive")
	require.Contains(t, srv.Logs.String(), `"level":"ERROR","msg":"event failed"`, "the detail is logged")

	setAllowed(true)
	msg := sock.Send(t, map[string]any{"content": "after"})
	require.EqualValues(t, 2, msg["seq"], "the failed send consumed no seq")
	status, _ = srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusOK, status)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
