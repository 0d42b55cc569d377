package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	sqlfs "github.com/chatgw/chatgw/sql"
)

// migrateLockKey is the pg_advisory_lock key that serialises Migrate across
// replicas ("chatgw" + 1).
const migrateLockKey int64 = 0x6368617467770001

// riverSplitVersion is where River's migrations are split: versions 1–8 in
// one transaction fail on a fresh database with 55P04.
const riverSplitVersion = 5

// MigrationsFS returns the project's goose migrations (the files of
// sql/migrations at the root of the FS).
func MigrationsFS() fs.FS {
	sub, err := fs.Sub(sqlfs.Migrations, "migrations")
	if err != nil {
		panic(err) // a constant path in an embedded FS
	}
	return sub
}

// Migrate applies the project's goose migrations and then River's. It holds
// a session-level advisory lock on one dedicated connection while it runs,
// so replicas that start together take turns; re-running it is a no-op.
// The pool needs at least two connections (one holds the lock).
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	unlock, err := advisoryLock(ctx, pool, migrateLockKey)
	if err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	defer func() { err = errors.Join(err, unlock()) }()

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // does not close the pool
	provider, err := goose.NewProvider(goose.DialectPostgres, db, MigrationsFS(),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger.With("migrator", "goose")),
	)
	if err != nil {
		return fmt.Errorf("migrate: goose: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: goose up: %w", err)
	}
	for _, r := range results {
		logger.InfoContext(ctx, "migration applied", "migrator", "goose", "version", r.Source.Version, "duration", r.Duration)
	}

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger.With("migrator", "river")})
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	for _, opts := range []*rivermigrate.MigrateOpts{{TargetVersion: riverSplitVersion}, {}} {
		res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, opts)
		if err != nil {
			return fmt.Errorf("migrate: river up: %w", err)
		}
		for _, v := range res.Versions {
			logger.InfoContext(ctx, "migration applied", "migrator", "river", "version", v.Version, "duration", v.Duration)
		}
	}
	return nil
}

// advisoryLock takes a session-level advisory lock on a connection of its
// own and returns the function that releases it.
func advisoryLock(ctx context.Context, pool *pgxpool.Pool, key int64) (func() error, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		conn.Release()
		return nil, err
	}
	return func() error {
		defer conn.Release()
		ctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			// Closing the session releases the lock too; the pool drops the
			// closed connection.
			_ = conn.Conn().Close(ctx)
			return fmt.Errorf("release advisory lock: %w", err)
		}
		return nil
	}, nil
}

var embeddedVersions = sync.OnceValues(func() ([]int64, error) {
	var versions []int64
	err := fs.WalkDir(MigrationsFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
			return err
		}
		v, err := goose.NumericComponent(d.Name())
		if err != nil {
			return fmt.Errorf("migration %s: %w", path, err)
		}
		versions = append(versions, v)
		return nil
	})
	slices.Sort(versions)
	return versions, err
})

// CheckMigrations returns nil when the database answers, every embedded
// goose migration is applied, and River's migrations are complete; otherwise
// an error saying what is missing. It writes nothing (it is /readyz's check).
func CheckMigrations(ctx context.Context, pool *pgxpool.Pool) error {
	want, err := embeddedVersions()
	if err != nil {
		return err
	}
	rows, err := pool.Query(ctx, "SELECT version_id FROM goose_db_version WHERE is_applied")
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
			return errors.New("migrations not applied: goose_db_version does not exist")
		}
		return fmt.Errorf("check migrations: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	var missing []int64
	for _, v := range want {
		if !slices.Contains(applied, v) {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("migrations not applied: goose versions %v", missing)
	}

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("check migrations: river: %w", err)
	}
	res, err := migrator.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("check migrations: river: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("river migrations not applied: %s", strings.Join(res.Messages, "; "))
	}
	return nil
}

// EnsureDatabase creates the database named in databaseURL when it does not
// exist, connecting to the "postgres" maintenance database of the same
// server (for `make run` and development).
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	if err := checkScheme(databaseURL); err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("ensure database: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return errors.New("ensure database: the URL names no database")
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("ensure database: connect to maintenance database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("ensure database: %w", err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("ensure database %q: %w", name, err)
	}
	return nil
}
