package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/postgres/internal/dbsqlc"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

var errCaptured = errors.New("statement captured, not run")

// sqlCapture is a dbsqlc.DBTX that records the statement a generated query
// would run, and runs nothing.
type sqlCapture struct{ sql string }

func (c *sqlCapture) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	c.sql = sql
	return pgconn.CommandTag{}, errCaptured
}

func (c *sqlCapture) Query(_ context.Context, sql string, _ ...any) (pgx.Rows, error) {
	c.sql = sql
	return nil, errCaptured
}

func (c *sqlCapture) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	c.sql = sql
	return capturedRow{}
}

type capturedRow struct{}

func (capturedRow) Scan(...any) error { return errCaptured }

// Every query reaches its rows through an index, even on tables that were
// never analyzed: pgx keeps each statement prepared on its connection, and
// PostgreSQL keeps the generic plan it made then, so a plan picked while a
// table looked empty — a sequential scan — would read the whole, grown
// table on every send from then on.
func TestQueriesUseIndexesWithoutStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	capture := &sqlCapture{}
	q := dbsqlc.New(capture)
	queries := map[string]func(){
		"LockConversations":    func() { _, _ = q.LockConversations(ctx, nil) },
		"MessagesByClientIDs":  func() { _, _ = q.MessagesByClientIDs(ctx, dbsqlc.MessagesByClientIDsParams{}) },
		"ReserveSeqs":          func() { _, _ = q.ReserveSeqs(ctx, dbsqlc.ReserveSeqsParams{}) },
		"InsertMessages":       func() { _, _ = q.InsertMessages(ctx, dbsqlc.InsertMessagesParams{}) },
		"GetConversation":      func() { _, _ = q.GetConversation(ctx, [16]byte{}) },
		"GetMessage":           func() { _, _ = q.GetMessage(ctx, [16]byte{}) },
		"GetMessageByClientID": func() { _, _ = q.GetMessageByClientID(ctx, dbsqlc.GetMessageByClientIDParams{}) },
		"InsertMessage":        func() { _, _ = q.InsertMessage(ctx, dbsqlc.InsertMessageParams{}) },
		"ListMessagesAfter":    func() { _, _ = q.ListMessagesAfter(ctx, dbsqlc.ListMessagesAfterParams{}) },
		"NextSeq":              func() { _, _ = q.NextSeq(ctx, dbsqlc.NextSeqParams{}) },
	}

	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	for name, call := range queries {
		capture.sql = ""
		call()
		require.NotEmpty(t, capture.sql, name)
		stmt, err := conn.Conn().Prepare(ctx, "plan_"+name, capture.sql)
		require.NoError(t, err, name)
		nulls := strings.TrimSuffix(strings.Repeat("NULL,", len(stmt.ParamOIDs)), ",")
		explain := "EXPLAIN EXECUTE " + pgx.Identifier{stmt.Name}.Sanitize()
		if nulls != "" {
			explain += "(" + nulls + ")"
		}
		rows, err := conn.Query(ctx, explain)
		require.NoError(t, err, name)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err, name)
		plan := strings.Join(lines, "\n")
		for _, table := range []string{"messages", "conversations"} {
			require.NotContains(t, plan, "Seq Scan on "+table, "%s:\n%s", name, plan)
		}
	}
}
