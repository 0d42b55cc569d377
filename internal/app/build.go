package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
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
	"github.com/chatgw/chatgw/internal/logging"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/ratelimit"
	"github.com/chatgw/chatgw/internal/webhook"
	"github.com/chatgw/chatgw/internal/webui"
)

// builder holds what New builds, one small step each; a step reads the
// fields of the steps before it. Each component applies its own defaults
// to the zero values config leaves.
type builder struct {
	cfg     config.Config
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	opts    []Option

	pool        *pgxpool.Pool
	users       *auth.Verifier
	replyTokens *auth.ReplyTokens
	delivery    delivery
	store       *postgres.Store
	service     *chat.Service
	clientIPs   *clientip.Resolver
	gateway     *gateway.Gateway
	// bus and members are the cluster (CLUSTER_BUS=postgres); nil when off.
	bus     *cluster.Bus
	members *cluster.Membership
	api     http.Handler
	http    *httpServer
	pprof   *httpServer // nil when PPROF_ADDR is unset
}

// delivery is the webhook outbox: River inserts a job with each message;
// when N8N_WEBHOOK_URL is set its workers deliver them.
type delivery struct {
	river *river.Client[pgx.Tx]
	// works is true when the client has workers to run; without them it
	// only inserts jobs (inside the send transactions).
	works  bool
	recent *webhook.Recent        // messages sent here, handed to the worker without a read back
	depth  *webhook.DepthReporter // keeps chatgw_webhook_queue_depth current while River works
}

// build runs the steps after the database, in dependency order.
func (b *builder) build() error {
	if err := b.auth(); err != nil {
		return err
	}
	if err := b.webhookDelivery(); err != nil {
		return err
	}
	b.messageService()
	b.gatewayEdge()
	b.httpAPI()
	b.servers()
	return nil
}

// openDatabase connects, and migrates when MIGRATE_ON_START is set.
func (b *builder) openDatabase(ctx context.Context) error {
	pool, err := postgres.NewPool(ctx, b.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if b.cfg.MigrateOnStart {
		if err := postgres.Migrate(ctx, pool, b.log); err != nil {
			pool.Close()
			return err
		}
	}
	b.pool = pool
	return nil
}

// auth builds the verifier of users' JWTs and the reply-token signer.
func (b *builder) auth() error {
	j := b.cfg.JWT
	users, err := auth.NewVerifier(auth.VerifierConfig{
		Secret:       j.Secret,
		PublicKeyPEM: j.PublicKeyPEM,
		Issuer:       j.Issuer,
		Audience:     j.Audience,
		RolesClaim:   j.RolesClaim,
		TecnicoRoles: j.TecnicoRoles,
	})
	if err != nil {
		return fmt.Errorf("JWT_PUBLIC_KEY_FILE: %w", err)
	}
	key := b.cfg.ReplyTokenSecret
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		b.log.Warn("no key for reply tokens (set REPLY_TOKEN_SECRET, JWT_SECRET or N8N_WEBHOOK_SECRET): using a random one, so reply tokens die with this process")
	}
	b.users = users
	b.replyTokens = auth.NewReplyTokens(key, b.cfg.ReplyTokenTTL)
	return nil
}

