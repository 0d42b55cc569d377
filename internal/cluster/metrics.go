package cluster

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the cluster's Prometheus metrics (contract §6).
type Metrics struct {
	// Nodes is chatgw_cluster_nodes: nodes heard from within NodeTimeout
	// (1 with the bus off).
	Nodes prometheus.Gauge
	// Events is chatgw_bus_events_total{direction,kind}: direction "out"
	// (published), "in" (received from another node), "dropped_out" (not
	// published: queue full or the database refused) and "dropped_in" (the
	// receive queue was full; a gap check follows).
	Events *prometheus.CounterVec
	// GapFills is chatgw_bus_gap_fills_total: messages a node read from
	// the database because the bus did not bring them in time.
	GapFills prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Nodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatgw_cluster_nodes",
			Help: "chatgw nodes on this database heard from within the last 15 s (1 with CLUSTER_BUS=off).",
		}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatgw_bus_events_total",
			Help: "Cluster bus events by direction (out, in, dropped_out, dropped_in) and kind.",
		}, []string{"direction", "kind"}),
		GapFills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatgw_bus_gap_fills_total",
			Help: "Messages read from the database because the bus had not delivered them in time.",
		}),
	}
	reg.MustRegister(m.Nodes, m.Events, m.GapFills)
	return m
}
