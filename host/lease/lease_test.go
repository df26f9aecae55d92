package lease

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ozanturksever/go-cluster/internal/natstest"
)

func TestConfigValidate(t *testing.T) {
	ok := func(c *Config) { c.KV = kvStub{}; c.Key = "k"; c.Holder = "h" }
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // in the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no bucket", func(c *Config) { c.KV = nil }, "KV"},
		{"empty key", func(c *Config) { c.Key = "" }, "Key"},
		{"wildcard key", func(c *Config) { c.Key = "a.*" }, "Key"},
		{"dot at end", func(c *Config) { c.Key = "a." }, "Key"},
		{"empty holder", func(c *Config) { c.Holder = "" }, "Holder"},
		{"newline in holder", func(c *Config) { c.Holder = "a\nb" }, "Holder"},
		{"ttl too short", func(c *Config) { c.TTL = 50 * time.Millisecond }, "TTL"},
		{"no time to renew", func(c *Config) { c.Renew = time.Second; c.Margin = 200 * time.Millisecond }, "Renew + Margin"},
		{"negative margin", func(c *Config) { c.Margin = -time.Second }, "Margin"},
		{"ttl alone scales", func(c *Config) { c.TTL = 3 * time.Second }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			ok(&c)
			tc.edit(&c)
			c.SetDefaults()
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				if c.Renew != c.TTL/3 || c.Margin != c.TTL/6 {
					t.Fatalf("defaults do not scale with TTL: %+v", c)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("want ErrConfig naming %s, got %v", tc.field, err)
			}
		})
	}
}

// kvStub stands for a bucket where no I/O happens.
type kvStub struct{ KV }

func TestEntryRoundTrip(t *testing.T) {
	for _, v := range [][]byte{nil, []byte("x"), []byte("line1\nline2"), {0, 1, 2}} {
		h, tok, got, err := decode(encode("node-1.inst", 42, v))
		if err != nil || h != "node-1.inst" || tok != 42 || string(got) != string(v) {
			t.Fatalf("round trip of %q: %q %d %q %v", v, h, tok, got, err)
		}
	}
	for _, bad := range []string{"", "holder", "holder\n", "\n1\nv", "h\nx\nv", "h\n-1\nv"} {
		if _, _, _, err := decode([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestBucketMustMatch(t *testing.T) {
	s := natstest.Start(t, nil)
	nc := natstest.Connect(t, s.ClientURL())
	tests := []struct {
		name string
		cfg  jetstream.KeyValueConfig
	}{
		{"other ttl", BucketConfig("b1", 2*DefaultTTL, 1)},
		{"no markers", func() jetstream.KeyValueConfig {
			c := BucketConfig("b2", DefaultTTL, 1)
			c.LimitMarkerTTL = 0
			return c
		}()},
		{"no ttl", jetstream.KeyValueConfig{Bucket: "b3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := natstest.KeyValue(t, nc, tc.cfg)
			l := newLease(t, kv, "h")
			if _, err := l.TryAcquire(ctxLong(t)); !errors.Is(err, ErrBucket) {
				t.Fatalf("TryAcquire: want ErrBucket, got %v", err)
			}
			if _, err := l.Campaign(ctxLong(t)); !errors.Is(err, ErrBucket) {
				t.Fatalf("Campaign: want ErrBucket, got %v", err)
			}
		})
	}
}

func TestTryAcquire(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		kvA, _ := e.kv(t, e.url(0))
		kvB, _ := e.kv(t, e.url(1))
		a, b := newLease(t, kvA, "a"), newLease(t, kvB, "b")
		ta := acquire(t, a)
		if _, err := b.TryAcquire(ctxLong(t)); !errors.Is(err, ErrHeld) {
			t.Fatalf("second holder: want ErrHeld, got %v", err)
		}
		if _, err := a.TryAcquire(ctxLong(t)); !errors.Is(err, ErrActive) {
			t.Fatalf("second term of one lease: want ErrActive, got %v", err)
		}
		// Reads of a replicated bucket may come from a follower a step
		// behind: wait for the state rather than read once.
		waitFor(t, "Current to show a", func() bool {
			info, err := Current(ctxLong(t), kvB, testKey)
			return err == nil && info.Holder == "a" && info.Token == ta.Token() && string(info.Value) == "meta of a"
		})
		if err := ta.Resign(ctxLong(t)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "Current after resign to answer ErrNotHeld", func() bool {
			_, err := Current(ctxLong(t), kvB, testKey)
			return errors.Is(err, ErrNotHeld)
		})
		// The key is a purge marker now: Create must write over it.
		tb := acquire(t, b)
		assertHandover(t, ta, tb)
	})
}

func TestResign(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		kvA, _ := e.kv(t, e.url(0))
		kvB, _ := e.kv(t, e.url(1))
		a, b := newLease(t, kvA, "a"), newLease(t, kvB, "b")
		ta := acquire(t, a)
		waitCh := campaign(t, b)
		if err := ta.Resign(ctxLong(t)); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(ta.Err(), ErrResigned) {
			t.Fatalf("resigned term ended with %v", ta.Err())
		}
		tb := await(t, waitCh, "the standby after a resignation")
		assertHandover(t, ta, tb)
		if err := ta.Resign(ctxLong(t)); err != nil {
			t.Fatalf("second Resign: %v", err)
		}
		if err := ta.SetValue(ctxLong(t), []byte("late")); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("SetValue after resign: want ErrNotHeld, got %v", err)
		}
		if tb.Err() != nil {
			t.Fatalf("new holder's term ended: %v", tb.Err())
		}
	})
}

