package wal

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/superfly/ltx"
)

// client is the writer's litestream.ReplicaClient over the app's object
// store, on the host's own NATS connection. The stock Litestream NATS
// client dials a connection of its own per client and knows nothing of
// generations; this one writes under its generation's prefix, reads and
// lists only what the fence record deems valid, refuses to upload once it
// sees a newer generation, and confirms it is still current (with a
// compare-and-set on the record) before every delete.
type client struct {
	cat *catalog
	gen uint64
	log *slog.Logger

	// fenced is called once the client learns of a newer generation.
	fenced func()

	confirmMu sync.Mutex // one compare-and-set on the record at a time

	mu       sync.Mutex
	uploaded ltx.TXID // highest L0 TXID stored in the replica

	js      jetstream.JetStream // optional: purges delete markers
	markers jetstream.Stream    // the replica's stream, once looked up
	bucket  string
}

var _ litestream.ReplicaClient = (*client)(nil)

func (c *client) Type() string                  { return clientType }
func (c *client) Init(context.Context) error    { return nil }
func (c *client) SetLogger(logger *slog.Logger) { c.log = logger }

func (c *client) uploadedTXID() ltx.TXID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uploaded
}

func (c *client) LTXFiles(ctx context.Context, level int, seek ltx.TXID, useMetadata bool) (ltx.FileIterator, error) {
	return c.cat.view().LTXFiles(ctx, level, seek, useMetadata)
}

func (c *client) OpenLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, offset, size int64) (io.ReadCloser, error) {
	rc, err := c.cat.view().OpenLTXFile(ctx, level, minTXID, maxTXID, offset, size)
	if errors.Is(err, os.ErrNotExist) {
		// Not in the catalog yet; our own generation's copy is the one
		// Litestream most likely means.
		return openObject(ctx, c.cat.store, objectName(c.gen, level, minTXID, maxTXID), offset, size)
	}
	return rc, err
}

// current is the check before an upload: the record as last seen (the
// watch delivers every change) still names this generation as the last.
func (c *client) current() error {
	rec, _ := c.cat.record()
	if !rec.current(c.gen) {
		c.fenced()
		return ErrFenced
	}
	return nil
}

func (c *client) WriteLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, r io.Reader) (*ltx.FileInfo, error) {
	if err := c.current(); err != nil {
		return nil, err
	}
	var head bytes.Buffer
	hdr, _, err := ltx.PeekHeader(io.TeeReader(r, &head))
	if err != nil {
		return nil, fmt.Errorf("wal: read ltx header: %w", err)
	}
	created := time.UnixMilli(hdr.Timestamp).UTC()
	name := objectName(c.gen, level, minTXID, maxTXID)
	oi, err := c.cat.store.Put(ctx, jetstream.ObjectMeta{
		Name:    name,
		Headers: map[string][]string{headerTimestamp: {created.Format(time.RFC3339Nano)}},
	}, io.MultiReader(&head, r))
	if err != nil {
		return nil, fmt.Errorf("wal: put %s: %w", name, err)
	}
	info := ltx.FileInfo{Level: level, MinTXID: minTXID, MaxTXID: maxTXID, Size: int64(oi.Size), CreatedAt: created}
	c.cat.added(object{name: name, gen: c.gen, info: info})
	if level == 0 {
		c.mu.Lock()
		c.uploaded = max(c.uploaded, maxTXID)
		c.mu.Unlock()
	}
	return &info, nil
}

// DeleteLTXFiles deletes every copy of each range that this or an earlier
// generation wrote, but only after confirming this generation is still
// current. Litestream deletes a file only after uploading what replaces
// it; the upload came before the confirmation, so a promoter that claimed
// after the confirmation lists the replacement and counts it.
func (c *client) DeleteLTXFiles(ctx context.Context, infos []*ltx.FileInfo) error {
	if len(infos) == 0 {
		return nil
	}
	if err := c.confirm(ctx); err != nil {
		return err
	}
	want := make(map[fileKey]bool, len(infos))
	for _, i := range infos {
		want[keyOf(*i)] = true
	}
	var objs []object
	for _, o := range c.cat.view().all {
		if want[keyOf(o.info)] && o.gen <= c.gen {
			objs = append(objs, o)
		}
	}
	return c.deleteObjects(ctx, objs)
}

