// Package app wires chatgw together from a Config and runs it: it builds
// every component, starts them in order and stops them in reverse.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/chatgw/chatgw/internal/auth"
	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/clientip"
	"github.com/chatgw/chatgw/internal/cluster"
	"github.com/chatgw/chatgw/internal/config"
	"github.com/chatgw/chatgw/internal/gateway"
	"github.com/chatgw/chatgw/internal/httpapi"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/ratelimit"
	"github.com/chatgw/chatgw/internal/webhook"
)

// App is one running chatgw.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	pool  *pgxpool.Pool
	river *river.Client[pgx.Tx]
	// riverWorks is true when the client has workers to run; without them
	// it only inserts jobs (inside the send transactions).
	riverWorks bool
	// depth keeps chatgw_webhook_queue_depth current while River works.
	depth *webhook.DepthReporter
	// store batches sends (group commit) when SEND_BATCH_MAX > 1.
	store   *postgres.Store
	pprof   *http.Server // PPROF_ADDR; nil when off
	pprofLn net.Listener
	gateway *gateway.Gateway
	// bus and members are the cluster (CLUSTER_BUS=postgres); nil when off.
	bus     *cluster.Bus
	members *cluster.Membership
	metrics *metrics.Metrics
	server  *http.Server
	ln      net.Listener
	served  chan error

	stopOnce sync.Once
	stopErr  error
}

