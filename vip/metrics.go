package vip

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the VIPs of a process do, labelled by Config.Name.
// Make one per registry with NewMetrics and share it through
// Config.Metrics; a nil *Metrics records nothing.
//
// Threading: safe for concurrent use.
type Metrics struct {
	held          *prometheus.GaugeVec
	acquisitions  *prometheus.CounterVec
	releases      *prometheus.CounterVec
	fenced        *prometheus.CounterVec
	readds        *prometheus.CounterVec
	conflicts     *prometheus.CounterVec
	announcements *prometheus.CounterVec
	errors        *prometheus.CounterVec
}

// Operations that label gocluster_vip_errors_total.
const (
	opAdd      = "add"
	opRemove   = "remove"
	opAnnounce = "announce"
	opCheck    = "check"
	opProbe    = "probe"
)

// NewMetrics registers the VIP metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{"name"}, labels...))
	}
	m := &Metrics{
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gocluster_vip_held",
			Help: "1 while this process holds the VIP, by name.",
		}, []string{"name"}),
		acquisitions:  counter("gocluster_vip_acquisitions_total", "Acquisitions: the address was put on the interface and announced."),
		releases:      counter("gocluster_vip_releases_total", "Releases of a held VIP."),
		fenced:        counter("gocluster_vip_fenced_total", "Held VIPs removed because the holder's context ended (lease lost)."),
		readds:        counter("gocluster_vip_readds_total", "Held addresses that vanished from the interface and were put back."),
		conflicts:     counter("gocluster_vip_conflicts_total", "Answers for a held address from another hardware address."),
		announcements: counter("gocluster_vip_announcements_total", "Gratuitous ARPs or unsolicited neighbour advertisements sent."),
		errors:        counter("gocluster_vip_errors_total", "Failed operations, by op (add, remove, announce, check, probe).", "op"),
	}
	for _, c := range []prometheus.Collector{m.held, m.acquisitions, m.releases, m.fenced, m.readds, m.conflicts, m.announcements, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("cannot register VIP metrics"), err)
		}
	}
	return m, nil
}

func (m *Metrics) acquired(name string) {
	if m != nil {
		m.acquisitions.WithLabelValues(name).Inc()
		m.held.WithLabelValues(name).Set(1)
	}
}

func (m *Metrics) released(name string) {
	if m != nil {
		m.releases.WithLabelValues(name).Inc()
		m.held.WithLabelValues(name).Set(0)
	}
}

func (m *Metrics) fence(name string) {
	if m != nil {
		m.fenced.WithLabelValues(name).Inc()
		m.held.WithLabelValues(name).Set(0)
	}
}

func (m *Metrics) readd(name string) {
	if m != nil {
		m.readds.WithLabelValues(name).Inc()
	}
}

func (m *Metrics) conflict(name string) {
	if m != nil {
		m.conflicts.WithLabelValues(name).Inc()
	}
}

func (m *Metrics) announced(name string) {
	if m != nil {
		m.announcements.WithLabelValues(name).Inc()
	}
}

func (m *Metrics) failed(name, op string) {
	if m != nil {
		m.errors.WithLabelValues(name, op).Inc()
	}
}
