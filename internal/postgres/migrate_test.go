package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

func emptyPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.NewEmptyDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := emptyPool(t)

	require.Error(t, postgres.CheckMigrations(ctx, pool))
	require.NoError(t, postgres.Migrate(ctx, pool, nil))
	require.NoError(t, postgres.CheckMigrations(ctx, pool))

	var gooseRows, riverRows int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&gooseRows))
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM river_migration").Scan(&riverRows))

	require.NoError(t, postgres.Migrate(ctx, pool, nil))
	require.NoError(t, postgres.CheckMigrations(ctx, pool))
	var gooseRows2, riverRows2 int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&gooseRows2))
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM river_migration").Scan(&riverRows2))
	require.Equal(t, gooseRows, gooseRows2)
	require.Equal(t, riverRows, riverRows2)
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := emptyPool(t)

	var g errgroup.Group
	for range 3 {
		g.Go(func() error { return postgres.Migrate(ctx, pool, nil) })
	}
	require.NoError(t, g.Wait())
	require.NoError(t, postgres.CheckMigrations(ctx, pool))
}

func TestCheckMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	pool := emptyPool(t)
	err := postgres.CheckMigrations(ctx, pool)
	require.ErrorContains(t, err, "goose_db_version")

	// Goose done, River not: still not ready.
	migrated := pgtest.NewPool(t)
	require.NoError(t, postgres.CheckMigrations(ctx, migrated))
	_, err = migrated.Exec(ctx, "DELETE FROM river_migration WHERE version = (SELECT max(version) FROM river_migration)")
	require.NoError(t, err)
	require.ErrorContains(t, postgres.CheckMigrations(ctx, migrated), "river")

	// A goose version missing.
	migrated2 := pgtest.NewPool(t)
	_, err = migrated2.Exec(ctx, "DELETE FROM goose_db_version WHERE version_id = 1")
	require.NoError(t, err)
	require.ErrorContains(t, postgres.CheckMigrations(ctx, migrated2), "goose versions [1]")

	// The database does not answer.
	migrated2.Close()
	require.Error(t, postgres.CheckMigrations(ctx, migrated2))
}

func TestEnsureDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmptyDatabase(t)
	require.NoError(t, postgres.EnsureDatabase(ctx, url)) // exists already

	// A missing one is created.
	admin, err := pgxpool.New(ctx, pgtest.BaseURL())
	require.NoError(t, err)
	t.Cleanup(admin.Close) // after the DROP below (cleanups run last-in first-out)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	name := cfg.ConnConfig.Database + "_ensure"
	missing := replaceDB(t, url, name)
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`) })
	require.NoError(t, postgres.EnsureDatabase(ctx, missing))
	var n int
	require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, postgres.EnsureDatabase(ctx, missing))
}
