package host

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ozanturksever/go-cluster/layout"
)

// Defaults of Config.
const (
	DefaultListen   = "127.0.0.1:4222"
	DefaultHTTP     = "127.0.0.1:9222"
	DefaultDataDir  = "data"
	DefaultRetry    = 2 * time.Second
	embeddedPayload = 8 << 20
)

// ErrConfig is a Config that cannot work; the message names the field.
var ErrConfig = errors.New("bad host config")

// Config is everything a host needs, flat, checked once by Validate.
type Config struct {
	// NodeID names this host in the platform; default the machine's
	// hostname.
	NodeID string
	// Platform names the platform; every NATS name derives from it.
	Platform string
	// DataDir holds the embedded NATS store, fetched modules and the
	// compilation cache.
	DataDir string
	// Labels describe the node for placement.
	Labels map[string]string
	// NATSURL connects to an external NATS (comma-separated URLs). Empty:
	// embed a NATS server with JetStream.
	NATSURL string
	// Listen is the embedded NATS server's client address; port -1 picks
	// a free one.
	Listen string
	// OnlyGivenURLs keeps the connection to the NATSURL servers, never to
	// servers learned from the cluster: a host behind a proxy stays behind
	// it (fault-injection tests cut such a link).
	OnlyGivenURLs bool
	// ClusterListen is the embedded server's address for routes from its
	// peers (HOST:PORT, port -1 picks one); empty runs it standalone.
	ClusterListen string
	// Routes are the peers' route URLs (nats://HOST:PORT): the embedded
	// servers of all hosts form one NATS cluster with JetStream.
	Routes []string
	// Replicas of the platform's and the apps' buckets. 0 picks
	// min(3, number of NATS servers): 1+len(Routes) when embedding.
	Replicas int
	// HTTPAddr serves /metrics, /healthz and /readyz; "off" disables it.
	HTTPAddr string
	// Retry is how long to wait before retrying work that failed for a
	// reason that may pass (NATS unreachable).
	Retry time.Duration
	// NetNS is the network namespace the host's virtual addresses and
	// backends live in: a name under /var/run/netns or a path. Empty, the
	// default, is the host process's own. Several hosts in one process
	// (tests, a laptop demo) each take their own.
	NetNS string
	// Logger receives the host's and the guests' logs.
	Logger *slog.Logger
	// Registry receives the host's metrics; a new one when nil.
	Registry *prometheus.Registry
}

// SetDefaults fills the zero fields.
func (c *Config) SetDefaults() {
	if c.NodeID == "" {
		c.NodeID, _ = os.Hostname()
	}
	if c.Platform == "" {
		c.Platform = layout.DefaultPlatform
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTP
	}
	if c.Retry == 0 {
		c.Retry = DefaultRetry
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// Validate reports the first field that cannot work.
func (c *Config) Validate() error {
	if err := layout.ValidNode(c.NodeID); err != nil {
		return fmt.Errorf("node: %w (%w)", err, ErrConfig)
	}
	if _, err := layout.New(c.Platform); err != nil {
		return fmt.Errorf("platform: %w (%w)", err, ErrConfig)
	}
	if c.NATSURL == "" {
		if _, _, err := splitListen(c.Listen); err != nil {
			return fmt.Errorf("listen: %w (%w)", err, ErrConfig)
		}
		if c.ClusterListen != "" {
			if _, _, err := splitListen(c.ClusterListen); err != nil {
				return fmt.Errorf("cluster-listen: %w (%w)", err, ErrConfig)
			}
		}
		for _, r := range c.Routes {
			if u, err := url.Parse(r); err != nil || u.Host == "" {
				return fmt.Errorf("routes: %q is not a URL like nats://HOST:PORT (%w)", r, ErrConfig)
			}
		}
		if len(c.Routes) > 0 && c.ClusterListen == "" {
			return fmt.Errorf("routes: need cluster-listen too, so peers can route back (%w)", ErrConfig)
		}
	} else if c.ClusterListen != "" || len(c.Routes) > 0 {
		return fmt.Errorf("cluster-listen, routes: only for an embedded NATS; with --nats, the external NATS forms the cluster (%w)", ErrConfig)
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return fmt.Errorf("replicas: %d is not 0 (auto) to 5 (%w)", c.Replicas, ErrConfig)
	}
	if c.HTTPAddr != "off" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			return fmt.Errorf("http: %q is not HOST:PORT (%w)", c.HTTPAddr, ErrConfig)
		}
	}
	if c.Retry < 0 {
		return fmt.Errorf("retry: must not be negative (%w)", ErrConfig)
	}
	for k := range c.Labels {
		if k == "" {
			return fmt.Errorf("labels: empty label name (%w)", ErrConfig)
		}
	}
	return nil
}

func splitListen(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not HOST:PORT", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("%q has a bad port", addr)
	}
	return h, port, nil
}

// replicas is how many copies each bucket keeps.
func (c *Config) replicas(servers int) int {
	if c.Replicas > 0 {
		return c.Replicas
	}
	if c.NATSURL == "" {
		servers = 1 + len(c.Routes)
	}
	return max(1, min(3, servers))
}

func (c *Config) path(elem ...string) string {
	return filepath.Join(append([]string{c.DataDir}, elem...)...)
}
