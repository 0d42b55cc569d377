package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
	"github.com/chatgw/chatgw/internal/webhook"
)

func TestWebhooksListAndRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	env := map[string]string{"DATABASE_URL": dbURL} // no JWT_SECRET: webhooks needs DATABASE_URL only
	getenv := func(k string) string { return env[k] }
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, getenv, &out, &errOut)
		return out.String(), err
	}

	client, closeDB, err := jobClient(ctx, mustDatabaseURL(t, getenv))
	require.NoError(t, err)
	t.Cleanup(closeDB)
	dead := uuid.New()
	ok := uuid.New()
	var deadID int64
	for _, id := range []uuid.UUID{dead, ok} {
		res, err := client.Insert(ctx, webhook.DeliveryArgs{MessageID: id, ConversationID: uuid.New()}, &river.InsertOpts{MaxAttempts: 2})
		require.NoError(t, err)
		if id == dead {
			deadID = res.Job.ID
		}
	}
	// Dead-letter one as the worker would after its last attempt.
	db, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	_, err = db.Exec(ctx, `UPDATE river_job SET state = 'discarded', attempt = 2, finalized_at = now(),
		errors = ARRAY['{"at":"2026-01-01T00:00:00Z","attempt":2,"error":"receiver answered\n503 Service Unavailable","trace":""}'::jsonb]
		WHERE id = $1`, deadID)
	require.NoError(t, err)

	out, err := cli("webhooks", "list")
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 2, out)

	// The summary on stderr: the other job, put back by pacing (snoozed,
	// picked up after its last error), counts as waiting for a slot.
	_, err = db.Exec(ctx, `UPDATE river_job SET metadata = '{"snoozes": 3}', attempted_at = now() WHERE id <> $1`, deadID)
	require.NoError(t, err)
	var listOut, listErr bytes.Buffer
	require.NoError(t, run(ctx, []string{"webhooks", "list"}, getenv, &listOut, &listErr))
	require.Contains(t, listErr.String(), "queue: 1 available (1 waiting for a delivery slot), 0 running, 0 retryable, 1 discarded;")
	require.Equal(t, out, listOut.String(), "stdout stays one line per delivery")

	out, err = cli("webhooks", "list", "--state", "discarded")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1, out)
	f := strings.Fields(lines[0])
	require.Equal(t, []string{fmt.Sprint(deadID), dead.String(), "discarded", "2/2"}, f[:4])
	require.Contains(t, lines[0], "receiver answered 503 Service Unavailable", "last error on one line")

	_, err = cli("webhooks", "list", "--state", "running")
	require.ErrorContains(t, err, "--state")
	_, err = cli("webhooks", "retry")
	require.Error(t, err)
	_, err = cli("webhooks", "retry", "nope")
	require.Error(t, err)
	_, err = cli("webhooks", "retry", "999999")
	require.ErrorContains(t, err, "not found")

	out, err = cli("webhooks", "retry", "--discarded")
	require.NoError(t, err)
	require.Equal(t, "retried 1 discarded deliveries\n", out)
	job, err := client.JobGet(ctx, deadID)
	require.NoError(t, err)
	require.Equal(t, "available", string(job.State))
	require.Equal(t, 3, job.MaxAttempts, "River grants one more attempt")

	out, err = cli("webhooks", "list", "--state", "discarded")
	require.NoError(t, err)
	require.Empty(t, out)

	out, err = cli("webhooks", "retry", fmt.Sprint(deadID))
	require.NoError(t, err)
	require.Contains(t, out, dead.String())
}

func mustDatabaseURL(t *testing.T, getenv func(string) string) string {
	t.Helper()
	db, err := config.LoadDatabase(getenv)
	require.NoError(t, err)
	return db.URL
}
