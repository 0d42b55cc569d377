package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Component is the one shape of everything that runs (model: River's
// rivershared/startstop). Start returns once the component runs, or with
// an error, leaving nothing running. Stop ends it and waits, or gives up at
// ctx's end; Stop is safe without Start and more than once.
type Component interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// component is a Component with a name, so a test can find one.
type component struct {
	name string
	Component
}

// lifecycle starts its components in order and stops them in reverse. When
// a start fails, it stops those already started, in reverse.
type lifecycle struct {
	components []component

	mu      sync.Mutex
	calls   bool // Start was called
	started int  // components[:started] have started
}

func (l *lifecycle) add(name string, c Component) {
	l.components = append(l.components, component{name, c})
}

func (l *lifecycle) start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls {
		return errors.New("app: started twice")
	}
	l.calls = true
	for _, c := range l.components {
		if err := c.Start(ctx); err != nil {
			return errors.Join(err, l.stopLocked(ctx))
		}
		l.started++
	}
	return nil
}

// stop stops what started, in reverse. Before any Start it stops every
// component, since New already holds some resources (the pool), and each
// Stop is safe without Start.
func (l *lifecycle) stop(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.calls {
		l.calls = true
		l.started = len(l.components)
	}
	return l.stopLocked(ctx)
}

func (l *lifecycle) stopLocked(ctx context.Context) error {
	var errs []error
	for ; l.started > 0; l.started-- {
		if err := l.components[l.started-1].Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// together starts its components in order and stops them all at once: the
// HTTP server waits for the requests in flight while the gateway ends the
// long-lived ones (long polls), so neither may wait for the other.
type together []Component

func (t together) Start(ctx context.Context) error {
	for i, c := range t {
		if err := c.Start(ctx); err != nil {
			return errors.Join(err, t[:i].Stop(ctx))
		}
	}
	return nil
}

func (t together) Stop(ctx context.Context) error {
	errs := make([]error, len(t))
	var wg sync.WaitGroup
	for i, c := range t {
		wg.Go(func() { errs[i] = c.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// database owns the pool New opened: it closes it last.
type database struct{ pool *pgxpool.Pool }

func (database) Start(context.Context) error { return nil }

func (d database) Stop(context.Context) error {
	d.pool.Close() // idempotent
	return nil
}

// riverWorkers runs River's workers (delivery, rescue of stuck jobs).
type riverWorkers struct{ client *river.Client[pgx.Tx] }

// Start starts River under a context only Stop ends: cancelling the one
// passed to River's Start would cancel the deliveries in flight.
func (r riverWorkers) Start(ctx context.Context) error {
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("river: %w", err)
	}
	return nil
}

// Stop waits for the deliveries in flight; at ctx's end it cancels them.
func (r riverWorkers) Stop(ctx context.Context) error {
	if err := r.client.Stop(ctx); err != nil {
		_ = r.client.StopAndCancel(context.Background())
		return fmt.Errorf("river stop: %w", err)
	}
	return nil
}