// webhookDelivery builds River: insert-only without N8N_WEBHOOK_URL, with
// the delivery worker and the queue-depth reporter with it.
func (b *builder) webhookDelivery() error {
	w := b.cfg.Webhook
	riverCfg := &river.Config{
		// The webhook worker logs each failed attempt, with its cause.
		Logger:      logging.DropMessages(b.log.With("component", "river"), ": Job errored"),
		MaxAttempts: w.MaxAttempts,
	}
	var d delivery
	if w.URL == "" {
		b.log.Info("N8N_WEBHOOK_URL is not set: messages are stored but no webhook delivery is enqueued")
	} else {
		if w.Secret == "" {
			b.log.Warn("N8N_WEBHOOK_SECRET is not set: webhook deliveries are unsigned")
		}
		// The worker reads messages through a Store of its own without
		// deliveries: it only loads.
		recent, err := webhook.NewRecent(webhook.RecentConfig{
			Next:  postgres.NewStore(b.pool, postgres.StoreConfig{}),
			Loads: b.metrics.WebhookLoads,
		})
		if err != nil {
			return err
		}
		worker, err := webhook.NewWorker(webhook.Config{
			URL:             w.URL,
			SecretKey:       w.SecretKey,
			AuthHeaderName:  w.AuthHeaderName,
			AuthHeaderValue: w.AuthHeaderValue,
			PublicURL:       b.cfg.PublicURL,
			Timeout:         w.Timeout,
			Backoff:         webhook.Backoff{Base: w.BackoffBase, Max: w.BackoffMax},
			Messages:        recent,
			ReplyTokens:     b.replyTokens,
			Logger:          b.log.With("component", "webhook"),
			Metrics:         b.metrics,
		})
		if err != nil {
			return err
		}
		webhook.Configure(riverCfg, worker, webhook.DefaultMaxWorkers)
		d.works = true
		d.recent = recent
		d.depth = webhook.NewDepthReporter(webhook.DepthConfig{
			DB: b.pool, Gauge: b.metrics.WebhookQueueDepth, Logger: b.log.With("component", "webhook"),
		})
	}
	client, err := river.NewClient(riverpgxv5.New(b.pool), riverCfg)
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}
	d.river = client
	b.delivery = d
	return nil
}

// messageService builds the store (with group commit, and a delivery job
// inserted with each message when webhooks are on) and the chat service.
func (b *builder) messageService() {
	storeCfg := postgres.StoreConfig{
		// SEND_BATCH_MAX=1 turns group commit off; 0 is the store's default.
		Batch: &postgres.BatchConfig{MaxBatch: b.cfg.SendBatchMax, MaxWait: b.cfg.SendBatchWait},
		// Exact across the cluster, in the database; the service's
		// in-memory limiter below stays as a cheap filter in front.
		SendLimit: postgres.SendLimit{Rate: b.cfg.RateLimit.MessagesPerSec, Burst: b.cfg.RateLimit.MessagesBurst},
	}
	if b.delivery.works {
		storeCfg.Deliveries = b.delivery.river
		storeCfg.DeliveryArgs = webhook.NewDeliveryArgs
		storeCfg.Committed = b.delivery.recent.Hold
	}
	b.store = postgres.NewStore(b.pool, storeCfg)
	rl := b.cfg.RateLimit
	b.service = chat.NewService(chat.ServiceConfig{
		MaxMessageLength: b.cfg.MaxMessageLength,
		SendLimiter:      limiterOrNil(ratelimit.New(ratelimit.Config{Rate: rl.MessagesPerSec, Burst: rl.MessagesBurst})),
	}, b.store, nil)
	b.clientIPs = clientip.New(b.cfg.TrustedProxies)
}

// gatewayEdge builds the Socket.IO gateway; it broadcasts the service's
// messages.
func (b *builder) gatewayEdge() {
	gwCfg := gateway.Config{
		Service:               b.service,
		Verifier:              b.users,
		Logger:                b.log.With("component", "gateway"),
		Metrics:               b.metrics,
		CORSOrigins:           b.cfg.CORSOrigins,
		PublicOrigin:          publicOrigin(b.cfg.PublicURL),
		MaxSocketsPerIdentity: b.cfg.MaxSocketsPerIdentity,
		ConnectLimiter:        limiterOrNil(ratelimit.New(ratelimit.PerMinute(b.cfg.RateLimit.ConnectsPerMin))),
		ClientIP:              b.clientIPs.FromRequest,
		// Even alone, a node orders each conversation's broadcasts by seq
		// and fills gaps from the database.
		Seqs: b.store,
	}
	clusterMetrics := cluster.NewMetrics(b.reg)
	gwCfg.GapFills = clusterMetrics.GapFills
	if b.cfg.ClusterBus == "postgres" {
		b.clusterNode(&gwCfg, clusterMetrics)
	} else {
		clusterMetrics.Nodes.Set(1)
	}
	for _, o := range b.opts {
		if o.Gateway != nil {
			o.Gateway(&gwCfg)
		}
	}
	b.gateway = gateway.New(gwCfg)
	if b.bus != nil {
		// Messages go to the local sockets, then to the other nodes.
		b.bus.SetLocal(b.gateway)
		b.service.SetBroadcaster(b.bus)
	} else {
		b.service.SetBroadcaster(b.gateway)
	}
}

