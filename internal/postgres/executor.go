package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Executor is what a Store runs its statements on: a *pgxpool.Pool, or a
// pgx.Tx when the Store is to work inside the caller's transaction. Begin
// starts a transaction on a pool and a savepoint inside a transaction, so
// the Store's code is the same on both (as River's riverdriver.Executor is
// for its pool and its transactions).
type Executor interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
