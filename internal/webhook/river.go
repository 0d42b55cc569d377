package webhook

import (
	"time"

	"github.com/riverqueue/river"
)

// DefaultConcurrency is WEBHOOK_CONCURRENCY's default: the most deliveries
// in flight per process. n8n with its default settings runs executions of a
// workflow one after another on one Node thread; 100 concurrent deliveries
// queued a burst past the 10 s timeout there, 16 do not.
const DefaultConcurrency = 16

// maxSlotSnooze keeps a snoozed job's delay under River's scheduler
// interval (5 s): shorter snoozes stay state available with a future
// scheduled_at, longer ones would turn scheduled.
const maxSlotSnooze = 2 * time.Second

// fetchCooldown is the least time between two fetches of jobs. River's
// default (100 ms) caps deliveries at MaxWorkers per 100 ms; at 10 ms a
// burst of sends reaches the receiver in small, prompt batches instead, for
// about a hundred light queries a second when busy (none when idle: new
// jobs are announced by LISTEN/NOTIFY).
const fetchCooldown = 10 * time.Millisecond

// Configure makes rc a working client for deliveries: it registers w on
// Queue with maxWorkers (≤ 0: w's WEBHOOK_CONCURRENCY) and tunes the client
// so that deliveries are prompt and none is lost or dropped:
//
//   - MaxWorkers equal to WEBHOOK_CONCURRENCY: River itself then never runs
//     more jobs than the pacer could let through at full limit, so a
//     healthy receiver sees no snoozes at all; when the pacer's limit is
//     lower, the spare workers only briefly hold jobs before snoozing them.
//
//   - RetryPolicy is w's backoff, so jobs River retries on its own (those
//     rescued after a crash) follow the webhook schedule too.
//
//   - JobTimeout is WEBHOOK_TIMEOUT (plus the brief wait for a slot) and
//     RescueStuckJobsAfter a little more:
//     a job still "running" well past its timeout belongs to a process
//     that died, and the default of one hour would hold its delivery back
//     that long after a crash. Rescuing a live job early only risks a
//     duplicate, which at-least-once delivery allows.
//
//   - FetchPollInterval follows WEBHOOK_BACKOFF_BASE (within 50 ms .. 1 s):
//     new jobs arrive through LISTEN/NOTIFY at once, but a short retry is
//     left "available" with a future scheduled_at and only a poll finds it.
//
//   - DiscardedJobRetentionPeriod is infinite: dead letters stay in
//     river_job until an operator retries or deletes them (contract §5).
func Configure(rc *river.Config, w *Worker, maxWorkers int) {
	if maxWorkers <= 0 {
		maxWorkers = w.pacer.Max()
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	rc.Workers = workers
	if rc.Queues == nil {
		rc.Queues = map[string]river.QueueConfig{}
	}
	rc.Queues[Queue] = river.QueueConfig{MaxWorkers: maxWorkers}
	rc.RetryPolicy = w.cfg.Backoff
	rc.JobTimeout = w.jobTimeout()
	rc.RescueStuckJobsAfter = w.jobTimeout() + max(w.cfg.Timeout, 5*time.Second)
	rc.FetchPollInterval = min(max(w.cfg.Backoff.Base, 50*time.Millisecond), time.Second)
	rc.FetchCooldown = min(fetchCooldown, rc.FetchPollInterval/2)
	rc.DiscardedJobRetentionPeriod = -1
}
