package host

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ozanturksever/go-cluster/abi"
)

// metrics are the host's, registered on the registry passed in Config.
type metrics struct {
	calls     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	instances *prometheus.GaugeVec
	loads     *prometheus.CounterVec
	loadTime  *prometheus.HistogramVec
	apps      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, node string) *metrics {
	f := prometheus.WrapRegistererWith(prometheus.Labels{"node": node}, reg)
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_app_calls_total",
			Help: "API calls served by an app, by method and outcome (ok or the status name).",
		}, []string{"app", "method", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gocluster_app_call_duration_seconds",
			Help:    "Time to serve an API call inside the host, by method and outcome.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10), // 10us .. 2.6s
		}, []string{"app", "method", "outcome"}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gocluster_app_instances",
			Help: "Wasm instances of an app on this node, by state (idle or busy).",
		}, []string{"app", "state"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gocluster_app_loads_total",
			Help: "App loads (fetch, compile, start) by outcome.",
		}, []string{"app", "outcome"}),
		loadTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gocluster_app_load_duration_seconds",
			Help:    "Time from a deployment seen to its API served.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"app"}),
		apps: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gocluster_apps_running",
			Help: "Apps this node serves.",
		}),
	}
	f.MustRegister(m.calls, m.latency, m.instances, m.loads, m.loadTime, m.apps)
	return m
}

// methodMetrics holds one method's series per outcome, resolved once so
// the call path does no label lookups.
type methodMetrics struct {
	calls   []prometheus.Counter
	latency []prometheus.Observer
}

func (m *metrics) forMethod(app, method string) *methodMetrics {
	st := abi.Statuses()
	mm := &methodMetrics{calls: make([]prometheus.Counter, len(st)), latency: make([]prometheus.Observer, len(st))}
	for _, s := range st {
		mm.calls[s] = m.calls.WithLabelValues(app, method, s.String())
		mm.latency[s] = m.latency.WithLabelValues(app, method, s.String())
	}
	return mm
}

func (mm *methodMetrics) observe(err error, d time.Duration) {
	s := abi.StatusOf(err)
	mm.calls[s].Inc()
	mm.latency[s].Observe(d.Seconds())
}

// forget drops an app's series when it stops running here.
func (m *metrics) forget(app string) {
	l := prometheus.Labels{"app": app}
	m.calls.DeletePartialMatch(l)
	m.latency.DeletePartialMatch(l)
	m.instances.DeletePartialMatch(l)
}
