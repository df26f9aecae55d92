package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/wal"
)

// SnapshotReply is what an active answers to a snapshot request: the
// snapshot, or why it could not take one.
type SnapshotReply struct {
	Snapshot wal.SnapshotInfo `json:"snapshot"`
	Error    string           `json:"error,omitempty"`
}

// DBSnapshot asks app's active to snapshot its database now.
func (c *Client) DBSnapshot(ctx context.Context, app string) (wal.SnapshotInfo, error) {
	resp, err := c.nc.RequestWithContext(ctx, c.layout.DBSnapshotSubject(app), nil)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return wal.SnapshotInfo{}, fmt.Errorf("cannot snapshot %s: no active instance with a database answers (is it deployed with data.db? see `go-cluster status`): %w", app, abi.ErrUnavailable)
	case err != nil:
		return wal.SnapshotInfo{}, fmt.Errorf("cannot snapshot %s: %w", app, natsErr(err))
	}
	var rep SnapshotReply
	if err := json.Unmarshal(resp.Data, &rep); err != nil {
		return wal.SnapshotInfo{}, fmt.Errorf("cannot snapshot %s: bad answer: %w", app, err)
	}
	if rep.Error != "" {
		return wal.SnapshotInfo{}, fmt.Errorf("cannot snapshot %s: %s: %w", app, rep.Error, abi.ErrUnavailable)
	}
	return rep.Snapshot, nil
}

// dbReplica opens app's database replica and the fence bucket.
func (c *Client) dbReplica(ctx context.Context, app string) (jetstream.ObjectStore, jetstream.KeyValue, error) {
	store, err := c.js.ObjectStore(ctx, c.layout.AppDBStore(app))
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil, fmt.Errorf("%s has no database on this platform (deploy it with data.db first): %w", app, abi.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the database replica of %s: %w", app, natsErr(err))
	}
	fences, err := c.bucket(ctx, c.layout.WALBucket())
	if err != nil {
		return nil, nil, err
	}
	return store, fences, nil
}

// DBSnapshots lists the snapshots in app's database replica, oldest first.
func (c *Client) DBSnapshots(ctx context.Context, app string) ([]wal.SnapshotInfo, error) {
	store, fences, err := c.dbReplica(ctx, app)
	if err != nil {
		return nil, err
	}
	return wal.Snapshots(ctx, store, fences, app)
}

// DBExport writes app's database as a plain SQLite file: the replica's
// latest state, or the snapshot with TXID snapshot when it is not zero.
func (c *Client) DBExport(ctx context.Context, app string, snapshot uint64, w io.Writer) error {
	store, fences, err := c.dbReplica(ctx, app)
	if err != nil {
		return err
	}
	var at wal.SnapshotInfo
	if snapshot != 0 {
		snaps, err := wal.Snapshots(ctx, store, fences, app)
		if err != nil {
			return err
		}
		found := false
		for _, s := range snaps {
			if s.TXID == snapshot {
				at, found = s, true
			}
		}
		if !found {
			return fmt.Errorf("%s has no snapshot at TXID %d (`go-cluster db snapshots %s` lists them): %w", app, snapshot, app, abi.ErrNotFound)
		}
	}
	return wal.Export(ctx, store, fences, app, at, w)
}

// DBRestore makes the SQLite database read from r app's database: a new
// generation of its replica. The active is fenced by it and asked to step
// down, so the next active starts from the restored state.
func (c *Client) DBRestore(ctx context.Context, app string, r io.Reader) (wal.SnapshotInfo, error) {
	store, fences, err := c.dbReplica(ctx, app)
	if err != nil {
		return wal.SnapshotInfo{}, err
	}
	info, err := wal.Import(ctx, store, fences, app, r)
	if err != nil {
		return wal.SnapshotInfo{}, fmt.Errorf("cannot restore the database of %s: %w", app, err)
	}
	if _, err := c.Stepdown(ctx, app); err != nil && !errors.Is(err, abi.ErrUnavailable) && !errors.Is(err, abi.ErrNotFound) {
		return info, fmt.Errorf("restored, but the active did not step down (its next write will make it): %w", err)
	}
	return info, nil
}
