package webhook

import (
	"sync"
	"time"
)

// maxPendingRetryAfters bounds the Retry-After values waiting for NextRetry.
// One waits only between a failed Work and River's NextRetry call right
// after it, so a few per worker slot is plenty; the bound is for entries
// NextRetry never takes (River skips it when an error handler cancels the
// job), and dropping one only means the exponential backoff is used.
const maxPendingRetryAfters = 1024

// retryAfters hands a receiver's Retry-After from Work to NextRetry. River
// calls NextRetry for the job Work just failed but does not promise to pass
// the same *river.Job (it may build the job again from its row), so the
// value is kept here, keyed by job id and attempt, rather than on the job.
type retryAfters struct {
	mu    sync.Mutex
	byJob map[attemptKey]time.Duration
}

type attemptKey struct {
	jobID   int64
	attempt int
}

// put records d for the attempt, dropping some other entry when full.
func (r *retryAfters) put(jobID int64, attempt int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byJob == nil {
		r.byJob = map[attemptKey]time.Duration{}
	}
	if len(r.byJob) >= maxPendingRetryAfters {
		for k := range r.byJob {
			delete(r.byJob, k)
			break
		}
	}
	r.byJob[attemptKey{jobID, attempt}] = d
}

// take returns and forgets what put recorded for the attempt.
func (r *retryAfters) take(jobID int64, attempt int) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := attemptKey{jobID, attempt}
	d, ok := r.byJob[k]
	delete(r.byJob, k)
	return d, ok
}

func (r *retryAfters) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byJob)
}
