package lease

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the leases of a process do. Make one per registry
// with NewMetrics and share it through Config.Metrics; a nil *Metrics
// records nothing.
//
// Threading: safe for concurrent use.
type Metrics struct {
	acquired *prometheus.CounterVec
	lost     *prometheus.CounterVec
	held     *prometheus.GaugeVec
	renew    prometheus.Histogram
}

// NewMetrics registers the lease metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		acquired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_lease_acquisitions_total",
			Help: "Terms begun, by lease key.",
		}, []string{"key"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_lease_losses_total",
			Help: "Terms ended, by lease key and reason (expired, lost, resigned).",
		}, []string{"key", "reason"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gocluster_lease_held",
			Help: "1 while this process holds the lease, by lease key.",
		}, []string{"key"}),
		renew: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gocluster_lease_renew_duration_seconds",
			Help:    "Time from sending a renewal to its acknowledgement, for renewals that succeeded.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12), // 0.5ms .. 1s
		}),
	}
	for _, c := range []prometheus.Collector{m.acquired, m.lost, m.held, m.renew} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("cannot register lease metrics"), err)
		}
	}
	return m, nil
}

func (m *Metrics) began(key string) {
	if m == nil {
		return
	}
	m.acquired.WithLabelValues(key).Inc()
	m.held.WithLabelValues(key).Set(1)
}

func (m *Metrics) ended(key string, cause error) {
	if m == nil {
		return
	}
	m.lost.WithLabelValues(key, reason(cause)).Inc()
	m.held.WithLabelValues(key).Set(0)
}

func (m *Metrics) renewed(d time.Duration) {
	if m != nil {
		m.renew.Observe(d.Seconds())
	}
}

func reason(cause error) string {
	switch {
	case errors.Is(cause, ErrExpired):
		return "expired"
	case errors.Is(cause, ErrLost):
		return "lost"
	case errors.Is(cause, ErrResigned):
		return "resigned"
	}
	return "other"
}
