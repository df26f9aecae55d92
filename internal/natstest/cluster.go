package natstest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/internal/faultproxy"
)

// ClusterName is the name of the cluster that Cluster forms.
const ClusterName = "natstest"

// Cluster runs n servers (named s1..sn) routed into one cluster with
// JetStream, and returns once JetStream has a meta leader and a KV bucket
// with min(3, n) replicas can be created. Cleanup shuts every server down.
// Cluster(tb, 1) is a standalone server.
//
// Every route runs through a faultproxy link: server i reaches server j
// through a link of its own, and the address each server advertises to
// its peers is a link too. Kill cuts all links of a server before stopping
// it, so no goodbye (raft leader hand-off) reaches its peers.
func Cluster(tb testing.TB, n int) []*Server {
	tb.Helper()
	if n < 1 {
		tb.Fatalf("natstest: cluster of %d servers", n)
	}
	if n == 1 {
		// A routed server with no peers would wait for a JetStream quorum
		// forever; one node is a standalone server.
		return []*Server{Start(tb, &server.Options{ServerName: "s1"})}
	}
	var err error
	for range clusterAttempts {
		var servers []*Server
		if servers, err = startCluster(tb, n); err == nil {
			WaitJetStream(tb, servers...)
			return servers
		}
	}
	tb.Fatal(err)
	return nil
}

// clusterAttempts: a reserved route port can still be taken by another
// process before its server binds it; a fresh set of ports then works.
const clusterAttempts = 3

func startCluster(tb testing.TB, n int) ([]*Server, error) {
	tb.Helper()
	lns := reservePorts(tb, n)
	servers := make([]*Server, n)
	ports := make([]int, n)
	for i := range servers {
		ports[i] = lns[i].Addr().(*net.TCPAddr).Port
		opts := defaults(tb, nil, "s"+strconv.Itoa(i+1))
		opts.Cluster.Name = ClusterName
		opts.Cluster.Host = "127.0.0.1"
		opts.Cluster.Port = ports[i]
		servers[i] = newServer(tb, opts)
		servers[i].reserved = lns[i]
	}
	wireRoutes(tb, servers, ports)
	for _, s := range servers {
		tb.Cleanup(s.shutdown)
	}
	// All start before any waits: a lone server of a cluster has no
	// JetStream quorum and is only ready for clients.
	for _, s := range servers {
		if err := s.start(); err != nil {
			for _, s := range servers {
				s.shutdown()
			}
			return nil, err
		}
	}
	return servers, nil
}

// wireRoutes gives server i a link to every server j (its route to j) and
// an advertised link to itself (what peers learn by gossip). Including the
// self link in the routes keeps the expected JetStream peer count at n.
func wireRoutes(tb testing.TB, servers []*Server, ports []int) {
	tb.Helper()
	advertised := make([]*faultproxy.Proxy, len(servers))
	for i, s := range servers {
		p := newLink(tb, ports[i])
		advertised[i] = p
		s.links = append(s.links, p)
		s.opts.Cluster.Advertise = p.Addr()
	}
	for i, s := range servers {
		for j, peer := range servers {
			target := advertised[j]
			if i != j {
				target = newLink(tb, ports[j])
				s.links = append(s.links, target)
				peer.links = append(peer.links, target)
			}
			s.opts.Routes = append(s.opts.Routes, &url.URL{Scheme: "nats", Host: target.Addr()})
		}
	}
}

func newLink(tb testing.TB, port int) *faultproxy.Proxy {
	tb.Helper()
	p, err := faultproxy.New(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		tb.Fatalf("natstest: cannot start route link: %v", err)
	}
	return p
}

// reservePorts holds n free loopback ports for route listeners, each until
// its server starts. They are known before any server starts because the
// links must point at them.
func reservePorts(tb testing.TB, n int) []net.Listener {
	tb.Helper()
	lns := make([]net.Listener, n)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("natstest: cannot find a free port: %v", err)
		}
		lns[i] = ln
	}
	return lns
}

// WaitJetStream waits until JetStream is usable through the given running
// servers: a KV bucket with min(3, len(servers)) replicas can be created
// from a client connected to them. Use it after Cluster's servers were
// killed or restarted, before relying on JetStream again.
func WaitJetStream(tb testing.TB, servers ...*Server) {
	tb.Helper()
	var up []*Server
	for _, s := range servers {
		if s.Running() {
			up = append(up, s)
		}
	}
	if len(up) == 0 {
		tb.Fatalf("natstest: no running server to wait for")
	}
	nc := Connect(tb, URLs(up...))
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("natstest: %v", err)
	}
	cfg := jetstream.KeyValueConfig{Bucket: "natstest_ready", Replicas: min(3, len(servers)), Storage: jetstream.MemoryStorage}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := retry(ctx, func(ctx context.Context) error {
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return err
		}
		return js.DeleteKeyValue(ctx, cfg.Bucket)
	}); err != nil {
		tb.Fatalf("natstest: JetStream not usable after %s: %v", readyTimeout, err)
	}
}

// retry calls f every 100ms until it succeeds or ctx ends; each call gets
// at most 2s.
func retry(ctx context.Context, f func(context.Context) error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// StreamLeader is the running server that leads the stream in the global
// account (a KV bucket B is stream "KV_B"), or nil when none does.
func StreamLeader(servers []*Server, stream string) *Server {
	for _, s := range servers {
		if ns := s.NATS(); ns != nil && ns.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return s
		}
	}
	return nil
}
