package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
)

// NewPool connects to databaseURL. Its connections encode and decode
// github.com/google/uuid.UUID natively (16 bytes); without that, pgx goes
// through the type's driver.Valuer, formatting and parsing a string for
// every id, which was a tenth of the gateway's CPU at full load.
func NewPool(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	if err := checkScheme(databaseURL); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx masks the password in the URL it quotes.
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxuuid.Register(conn.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return pool, nil
}

// checkScheme refuses a URL of another database outright: pgx would only
// say it cannot parse it as key=value pairs.
func checkScheme(databaseURL string) error {
	scheme, _, ok := strings.Cut(databaseURL, "://")
	if !ok {
		return nil // key=value form
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return nil
	}
	return fmt.Errorf("DATABASE_URL: scheme %q is not PostgreSQL's: chatgw needs postgres://user:password@host:5432/dbname?sslmode=disable", scheme)
}

// ExplainConnectError returns err with what to do about it when it is a
// failure to connect to PostgreSQL: the redacted DATABASE_URL and a hint.
// Any other error is returned as it is.
func ExplainConnectError(databaseURL string, err error) error {
	var connErr *pgconn.ConnectError
	if !errors.As(err, &connErr) {
		return err
	}
	hint := "is PostgreSQL running and listening there? `make run` starts a private one when PostgreSQL's server binaries (initdb) are installed"
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "3D000": // invalid_catalog_name
			hint = "the database does not exist: `chatgw migrate --create-database` creates it"
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			hint = "check the user and password in DATABASE_URL"
		default:
			hint = "PostgreSQL refused the connection"
		}
	}
	return fmt.Errorf("cannot connect to PostgreSQL at DATABASE_URL=%s (%s): %w", redactURL(databaseURL), hint, err)
}

// redactURL masks the password of a postgres:// URL, and hides a key=value
// string entirely (it may hold password=...).
func redactURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme == "" {
		return "(key=value string)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
