package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/webhook"
)

// webhooks runs `chatgw webhooks list|retry`: the operator's view of the
// delivery queue and its dead letters (contract §1). It uses an
// insert-only River client, so it never works jobs itself; a running
// gateway picks retried deliveries up.
// It reads DATABASE_URL only.
func webhooks(ctx context.Context, p proc, args []string) error {
	if len(args) == 0 {
		return errors.New("webhooks: want a subcommand: list or retry")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list", "retry":
	default:
		return fmt.Errorf("webhooks: unknown subcommand %q (want list or retry)", sub)
	}
	fs := flag.NewFlagSet("webhooks "+sub, flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	state := fs.String("state", "", "only deliveries in this state: discarded, retryable, available or completed")
	limit := fs.Int("limit", 100, "at most this many deliveries, newest first")
	discarded := fs.Bool("discarded", false, "retry every discarded (dead-lettered) delivery")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	db, err := config.LoadDatabase(p.getenv)
	if err != nil {
		return err
	}
	pool, err := postgres.NewPool(ctx, db.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}
	if sub == "list" {
		if err := webhooksList(ctx, client, *state, *limit, p.stdout); err != nil {
			return err
		}
		return webhooksQueue(ctx, pool, p.stderr)
	}
	return webhooksRetry(ctx, client, fs.Args(), *discarded, p.stdout)
}

func jobClient(ctx context.Context, databaseURL string) (*river.Client[pgx.Tx], func(), error) {
	pool, err := postgres.NewPool(ctx, databaseURL)
	if err != nil {
		return nil, nil, err
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("river: %w", err)
	}
	return client, pool.Close, nil
}

func webhooksList(ctx context.Context, c webhook.JobClient, state string, limit int, stdout io.Writer) error {
	if limit < 1 || limit > 10000 {
		return fmt.Errorf("webhooks list: --limit must be between 1 and 10000, got %d", limit)
	}
	var st rivertype.JobState
	if state != "" {
		var err error
		if st, err = webhook.ParseState(state); err != nil {
			return fmt.Errorf("webhooks list: %w", err)
		}
	}
	ds, err := webhook.List(ctx, c, st, limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, d := range ds {
		printDelivery(tw, d)
	}
	return tw.Flush()
}

// webhooksQueue writes a summary of the queue to stderr (stdout keeps one
// line per delivery, for scripts). Pacing runs inside each gateway process,
// so its in-flight count and limit are in each one's metrics; here shows
// what pacing leaves in the database: jobs put back, waiting for a slot.
func webhooksQueue(ctx context.Context, db webhook.RowQuerier, stderr io.Writer) error {
	q, err := webhook.Summarize(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "queue: %d available (%d waiting for a delivery slot), %d running, %d retryable, %d discarded; "+
		"in flight and pacing limit per gateway: chatgw_webhook_inflight, chatgw_webhook_inflight_limit on /metrics\n",
		q.Available, q.WaitingForSlot, q.Running, q.Retryable, q.Discarded)
	return nil
}

// printDelivery writes one line: job id, message id, state, attempts, last
// error (on one line, "-" when none).
func printDelivery(w io.Writer, d webhook.Delivery) {
	lastErr := strings.Join(strings.Fields(d.LastError), " ")
	if lastErr == "" {
		lastErr = "-"
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d\t%s\n", d.JobID, d.MessageID, d.State, d.Attempts, d.MaxAttempts, lastErr)
}

func webhooksRetry(ctx context.Context, c webhook.JobClient, args []string, discarded bool, stdout io.Writer) error {
	switch {
	case discarded && len(args) > 0:
		return errors.New("webhooks retry: give job ids or --discarded, not both")
	case discarded:
		n, err := webhook.RetryDiscarded(ctx, c)
		fmt.Fprintf(stdout, "retried %d discarded deliveries\n", n)
		return err
	case len(args) == 0:
		return errors.New("webhooks retry: give job ids, or --discarded")
	}
	ids := make([]int64, len(args))
	for i, a := range args {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("webhooks retry: %q is not a job id", a)
		}
		ids[i] = id
	}
	ds, err := webhook.Retry(ctx, c, ids...)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, d := range ds {
		printDelivery(tw, d)
	}
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}
