// Package natstest runs real nats-server instances with JetStream inside a
// test process: one standalone server (Start) or n servers routed into one
// cluster (Cluster). A server can be killed abruptly and restarted on the
// same store and ports, so tests can take nodes away and bring them back.
//
// Everything a test starts is stopped by tb.Cleanup.
//
// Threading: the methods of Server are safe for concurrent use; Kill and
// Restart of the same Server must not race each other.
package natstest

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ozanturksever/go-cluster/internal/faultproxy"
)

// readyTimeout bounds every wait in this package; a server that is not up
// by then is broken, not slow.
const readyTimeout = 30 * time.Second

// listenTimeout bounds a server's start until it listens, which takes
// milliseconds unless a port is taken.
const listenTimeout = 10 * time.Second

// Server is one embedded nats-server with JetStream.
type Server struct {
	tb   testing.TB
	opts *server.Options // as first started, with the real client port fixed

	// links carry this server's routes (cluster only); Kill cuts them first
	// so that nothing more leaves or reaches the server, as in a crash.
	links []*faultproxy.Proxy

	// reserved holds the route port from reservation until the first
	// start, so that nothing else takes it meanwhile.
	reserved net.Listener

	mu sync.Mutex
	ns *server.Server // nil while killed
}

// Start runs one standalone server with JetStream. opts may be nil; its
// zero fields get a free port (-1), a store in tb.TempDir(), no logs and no
// signal handlers. Cleanup shuts it down.
func Start(tb testing.TB, opts *server.Options) *Server {
	tb.Helper()
	s := newServer(tb, defaults(tb, opts, "natstest"))
	tb.Cleanup(s.shutdown)
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
	return s
}

func defaults(tb testing.TB, opts *server.Options, name string) *server.Options {
	if opts == nil {
		opts = &server.Options{}
	} else {
		opts = opts.Clone()
	}
	if opts.ServerName == "" {
		opts.ServerName = name
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	if opts.StoreDir == "" {
		opts.StoreDir = tb.TempDir()
	}
	opts.JetStream = true
	opts.NoLog = true
	opts.NoSigs = true
	return opts
}

func newServer(tb testing.TB, opts *server.Options) *Server {
	return &Server{tb: tb, opts: opts}
}

// start runs the server from its options and waits until it accepts
// clients; the first start fixes the client port for restarts.
func (s *Server) start() error {
	if s.reserved != nil {
		s.reserved.Close()
		s.reserved = nil
	}
	ns, err := server.NewServer(s.opts.Clone())
	if err != nil {
		return fmt.Errorf("natstest: cannot configure %s: %w", s.opts.ServerName, err)
	}
	ns.Start()
	if !ns.ReadyForConnections(listenTimeout) {
		ns.Shutdown()
		return fmt.Errorf("natstest: %s not listening after %s (a port taken?)", s.opts.ServerName, listenTimeout)
	}
	if s.opts.Port <= 0 {
		s.opts.Port = ns.Addr().(*net.TCPAddr).Port
	}
	s.mu.Lock()
	s.ns = ns
	s.mu.Unlock()
	return nil
}

// Name is the server's name (unique within a cluster).
func (s *Server) Name() string { return s.opts.ServerName }

// ClientURL is where clients connect; it stays the same across restarts.
func (s *Server) ClientURL() string {
	return "nats://" + net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
}

// NATS is the running server, for inspection (stream leaders, peers); nil
// while killed. After Restart it is a new *server.Server.
func (s *Server) NATS() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns
}

// Running reports whether the server is up (not killed).
func (s *Server) Running() bool { return s.NATS() != nil }

// Kill stops the server abruptly: in a cluster its route links are cut
// first, so its peers see it vanish mid-flight (no leader hand-off, raft
// groups elect after their timeouts) and its clients lose the connection.
// The store stays on disk for Restart. Killing a killed server is a no-op.
func (s *Server) Kill() {
	for _, l := range s.links {
		l.Cut()
	}
	s.mu.Lock()
	ns := s.ns
	s.ns = nil
	s.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// Restart starts a killed server again on the same store, name and ports,
// and restores its route links. It waits until the server accepts clients;
// in a cluster, use WaitJetStream to wait until it has caught up.
func (s *Server) Restart() {
	s.tb.Helper()
	if s.Running() {
		s.tb.Fatalf("natstest: restart of %s, which is running", s.Name())
	}
	for _, l := range s.links {
		l.Restore()
	}
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

// shutdown is the cleanup: stop the server, then its links.
func (s *Server) shutdown() {
	s.Kill()
	for _, l := range s.links {
		_ = l.Close()
	}
}

// URLs joins the servers' client URLs into one NATS URL list, in order.
func URLs(servers ...*Server) string {
	out := ""
	for i, s := range servers {
		if i > 0 {
			out += ","
		}
		out += s.ClientURL()
	}
	return out
}
