package webhook

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the webhook's Prometheus collectors.
type Metrics struct {
	requests   *prometheus.CounterVec
	latency    prometheus.Histogram
	dedupeHits prometheus.Counter
}

// NewMetrics registers the webhook's collectors with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbot_webhook_requests_total",
			Help: "WeChat callbacks by message type and outcome.",
		}, []string{"type", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gridbot_webhook_reply_seconds",
			Help:    "Time from receiving a WeChat callback to sending its reply.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 4.5, 5},
		}),
		dedupeHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbot_webhook_dedupe_hits_total",
			Help: "Retried deliveries answered from the first delivery's reply.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.dedupeHits)
	return m
}

func (m *Metrics) request(kind, outcome string) { m.requests.WithLabelValues(kind, outcome).Inc() }
