package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect dials url (one URL or a comma-separated list, tried in order)
// and closes the connection at Cleanup. By default it reconnects forever,
// 50ms apart without jitter, so a client follows a killed server to a live
// one quickly; opts come after the defaults and override them.
func Connect(tb testing.TB, url string, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	all := append([]nats.Option{
		nats.Name("natstest " + tb.Name()),
		nats.DontRandomize(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.Timeout(2 * time.Second),
	}, opts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		tb.Fatalf("natstest: cannot connect to %s: %v", url, err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// KeyValue creates (or updates) the bucket described by cfg through nc and
// returns it.
func KeyValue(tb testing.TB, nc *nats.Conn, cfg jetstream.KeyValueConfig) jetstream.KeyValue {
	tb.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("natstest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var kv jetstream.KeyValue
	if err := retry(ctx, func(ctx context.Context) error {
		var err error
		kv, err = js.CreateOrUpdateKeyValue(ctx, cfg)
		return err
	}); err != nil {
		tb.Fatalf("natstest: cannot create bucket %s: %v", cfg.Bucket, err)
	}
	return kv
}
