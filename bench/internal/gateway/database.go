package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is the maintenance database next to which fresh
// databases are created.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Database is an empty database the benchmark created for one run, on the
// server of the admin URL it was created from. Drop removes it.
type Database struct {
	Name  string
	url   *url.URL
	admin *pgx.Conn
	drop  sync.Once
	err   error
}

// CreateDatabase creates a database with a random name (chatgw_bench_…)
// next to adminURL's.
func CreateDatabase(ctx context.Context, adminURL string) (*Database, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, fmt.Errorf("admin database URL: %w", err)
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("admin database: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "chatgw_bench_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		_ = admin.Close(ctx)
		return nil, fmt.Errorf("create database: %w", err)
	}
	return &Database{Name: name, url: u, admin: admin}, nil
}

// URL is the database's URL with pool_max_conns set to poolMax (0: the
// driver's default), for a gateway's DATABASE_URL or a pgx pool.
func (d *Database) URL(poolMax int) string {
	return databaseURL(d.url, d.Name, poolMax)
}

func databaseURL(admin *url.URL, name string, poolMax int) string {
	u := *admin
	u.Path = "/" + name
	u.RawPath = ""
	q := u.Query()
	q.Del("pool_max_conns")
	if poolMax > 0 {
		q.Set("pool_max_conns", strconv.Itoa(poolMax))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Drop drops the database, closing whatever is still connected to it. It
// may be called more than once.
func (d *Database) Drop() error {
	d.drop.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := d.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)")
		_ = d.admin.Close(ctx)
		if err != nil {
			d.err = fmt.Errorf("drop database %s: %w", d.Name, err)
		}
	})
	return d.err
}
