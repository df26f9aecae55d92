package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/superfly/ltx"
)

// headerTimestamp carries an LTX file's own timestamp in the object's
// headers (as the stock Litestream NATS client does), so listing gives
// exact creation times without reading files.
const headerTimestamp = "Litestream-Timestamp"

// clientType is what our ReplicaClient reports as its type.
const clientType = "gocluster-nats"

// objectName is where an LTX file of generation gen lives: the generation
// is part of the name, so two writers never write the same object.
func objectName(gen uint64, level int, minTXID, maxTXID ltx.TXID) string {
	return "g" + strconv.FormatUint(gen, 10) + "/" + strconv.Itoa(level) + "/" + ltx.FormatFilename(minTXID, maxTXID)
}

// parseObjectName reverses objectName; anything else in the bucket is not
// ours and is ignored.
func parseObjectName(name string) (gen uint64, level int, minTXID, maxTXID ltx.TXID, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || len(parts[0]) < 2 || parts[0][0] != 'g' {
		return 0, 0, 0, 0, false
	}
	gen, err := strconv.ParseUint(parts[0][1:], 10, 64)
	if err != nil || gen == 0 {
		return 0, 0, 0, 0, false
	}
	level, err = strconv.Atoi(parts[1])
	if err != nil || level < 0 || level > litestream.SnapshotLevel || strconv.Itoa(level) != parts[1] {
		return 0, 0, 0, 0, false
	}
	minTXID, maxTXID, err = ltx.ParseFilename(parts[2])
	if err != nil || minTXID == 0 || minTXID > maxTXID || ltx.FormatFilename(minTXID, maxTXID) != parts[2] {
		return 0, 0, 0, 0, false
	}
	return gen, level, minTXID, maxTXID, true
}

// object is one LTX file in the replica.
type object struct {
	name string
	gen  uint64
	info ltx.FileInfo
}

func objectFromInfo(oi *jetstream.ObjectInfo) (object, bool) {
	gen, level, minTXID, maxTXID, ok := parseObjectName(oi.Name)
	if !ok || oi.Deleted {
		return object{}, false
	}
	created := oi.ModTime
	if v := oi.Headers.Get(headerTimestamp); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			created = t
		}
	}
	return object{name: oi.Name, gen: gen, info: ltx.FileInfo{
		Level: level, MinTXID: minTXID, MaxTXID: maxTXID,
		Size: int64(oi.Size), CreatedAt: created.UTC(),
	}}, true
}

type fileKey struct {
	level            int
	minTXID, maxTXID ltx.TXID
}

func keyOf(i ltx.FileInfo) fileKey { return fileKey{i.Level, i.MinTXID, i.MaxTXID} }

// view is the replica as one fence record judges it: the valid files, one
// object per TXID range. It is a read-only litestream.ReplicaClient, so
// Litestream's restore planning runs over valid files only.
type view struct {
	store  jetstream.ObjectStore
	rec    fence
	all    []object
	levels [litestream.SnapshotLevel + 1][]ltx.FileInfo
	pick   map[fileKey]object
	log    *slog.Logger
}

var _ litestream.ReplicaClient = (*view)(nil)

func newView(store jetstream.ObjectStore, rec fence, objs []object, log *slog.Logger) *view {
	v := &view{store: store, rec: rec, all: objs, pick: make(map[fileKey]object), log: log}
	for _, o := range objs {
		if !rec.valid(o.gen, uint64(o.info.MaxTXID)) {
			continue
		}
		// Two valid copies of one range hold the same pages; the newer
		// generation's is kept.
		k := keyOf(o.info)
		if prev, ok := v.pick[k]; !ok || o.gen > prev.gen {
			v.pick[k] = o
		}
	}
	for _, o := range v.pick {
		v.levels[o.info.Level] = append(v.levels[o.info.Level], o.info)
	}
	for l := range v.levels {
		slices.SortFunc(v.levels[l], func(a, b ltx.FileInfo) int {
			if a.MinTXID != b.MinTXID {
				return cmpTXID(a.MinTXID, b.MinTXID)
			}
			return cmpTXID(a.MaxTXID, b.MaxTXID)
		})
	}
	return v
}

