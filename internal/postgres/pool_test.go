package postgres_test

import (
	"context"
	"net"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

func TestNewPoolRefusesOtherSchemes(t *testing.T) {
	t.Parallel()
	_, err := postgres.NewPool(context.Background(), "mysql://u:pw@localhost/x")
	require.EqualError(t, err, `DATABASE_URL: scheme "mysql" is not PostgreSQL's: chatgw needs postgres://user:password@host:5432/dbname?sslmode=disable`)
	require.EqualError(t, postgres.EnsureDatabase(context.Background(), "mysql://u:pw@localhost/x"), err.Error())
}

// closedPort is a port nothing listens on: one just released.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestExplainConnectError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("nothing listens", func(t *testing.T) {
		t.Parallel()
		dbURL := "postgres://chat:hunter2@" + closedPort(t) + "/chatgw?sslmode=disable"
		pool, err := postgres.NewPool(ctx, dbURL)
		require.NoError(t, err) // connections are made lazily
		defer pool.Close()
		err = postgres.ExplainConnectError(dbURL, pool.Ping(ctx))
		require.ErrorContains(t, err, "cannot connect to PostgreSQL at DATABASE_URL=postgres://chat:xxxxx@127.0.0.1:")
		require.ErrorContains(t, err, "is PostgreSQL running")
		require.ErrorContains(t, err, "make run")
		require.NotContains(t, err.Error(), "hunter2")
	})
	t.Run("no such database", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(pgtest.BaseURL())
		require.NoError(t, err)
		u.Path = "/chatgw_no_such_database"
		dbURL := u.String()
		pool, err := postgres.NewPool(ctx, dbURL)
		require.NoError(t, err)
		defer pool.Close()
		err = postgres.ExplainConnectError(dbURL, pool.Ping(ctx))
		require.ErrorContains(t, err, "migrate --create-database")
	})
	t.Run("other errors pass", func(t *testing.T) {
		t.Parallel()
		err := context.Canceled
		require.Same(t, err, postgres.ExplainConnectError("postgres://x", err))
	})
}