// New builds the app: it connects to the database, migrates it when
// MIGRATE_ON_START is set, and wires every component. Nothing listens
// until Start.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry, opts ...Option) (_ *App, err error) {
	pool, err := postgres.NewPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	if cfg.MigrateOnStart {
		if err := postgres.Migrate(ctx, pool, log); err != nil {
			return nil, err
		}
	}

	m := metrics.New(reg)
	users, err := auth.NewVerifier(verifierConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("JWT_PUBLIC_KEY_FILE: %w", err)
	}
	replyKey := cfg.ReplyTokenSecret
	if replyKey == nil {
		replyKey = make([]byte, 32)
		_, _ = rand.Read(replyKey)
		log.Warn("no key for reply tokens (set REPLY_TOKEN_SECRET, JWT_SECRET or N8N_WEBHOOK_SECRET): using a random one, so reply tokens die with this process")
	}
	replyTokens := auth.NewReplyTokens(replyKey, cfg.ReplyTokenTTL)

	riverCfg := &river.Config{
		Logger:      log.With("component", "river"),
		MaxAttempts: cfg.Webhook.MaxAttempts,
	}
	var depth *webhook.DepthReporter
	var recent *webhook.Recent // messages sent here, handed to the worker without a read back
	if cfg.Webhook.URL != "" {
		// The worker reads messages through a Store of its own without
		// deliveries: it only loads.
		var err error
		recent, err = webhook.NewRecent(webhook.RecentConfig{
			Next:  postgres.NewStore(pool, postgres.StoreConfig{}),
			Loads: m.WebhookLoads,
		})
		if err != nil {
			return nil, err
		}
		worker, err := webhook.NewWorker(webhookConfig(cfg, recent, replyTokens, log, m))
		if err != nil {
			return nil, err
		}
		webhook.Configure(riverCfg, worker, webhook.DefaultMaxWorkers)
		depth = webhook.NewDepthReporter(webhook.DepthConfig{
			DB: pool, Gauge: m.WebhookQueueDepth, Logger: log.With("component", "webhook"),
		})
	}
	riverClient, err := river.NewClient(riverpgxv5.New(pool), riverCfg)
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}

	storeCfg := postgres.StoreConfig{}
	if cfg.Webhook.URL != "" {
		storeCfg.Deliveries = riverClient
		storeCfg.DeliveryArgs = webhook.NewDeliveryArgs
		storeCfg.Committed = recent.Hold
	} else {
		log.Info("N8N_WEBHOOK_URL is not set: messages are stored but no webhook delivery is enqueued")
	}
	if cfg.Webhook.URL != "" && cfg.Webhook.Secret == "" {
		log.Warn("N8N_WEBHOOK_SECRET is not set: webhook deliveries are unsigned")
	}
	if cfg.SendBatchMax > 1 {
		storeCfg.Batch = &postgres.BatchConfig{MaxBatch: cfg.SendBatchMax, MaxWait: cfg.SendBatchWait}
	}
	store := postgres.NewStore(pool, storeCfg)
	svcCfg := chat.ServiceConfig{MaxMessageLength: cfg.MaxMessageLength}
	svcCfg.SendLimiter = limiterOrNil(ratelimit.New(ratelimit.Config{Rate: cfg.RateLimit.MessagesPerSec, Burst: cfg.RateLimit.MessagesBurst}))
	svc := chat.NewService(svcCfg, store, nil)

	// A zero rate disables a limit: ratelimit.New returns nil, which allows all.
	clientIPs := clientip.New(cfg.TrustedProxies)
	conversationLimiter := ratelimit.New(ratelimit.PerMinute(cfg.RateLimit.ConversationsPerMin))
	gwCfg := gateway.Config{
		Service:               svc,
		Verifier:              users,
		Logger:                log.With("component", "gateway"),
		Metrics:               m,
		CORSOrigins:           cfg.CORSOrigins,
		MaxSocketsPerIdentity: cfg.MaxSocketsPerIdentity,
		ConnectLimiter:        limiterOrNil(ratelimit.New(ratelimit.PerMinute(cfg.RateLimit.ConnectsPerMin))),
		ClientIP:              clientIPs.FromRequest,
		// Even alone, a node orders each conversation's broadcasts by seq
		// and fills gaps from the database.
		Seqs: store,
	}
	clusterMetrics := cluster.NewMetrics(reg)
	gwCfg.GapFills = clusterMetrics.GapFills
	var bus *cluster.Bus
	var members *cluster.Membership
	var gw *gateway.Gateway
	if cfg.ClusterBus == "postgres" {
		busCfg := cluster.Config{
			Pool: pool, Node: cfg.NodeID, Metrics: clusterMetrics,
			Logger: log.With("component", "cluster"),
		}
		memberCfg := cluster.MembershipConfig{
			Pool: pool, Node: cfg.NodeID, Metrics: clusterMetrics,
			Logger:      log.With("component", "cluster"),
			OnSilent:    func(nodes []string) { gw.NodesSilent(nodes) },
			OnForgotten: func() { gw.Reregister() },
			OnTick:      func() { gw.Resync() },
		}
		for _, o := range opts {
			if o.Bus != nil {
				o.Bus(&busCfg)
			}
			if o.Membership != nil {
				o.Membership(&memberCfg)
			}
		}
		bus = cluster.NewBus(busCfg)
		members = cluster.NewMembership(memberCfg)
		gwCfg.Cluster = clusterLink{Bus: bus, members: members}
	} else {
		clusterMetrics.Nodes.Set(1)
	}
	for _, o := range opts {
		if o.Gateway != nil {
			o.Gateway(&gwCfg)
		}
	}
	gw = gateway.New(gwCfg)
	if bus != nil {
		bus.SetLocal(gw)
		svc.SetBroadcaster(bus)
	} else {
		svc.SetBroadcaster(gw)
	}

	api := httpapi.New(httpapi.Config{
		Service:     svc,
		Users:       users,
		ReplyTokens: replyTokens,
		Ready:       func(ctx context.Context) error { return postgres.CheckMigrations(ctx, pool) },
		Metrics:     promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Logger:      log.With("component", "http"),
		Counters:    m,

		ConversationLimiter: limiterOrNil(conversationLimiter),
		ClientIP:            clientIPs.FromRequest,
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", gw.Handler())
	mux.Handle("/", api)

	return &App{
		cfg:   cfg,
		log:   log,
		pool:  pool,
		river: riverClient,
		// Workers run only when there is somewhere to deliver to.
		riverWorks: depth != nil,
		depth:      depth,
		gateway:    gw,
		bus:        bus,
		members:    members,
		metrics:    m,
		store:      store,
		pprof:      pprofServer(cfg),
		server: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		served: make(chan error, 1),
	}, nil
}

// Option adjusts what New builds beyond what the environment configures
// (tests shorten the typing expiry, for one).
type Option struct {
	Gateway    func(*gateway.Config)
	Bus        func(*cluster.Config)
	Membership func(*cluster.MembershipConfig)
}

// limiterOrNil keeps a disabled (nil) limiter a nil interface, so the
// components see "no limit" rather than a typed nil.
func limiterOrNil(l *ratelimit.Limiter) chat.Limiter {
	if l == nil {
		return nil
	}
	return l
}

// Gateway is the Socket.IO gateway (tests read its Stats).
func (a *App) Gateway() *gateway.Gateway { return a.gateway }

// pprofServer serves net/http/pprof on PPROF_ADDR, apart from the public
// listener; nil when PPROF_ADDR is unset.
func pprofServer(cfg config.Config) *http.Server {
	if cfg.PprofAddr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// webhookConfig is the delivery worker's configuration.
func webhookConfig(cfg config.Config, messages webhook.MessageLoader, replyTokens *auth.ReplyTokens, log *slog.Logger, m *metrics.Metrics) webhook.Config {
	return webhook.Config{
		URL:             cfg.Webhook.URL,
		SecretKey:       cfg.Webhook.SecretKey,
		AuthHeaderName:  cfg.Webhook.AuthHeaderName,
		AuthHeaderValue: cfg.Webhook.AuthHeaderValue,
		PublicURL:       cfg.PublicURL,
		Timeout:         cfg.Webhook.Timeout,
		Backoff:         webhook.Backoff{Base: cfg.Webhook.BackoffBase, Max: cfg.Webhook.BackoffMax},
		Messages:        messages,
		ReplyTokens:     replyTokens,
		Logger:          log.With("component", "webhook"),
		Metrics:         m,
	}
}

func verifierConfig(cfg config.Config) auth.VerifierConfig {
	return auth.VerifierConfig{
		Secret:       cfg.JWT.Secret,
		PublicKeyPEM: cfg.JWT.PublicKeyPEM,
		Issuer:       cfg.JWT.Issuer,
		Audience:     cfg.JWT.Audience,
		RolesClaim:   cfg.JWT.RolesClaim,
		TecnicoRoles: cfg.JWT.TecnicoRoles,
	}
}

// Start listens on HTTP_ADDR and starts the webhook workers.
func (a *App) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	a.ln = ln
	if a.pprof != nil {
		pln, err := net.Listen("tcp", a.cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("PPROF_ADDR: %w", err)
		}
		a.pprofLn = pln
		go func() { _ = a.pprof.Serve(pln) }()
		a.log.Warn("pprof listening: keep PPROF_ADDR off public networks", "addr", pln.Addr().String())
	}
	if a.members != nil {
		// The node's row first: sockets registered later refer to it.
		if err := a.members.Start(ctx); err != nil {
			ln.Close()
			return err
		}
		if err := a.bus.Start(ctx); err != nil {
			ln.Close()
			return err
		}
	}
	if a.riverWorks {
		if err := a.river.Start(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("river: %w", err)
		}
		a.depth.Start(ctx)
	}
	go func() {
		var err error
		if a.cfg.TLSEnabled() {
			err = a.server.ServeTLS(ln, a.cfg.TLSCertFile, a.cfg.TLSKeyFile)
		} else {
			err = a.server.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		a.served <- err
	}()
	a.log.Info("chatgw listening", "addr", ln.Addr().String(), "tls", a.cfg.TLSEnabled())
	return nil
}

// Metrics returns the app's metrics (tests read them directly).
func (a *App) Metrics() *metrics.Metrics { return a.metrics }

// PprofAddr is the address pprof listens on, "" when off.
func (a *App) PprofAddr() string {
	if a.pprofLn == nil {
		return ""
	}
	return a.pprofLn.Addr().String()
}

// Store returns the app's message store (benchmarks read its batch stats).
func (a *App) Store() *postgres.Store { return a.store }

// Addr is the address Start listens on (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// Served yields the HTTP server's error if it stops on its own.
func (a *App) Served() <-chan error { return a.served }

// Stop shuts down in the order the contract asks for: stop accepting, let
// the transactions in flight finish, close the sockets' connections at the
// transport level, stop River gracefully, close the database. Calls after
// the first return the first call's result.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.stop(ctx) })
	return a.stopErr
}

func (a *App) stop(ctx context.Context) error {
	var errs []error
	shutdown := make(chan error, 1)
	// Shutdown closes the listener at once, then waits for requests; the
	// gateway ends the long-lived ones (WebSockets, long polls).
	go func() { shutdown <- a.server.Shutdown(ctx) }()
	if err := a.gateway.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := <-shutdown; err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		_ = a.server.Close()
	}
	// Sends still queued for group commit are committed (their events have
	// finished, so nothing new arrives).
	if err := a.store.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if a.pprof != nil {
		_ = a.pprof.Close()
	}
	if a.bus != nil {
		// What the last sends published goes out, then the node leaves
		// (its sockets' registrations with it).
		if err := a.bus.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := a.members.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.riverWorks {
		a.depth.Stop()
		if err := a.river.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("river stop: %w", err))
			_ = a.river.StopAndCancel(context.Background())
		}
	}
	a.pool.Close()
	return errors.Join(errs...)
}

// Run starts the app and serves until ctx is cancelled (SIGTERM/SIGINT),
// then stops it within SHUTDOWN_TIMEOUT.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry) error {
	a, err := New(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.pool.Close()
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	case err := <-a.served:
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
