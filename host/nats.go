package host

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startEmbedded runs a NATS server with JetStream in this process.
func (h *Host) startEmbedded() (*server.Server, error) {
	host, port, err := splitListen(h.cfg.Listen)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		ServerName: h.cfg.NodeID,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   h.cfg.path("nats"),
		MaxPayload: embeddedPayload,
		NoSigs:     true,
	}
	if h.cfg.ClusterListen != "" {
		ch, cp, err := splitListen(h.cfg.ClusterListen)
		if err != nil {
			return nil, err
		}
		opts.Cluster = server.ClusterOpts{Name: "gc-" + h.cfg.Platform, Host: ch, Port: cp}
		opts.Routes = server.RoutesFromStr(strings.Join(h.cfg.Routes, ","))
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot configure embedded NATS: %w", err)
	}
	ns.SetLoggerV2(natsLogger{h.log}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("cannot start embedded NATS on %s: not ready after 30s (is the port in use? pick another with --listen)", h.cfg.Listen)
	}
	return ns, nil
}

func (h *Host) connect() (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("go-cluster host " + h.cfg.NodeID),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				h.log.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { h.log.Info("reconnected to NATS", "url", nc.ConnectedUrl()) }),
	}
	if h.cfg.OnlyGivenURLs {
		opts = append(opts, nats.IgnoreDiscoveredServers())
	}
	url := h.cfg.NATSURL
	if h.ns != nil {
		url = h.ns.ClientURL()
		opts = append(opts, nats.InProcessServer(h.ns))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w (check --nats, or omit it to embed a server)", url, err)
	}
	return nc, nil
}

// natsLogger sends the embedded server's notices, warnings and errors to
// the host's log; debug and trace are dropped.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "source", "nats")
}
func (l natsLogger) Warnf(format string, v ...any) {
	l.log.Warn(fmt.Sprintf(format, v...), "source", "nats")
}
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error(fmt.Sprintf(format, v...), "source", "nats")
}
func (l natsLogger) Errorf(format string, v ...any) {
	l.log.Error(fmt.Sprintf(format, v...), "source", "nats")
}
func (l natsLogger) Debugf(string, ...any) {}
func (l natsLogger) Tracef(string, ...any) {}