func (c *client) deleteObjects(ctx context.Context, objs []object) error {
	for _, o := range objs {
		if err := c.cat.store.Delete(ctx, o.name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("wal: delete %s: %w", o.name, err)
		}
		c.cat.removed(o.name)
		c.purgeMarker(ctx, o.name)
	}
	return nil
}

// purgeMarker removes the delete marker the object store leaves for name.
// A watcher that had not seen the marker yet keeps the name until it
// fails to read it (see DB.forget); that is rare and heals itself, while
// markers kept forever would grow every listing without bound.
func (c *client) purgeMarker(ctx context.Context, name string) {
	if c.js == nil {
		return
	}
	if c.markers == nil {
		st, err := c.cat.store.Status(ctx)
		if err == nil {
			c.bucket = st.Bucket()
			c.markers, err = c.js.Stream(ctx, "OBJ_"+c.bucket)
		}
		if err != nil {
			c.log.Debug("wal: cannot purge delete markers", "err", err)
			return
		}
	}
	subj := "$O." + c.bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(name))
	if err := c.markers.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		c.log.Debug("wal: cannot purge a delete marker", "object", name, "err", err)
	}
}

// DeleteAll is refused: wiping the replica is not a writer's business.
func (c *client) DeleteAll(context.Context) error {
	return errors.New("wal: deleting the whole replica is not supported")
}

// confirm proves this generation is still current at this moment by
// rewriting the record over the revision it last saw. A read could be
// served by a lagging replica of the bucket; a compare-and-set cannot
// succeed over a revision that is not the last.
func (c *client) confirm(ctx context.Context) error {
	c.confirmMu.Lock()
	defer c.confirmMu.Unlock()
	for {
		rec, rev := c.cat.record()
		if !rec.current(c.gen) {
			c.fenced()
			return ErrFenced
		}
		nrev, err := c.cat.fs.write(ctx, rec, rev)
		if err == nil {
			c.cat.setRecord(rec, nrev)
			return nil
		}
		if !isConflict(err) {
			return fmt.Errorf("wal: confirm generation %d: %w", c.gen, err)
		}
		if err := c.reread(ctx); err != nil {
			return err
		}
	}
}

// reread fetches the record after a lost compare-and-set.
func (c *client) reread(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("wal: confirm generation %d: %w", c.gen, ctx.Err())
	case <-time.After(casRetry):
	}
	rec, rev, err := c.cat.fs.read(ctx)
	if err != nil {
		return err
	}
	c.cat.setRecord(rec, rev)
	return nil
}

// trim drops the oldest generations that have no objects left (never the
// last one). Only a prefix goes: a generation's boundary depends on the
// generations after it, so removing one from the middle could revive a
// fenced writer's files.
func (c *client) trim(ctx context.Context, empty func(gen uint64) bool) error {
	c.confirmMu.Lock()
	defer c.confirmMu.Unlock()
	rec, rev := c.cat.record()
	if !rec.current(c.gen) {
		c.fenced()
		return ErrFenced
	}
	n := 0
	for n < len(rec.Gens)-1 && empty(rec.Gens[n].Gen) {
		n++
	}
	if n == 0 {
		return nil
	}
	next := fence{Gens: append([]generation(nil), rec.Gens[n:]...)}
	nrev, err := c.cat.fs.write(ctx, next, rev)
	if err != nil {
		if isConflict(err) {
			return c.reread(ctx) // try again next time
		}
		return fmt.Errorf("wal: trim fence: %w", err)
	}
	c.cat.setRecord(next, nrev)
	c.log.Info("wal: trimmed generations without files from the fence record", "generations", n)
	return nil
}
