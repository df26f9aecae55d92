package host

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/host/events"
	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/layout"
)

const dbApp = "data: {kv: true, db: {durability: sync}, locks: true, events: {publish: [updated]}}\n"

func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
}

// TestDBOnOneNode runs SQL through a guest: typed values, a batch that
// fails as a whole, errors with SQLite's words, and the status report.
func TestDBOnOneNode(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	deploy(t, c, testManifest(t, "ledger", dbApp), testapp(t))
	for _, id := range []string{"b", "a", "c"} {
		if got := mustCall(t, c, "ledger", "insert", id); got != "ok" {
			t.Fatalf("insert = %q", got)
		}
	}
	if got := mustCall(t, c, "ledger", "ids", ""); got != "a\nb\nc\n" {
		t.Errorf("ids = %q", got)
	}
	_, err := call(t, c, "ledger", "insert", "a")
	wantStatus(t, err, abi.StatusConflict, "UNIQUE constraint failed")

	mustCall(t, c, "ledger", "sql", `{"exec":{"sql":"CREATE TABLE v (n, i, r, t, b)"}}`)
	mustCall(t, c, "ledger", "sql", `{"exec":{"sql":"INSERT INTO v VALUES (?,?,?,?,?)","args":[null,-7,2.5,"héllo",{"blob":"\u0000\u00ff"}]}}`)
	out := mustCall(t, c, "ledger", "sql", `{"query":{"sql":"SELECT n, i, r, t, b, typeof(b) FROM v"}}`)
	if want := `"rows":[[null,-7,2.5,"héllo",{"blob":"\u0000ÿ"},"blob"]]`; !strings.Contains(out, want) {
		t.Errorf("query = %s, want %s", out, want)
	}
	_, err = call(t, c, "ledger", "sql", `{"batch":[{"sql":"INSERT INTO v (i) VALUES (1)"},{"sql":"INSERT INTO nope VALUES (1)"}]}`)
	wantStatus(t, err, abi.StatusInvalid, "no such table: nope")
	if out := mustCall(t, c, "ledger", "sql", `{"query":{"sql":"SELECT count(*) FROM v"}}`); !strings.Contains(out, `[[1]]`) {
		t.Errorf("a failed batch left rows behind: %s", out)
	}
	_, err = call(t, c, "ledger", "sql", `{"query":{"sql":"SELECT randomblob(2000000)"}}`)
	wantStatus(t, err, abi.StatusLimit, "")

	waitFor(t, 20*time.Second, "db status reported", func() bool {
		st, err := c.Status(context.Background())
		if err != nil {
			return false
		}
		for _, a := range st.Apps {
			for _, n := range a.Instances {
				if a.App == "ledger" && n.DB != nil && n.DB.Role == "writer" && n.DB.TXID > 0 && n.DB.ReplicaTXID == n.DB.TXID {
					return true
				}
			}
		}
		return false
	})
}

// TestDataIsolation deploys two apps with every store: neither reaches
// the other's database, locks or topics, and an app without grants is
// denied each of them.
func TestDataIsolation(t *testing.T) {
	h := startHost(t, testConfig(t, "n1"))
	c := connect(t, h)
	deploy(t, c, testManifest(t, "alpha", dbApp), testapp(t))
	deploy(t, c, testManifest(t, "beta", dbApp), testapp(t))
	deploy(t, c, testManifest(t, "bare", ""), testapp(t))
	mustCall(t, c, "alpha", "insert", "secret")
	if got := mustCall(t, c, "beta", "ids", ""); got != "" {
		t.Errorf("beta sees alpha's rows: %q", got)
	}
	// Table names are the app's own: beta's "ledger" is another table, and
	// SQLite's ATTACH cannot name alpha's file either.
	_, err := call(t, c, "beta", "sql", `{"exec":{"sql":"ATTACH DATABASE '`+h.dbFile("alpha")+`' AS a"}}`)
	if err == nil {
		t.Error("beta attached alpha's database file")
	}
	acquire := `{"op":"acquire","name":"l","ttl_ms":5000}`
	mustCall(t, c, "alpha", "lock", acquire)
	mustCall(t, c, "beta", "lock", acquire) // another app's lock of the same name
	_, err = call(t, c, "beta", "publish", "alpha.updated:x")
	wantStatus(t, err, abi.StatusDenied, "data.events.publish")
	for method, payload := range map[string]string{
		"ids": "", "lock": acquire, "publish": "updated:x",
		"sql": `{"exec":{"sql":"SELECT 1"}}`,
	} {
		_, err := call(t, c, "bare", method, payload)
		wantStatus(t, err, abi.StatusDenied, "does not grant")
	}
}

