package registry

import (
	"context"
	"errors"
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
