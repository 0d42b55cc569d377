package cluster_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/apptest"
	"github.com/chatgw/chatgw/internal/gateway"
)

type gatewayStats = gateway.Stats

// collectorOf finds a metric without labels on a node's registry.
func collectorOf(t *testing.T, n *apptest.Server, name string) prometheus.Collector {
	t.Helper()
	families, err := n.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			v := f.GetMetric()[0]
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "copy"})
			switch {
			case v.GetGauge() != nil:
				g.Set(v.GetGauge().GetValue())
			case v.GetCounter() != nil:
				g.Set(v.GetCounter().GetValue())
			}
			return g
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}
