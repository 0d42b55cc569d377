package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigErrorNamesTheVariable(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"JWT_SECRET":           {},
		"WEBHOOK_MAX_ATTEMPTS": {"JWT_SECRET": "cmd-test-secret-0123456789abcdef", "WEBHOOK_MAX_ATTEMPTS": "lots"},
		"N8N_WEBHOOK_URL":      {"JWT_SECRET": "cmd-test-secret-0123456789abcdef", "N8N_WEBHOOK_URL": "http://n8n.example.com/webhook"},
		"N8N_WEBHOOK_SECRET":   {"JWT_SECRET": "cmd-test-secret-0123456789abcdef", "N8N_WEBHOOK_SECRET": "whsec_not base64!"},
	}
	for variable, vars := range cases {
		t.Run(variable, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"serve"}, env(vars), &stdout, &stderr)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), variable+":"), "%q names %s first", err, variable)
			require.NotContains(t, err.Error(), "\n", "one line")
			require.NotContains(t, err.Error(), "not base64!", "secrets stay out of errors")
		})
	}
}

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"JWT_SECRET": "token-command-secret-0123456789abcdef"}
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"token", "--sub", "alice", "--roles", "tecnico,ops", "--ttl", "5m"}, env(vars), &stdout, &stderr))
	v, err := auth.NewVerifier(auth.VerifierConfig{Secret: []byte(vars["JWT_SECRET"]), RolesClaim: "roles", TecnicoRoles: []string{"tecnico"}})
	require.NoError(t, err)
	id, err := v.Verify(strings.TrimSpace(stdout.String()))
	require.NoError(t, err)
	require.Equal(t, "alice", id.UserID)
	require.Equal(t, []string{"tecnico", "ops"}, id.Roles)
	require.True(t, id.Technician)

	err = run(context.Background(), []string{"token"}, env(vars), &stdout, &stderr)
	require.ErrorContains(t, err, "--sub")
	err = run(context.Background(), []string{"token", "--sub", "x"}, env(map[string]string{"JWT_PUBLIC_KEY_FILE": "/dev/null"}), &stdout, &stderr)
	require.Error(t, err, "no secret, no tokens")
	require.Equal(t, "JWT_SECRET", config.VariableOf(err))
}

// token reads JWT_SECRET (and the claims) only: what serve would refuse
// does not stop it.
func TestTokenNeedsOnlyJWTSecret(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"JWT_SECRET":           "token-command-secret-0123456789abcdef",
		"DATABASE_URL":         "mysql://nope",
		"WEBHOOK_MAX_ATTEMPTS": "lots",
		"JWT_PUBLIC_KEY_FILE":  "/does/not/exist.pem",
		"JWT_ISSUER":           "https://issuer.example",
	}
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"token", "--sub", "bob"}, env(vars), &stdout, &stderr))
	v, err := auth.NewVerifier(auth.VerifierConfig{Secret: []byte("token-command-secret-0123456789abcdef"), Issuer: "https://issuer.example", TecnicoRoles: []string{"tecnico"}})
	require.NoError(t, err)
	id, err := v.Verify(strings.TrimSpace(stdout.String()))
	require.NoError(t, err)
	require.Equal(t, "bob", id.UserID)
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.ErrorContains(t, run(context.Background(), []string{"frobnicate"}, env(nil), &stdout, &stderr), "unknown command")
	require.NoError(t, run(context.Background(), []string{"help"}, env(nil), &stdout, &stderr))
	require.Contains(t, stdout.String(), "webhooks retry")
}

// TestSIGTERM runs the built binary: SIGTERM drains and exits 0 within
// SHUTDOWN_TIMEOUT, and connected clients see a transport close.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	p := apptest.StartBinary(t, map[string]string{
		"DATABASE_URL":     pgtest.NewDatabase(t),
		"SHUTDOWN_TIMEOUT": "10s",
	})
	srv := p.Client()
	anon := srv.CreateAnonymous(t)
	sock := srv.Connect(t, anon.Auth())
	sock.Send(t, map[string]any{"content": "before shutdown"})
	disconnected := make(chan string, 1)
	_ = sock.On("disconnect", func(args ...any) {
		reason, _ := args[0].(string)
		disconnected <- reason
	})

	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.WaitExit(t, 15*time.Second), p.Logs())
	select {
	case reason := <-disconnected:
		require.Equal(t, "transport close", reason)
	case <-time.After(apptest.Timeout):
		t.Fatal("the client was not disconnected")
	}
	require.Contains(t, p.Logs(), `"msg":"stopped"`)
}

// With MIGRATE_ON_START=false the gateway serves but is not ready until
// `chatgw migrate` has run.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewEmptyDatabase(t)
	p := apptest.StartBinary(t, map[string]string{"DATABASE_URL": dbURL, "MIGRATE_ON_START": "false"})
	srv := p.Client()
	status, _ := srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusServiceUnavailable, status)

	var stdout, stderr bytes.Buffer
	// migrate reads DATABASE_URL only: no JWT_SECRET, and what serve
	// would refuse does not stop it.
	vars := map[string]string{"DATABASE_URL": dbURL, "WEBHOOK_MAX_ATTEMPTS": "lots", "N8N_WEBHOOK_URL": "ftp://x"}
	require.NoError(t, run(context.Background(), []string{"migrate"}, env(vars), &stdout, &stderr))
	require.Contains(t, stderr.String(), `"msg":"migration applied"`)
	require.NoError(t, run(context.Background(), []string{"migrate"}, env(vars), &stdout, &stderr), "migrating again is a no-op")

	status, _ = srv.Do(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.WaitExit(t, 15*time.Second), p.Logs())
}

func TestBadDatabaseURLNamesTheVariable(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"DATABASE_URL": "postgres://u:secretpw@127.0.0.1:5432/x?sslmode=bogus"}
	err := run(context.Background(), []string{"migrate"}, env(vars), &stdout, &stderr)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "DATABASE_URL:"), "%q", err)
	require.NotContains(t, err.Error(), "secretpw")
}
