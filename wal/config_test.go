package wal

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
)

func TestConfigValidate(t *testing.T) {
	var (
		store jetstream.ObjectStore = struct{ jetstream.ObjectStore }{}
		kv    jetstream.KeyValue    = struct{ jetstream.KeyValue }{}
	)
	good := func() Config {
		return Config{Path: "/data/app.db", Replica: store, Fences: kv, FenceKey: "app"}
	}
	cases := []struct {
		name  string
		edit  func(*Config)
		field string // in the error; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"sync", func(c *Config) { c.Durability = Sync }, ""},
		{"key with dots", func(c *Config) { c.FenceKey = "apps.shop-1/db_2=x" }, ""},
		{"no path", func(c *Config) { c.Path = "" }, "Config.Path"},
		{"query in path", func(c *Config) { c.Path = "/data/app.db?mode=ro" }, "Config.Path"},
		{"no replica", func(c *Config) { c.Replica = nil }, "Config.Replica"},
		{"no fences", func(c *Config) { c.Fences = nil }, "Config.Fences"},
		{"no key", func(c *Config) { c.FenceKey = "" }, "Config.FenceKey"},
		{"wildcard key", func(c *Config) { c.FenceKey = "app.*" }, "Config.FenceKey"},
		{"empty token", func(c *Config) { c.FenceKey = "app..db" }, "Config.FenceKey"},
		{"durability", func(c *Config) { c.Durability = "eventually" }, "Config.Durability"},
		{"sync interval", func(c *Config) { c.SyncInterval = -time.Second }, "Config.SyncInterval"},
		{"follow interval", func(c *Config) { c.FollowInterval = -1 }, "Config.FollowInterval"},
		{"snapshot interval", func(c *Config) { c.SnapshotInterval = -1 }, "Config.SnapshotInterval"},
		{"retention", func(c *Config) { c.Retention = -1 }, "Config.Retention"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good()
			c.edit(&cfg)
			err := cfg.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, abi.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %v, want one naming %s", err, c.field)
			}
		})
	}
	cfg := good()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Durability != Async || cfg.SyncInterval != DefaultSyncInterval || cfg.FollowInterval != DefaultFollowInterval ||
		cfg.SnapshotInterval != DefaultSnapshotInterval || cfg.Retention != DefaultRetention || cfg.Logger == nil {
		t.Fatalf("defaults not filled: %+v", cfg)
	}
	cfg = good()
	cfg.SyncInterval = 5 * time.Millisecond
	if err := cfg.Validate(); err != nil || cfg.SyncInterval != 5*time.Millisecond {
		t.Fatalf("a set interval changed: %v %v", cfg.SyncInterval, err)
	}
}
