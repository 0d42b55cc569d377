package cluster

import "github.com/prometheus/client_golang/prometheus"

// noRegistry accepts metrics without exporting them (a Bus built without
// Metrics, as in unit tests).
type noRegistry struct{}

func (noRegistry) Register(prometheus.Collector) error  { return nil }
func (noRegistry) MustRegister(...prometheus.Collector) {}
func (noRegistry) Unregister(prometheus.Collector) bool { return true }
