package wal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// generation is one term of writing, as the fence record keeps it.
type generation struct {
	Gen   uint64 `json:"gen"`
	Token uint64 `json:"token"`
	// First is the first TXID the generation may write; zero while the
	// generation is pending (claimed, not yet caught up). For a reset
	// generation it is the TXID of the snapshot that starts it.
	First uint64    `json:"first,omitempty"`
	Reset bool      `json:"reset,omitempty"`
	Time  time.Time `json:"time"`
}

func (g generation) pending() bool { return g.First == 0 }

// fence is the record at FenceKey: generations in increasing order. It
// only grows at the end (a claim) and shrinks at the front (a trim of
// generations whose files are gone), always by compare-and-set.
type fence struct {
	Gens []generation
}

// fenceVersion is the encoding's version; a reader refuses others rather
// than misread who may write.
const fenceVersion = 1

// maxGens bounds a decoded record; failed promotions each leave one entry
// until the next writer trims them.
const maxGens = 4096

type fenceJSON struct {
	V    int          `json:"v"`
	Gens []generation `json:"gens"`
}

func (f fence) encode() []byte {
	b, err := json.Marshal(fenceJSON{V: fenceVersion, Gens: f.Gens})
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return b
}

// decodeFence reads a record; empty input is the empty record (no key, or
// a deleted one).
func decodeFence(b []byte) (fence, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return fence{}, nil
	}
	var j fenceJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fence{}, fmt.Errorf("wal: malformed fence record: %w", err)
	}
	if j.V != fenceVersion {
		return fence{}, fmt.Errorf("wal: fence record version %d, want %d", j.V, fenceVersion)
	}
	f := fence{Gens: j.Gens}
	if err := f.check(); err != nil {
		return fence{}, err
	}
	return f, nil
}

// check enforces what the protocol guarantees, so a damaged record stops
// everyone instead of letting stale files count.
func (f fence) check() error {
	if len(f.Gens) > maxGens {
		return fmt.Errorf("wal: fence record has %d generations, at most %d", len(f.Gens), maxGens)
	}
	var prev, first uint64
	for _, g := range f.Gens {
		if g.Gen == 0 || g.Gen <= prev {
			return fmt.Errorf("wal: fence record: generation %d after %d", g.Gen, prev)
		}
		if !g.pending() && g.First < first {
			return fmt.Errorf("wal: fence record: generation %d starts at TXID %d, before %d", g.Gen, g.First, first)
		}
		if !g.pending() {
			first = g.First
		}
		prev = g.Gen
	}
	return nil
}

func (f fence) index(gen uint64) int {
	for i, g := range f.Gens {
		if g.Gen == gen {
			return i
		}
	}
	return -1
}

func (f fence) lastGen() uint64 {
	if len(f.Gens) == 0 {
		return 0
	}
	return f.Gens[len(f.Gens)-1].Gen
}

// maxFirst is the highest first TXID of a finalized generation.
func (f fence) maxFirst() uint64 {
	var t uint64
	for _, g := range f.Gens {
		t = max(t, g.First)
	}
	return t
}

func (f fence) maxToken() uint64 {
	var t uint64
	for _, g := range f.Gens {
		t = max(t, g.Token)
	}
	return t
}

// current reports whether gen may write: it is the last generation and
// no longer pending.
func (f fence) current(gen uint64) bool {
	n := len(f.Gens)
	return n > 0 && f.Gens[n-1].Gen == gen && !f.Gens[n-1].pending()
}

// baseIndex is the newest finalized reset; generations before it are void.
func (f fence) baseIndex() int {
	for i := len(f.Gens) - 1; i >= 0; i-- {
		if f.Gens[i].Reset && !f.Gens[i].pending() {
			return i
		}
	}
	return -1
}

// base names the lineage a local copy descends from: the newest finalized
// reset generation, or 0.
func (f fence) base() uint64 {
	if i := f.baseIndex(); i >= 0 {
		return f.Gens[i].Gen
	}
	return 0
}

// boundary is the first TXID that generation i may not have written: the
// First of the next finalized generation. Pending generations in between
// never wrote (a writer writes only once finalized) and cannot be
// finalized later (only the last one can), so they do not count; once a
// finalized successor exists the boundary never changes again.
func (f fence) boundary(i int) (uint64, bool) {
	for _, g := range f.Gens[i+1:] {
		if !g.pending() {
			return g.First, true
		}
	}
	return 0, false
}

