package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobClient is the part of a River client the operator commands use; an
// insert-only *river.Client[pgx.Tx] is enough.
type JobClient interface {
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// Delivery is one row of `chatgw webhooks list`.
type Delivery struct {
	JobID       int64
	MessageID   string
	State       rivertype.JobState
	Attempts    int
	MaxAttempts int
	LastError   string
	CreatedAt   time.Time
}

// ListStates are the states `webhooks list --state` accepts.
var ListStates = []rivertype.JobState{
	rivertype.JobStateDiscarded, rivertype.JobStateRetryable,
	rivertype.JobStateAvailable, rivertype.JobStateCompleted,
}

// List returns up to limit deliveries, newest first, in state (all states
// when empty).
func List(ctx context.Context, c JobClient, state rivertype.JobState, limit int) ([]Delivery, error) {
	params := river.NewJobListParams().Kinds(Kind).First(limit).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if state != "" {
		params = params.States(state)
	}
	res, err := c.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out := make([]Delivery, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		out = append(out, toDelivery(j))
	}
	return out, nil
}

func toDelivery(j *rivertype.JobRow) Delivery {
	d := Delivery{JobID: j.ID, State: j.State, Attempts: j.Attempt, MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt}
	var args DeliveryArgs
	if err := json.Unmarshal(j.EncodedArgs, &args); err == nil {
		d.MessageID = args.MessageID.String()
	}
	if n := len(j.Errors); n > 0 {
		d.LastError = j.Errors[n-1].Error
	}
	return d
}

// ErrNotDelivery is returned by Retry for a job that is not a webhook delivery.
var ErrNotDelivery = errors.New("not a webhook delivery")

// Retry puts the given deliveries back in the queue (state available, due
// now). River gives a job that used all its attempts one more; a job that
// fails it is dead-lettered again. Running and not-yet-due jobs are left
// alone by River. It stops at the first error.
func Retry(ctx context.Context, c JobClient, ids ...int64) ([]Delivery, error) {
	out := make([]Delivery, 0, len(ids))
	for _, id := range ids {
		j, err := c.JobGet(ctx, id)
		if errors.Is(err, river.ErrNotFound) {
			return out, fmt.Errorf("job %d: not found", id)
		}
		if err != nil {
			return out, fmt.Errorf("job %d: %w", id, err)
		}
		if j.Kind != Kind {
			return out, fmt.Errorf("job %d (kind %q): %w", id, j.Kind, ErrNotDelivery)
		}
		if j, err = c.JobRetry(ctx, id); err != nil {
			return out, fmt.Errorf("retry job %d: %w", id, err)
		}
		out = append(out, toDelivery(j))
	}
	return out, nil
}

// RetryDiscarded retries every dead-lettered delivery, in pages, and
// returns how many it put back.
func RetryDiscarded(ctx context.Context, c JobClient) (int, error) {
	const page = 500
	n := 0
	params := river.NewJobListParams().Kinds(Kind).States(rivertype.JobStateDiscarded).
		First(page).OrderBy(river.JobListOrderByID, river.SortOrderAsc)
	for {
		res, err := c.JobList(ctx, params)
		if err != nil {
			return n, fmt.Errorf("list discarded deliveries: %w", err)
		}
		for _, j := range res.Jobs {
			if _, err := c.JobRetry(ctx, j.ID); err != nil {
				return n, fmt.Errorf("retry job %d: %w", j.ID, err)
			}
			n++
		}
		if len(res.Jobs) < page {
			return n, nil
		}
		params = params.After(res.LastCursor)
	}
}

// ParseState validates a --state value.
func ParseState(s string) (rivertype.JobState, error) {
	for _, st := range ListStates {
		if string(st) == s {
			return st, nil
		}
	}
	names := make([]string, len(ListStates))
	for i, st := range ListStates {
		names[i] = string(st)
	}
	return "", fmt.Errorf("--state must be one of %s, got %q", strings.Join(names, ", "), s)
}

// QueueSummary is a summary of the deliveries not yet finished, for `chatgw
// webhooks list`. The pacing itself (in flight, limit) lives in each
// gateway process and is seen in its metrics; what the database shows is
// the jobs it put back.
type QueueSummary struct {
	Available int
	// WaitingForSlot are available jobs last put back by pacing (snoozed
	// for want of a delivery slot) rather than by a failed attempt.
	WaitingForSlot int
	Running        int
	Retryable      int // retryable or scheduled: waiting for their next attempt
	Discarded      int
}

// queueQuery counts by state. A job the pacer snoozed has River's
// "snoozes" in its metadata and was last picked up after its last error;
// a job whose attempt failed was last picked up before it.
const queueQuery = `SELECT
  count(*) FILTER (WHERE state = 'available'),
  count(*) FILTER (WHERE state = 'available' AND metadata ? 'snoozes'
    AND (cardinality(errors) IS NULL OR cardinality(errors) = 0
      OR attempted_at > (errors[cardinality(errors)]->>'at')::timestamptz)),
  count(*) FILTER (WHERE state = 'running'),
  count(*) FILTER (WHERE state IN ('retryable', 'scheduled')),
  count(*) FILTER (WHERE state = 'discarded')
FROM river_job WHERE kind = $1 AND state IN ('available', 'running', 'retryable', 'scheduled', 'discarded')`

// Summarize counts the deliveries not yet finished.
func Summarize(ctx context.Context, db RowQuerier) (QueueSummary, error) {
	var q QueueSummary
	err := db.QueryRow(ctx, queueQuery, Kind).Scan(&q.Available, &q.WaitingForSlot, &q.Running, &q.Retryable, &q.Discarded)
	if err != nil {
		return q, fmt.Errorf("count deliveries: %w", err)
	}
	return q, nil
}
