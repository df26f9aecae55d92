package lock_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/host/lock"
)

// A host makes one Table per app. Here a worker takes the lock of an
// invoice, does its work within the ttl, fenced by the token, and
// releases the lock.
func Example() {
	ctx := context.Background()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, lock.BucketConfig("gc_default_locks_billing", 3))
	if err != nil {
		log.Fatal(err)
	}
	locks, err := lock.New(lock.Config{KV: kv, JS: js, Owner: "node-1"})
	if err != nil {
		log.Fatal(err)
	}

	name := []byte("invoice/42")
	token, err := locks.Acquire(ctx, name, 10*time.Second, 5*time.Second)
	if errors.Is(err, abi.ErrConflict) {
		log.Printf("busy: %v", err) // says who holds it, and until when
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	// Work that takes longer than the ttl renews at half of it.
	if err := locks.Renew(ctx, name, token, 10*time.Second); err != nil {
		log.Fatal(err) // lost it: stop working
	}
	// ... write the invoice, passing token to whatever checks it ...
	if err := locks.Release(ctx, name, token); err != nil {
		log.Print(err)
	}
}