// A holder that was cut off and timed out locally cannot resign, renew or
// set its value over the holder that took over.
func TestStaleHolder(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e *env) {
		kvA, link, _ := e.proxied(t, 0)
		kvB, _ := e.kv(t, e.url(1))
		a, b := newLease(t, kvA, "a"), newLease(t, kvB, "b")
		ta := acquire(t, a)
		waitCh := campaign(t, b)
		link.Cut()
		tb := await(t, waitCh, "the standby after the holder was cut off")
		assertHandover(t, ta, tb)
		link.Restore()
		if err := ta.Resign(ctxLong(t)); !errors.Is(err, ErrNotHeld) {
			t.Fatalf("stale Resign: want ErrNotHeld, got %v", err)
		}
		// A renewal over the stale revision is refused by the server.
		_, err := kvA.Update(ctxLong(t), testKey, encode("a", ta.Token(), nil), ta.rev)
		if !isConflict(err) {
			t.Fatalf("stale renewal: want a conflict, got %v", err)
		}
		waitFor(t, "Current to show b's term", func() bool {
			info, err := Current(ctxLong(t), kvA, testKey)
			return err == nil && info.Holder == "b" && info.Token == tb.Token()
		})
		if tb.Err() != nil {
			t.Fatalf("new holder's term ended: %v", tb.Err())
		}
	})
}

// A Lease whose term timed out locally while its key lived on takes the
// key over at once, with a new token.
func TestReacquireOwnKey(t *testing.T) {
	s := natstest.Start(t, nil)
	e := &env{name: "single", servers: []*natstest.Server{s}, replicas: 1}
	kv, link, _ := e.proxied(t, 0)
	a := newLease(t, kv, "a")
	t1 := acquire(t, a)
	link.Cut()
	awaitEnd(t, t1, "the cut-off term to end")
	if !errors.Is(t1.Err(), ErrExpired) {
		t.Fatalf("cut-off term ended with %v, want ErrExpired", t1.Err())
	}
	link.Restore()
	var t2 *Term
	waitFor(t, "the lease to be acquired again", func() bool {
		var err error
		t2, err = a.TryAcquire(ctxLong(t))
		return err == nil
	})
	defer resignQuietly(t2)
	assertHandover(t, t1, t2)
}

func TestSetValue(t *testing.T) {
	s := natstest.Start(t, nil)
	e := &env{name: "single", servers: []*natstest.Server{s}, replicas: 1}
	kv, _ := e.kv(t, e.url(0))
	a := newLease(t, kv, "a")
	ta := acquire(t, a)
	if err := ta.SetValue(ctxLong(t), []byte("v2")); err != nil {
		t.Fatal(err)
	}
	info, err := Current(ctxLong(t), kv, testKey)
	if err != nil || string(info.Value) != "v2" || info.Token != ta.Token() {
		t.Fatalf("Current = %+v, %v; want v2 under token %d", info, err, ta.Token())
	}
	// The next term of the same Lease starts with the new value.
	if err := ta.Resign(ctxLong(t)); err != nil {
		t.Fatal(err)
	}
	acquire(t, a)
	if info, err = Current(ctxLong(t), kv, testKey); err != nil || string(info.Value) != "v2" {
		t.Fatalf("Current = %+v, %v; want v2 in the next term", info, err)
	}
}

func TestMetrics(t *testing.T) {
	s := natstest.Start(t, nil)
	e := &env{name: "single", servers: []*natstest.Server{s}, replicas: 1}
	kv, _ := e.kv(t, e.url(0))
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("registered twice on one registry")
	}
	l, err := New(Config{KV: kv, Key: testKey, Holder: "a", Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	term := acquire(t, l)
	if err := term.SetValue(ctxLong(t), []byte("renew now")); err != nil {
		t.Fatal(err)
	}
	if err := term.Resign(ctxLong(t)); err != nil {
		t.Fatal(err)
	}
	got := gather(t, reg)
	want := map[string]float64{
		"gocluster_lease_acquisitions_total{key=app.cache.active}":           1,
		"gocluster_lease_losses_total{key=app.cache.active,reason=resigned}": 1,
		"gocluster_lease_held{key=app.cache.active}":                         0,
		"gocluster_lease_renew_duration_seconds":                             1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// gather flattens the registry: NAME{LABEL=VALUE,...} to the value, or
// the sample count for a histogram.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
