package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/chatgw/chatgw/internal/guard"
	"github.com/chatgw/chatgw/internal/httpapi"
	"github.com/chatgw/chatgw/internal/logging"
	"github.com/chatgw/chatgw/internal/metrics"
	"github.com/chatgw/chatgw/internal/origins"
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
	jwks        *auth.JWKS // nil without JWT_JWKS_URL
	replyTokens *auth.ReplyTokens
	delivery    delivery
	sends       *postgres.GroupCommitter // the store, with group commit
	seqs        gateway.SeqReader        // conversations' last seqs (the store)
	service     *chat.Service
	clientIPs   *clientip.Resolver
	origins     origins.Policy
	guard       *guard.Guard
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
func (b *builder) build(ctx context.Context) error {
	if err := b.auth(ctx); err != nil {
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

// auth builds the verifier of users' JWTs (with the provider's JWKS when
// JWT_JWKS_URL is set) and the reply tokens: REPLY_TOKEN_SECRET, else the
// keys every node shares in PostgreSQL (the first start makes one).
func (b *builder) auth(ctx context.Context) error {
	j := b.cfg.JWT
	if j.JWKSURL != "" {
		jwks, err := auth.NewJWKS(auth.JWKSConfig{URL: j.JWKSURL, Refresh: j.JWKSRefresh, Logger: b.log.With("component", "jwks")})
		if err != nil {
			return fmt.Errorf("JWT_JWKS_URL: %w", err)
		}
		b.jwks = jwks
	}
	users, err := auth.NewVerifier(auth.VerifierConfig{
		JWKS:         b.jwks,
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
	b.users = users
	replies, err := auth.NewReplyTokens(auth.ReplyTokensConfig{
		Secret: b.cfg.ReplyTokenSecret,
		Store:  replyKeyStore{postgres.NewReplyKeys(b.pool)},
		TTL:    b.cfg.ReplyTokenTTL,
		Logger: b.log.With("component", "reply-tokens"),
	})
	if err != nil {
		return fmt.Errorf("REPLY_TOKEN_SECRET: %w", err)
	}
	if len(b.cfg.ReplyTokenSecret) == 0 {
		// Read (or make) the keys now; with MIGRATE_ON_START=false the
		// table may not exist yet, and the first delivery tries again.
		if err := replies.Start(ctx); err != nil {
			b.log.Warn("reply-token keys not loaded yet; retried at first use", "error", err)
		}
	}
	b.replyTokens = replies
	return nil
}

// replyKeyStore adapts the reply_keys table to auth.ReplyKeyStore.
type replyKeyStore struct{ keys *postgres.ReplyKeys }

func (r replyKeyStore) EnsureReplyKey(ctx context.Context, first auth.ReplyKey) error {
	return r.keys.EnsureFirst(ctx, first.ID, first.Secret)
}

func (r replyKeyStore) ReplyKeys(ctx context.Context) ([]auth.ReplyKey, error) {
	stored, err := r.keys.All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]auth.ReplyKey, len(stored))
	for i, k := range stored {
		out[i] = auth.ReplyKey{ID: k.KID, Secret: k.Secret}
	}
	return out, nil
}

// readiness is /readyz: the database answers with the migrations applied
// and, with JWT_JWKS_URL, the provider's keys have been fetched once.
func readiness(pool *pgxpool.Pool, jwks *auth.JWKS) func(context.Context) error {
	return func(ctx context.Context) error {
		if jwks != nil && !jwks.Ready() {
			return auth.ErrKeysNotLoaded
		}
		return postgres.CheckMigrations(ctx, pool)
	}
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
			Concurrency:     w.Concurrency,
			Messages:        recent,
			ReplyTokens:     b.replyTokens,
			Logger:          b.log.With("component", "webhook"),
			Metrics:         b.metrics,
		})
		if err != nil {
			return err
		}
		webhook.Configure(riverCfg, worker, 0) // as many River workers as WEBHOOK_CONCURRENCY
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
		// Exact across the cluster, in the database; the service's
		// in-memory limiter below stays as a cheap filter in front.
		SendLimit: postgres.SendLimit{Rate: b.cfg.RateLimit.MessagesPerSec, Burst: b.cfg.RateLimit.MessagesBurst},
	}
	if b.delivery.works {
		storeCfg.Deliveries = b.delivery.river
		storeCfg.DeliveryArgs = webhook.NewDeliveryArgs
		storeCfg.Committed = b.delivery.recent.Hold
	}
	// SEND_BATCH_MAX=1 turns group commit off; 0 is the committer's default.
	store := postgres.NewStore(b.pool, storeCfg)
	b.seqs = store
	b.sends = postgres.NewGroupCommitter(store, postgres.GroupCommitConfig{
		MaxBatch: b.cfg.SendBatchMax, MaxWait: b.cfg.SendBatchWait,
	})
	rl := b.cfg.RateLimit
	svcCfg := chat.ServiceConfig{
		MaxMessageLength: b.cfg.MaxMessageLength,
		SendLimiter:      limiterOrNil(ratelimit.New(ratelimit.Config{Rate: rl.MessagesPerSec, Burst: rl.MessagesBurst})),
		Sessions:         store,
		SessionTokenTTL:  sessionTTL(b.cfg.SessionTokenTTL),
	}
	for _, o := range b.opts {
		if o.Service != nil {
			o.Service(&svcCfg)
		}
	}
	b.service = chat.NewService(svcCfg, b.sends, nil)
	b.clientIPs = clientip.New(b.cfg.TrustedProxies)
	b.origins = origins.New(b.cfg.CORSOrigins, b.cfg.PublicURL)
	b.guard = guard.New(guard.Config{
		AuthFailures:  b.cfg.AuthFailuresPerIP,
		BlockDuration: b.cfg.AuthBlockDuration,
		Logger:        b.log.With("component", "guard"),
		Anomalies:     b.metrics.Anomalies,
	})
}

