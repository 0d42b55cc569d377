package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// RowQuerier runs one query (a *pgxpool.Pool does).
type RowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DepthConfig configures a DepthReporter.
type DepthConfig struct {
	DB    RowQuerier       // required
	Gauge prometheus.Gauge // chatgw_webhook_queue_depth; required
	// Interval between counts. Default 5s: the gauge is for dashboards and
	// alerts on a backlog, not for anything that needs to be instant.
	Interval time.Duration
	Logger   *slog.Logger // default discards
}

// depthQuery counts deliveries not yet worked. The states match River's
// prioritized fetching index, so this stays an index scan.
const depthQuery = `SELECT count(*) FROM river_job
WHERE queue = $1 AND kind = $2 AND state IN ('available', 'scheduled', 'retryable')`

// DepthReporter keeps chatgw_webhook_queue_depth up to date by counting
// river_job periodically. It polls rather than counting at scrape time so
// that a scrape storm cannot turn into a query storm.
type DepthReporter struct {
	cfg DepthConfig

	mu      sync.Mutex
	cancel  context.CancelFunc // nil until Start
	done    chan struct{}      // closed when the loop has returned
	stopped bool
}

// NewDepthReporter returns a reporter; nothing runs until Start.
func NewDepthReporter(cfg DepthConfig) *DepthReporter {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &DepthReporter{cfg: cfg}
}

// Start counts once, then every Interval until Stop. The loop outlives
// ctx (only Stop ends it); starting twice, or after Stop, is an error.
func (d *DepthReporter) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancel != nil || d.stopped {
		return errors.New("webhook: depth reporter already started")
	}
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.done = make(chan struct{})
	go func() {
		defer close(d.done)
		t := time.NewTicker(d.cfg.Interval)
		defer t.Stop()
		for {
			d.Update(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Update counts now.
func (d *DepthReporter) Update(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Interval)
	defer cancel()
	var n int64
	if err := d.cfg.DB.QueryRow(ctx, depthQuery, Queue, Kind).Scan(&n); err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("webhook: counting the delivery queue failed", "error", err)
		}
		return
	}
	d.cfg.Gauge.Set(float64(n))
}

// Stop ends the reporter and waits for it, or for ctx. Safe without Start
// and more than once.
func (d *DepthReporter) Stop(ctx context.Context) error {
	d.mu.Lock()
	d.stopped = true
	if d.cancel == nil {
		d.mu.Unlock()
		return nil
	}
	d.cancel()
	done := d.done
	d.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webhook: depth reporter stop: %w", ctx.Err())
	}
}
