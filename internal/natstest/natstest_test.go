package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestStartKillRestart(t *testing.T) {
	s := Start(t, nil)
	nc := Connect(t, s.ClientURL())
	kv := KeyValue(t, nc, jetstream.KeyValueConfig{Bucket: "b"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	url := s.ClientURL()
	s.Kill()
	if s.Running() {
		t.Fatal("running after Kill")
	}
	s.Restart()
	if s.ClientURL() != url {
		t.Fatalf("URL changed across restart: %s -> %s", url, s.ClientURL())
	}
	// The old connection reconnects to the same port; the data survived.
	e, err := getRetry(ctx, kv, "k")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value()) != "v" {
		t.Fatalf("value %q after restart", e.Value())
	}
}

func TestClusterKillRestart(t *testing.T) {
	start := time.Now()
	servers := Cluster(t, 3)
	t.Logf("cluster up in %s", time.Since(start))
	nc := Connect(t, URLs(servers...))
	kv := KeyValue(t, nc, jetstream.KeyValueConfig{Bucket: "b", Replicas: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kv.Put(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	leader := StreamLeader(servers, "KV_b")
	if leader == nil {
		t.Fatal("no stream leader")
	}
	leader.Kill()
	killed := time.Now()
	// The two survivors elect a new leader and keep taking writes.
	if err := putRetry(ctx, kv, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	t.Logf("writes again %s after the leader was killed", time.Since(killed))
	if l := StreamLeader(servers, "KV_b"); l == nil || l == leader {
		t.Fatalf("leader after kill: %v", l)
	}
	leader.Restart()
	WaitJetStream(t, servers...)
	if !leader.NATS().JetStreamIsClustered() {
		t.Fatal("restarted server is not clustered")
	}
}

func getRetry(ctx context.Context, kv jetstream.KeyValue, key string) (jetstream.KeyValueEntry, error) {
	var e jetstream.KeyValueEntry
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		e, err = kv.Get(ctx, key)
		return err
	})
	return e, err
}

func putRetry(ctx context.Context, kv jetstream.KeyValue, key, v string) error {
	return retry(ctx, func(ctx context.Context) error {
		_, err := kv.Put(ctx, key, []byte(v))
		return err
	})
}