// gatewayEdge builds the Socket.IO gateway; it broadcasts the service's
// messages.
func (b *builder) gatewayEdge() {
	gwCfg := gateway.Config{
		Service:               b.service,
		Verifier:              b.users,
		Logger:                b.log.With("component", "gateway"),
		Metrics:               b.metrics,
		Origins:               b.origins,
		Guard:                 b.guard,
		ConnectTimeout:        b.cfg.ConnectTimeout,
		MaxConnections:        b.cfg.MaxConnections,
		EventsPerSec:          eventsPerSec(b.cfg.RateLimit.EventsPerSec),
		EventsBurst:           b.cfg.RateLimit.EventsBurst,
		MaxSocketsPerIdentity: b.cfg.MaxSocketsPerIdentity,
		ConnectLimiter:        limiterOrNil(ratelimit.New(ratelimit.PerMinute(b.cfg.RateLimit.ConnectsPerMin))),
		ClientIP:              b.clientIPs.FromRequest,
		// Even alone, a node orders each conversation's broadcasts by seq
		// and fills gaps from the database.
		Seqs: b.seqs,
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
	busCfg := cluster.Config{Pool: b.pool, Node: b.cfg.NodeID, Metrics: m, Logger: log, Inbox: b.sends}
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
	b.api = httpapi.New(httpapi.Config{
		Service:     b.service,
		Users:       b.users,
		ReplyTokens: b.replyTokens,
		Ready:       readiness(b.pool, b.jwks),
		Metrics:     promhttp.HandlerFor(b.reg, promhttp.HandlerOpts{Registry: b.reg}),
		Logger:      b.log.With("component", "http"),
		Counters:    b.metrics,

		ConversationLimiter: limiterOrNil(ratelimit.New(ratelimit.PerMinute(b.cfg.RateLimit.ConversationsPerMin))),
		ClientIP:            b.clientIPs.FromRequest,
		Origins:             b.origins,
		Guard:               b.guard,
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
	limits := httpapi.ServerConfig{Logger: b.log}
	for _, o := range b.opts {
		if o.HTTPServer != nil {
			o.HTTPServer(&limits)
		}
	}
	b.http = newHTTPServer("HTTP_ADDR", b.cfg.HTTPAddr, httpapi.NewServer(mux, limits), func(a net.Addr) {
		b.log.Info("chatgw listening", "addr", a.String(), "tls", tls)
	})
	if tls {
		b.http.certFile, b.http.keyFile = b.cfg.TLSCertFile, b.cfg.TLSKeyFile
	}
	if b.cfg.PprofAddr != "" {
		b.pprof = pprofServer(b.cfg.PprofAddr, b.log)
	}
}

// sessionTTL maps SESSION_TOKEN_TTL to the service's setting: 0 there
// means "never expires", which the service spells negative.
func sessionTTL(ttl time.Duration) time.Duration {
	if ttl == 0 {
		return -1
	}
	return ttl
}

// eventsPerSec is the gateway's EventsPerSec for RATE_LIMIT_EVENTS_PER_SEC:
// 0 disables the budget, which the gateway reads as a negative rate.
func eventsPerSec(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
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
