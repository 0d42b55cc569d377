package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

func TestNewDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var name string
	t.Run("migrated and isolated", func(t *testing.T) {
		pool := pgtest.NewPool(t)
		require.NoError(t, postgres.CheckMigrations(ctx, pool))
		require.NoError(t, pool.QueryRow(ctx, "SELECT current_database()").Scan(&name))
		_, err := pool.Exec(ctx, "INSERT INTO conversations (id, owner_id) VALUES (gen_random_uuid(), 'x')")
		require.NoError(t, err)

		other := pgtest.NewPool(t)
		var n int
		require.NoError(t, other.QueryRow(ctx, "SELECT count(*) FROM conversations").Scan(&n))
		require.Zero(t, n)
	})
	// Dropped at cleanup.
	conn, err := pgx.Connect(ctx, pgtest.BaseURL())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var exists bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	require.False(t, exists)
}
