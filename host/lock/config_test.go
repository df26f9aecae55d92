package lock

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestConfigValidate(t *testing.T) {
	// Validate does no I/O: a KeyValue and a JetStream that never connect
	// will do.
	nc := &nats.Conn{}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	jsDomain, err := jetstream.NewWithDomain(nc, "hub")
	if err != nil {
		t.Fatal(err)
	}
	var kv jetstream.KeyValue = fakeKV{}
	good := Config{KV: kv, JS: js, Owner: "node-1"}
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // in the error; "" for none
	}{
		{"good", func(*Config) {}, ""},
		{"bounds set", func(c *Config) { c.MaxTTL, c.MaxWait = time.Minute, time.Second }, ""},
		{"least MaxTTL", func(c *Config) { c.MaxTTL = MinTTL }, ""},
		{"no KV", func(c *Config) { c.KV = nil }, "KV:"},
		{"no JS", func(c *Config) { c.JS = nil }, "JS:"},
		{"JS with a domain", func(c *Config) { c.JS = jsDomain }, "domain"},
		{"no owner", func(c *Config) { c.Owner = "" }, "Owner: empty"},
		{"long owner", func(c *Config) { c.Owner = strings.Repeat("n", maxOwner+1) }, "Owner: 257 bytes"},
		{"owner with newline", func(c *Config) { c.Owner = "a\nb" }, "newline"},
		{"MaxTTL too short", func(c *Config) { c.MaxTTL = MinTTL - 1 }, "MaxTTL:"},
		{"MaxTTL negative", func(c *Config) { c.MaxTTL = -time.Second }, "MaxTTL:"},
		{"MaxWait negative", func(c *Config) { c.MaxWait = -1 }, "MaxWait:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := New(c); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v; want ErrConfig mentioning %q", err, tt.want)
			}
			if _, err := New(c); !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v; want ErrConfig", err)
			}
		})
	}
	// Every bad field is reported at once.
	err = (&Config{MaxWait: -1}).Validate()
	for _, field := range []string{"KV:", "JS:", "Owner:", "MaxWait:"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate of an empty config = %v; want it to mention %s", err, field)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.MaxTTL != DefaultMaxTTL || c.MaxWait != DefaultMaxWait {
		t.Fatalf("defaults: MaxTTL %s, MaxWait %s", c.MaxTTL, c.MaxWait)
	}
}

func TestBucketConfig(t *testing.T) {
	c := BucketConfig("gc_p_locks_app", 3)
	if c.Bucket != "gc_p_locks_app" || c.Replicas != 3 || c.History != 1 || c.TTL != 0 ||
		c.LimitMarkerTTL < time.Second || c.Storage != jetstream.FileStorage {
		t.Fatalf("BucketConfig = %+v", c)
	}
}

// fakeKV is a KeyValue for Validate and New, which only ask its name.
type fakeKV struct{ jetstream.KeyValue }

func (fakeKV) Bucket() string { return "locks" }
