package vip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := func() Config {
		return Config{Address: netip.MustParsePrefix("10.0.1.100/24"), Interface: "eth0"}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string // named in the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"ipv6", func(c *Config) { c.Address = netip.MustParsePrefix("fd00::100/64") }, ""},
		{"host route", func(c *Config) { c.Address = netip.MustParsePrefix("10.0.1.100/32") }, ""},
		{"no address", func(c *Config) { c.Address = netip.Prefix{} }, "Address"},
		{"mapped", func(c *Config) { c.Address = netip.MustParsePrefix("::ffff:10.0.1.100/120") }, "Address"},
		{"unspecified", func(c *Config) { c.Address = netip.MustParsePrefix("0.0.0.0/24") }, "Address"},
		{"multicast", func(c *Config) { c.Address = netip.MustParsePrefix("224.0.0.1/24") }, "Address"},
		{"loopback", func(c *Config) { c.Address = netip.MustParsePrefix("127.0.0.5/8") }, "Address"},
		{"network", func(c *Config) { c.Address = netip.MustParsePrefix("10.0.1.0/24") }, "Address"},
		{"broadcast", func(c *Config) { c.Address = netip.MustParsePrefix("10.0.1.255/24") }, "Address"},
		{"no interface", func(c *Config) { c.Interface = "" }, "Interface"},
		{"long interface", func(c *Config) { c.Interface = "a-very-long-name0" }, "Interface"},
		{"slash", func(c *Config) { c.Interface = "eth0/1" }, "Interface"},
		{"announce", func(c *Config) { c.Announce = -1 }, "Announce"},
		{"announce interval", func(c *Config) { c.AnnounceInterval = -time.Second }, "AnnounceInterval"},
		{"check interval", func(c *Config) { c.CheckInterval = time.Millisecond }, "CheckInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.edit(&c)
			c.SetDefaults()
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("Validate = %v, want ErrConfig naming %s", err, tc.field)
			}
			if _, err := New(c); !errors.Is(err, ErrConfig) {
				t.Errorf("New = %v, want ErrConfig", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Address: netip.MustParsePrefix("10.0.1.100/24"), Interface: "eth0"}
	c.SetDefaults()
	if c.Name != "10.0.1.100/24" || c.Announce != DefaultAnnounce || c.AnnounceInterval != DefaultAnnounceInterval ||
		c.CheckInterval != DefaultCheckInterval || c.Logger == nil {
		t.Errorf("defaults: %+v", c)
	}
	for _, tc := range []struct {
		check, want time.Duration
	}{
		{time.Second, maxProbeWait},
		{100 * time.Millisecond, 25 * time.Millisecond},
	} {
		c.CheckInterval = tc.check
		if got := c.probeWait(); got != tc.want {
			t.Errorf("probe wait with CheckInterval %s = %s, want %s", tc.check, got, tc.want)
		}
	}
}