// valid is the fencing rule: a file of generation gen ending at maxTXID
// counts only if gen is a finalized generation of the record, not voided
// by a later reset, and the file ends before the next generation began.
// A former writer that keeps uploading after it was fenced produces files
// that fail the last test, whatever their names.
func (f fence) valid(gen, maxTXID uint64) bool {
	i := f.index(gen)
	if i < 0 || f.Gens[i].pending() || i < f.baseIndex() {
		return false
	}
	b, ok := f.boundary(i)
	return !ok || maxTXID < b
}

// sealed reports whether gen's validity can no longer change: it has a
// finalized successor.
func (f fence) sealed(gen uint64) bool {
	i := f.index(gen)
	if i < 0 {
		return false
	}
	_, ok := f.boundary(i)
	return ok
}

// with returns a copy of f with g appended.
func (f fence) with(g generation) fence {
	return fence{Gens: append(append([]generation(nil), f.Gens...), g)}
}

// fenceStore reads and writes the record at one key.
type fenceStore struct {
	kv  jetstream.KeyValue
	key string
}

// read returns the record and its revision; 0 when there is no key.
func (s fenceStore) read(ctx context.Context) (fence, uint64, error) {
	e, err := s.kv.Get(ctx, s.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fence{}, 0, nil
	}
	if err != nil {
		return fence{}, 0, fmt.Errorf("wal: read fence %s: %w", s.key, err)
	}
	f, err := decodeFence(e.Value())
	return f, e.Revision(), err
}

// write stores f over revision rev (0: the key must not exist).
func (s fenceStore) write(ctx context.Context, f fence, rev uint64) (uint64, error) {
	if rev == 0 {
		return s.kv.Create(ctx, s.key, f.encode())
	}
	return s.kv.Update(ctx, s.key, f.encode(), rev)
}

func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) &&
		(api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// casRetry is the pause after a lost compare-and-set; a read served by a
// lagging replica needs a moment to catch up.
const casRetry = 20 * time.Millisecond

// update applies change to the record by compare-and-set until it sticks.
// change returns the new record, or an error to give up with.
func (s fenceStore) update(ctx context.Context, change func(fence) (fence, error)) (fence, uint64, error) {
	for {
		f, rev, err := s.read(ctx)
		if err != nil {
			return fence{}, 0, err
		}
		next, err := change(f)
		if err == nil {
			err = next.check() // never store a record that readers refuse
		}
		if err != nil {
			return fence{}, 0, err
		}
		nrev, err := s.write(ctx, next, rev)
		if err == nil {
			return next, nrev, nil
		}
		if !isConflict(err) {
			return fence{}, 0, fmt.Errorf("wal: write fence %s: %w", s.key, err)
		}
		select {
		case <-ctx.Done():
			return fence{}, 0, fmt.Errorf("wal: write fence %s: %w", s.key, ctx.Err())
		case <-time.After(casRetry):
		}
	}
}

// claim appends a pending generation numbered above both the record and
// minGen (the highest generation seen among the replica's objects, in case
// the record was lost). From this write on, the former writer's checks
// fail. A writer's claim carries its lease token and is refused if the
// record holds a newer one; a reset (import) carries the newest token, so
// the lease holder of that term can promote again.
func (s fenceStore) claim(ctx context.Context, token uint64, reset bool, minGen uint64) (uint64, error) {
	var gen uint64
	_, _, err := s.update(ctx, func(f fence) (fence, error) {
		if !reset && token < f.maxToken() {
			return f, fmt.Errorf("%w: token %d is older than token %d in the fence record", ErrFenced, token, f.maxToken())
		}
		t := token
		if reset {
			t = f.maxToken()
		}
		gen = max(f.lastGen(), minGen) + 1
		return f.with(generation{Gen: gen, Token: t, Reset: reset, Time: time.Now().UTC()}), nil
	})
	return gen, err
}

// finalize sets gen's first TXID, which fixes the boundary of every
// earlier generation. Only the last generation may be finalized: if
// another claim came after gen, gen is void and ErrFenced is returned.
func (s fenceStore) finalize(ctx context.Context, gen, first uint64) (fence, uint64, error) {
	return s.update(ctx, func(f fence) (fence, error) {
		i := f.index(gen)
		if i < 0 || i != len(f.Gens)-1 {
			return f, fmt.Errorf("%w: generation %d was superseded before it started", ErrFenced, gen)
		}
		next := fence{Gens: append([]generation(nil), f.Gens...)}
		next.Gens[i].First = first
		next.Gens[i].Time = time.Now().UTC()
		return next, nil
	})
}
