// Package app wires chatgw together from a Config and runs it: New builds
// every component (build.go), Start starts them in order and Stop stops
// them in reverse (lifecycle.go).
package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/cluster"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/gateway"
	"github.com/chatgw/chatgw/internal/httpapi"
	"github.com/chatgw/chatgw/internal/metrics"
)

// App is one chatgw: built by New, run between Start and Stop.
type App struct {
	gateway *gateway.Gateway
	metrics *metrics.Metrics
	http    *httpServer
	replies *auth.ReplyTokens
	parts   lifecycle

	stopOnce sync.Once
	stopErr  error
}

// Option adjusts what New builds beyond what the environment configures
// (tests shorten the typing expiry, for one).
type Option struct {
	Gateway func(*gateway.Config)
	// HTTPServer adjusts the public server's read limits (tests shorten them).
	HTTPServer func(*httpapi.ServerConfig)
	// Service adjusts the chat service's config (tests put in a clock).
	Service    func(*chat.ServiceConfig)
	Bus        func(*cluster.Config)
	Membership func(*cluster.MembershipConfig)
}

// New builds the app: it connects to the database, migrates it when
// MIGRATE_ON_START is set, and wires every component. Nothing listens
// until Start; Stop releases what New holds even without Start.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry, opts ...Option) (*App, error) {
	b := &builder{cfg: cfg, log: log, reg: reg, metrics: metrics.New(reg), opts: opts}
	if err := b.openDatabase(ctx); err != nil {
		return nil, err
	}
	if err := b.build(ctx); err != nil {
		b.pool.Close()
		return nil, err
	}
	a := &App{gateway: b.gateway, metrics: b.metrics, http: b.http, replies: b.replyTokens}
	// Started in this order, stopped in reverse: the edges stop first (the
	// server and the gateway together), the database last.
	a.parts.add("database", database{b.pool})
	if b.bus != nil {
		// After the group commit stops (its last sends are published),
		// before the database closes.
		a.parts.add("cluster", clusterParts{b.members, b.bus})
	}
	a.parts.add("group commit", b.sends)
	if b.delivery.works {
		a.parts.add("river", riverWorkers{b.delivery.river})
		a.parts.add("queue depth", b.delivery.depth)
	}
	if b.pprof != nil {
		a.parts.add("pprof", b.pprof)
	}
	if b.jwks != nil {
		// Starts fetching in the background; /readyz is 503 until it has.
		a.parts.add("jwks", b.jwks)
	}
	a.parts.add("edges", together{b.gateway, b.http})
	return a, nil
}

// Start starts every component in order. When one fails it stops those
// already started, in reverse, and the app is then stopped: it holds
// nothing (not even the database pool).
func (a *App) Start(ctx context.Context) error {
	return a.parts.start(ctx)
}

// Stop shuts down in the order the contract asks for: stop accepting, let
// the transactions in flight finish, close the sockets' connections at the
// transport level, commit what group commit holds, stop River gracefully,
// close the database. Calls after the first return the first call's result.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.parts.stop(ctx) })
	return a.stopErr
}

// ReplyTokens issues and verifies the reply tokens of this gateway.
func (a *App) ReplyTokens() *auth.ReplyTokens { return a.replies }

// Gateway is the Socket.IO gateway (tests read its Stats).
func (a *App) Gateway() *gateway.Gateway { return a.gateway }

// Metrics returns the app's metrics (tests read them directly).
func (a *App) Metrics() *metrics.Metrics { return a.metrics }

// Addr is the address Start listens on (useful with port 0).
func (a *App) Addr() string { return a.http.Addr() }

// Run starts the app and serves until ctx is cancelled (SIGTERM/SIGINT),
// then stops it within SHUTDOWN_TIMEOUT.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry) error {
	log.Info("starting chatgw", "config", Effective(cfg))
	a, err := New(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	case err := <-a.http.failed:
		log.Error("http server stopped", "error", err)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := a.Stop(stopCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
