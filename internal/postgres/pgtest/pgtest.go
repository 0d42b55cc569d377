// Package pgtest gives tests a fresh, fully migrated PostgreSQL database
// (goose + River) that is dropped when the test ends.
//
// The schema is migrated once into a template database, named by a hash of
// the embedded migrations and River's migrations, so later databases are a
// cheap CREATE DATABASE ... TEMPLATE. Parallel test processes (go test ./...)
// coordinate through an advisory lock on the maintenance database.
//
// Tests whose writes need not outlive them can instead work inside a
// transaction that is rolled back when they end (NewTx), on one database the
// test process shares: a BEGIN instead of a CREATE DATABASE.
//
// The server comes from TEST_DATABASE_URL (a URL of the maintenance
// database), default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/chatgw/chatgw/internal/postgres"
)

// DefaultURL is used when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockKey serialises template builds across test processes.
const templateLockKey int64 = 0x6368617467770002

// BaseURL returns the maintenance database URL tests use.
func BaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewPool returns a pool on a fresh, fully migrated database that is closed
// and dropped when tb ends.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dbURL := NewDatabase(tb)
	pool, err := postgres.NewPool(context.Background(), dbURL)
	if err != nil {
		tb.Fatalf("pgtest: open pool: %v", err)
	}
	tb.Cleanup(pool.Close) // runs before the DROP registered by NewDatabase
	return pool
}

// NewDatabase creates a fresh, fully migrated database and returns its URL
// (for starting a whole app or binary against it). It is dropped, with
// WITH (FORCE), when tb ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, true)
}

// NewEmptyDatabase creates a fresh database without any migration and
// returns its URL; it is dropped when tb ends. For tests of migrations.
func NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	return newDatabase(tb, false)
}

func newDatabase(tb testing.TB, migrated bool) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := adminPool()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tmpl := "template0"
	if migrated {
		if tmpl, err = ensureTemplate(ctx, admin); err != nil {
			tb.Fatalf("pgtest: build template database: %v", err)
		}
	}
	name := "chatgw_test_" + randomHex(8)
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{tmpl}.Sanitize())
	if err := execRetry(ctx, admin, sql); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := databaseURL(BaseURL(), name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

// NewTx begins a transaction on a migrated database shared by the tests of
// the process and rolls it back when tb ends, so nothing it writes is ever
// seen by another test. The package's TestMain must run its tests through
// Main, which drops that database at the end.
func NewTx(tb testing.TB) pgx.Tx {
	tb.Helper()
	if !mainRuns.Load() {
		tb.Fatal("pgtest: NewTx needs the package's TestMain to call pgtest.Main")
	}
	pool, err := sharedPool()
	if err != nil {
		tb.Fatalf("pgtest: shared database: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := pool.Begin(ctx)
	if err != nil {
		tb.Fatalf("pgtest: begin: %v", err)
	}
	tb.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// Main runs m's tests and then drops the database NewTx shares; call it as
// os.Exit(pgtest.Main(m)) from TestMain.
func Main(m *testing.M) int {
	mainRuns.Store(true)
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.name != "" {
		if shared.pool != nil {
			shared.pool.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if admin, err := adminPool(); err == nil {
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{shared.name}.Sanitize()+" WITH (FORCE)"); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: drop database %s: %v\n", shared.name, err)
				code = max(code, 1)
			}
		}
	}
	return code
}

var (
	mainRuns atomic.Bool
	shared   struct {
		sync.Mutex
		name string
		pool *pgxpool.Pool
		err  error
	}
)

// sharedPool is NewTx's pool, on a database created on first use.
func sharedPool() (*pgxpool.Pool, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.pool != nil || shared.err != nil {
		return shared.pool, shared.err
	}
	shared.pool, shared.err = newSharedPool()
	return shared.pool, shared.err
}

func newSharedPool() (*pgxpool.Pool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := adminPool()
	if err != nil {
		return nil, err
	}
	tmpl, err := ensureTemplate(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("build template database: %w", err)
	}
	name := "chatgw_test_" + randomHex(8)
	if err := execRetry(ctx, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{tmpl}.Sanitize())); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	shared.name = name // Main drops it, whatever happens next
	u, err := databaseURL(BaseURL(), name)
	if err != nil {
		return nil, err
	}
	// Every test holds a connection for its whole life (its transaction).
	u, err = withQuery(u, "pool_max_conns", "32")
	if err != nil {
		return nil, err
	}
	return postgres.NewPool(ctx, u)
}

func withQuery(raw, key, value string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

var adminPool = sync.OnceValues(func() (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(BaseURL())
	if err != nil {
		return nil, fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL at TEST_DATABASE_URL (default %s) does not answer: %w", DefaultURL, err)
	}
	return pool, nil
})

var (
	templateMu   sync.Mutex
	templateName string
)

// ensureTemplate returns the name of the migrated template database,
// building it once across all test processes.
func ensureTemplate(ctx context.Context, admin *pgxpool.Pool) (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateName != "" {
		return templateName, nil
	}
	hash, err := schemaHash()
	if err != nil {
		return "", err
	}
	name := "chatgw_tmpl_" + hash

	conn, err := admin.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", err
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLockKey); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := buildTemplate(ctx, conn.Conn(), name); err != nil {
			return "", err
		}
	}
	templateName = name
	return name, nil
}

// buildTemplate migrates a scratch database and renames it to name, so a
// crash half-way never leaves a half-migrated template behind.
func buildTemplate(ctx context.Context, conn *pgx.Conn, name string) error {
	build := pgx.Identifier{name + "_build"}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+build+" TEMPLATE template0"); err != nil {
		return err
	}
	u, err := databaseURL(BaseURL(), name+"_build")
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		return err
	}
	err = postgres.Migrate(ctx, pool, nil)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return execRetry(ctx, conn, "ALTER DATABASE "+build+" RENAME TO "+pgx.Identifier{name}.Sanitize())
}

// schemaHash names the template after everything that shapes the schema.
func schemaHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(postgres.MigrationsFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(postgres.MigrationsFS(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "goose %s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return "", err
	}
	for _, m := range migrator.AllVersions() {
		fmt.Fprintf(h, "river %d %d\n", m.Version, len(m.SQLUp))
		h.Write([]byte(m.SQLUp))
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// execRetry runs a CREATE/ALTER DATABASE, retrying while a just-closed
// session to the source database is still exiting (55006).
func execRetry(ctx context.Context, db execer, sql string) error {
	for attempt := 0; ; attempt++ {
		_, err := db.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt >= 50 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func databaseURL(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("TEST_DATABASE_URL must be a postgres:// URL, got %q", base)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
