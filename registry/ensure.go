package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// EnsureKV binds a KV bucket, creating it when missing and raising its
// replicas when the cluster grew. It looks the bucket up before creating
// it: in a NATS cluster, identical creates racing from several hosts can
// leave all but one without an answer until they time out.
func EnsureKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err == nil {
		st, serr := kv.Status(ctx)
		if serr != nil {
			return nil, serr
		}
		if info, ok := st.(*jetstream.KeyValueBucketStatus); ok && cfg.Replicas > info.StreamInfo().Config.Replicas {
			return js.UpdateKeyValue(ctx, cfg)
		}
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, createWait)
	kv, err = js.CreateKeyValue(cctx, cfg)
	cancel()
	if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// Another host's identical create won the race.
		return js.KeyValue(ctx, cfg.Bucket)
	}
	return kv, err
}

// createWait bounds a create that may have lost a race without an answer.
const createWait = 2 * time.Second

// EnsureObjectStore is EnsureKV for an object store.
func EnsureObjectStore(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	os, err := js.ObjectStore(ctx, cfg.Bucket)
	if err == nil {
		return os, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, createWait)
	os, err = js.CreateObjectStore(cctx, cfg)
	cancel()
	if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return js.ObjectStore(ctx, cfg.Bucket)
	}
	return os, err
}

// WithLeaderReads turns direct gets off on a KV bucket's stream and binds
// to it again, so that every read of the returned bucket is answered by
// the stream's leader and sees every write acknowledged before it. A
// direct get (nats.go turns them on for every bucket) may be answered by
// any replica, one that has not applied the last write yet. Creating a
// bucket turns them back on, so call this after every EnsureKV.
func WithLeaderReads(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue) (jetstream.KeyValue, error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, err
	}
	info, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return kv, nil
	}
	cfg := info.StreamInfo().Config
	if cfg.AllowDirect {
		cfg.AllowDirect = false
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("cannot turn direct gets off on %s: %w", kv.Bucket(), err)
		}
	}
	return js.KeyValue(ctx, kv.Bucket())
}