// TestLocksAcrossNodes takes one app's lock from three nodes: one holder,
// the others refused, a non-holder cannot release it, and expiry frees it
// for a larger token.
func TestLocksAcrossNodes(t *testing.T) {
	p := newPlatform(t, 3, 3)
	c := connect(t, p.host("n1"))
	deploy(t, c, testManifest(t, "locker", "mode: spread\npattern: pool\ndata: {locks: true}\n"), testapp(t))
	waitFor(t, 30*time.Second, "locker on every node", func() bool {
		for _, n := range []string{"n1", "n2", "n3"} {
			if p.host(n).apps.get("locker") == nil {
				return false
			}
		}
		return true
	})
	plug := func(node string) func(string) (string, error) {
		a := p.host(node).apps.get("locker")
		return func(req string) (string, error) {
			out, err := a.plug.Call(context.Background(), "lock", []byte(req))
			return string(out), err
		}
	}
	first, err := plug("n1")(`{"op":"acquire","name":"job","ttl_ms":1500}`)
	if err != nil {
		t.Fatal(err)
	}
	var held struct{ Token uint64 }
	_ = json.Unmarshal([]byte(first), &held)
	for _, n := range []string{"n2", "n3"} {
		_, err := plug(n)(`{"op":"acquire","name":"job","ttl_ms":1500}`)
		wantStatus(t, err, abi.StatusConflict, "held")
		_, err = plug(n)(fmt.Sprintf(`{"op":"release","name":"job","token":%d}`, held.Token+1))
		wantStatus(t, err, abi.StatusConflict, "")
	}
	// n2 waits for the expiry and gets a larger token.
	out, err := plug("n2")(`{"op":"acquire","name":"job","ttl_ms":1500,"wait_ms":10000}`)
	if err != nil {
		t.Fatal(err)
	}
	var next struct{ Token uint64 }
	_ = json.Unmarshal([]byte(out), &next)
	if next.Token <= held.Token {
		t.Errorf("token after expiry %d, first %d", next.Token, held.Token)
	}
	_, err = plug("n1")(fmt.Sprintf(`{"op":"renew","name":"job","token":%d,"ttl_ms":1000}`, held.Token))
	wantStatus(t, err, abi.StatusConflict, "")
}

// TestDurableEvents publishes to a durable subscriber: an event the guest
// refuses comes again, and events published while its host is down arrive
// after the host restarts on its data dir. The host runs on an external
// NATS so the stream outlives it.
func TestDurableEvents(t *testing.T) {
	srv := natstest.Start(t, nil)
	cfg := testConfig(t, "n1")
	cfg.NATSURL, cfg.OnlyGivenURLs = srv.ClientURL(), true
	h := startHost(t, cfg)
	c := connect(t, h)
	sub := "data: {kv: true, events: {durable: true, subscribe: [pub.updated, platform.deploy]}}\n"
	deploy(t, c, testManifest(t, "sub", sub), testapp(t))
	deploy(t, c, testManifest(t, "pub", "data: {events: {publish: [updated]}}\n"), testapp(t))
	mustCall(t, c, "pub", "publish", "updated:fail-once-a")
	mustCall(t, c, "pub", "publish", "updated:plain")
	want := []string{"pub.updated/fail-once-a", "pub.updated/plain"}
	waitReceived(t, c, "sub", want)
	waitFor(t, 20*time.Second, "deploy event for pub", func() bool {
		got, _ := call(t, c, "sub", "received", "")
		return slices.ContainsFunc(lines(got), func(s string) bool {
			return strings.HasPrefix(s, "platform.deploy/") && strings.Contains(s, `"app":"pub"`)
		})
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	bus := events.New(jetstreamOf(t, srv.ClientURL()), mustLayout(t))
	for i := range 20 {
		if _, err := bus.Publish(ctx, "pub", "updated", []byte(fmt.Sprintf("later-%02d", i))); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("pub.updated/later-%02d", i))
	}
	h2 := startHost(t, cfg)
	waitReceived(t, connect(t, h2), "sub", want)
}

// waitReceived waits until app's guest took every event in want.
func waitReceived(t *testing.T, c *client.Client, app string, want []string) {
	t.Helper()
	var got []string
	ok := poll(30*time.Second, 50*time.Millisecond, func() bool {
		out, err := call(t, c, app, "received", "")
		if err != nil {
			return false
		}
		got = lines(out)
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("%s received %q, want all of %q", app, got, want)
	}
}

func jetstreamOf(t testing.TB, url string) jetstream.JetStream {
	js, err := jetstream.New(natstest.Connect(t, url))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func mustLayout(t testing.TB) layout.Layout {
	l, err := layout.New(layout.DefaultPlatform)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
