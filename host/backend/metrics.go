package backend

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the backends of a process do, by app. Make one per
// registry with NewMetrics and share it through Config.Metrics; a nil
// *Metrics records nothing.
//
// Threading: safe for concurrent use.
type Metrics struct {
	starts   *prometheus.CounterVec
	restarts *prometheus.CounterVec
	failures *prometheus.CounterVec
	checks   *prometheus.CounterVec
	up       *prometheus.GaugeVec
	startDur *prometheus.HistogramVec
}

// NewMetrics registers the backend metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_backend_starts_total",
			Help: "Starts attempted, first ones and restarts, by app.",
		}, []string{"app"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_backend_restarts_total",
			Help: "Restarts begun after the backend exited or turned unhealthy, by app.",
		}, []string{"app"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_backend_failures_total",
			Help: "Times the backend was given up (a failed Start, or too many restarts), by app.",
		}, []string{"app"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_backend_health_checks_total",
			Help: "Health checks run, by app and result (ok, fail).",
		}, []string{"app", "result"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gocluster_backend_up",
			Help: "1 while the backend is healthy, by app.",
		}, []string{"app"}),
		startDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gocluster_backend_start_duration_seconds",
			Help:    "Time from a start to the backend's first healthy check, for starts that succeeded, by app.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 15), // 10ms .. 164s
		}, []string{"app"}),
	}
	for _, c := range []prometheus.Collector{m.starts, m.restarts, m.failures, m.checks, m.up, m.startDur} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("cannot register backend metrics"), err)
		}
	}
	return m, nil
}

func (m *Metrics) started(app string) {
	if m != nil {
		m.starts.WithLabelValues(app).Inc()
	}
}

func (m *Metrics) restarted(app string) {
	if m != nil {
		m.restarts.WithLabelValues(app).Inc()
	}
}

func (m *Metrics) failed(app string) {
	if m != nil {
		m.failures.WithLabelValues(app).Inc()
	}
}

func (m *Metrics) checked(app string, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "fail"
	}
	m.checks.WithLabelValues(app, result).Inc()
}

func (m *Metrics) setUp(app string, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.up.WithLabelValues(app).Set(v)
}

func (m *Metrics) healthyAfter(app string, d time.Duration) {
	if m != nil {
		m.startDur.WithLabelValues(app).Observe(d.Seconds())
	}
}
