// Package metrics defines chatgw's Prometheus metrics (contract §6). They
// are registered on a registry the app passes in, never on a global one, so
// tests can run many gateways in one process.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds every metric chatgw exports.
type Metrics struct {
	SocketsConnected  prometheus.Gauge
	Handshakes        *prometheus.CounterVec // result: ok or an error code
	Messages          *prometheus.CounterVec // sender
	Events            *prometheus.CounterVec // event, result
	RateLimited       *prometheus.CounterVec // scope
	DeprecatedEvents  *prometheus.CounterVec // event
	WebhookDeliveries *prometheus.CounterVec // result
	WebhookDuration   prometheus.Histogram
	WebhookQueueDepth prometheus.Gauge
	WebhookLoads      *prometheus.CounterVec // source
	HTTPRequests      *prometheus.CounterVec // route, code
	// ConnectionsRefused counts Engine.IO sessions refused before they
	// open (reason: max_connections, origin).
	ConnectionsRefused *prometheus.CounterVec
	Anomalies          *prometheus.CounterVec // kind (guard)
	WebhookInflight    prometheus.Gauge
	// WebhookInflightLimit is the pacing limit in force (contract §5).
	WebhookInflightLimit prometheus.Gauge
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SocketsConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatgw_sockets_connected",
			Help: "Socket.IO sockets currently connected.",
		}),
		Handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_handshakes_total",
			Help: "Socket.IO handshakes by result (ok or the rejection code).",
		}, []string{"result"}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_messages_total",
			Help: "Messages created (committed), by sender.",
		}, []string{"sender"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_events_total",
			Help: "Client events handled, by event and result (ok or an error code).",
		}, []string{"event", "result"}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_rate_limited_total",
			Help: "Requests refused by a rate limit, by scope (message, connect, conversation).",
		}, []string{"scope"}),
		DeprecatedEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_deprecated_events_total",
			Help: "Uses of deprecated client events, by event.",
		}, []string{"event"}),
		WebhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_webhook_deliveries_total",
			Help: "Webhook delivery attempts by result (delivered, retry, gone, discarded, error).",
		}, []string{"result"}),
		WebhookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatgw_webhook_delivery_seconds",
			Help:    "Duration of webhook delivery attempts.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13), // 5 ms .. ~20 s
		}),
		WebhookQueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatgw_webhook_queue_depth",
			Help: "Webhook deliveries waiting to be worked (available, scheduled or retryable).",
		}),
		WebhookInflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatgw_webhook_inflight",
			Help: "Webhook deliveries in flight in this process (requests sent, answer not yet read).",
		}),
		WebhookInflightLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatgw_webhook_inflight_limit",
			Help: "Most webhook deliveries this process lets be in flight now: WEBHOOK_CONCURRENCY, halved after a timeout, a connection failure, 429 or 503, raised by one per 2xx.",
		}),
		WebhookLoads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_webhook_message_loads_total",
			Help: "Messages the delivery worker needed, by where it got them: handoff (held since this instance committed it) or database (read back).",
		}, []string{"source"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_http_requests_total",
			Help: "HTTP API requests by route and status code.",
		}, []string{"route", "code"}),
		ConnectionsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_connections_refused_total",
			Help: "Connections (Engine.IO sessions) refused before opening, by reason.",
		}, []string{"reason"}),
		Anomalies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_anomalies_total",
			Help: "Anomalies noticed (auth_failures blocks an IP; session_guessing, send_flood), by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.SocketsConnected, m.Handshakes, m.Messages, m.Events, m.RateLimited,
		m.DeprecatedEvents, m.WebhookDeliveries, m.WebhookDuration, m.WebhookQueueDepth, m.WebhookLoads, m.HTTPRequests,
		m.ConnectionsRefused, m.Anomalies, m.WebhookInflight, m.WebhookInflightLimit)
	return m
}
