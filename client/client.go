// Package client talks to a go-cluster platform over NATS: deploy, list,
// undeploy and roll back apps, and call their APIs. The CLI is built on it;
// Go programs can use it the same way.
package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/plugins"
	"github.com/ozanturksever/go-cluster/registry"
)

// DefaultURL is where a client looks for NATS when told nothing.
const DefaultURL = "nats://127.0.0.1:4222"

// EnvURL names the environment variable that overrides DefaultURL.
const EnvURL = "GOCLUSTER_NATS"

// URL returns the NATS URL to use: flag if set, else $GOCLUSTER_NATS, else DefaultURL.
func URL(flag string) string {
	if flag != "" {
		return flag
	}
	if v := os.Getenv(EnvURL); v != "" {
		return v
	}
	return DefaultURL
}

// Config says how to reach the platform.
type Config struct {
	URL      string        // comma-separated NATS URLs; DefaultURL when empty
	Platform string        // layout.DefaultPlatform when empty
	Timeout  time.Duration // connect timeout; 5s when zero
	Name     string        // the NATS connection name
}

// Client is a connection to one platform.
//
// Threading: safe for concurrent use.
type Client struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	layout   layout.Layout
	registry *registry.Registry
}

// Connect dials NATS and binds the platform's registry.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Platform == "" {
		cfg.Platform = layout.DefaultPlatform
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Name == "" {
		cfg.Name = "go-cluster client"
	}
	l, err := layout.New(cfg.Platform)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(cfg.URL, nats.Name(cfg.Name), nats.Timeout(cfg.Timeout), nats.MaxReconnects(0))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w: %w (is a host running? start one with `go-cluster host`, or point --nats / %s at your NATS)",
			cfg.URL, abi.ErrUnavailable, err, EnvURL)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cannot use JetStream at %s: %w", cfg.URL, err)
	}
	reg, err := registry.Open(ctx, js, registry.Config{Layout: l})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &Client{nc: nc, js: js, layout: l, registry: reg}, nil
}

// Close closes the connection.
func (c *Client) Close() { c.nc.Close() }

// Conn is the underlying NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Registry gives the platform's deployments and reports.
func (c *Client) Registry() *registry.Registry { return c.registry }

// Deploy checks the module, uploads it and records the manifest as the
// app's current deployment. A module that no host could run (garbage bytes,
// missing exports, an unknown ABI version) is refused before anything is
// written.
func (c *Client) Deploy(ctx context.Context, m *manifest.Manifest, wasm []byte, progress registry.Progress) (*registry.Deployment, error) {
	if err := Inspect(ctx, wasm); err != nil {
		return nil, fmt.Errorf("cannot deploy %s: module %s: %w", m.Name, m.Wasm, err)
	}
	return c.registry.Deploy(ctx, m, wasm, progress)
}

// Inspect tells whether a host could run the module, and why not.
func Inspect(ctx context.Context, wasm []byte) error {
	_, err := plugins.Check(ctx, wasm)
	return err
}

// CallOptions tune one call.
type CallOptions struct {
	Timeout time.Duration // 10s when zero, bounded by ctx
	Headers nats.Header
	// Key, when set, is sent in the layout.KeyHeader header: for a ring
	// app the host routes the call to the owner of the key's partition.
	Key string
}

// Call calls method of app with payload and returns the reply. A status the
// app (or its host) returned comes back as an *abi.Error, so errors.Is
// works with the abi sentinels.
func (c *Client) Call(ctx context.Context, app, method string, payload []byte, opts CallOptions) ([]byte, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	msg := &nats.Msg{Subject: c.layout.APISubject(app, method), Data: payload, Header: opts.Headers}
	if opts.Key != "" {
		// A copy: the caller's headers may be shared between calls.
		msg.Header = nats.Header{}
		for k, v := range opts.Headers {
			msg.Header[k] = v
		}
		msg.Header.Set(layout.KeyHeader, opts.Key)
	}
	resp, err := c.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, c.explainNoResponders(ctx, app, method)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("cannot call %s.%s: no reply within %s: %w", app, method, opts.Timeout, abi.ErrTimeout)
	case errors.Is(err, nats.ErrMaxPayload):
		return nil, fmt.Errorf("cannot call %s.%s: payload of %d bytes is over the NATS limit: %w", app, method, len(payload), abi.ErrLimit)
	case err != nil:
		return nil, fmt.Errorf("cannot call %s.%s: %w (%w)", app, method, abi.ErrUnavailable, err)
	}
	if code := resp.Header.Get(micro.ErrorCodeHeader); code != "" {
		return nil, abi.NewError(abi.StatusFromCode(code), resp.Header.Get(micro.ErrorHeader))
	}
	return resp.Data, nil
}

// explainNoResponders tells an unknown app from an unknown method from an
// app that is deployed but not running anywhere.
func (c *Client) explainNoResponders(ctx context.Context, app, method string) error {
	ctx = context.WithoutCancel(ctx)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := c.registry.Current(ctx, app)
	if errors.Is(err, abi.ErrNotFound) {
		return abi.NewError(abi.StatusNotFound, fmt.Sprintf("unknown app %q (see `go-cluster apps`)", app))
	}
	if err == nil {
		if !contains(d.Manifest.API, method) {
			return abi.NewError(abi.StatusNotFound, fmt.Sprintf("app %s has no method %q; its api: %s", app, method, strings.Join(d.Manifest.API, ", ")))
		}
	}
	return abi.NewError(abi.StatusUnavailable, fmt.Sprintf("no node serves %s right now (see `go-cluster apps` for its status)", app))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
