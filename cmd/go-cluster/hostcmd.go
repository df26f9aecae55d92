package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ozanturksever/go-cluster/host"
)

func runHost(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "host")
	var cfg host.Config
	var labels, level, routes string
	fs.StringVar(&cfg.DataDir, "data", host.DefaultDataDir, "directory for the embedded NATS store, modules and compilation cache")
	fs.StringVar(&cfg.NodeID, "node", "", "this node's id (default: the hostname)")
	fs.StringVar(&labels, "labels", "", "node labels for placement, k=v,k=v")
	fs.StringVar(&cfg.Listen, "listen", host.DefaultListen, "embedded NATS client address")
	fs.StringVar(&cfg.NATSURL, "nats", "", "use this external NATS (URL[,URL...]) instead of embedding one")
	fs.StringVar(&cfg.ClusterListen, "cluster-listen", "", "embedded NATS route address for peers, HOST:PORT (enables clustering)")
	fs.StringVar(&routes, "routes", "", "peers' route URLs, nats://HOST:PORT[,...]: the embedded servers form one NATS cluster")
	fs.IntVar(&cfg.Replicas, "replicas", 0, "replicas of every bucket (0: min(3, NATS servers))")
	fs.StringVar(&cfg.HTTPAddr, "http", host.DefaultHTTP, "address for /metrics, /healthz and /readyz, or off")
	fs.StringVar(&cfg.Platform, "platform", "", "platform name (default \"default\")")
	fs.StringVar(&cfg.NetNS, "netns", "", "network namespace (name or path) for the apps' virtual IPs and backends (default: this process's own)")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if routes != "" {
		cfg.Routes = strings.Split(routes, ",")
	}
	var err error
	if cfg.Labels, err = parseLabels(labels); err != nil {
		return usageError{err.Error()}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return usageError{fmt.Sprintf("--log-level %q: use debug, info, warn or error", level)}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
	h, err := host.New(cfg)
	if err != nil {
		return fmt.Errorf("%w (fix the flag it names; `go-cluster host -h` lists them)", err)
	}
	if err := h.Open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "go-cluster host %s is up: NATS %s, metrics http://%s/metrics. Ctrl-C stops it.\n", h.NodeID(), h.ClientURL(), h.HTTPAddr())
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "shutting down...")
	closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.Close(closeCtx)
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels: %q is not k=v", kv)
		}
		out[k] = v
	}
	return out, nil
}
