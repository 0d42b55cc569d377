package webhook

import (
	"time"

	"github.com/riverqueue/river"
)

// DefaultMaxWorkers is how many deliveries run at once per process. A
// delivery is an outbound HTTP call that mostly waits, so this is sized for
// a slow receiver (50 × WEBHOOK_TIMEOUT of in-flight waiting), not for CPU.
const DefaultMaxWorkers = 100

// fetchCooldown is the least time between two fetches of jobs. River's
// default (100 ms) caps deliveries at MaxWorkers per 100 ms; at 10 ms a
// burst of sends reaches the receiver in small, prompt batches instead, for
// about a hundred light queries a second when busy (none when idle: new
// jobs are announced by LISTEN/NOTIFY).
const fetchCooldown = 10 * time.Millisecond

// Configure makes rc a working client for deliveries: it registers w on
// Queue with maxWorkers (≤ 0: DefaultMaxWorkers) and tunes the client so
// that deliveries are prompt and none is lost or dropped:
//
//   - RetryPolicy is w's backoff, so jobs River retries on its own (those
//     rescued after a crash) follow the webhook schedule too.
//   - JobTimeout is WEBHOOK_TIMEOUT and RescueStuckJobsAfter a little more:
//     a job still "running" well past its timeout belongs to a process
//     that died, and the default of one hour would hold its delivery back
//     that long after a crash. Rescuing a live job early only risks a
//     duplicate, which at-least-once delivery allows.
//   - FetchPollInterval follows WEBHOOK_BACKOFF_BASE (within 50 ms .. 1 s):
//     new jobs arrive through LISTEN/NOTIFY at once, but a short retry is
//     left "available" with a future scheduled_at and only a poll finds it.
//   - DiscardedJobRetentionPeriod is infinite: dead letters stay in
//     river_job until an operator retries or deletes them (contract §5).
func Configure(rc *river.Config, w *Worker, maxWorkers int) {
	if maxWorkers <= 0 {
		maxWorkers = DefaultMaxWorkers
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	rc.Workers = workers
	if rc.Queues == nil {
		rc.Queues = map[string]river.QueueConfig{}
	}
	rc.Queues[Queue] = river.QueueConfig{MaxWorkers: maxWorkers}
	rc.RetryPolicy = w.cfg.Backoff
	rc.JobTimeout = w.cfg.Timeout
	rc.RescueStuckJobsAfter = w.cfg.Timeout + max(w.cfg.Timeout, 5*time.Second)
	rc.FetchPollInterval = min(max(w.cfg.Backoff.Base, 50*time.Millisecond), time.Second)
	rc.FetchCooldown = min(fetchCooldown, rc.FetchPollInterval/2)
	rc.DiscardedJobRetentionPeriod = -1
}