// clusterNode builds the bus and the membership of CLUSTER_BUS=postgres
// and links the gateway to them.
func (b *builder) clusterNode(gwCfg *gateway.Config, m *cluster.Metrics) {
	log := b.log.With("component", "cluster")
	busCfg := cluster.Config{Pool: b.pool, Node: b.cfg.NodeID, Metrics: m, Logger: log}
	memberCfg := cluster.MembershipConfig{
		Pool: b.pool, Node: b.cfg.NodeID, Metrics: m, Logger: log,
		// The gateway is built after this; these run once it serves.
		OnSilent:    func(nodes []string) { b.gateway.NodesSilent(nodes) },
		OnForgotten: func() { b.gateway.Reregister() },
		OnTick:      func() { b.gateway.CheckGaps() },
	}
	for _, o := range b.opts {
		if o.Bus != nil {
			o.Bus(&busCfg)
		}
		if o.Membership != nil {
			o.Membership(&memberCfg)
		}
	}
	b.bus = cluster.NewBus(busCfg)
	b.members = cluster.NewMembership(memberCfg)
	gwCfg.Cluster = clusterLink{Bus: b.bus, members: b.members}
}

// httpAPI builds the HTTP API, health and metrics included.
func (b *builder) httpAPI() {
	pool := b.pool
	b.api = httpapi.New(httpapi.Config{
		Service:     b.service,
		Users:       b.users,
		ReplyTokens: b.replyTokens,
		Ready:       func(ctx context.Context) error { return postgres.CheckMigrations(ctx, pool) },
		Metrics:     promhttp.HandlerFor(b.reg, promhttp.HandlerOpts{Registry: b.reg}),
		Logger:      b.log.With("component", "http"),
		Counters:    b.metrics,

		ConversationLimiter: limiterOrNil(ratelimit.New(ratelimit.PerMinute(b.cfg.RateLimit.ConversationsPerMin))),
		ClientIP:            b.clientIPs.FromRequest,
	})
}

// servers builds the public listener (Socket.IO and the API on one mux)
// and, when PPROF_ADDR is set, pprof's.
func (b *builder) servers() {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", b.gateway.Handler())
	mux.Handle("/", b.api)
	if b.cfg.WebUI {
		ui := webui.New(webui.Config{CORSOrigins: b.cfg.CORSOrigins})
		for _, route := range webui.Routes {
			mux.Handle(route, ui)
		}
	}
	tls := b.cfg.TLSEnabled()
	b.http = newHTTPServer("HTTP_ADDR", b.cfg.HTTPAddr, &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}, func(a net.Addr) {
		b.log.Info("chatgw listening", "addr", a.String(), "tls", tls)
	})
	if tls {
		b.http.certFile, b.http.keyFile = b.cfg.TLSCertFile, b.cfg.TLSKeyFile
	}
	if b.cfg.PprofAddr != "" {
		b.pprof = pprofServer(b.cfg.PprofAddr, b.log)
	}
}

// limiterOrNil keeps a disabled (nil) limiter a nil interface, so the
// components see "no limit" rather than a typed nil. A zero rate disables
// a limit: ratelimit.New returns nil, which allows all.
func limiterOrNil(l *ratelimit.Limiter) chat.Limiter {
	if l == nil {
		return nil
	}
	return l
}

// publicOrigin is the scheme://host[:port] of PUBLIC_URL.
func publicOrigin(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
