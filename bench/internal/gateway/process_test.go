package gateway

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// envOf is the environment an exec.Cmd gets: the last entry of a key wins.
func envOf(entries []string) map[string]string {
	m := map[string]string{}
	for _, e := range entries {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

func TestEnvironSetsTheBenchmarkConfiguration(t *testing.T) {
	t.Parallel()
	cfg := Config{DatabaseURL: "postgres://db/x"}
	env := envOf(cfg.environ([]string{"HOME=/root", "RATE_LIMIT_MESSAGES_PER_SEC=5"}, "127.0.0.1:4000", ""))
	require.Equal(t, "/root", env["HOME"], "the caller's environment is kept")
	require.Equal(t, "127.0.0.1:4000", env["HTTP_ADDR"])
	require.Equal(t, "http://127.0.0.1:4000", env["PUBLIC_URL"])
	require.Equal(t, "postgres://db/x", env["DATABASE_URL"])
	require.Equal(t, DefaultJWTSecret, env["JWT_SECRET"])
	for _, k := range []string{"RATE_LIMIT_MESSAGES_PER_SEC", "RATE_LIMIT_CONNECTS_PER_MIN", "RATE_LIMIT_CONVERSATIONS_PER_MIN"} {
		require.Equal(t, "0", env[k], k+": rate limits off, over the caller's")
	}
	require.Empty(t, env["PPROF_ADDR"], "no pprof unless asked")
	require.Empty(t, env["N8N_WEBHOOK_URL"], "webhooks off without a receiver")
	require.NotContains(t, env, "N8N_WEBHOOK_SECRET")
	require.NotContains(t, env, "NODE_ID")
}

func TestEnvironWebhookPprofNodeAndOverrides(t *testing.T) {
	t.Parallel()
	cfg := Config{
		DatabaseURL: "postgres://db/x", JWTSecret: "s3cret", WebhookURL: "http://127.0.0.1:9/hook", NodeID: "bench-2",
		Env: map[string]string{"SEND_BATCH_MAX": "1", "LOG_LEVEL": "debug"},
	}
	env := envOf(cfg.environ(nil, "127.0.0.1:4000", "127.0.0.1:4001"))
	require.Equal(t, "s3cret", env["JWT_SECRET"])
	require.Equal(t, "127.0.0.1:4001", env["PPROF_ADDR"])
	require.Equal(t, "http://127.0.0.1:9/hook", env["N8N_WEBHOOK_URL"])
	require.Equal(t, WebhookSecret, env["N8N_WEBHOOK_SECRET"])
	require.Equal(t, "bench-2", env["NODE_ID"])
	require.Equal(t, "1", env["SEND_BATCH_MAX"])
	require.Equal(t, "debug", env["LOG_LEVEL"], "Env wins over the benchmark's settings")
}

func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	admin, err := url.Parse("postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable&pool_max_conns=3")
	require.NoError(t, err)
	got, err := url.Parse(databaseURL(admin, "chatgw_bench_x", 16))
	require.NoError(t, err)
	require.Equal(t, "/chatgw_bench_x", got.Path)
	require.Equal(t, "pw", func() string { p, _ := got.User.Password(); return p }())
	require.Equal(t, "disable", got.Query().Get("sslmode"))
	require.Equal(t, []string{"16"}, got.Query()["pool_max_conns"])
	got, err = url.Parse(databaseURL(admin, "d", 0))
	require.NoError(t, err)
	require.False(t, got.Query().Has("pool_max_conns"), "0: the driver's default")
	require.Equal(t, "postgres", admin.Path[1:], "the admin URL is not modified")
}

func TestMintToken(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tok, err := MintToken("s3cret", "agent-1", []string{"tecnico"}, time.Hour, now)
	require.NoError(t, err)
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte("s3cret"), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	require.NoError(t, err)
	require.True(t, parsed.Valid)
	require.Equal(t, "agent-1", claims["sub"])
	require.Equal(t, []any{"tecnico"}, claims["roles"])
	require.Equal(t, float64(now.Add(time.Hour).Unix()), claims["exp"])
	_, err = jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte("other"), nil })
	require.Error(t, err, "signed with the given secret only")
}

func TestStartRejectsAMissingBinaryOrDatabase(t *testing.T) {
	t.Parallel()
	_, err := Start(t.Context(), Config{DatabaseURL: "postgres://db/x"})
	require.Error(t, err)
	_, err = Start(t.Context(), Config{Binary: "/bin/true"})
	require.Error(t, err)
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 5}
	_, _ = b.Write([]byte("abc"))
	_, _ = b.Write([]byte("defg"))
	require.Equal(t, "cdefg", b.String())
}