func cmpTXID(a, b ltx.TXID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// listObjects reads every object of the store once, from its stream.
func listObjects(ctx context.Context, store jetstream.ObjectStore) ([]object, error) {
	infos, err := store.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wal: list replica: %w", err)
	}
	objs := make([]object, 0, len(infos))
	for _, oi := range infos {
		if o, ok := objectFromInfo(oi); ok {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// loadView lists the replica, then reads the record. In that order a file
// is judged by a record at least as new as the listing, so files of a
// generation that was fenced meanwhile are already void.
func loadView(ctx context.Context, store jetstream.ObjectStore, fs fenceStore, log *slog.Logger) (*view, error) {
	objs, err := listObjects(ctx, store)
	if err != nil {
		return nil, err
	}
	rec, _, err := fs.read(ctx)
	if err != nil {
		return nil, err
	}
	return newView(store, rec, objs, log), nil
}

func maxObjectGen(objs []object) uint64 {
	var g uint64
	for _, o := range objs {
		g = max(g, o.gen)
	}
	return g
}

// tip is the highest TXID any valid file reaches.
func (v *view) tip() uint64 {
	var t ltx.TXID
	for _, files := range v.levels {
		for _, f := range files {
			t = max(t, f.MaxTXID)
		}
	}
	return uint64(t)
}

// next picks the file to apply on top of a copy at TXID cur: one that
// starts at or before cur+1 and ends after cur, from the lowest level that
// has one (small incremental files before big compacted ones), reaching
// furthest within that level.
func (v *view) next(cur uint64) (ltx.FileInfo, bool) {
	for _, files := range v.levels {
		var best ltx.FileInfo
		found := false
		for _, f := range files {
			if uint64(f.MinTXID) <= cur+1 && uint64(f.MaxTXID) > cur && (!found || f.MaxTXID > best.MaxTXID) {
				best, found = f, true
			}
		}
		if found {
			return best, true
		}
	}
	return ltx.FileInfo{}, false
}

// genOf names the generation whose object holds a valid range.
func (v *view) genOf(info ltx.FileInfo) uint64 { return v.pick[keyOf(info)].gen }

func (v *view) Type() string                  { return clientType }
func (v *view) Init(context.Context) error    { return nil }
func (v *view) SetLogger(logger *slog.Logger) { v.log = logger }

func (v *view) LTXFiles(_ context.Context, level int, seek ltx.TXID, _ bool) (ltx.FileIterator, error) {
	if level < 0 || level >= len(v.levels) {
		return ltx.NewFileInfoSliceIterator(nil), nil
	}
	var out []*ltx.FileInfo
	for _, f := range v.levels[level] {
		if f.MinTXID >= seek {
			out = append(out, &f)
		}
	}
	return ltx.NewFileInfoSliceIterator(out), nil
}

func (v *view) OpenLTXFile(ctx context.Context, level int, minTXID, maxTXID ltx.TXID, offset, size int64) (io.ReadCloser, error) {
	o, ok := v.pick[fileKey{level, minTXID, maxTXID}]
	if !ok {
		return nil, os.ErrNotExist
	}
	return openObject(ctx, v.store, o.name, offset, size)
}

var errReadOnlyView = errors.New("wal: a replica view is read-only")

func (v *view) WriteLTXFile(context.Context, int, ltx.TXID, ltx.TXID, io.Reader) (*ltx.FileInfo, error) {
	return nil, errReadOnlyView
}
func (v *view) DeleteLTXFiles(context.Context, []*ltx.FileInfo) error { return errReadOnlyView }
func (v *view) DeleteAll(context.Context) error                       { return errReadOnlyView }

// openObject reads an object from offset, at most size bytes (0: to the
// end). A missing object is os.ErrNotExist, as Litestream expects.
func openObject(ctx context.Context, store jetstream.ObjectStore, name string, offset, size int64) (io.ReadCloser, error) {
	res, err := store.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, os.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("wal: get %s: %w", name, err)
	}
	if offset > 0 {
		if _, err := io.CopyN(io.Discard, res, offset); err != nil {
			res.Close()
			return nil, fmt.Errorf("wal: skip to %d in %s: %w", offset, name, err)
		}
	}
	if size > 0 {
		return limitedReadCloser{io.LimitReader(res, size), res}, nil
	}
	return res, nil
}

type limitedReadCloser struct {
	io.Reader
	io.Closer
}
