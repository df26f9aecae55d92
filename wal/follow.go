package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/superfly/ltx"
)

// localState is what the local copy holds. It is owned by whoever runs
// catch-ups: the follower goroutine, or the holder of DB.mu while the
// follower is stopped.
type localState struct {
	exists bool   // a copy is in place
	txid   uint64 // the replica TXID it is at
	base   uint64 // the reset generation it descends from
	// applied maps each generation whose files went into the copy to the
	// highest TXID used from it. A file applied before its generation's
	// boundary was known (a former writer uploading while a promotion was
	// under way) may turn out void; the copy is then rebuilt.
	applied map[uint64]uint64
}

// stale reports whether the copy cannot be brought forward by applying
// files: none yet, another lineage (an import), a void file in it, or a
// replica that no longer reaches as far as the copy.
func (l *localState) stale(rec fence, tip uint64) bool {
	if !l.exists || l.base != rec.base() || tip < l.txid {
		return true
	}
	for gen, txid := range l.applied {
		if !rec.valid(gen, txid) {
			return true
		}
	}
	return false
}

// prune forgets generations whose validity can no longer change, so that
// trimming them from the record later does not look like a void file.
func (l *localState) prune(rec fence) {
	for gen, txid := range l.applied {
		if rec.sealed(gen) && rec.valid(gen, txid) {
			delete(l.applied, gen)
		}
	}
}

func (l *localState) use(gen, txid uint64) {
	if l.applied == nil {
		l.applied = make(map[uint64]uint64)
	}
	l.applied[gen] = max(l.applied[gen], txid)
	l.txid = max(l.txid, txid)
}

// catchUp brings the local copy to the newest state v knows: by applying
// files when it can, by a full restore when it must.
func (d *DB) catchUp(ctx context.Context, v *view) error {
	var err error
	if d.local.stale(v.rec, v.tip()) {
		err = d.restore(ctx, v)
	} else {
		err = d.advance(ctx, v)
	}
	if err != nil {
		return err
	}
	d.local.prune(v.rec)
	d.st.caughtUp(d.local.txid, v.tip())
	return nil
}

// restore replaces the local copy with a full restore.
func (d *DB) restore(ctx context.Context, v *view) error {
	tmp := d.cfg.Path + ".restore"
	b, err := buildFile(ctx, v, tmp)
	if err != nil {
		return err
	}
	d.local.exists = false
	err = d.withLocalFile(func() error {
		removeSidecars(d.cfg.Path)
		return os.Rename(tmp, d.cfg.Path)
	})
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d.local = localState{exists: true, txid: b.txid, base: v.rec.base(), applied: b.applied}
	d.log.Debug("wal: restored the local copy", "txid", b.txid)
	return nil
}

// applyBatch bounds how many files are downloaded before they are applied
// under one pause of the readers.
const applyBatch = 32

// advance applies valid files on top of the copy until none follows. A
// replica that reaches further than the files can bridge (its history
// was compacted past the copy's position) is restored instead.
func (d *DB) advance(ctx context.Context, v *view) error {
	for {
		var batch []ltx.FileInfo
		for cur := d.local.txid; len(batch) < applyBatch; {
			f, ok := v.next(cur)
			if !ok {
				break
			}
			batch = append(batch, f)
			cur = uint64(f.MaxTXID)
		}
		if len(batch) == 0 {
			break
		}
		if err := d.applyFiles(ctx, v, batch); err != nil {
			return err
		}
	}
	if v.tip() > d.local.txid {
		return d.restore(ctx, v)
	}
	return nil
}

// applyFiles downloads files, then applies them with the readers paused.
func (d *DB) applyFiles(ctx context.Context, v *view, files []ltx.FileInfo) error {
	dir, err := os.MkdirTemp(filepath.Dir(d.cfg.Path), ".wal-apply-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	paths, err := fetchAll(ctx, v, files, dir)
	if err != nil {
		return err
	}
	err = d.withLocalFile(func() error {
		for i, info := range files {
			if err := applyFile(d.cfg.Path, paths[i]); err != nil {
				d.local.exists = false // half applied: rebuild next time
				return err
			}
			d.local.use(v.genOf(info), uint64(info.MaxTXID))
		}
		return nil
	})
	return err
}

// forget drops a file the catalog lists but the store no longer has, and
// looks again at once.
func (d *DB) forget(err error) {
	var m *missingError
	if errors.As(err, &m) {
		d.cat.removed(m.name)
		d.cat.kick()
	}
}

// fetchers bounds the downloads a standby runs at once: a busy writer
// under Sync makes one small file per commit, and fetching them one by
// one would be bound by round trips.
const fetchers = 4

// fetchAll downloads files into dir, a few at a time.
func fetchAll(ctx context.Context, v *view, files []ltx.FileInfo, dir string) ([]string, error) {
	paths := make([]string, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, fetchers)
	var wg sync.WaitGroup
	for i, info := range files {
		paths[i] = filepath.Join(dir, fmt.Sprint(i))
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f, err := fetch(ctx, v, info, paths[i])
			if err == nil {
				f.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// follower runs catch-ups in the background while the DB is a standby.
type follower struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (d *DB) startFollower() {
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{cancel: cancel, done: make(chan struct{})}
	d.follow = f
	go func() {
		defer close(f.done)
		d.followLoop(ctx)
	}()
}

func (d *DB) stopFollower() {
	if f := d.follow; f != nil {
		f.cancel()
		<-f.done
		d.follow = nil
	}
}

// followLoop catches up whenever the catalog sees a change, and every
// FollowInterval in case a change went unseen.
func (d *DB) followLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.FollowInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.cat.changed:
		case <-tick.C:
		}
		if !d.cat.ready() {
			continue
		}
		if err := d.catchUp(ctx, d.cat.view()); err != nil && ctx.Err() == nil {
			d.forget(err)
			d.st.failed(err)
			d.log.Debug("wal: following the replica failed; trying again", "err", err)
		}
	}
}
