package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/layout"
	"github.com/ozanturksever/go-cluster/manifest"
)

// Deployment is one version of an app: what a deploy or rollback recorded.
type Deployment struct {
	App      string
	Revision uint64 // grows with every deploy, rollback and undeploy of the app
	Version  string // the manifest's version
	Digest   string // sha256 of the module, hex
	Size     int64  // module bytes
	Manifest *manifest.Manifest
	At       time.Time
	Reason   string // "deploy" or "rollback to VERSION (revision N)"
}

// record is a Deployment as stored; the revision is the KV's.
type record struct {
	App      string          `json:"app"`
	Version  string          `json:"version"`
	Digest   string          `json:"digest"`
	Size     int64           `json:"size"`
	Manifest json.RawMessage `json:"manifest"`
	At       time.Time       `json:"at"`
	Reason   string          `json:"reason"`
}

func (d *Deployment) encode() ([]byte, error) {
	m, err := d.Manifest.JSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(record{d.App, d.Version, d.Digest, d.Size, m, d.At, d.Reason})
}

func decode(e jetstream.KeyValueEntry) (*Deployment, error) {
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, fmt.Errorf("cannot decode deployment %s revision %d: %w", e.Key(), e.Revision(), err)
	}
	m, err := manifest.ParseJSON(rec.Manifest)
	if err != nil {
		return nil, fmt.Errorf("cannot decode deployment %s revision %d: %w", e.Key(), e.Revision(), err)
	}
	return &Deployment{App: rec.App, Revision: e.Revision(), Version: rec.Version, Digest: rec.Digest,
		Size: rec.Size, Manifest: m, At: rec.At, Reason: rec.Reason}, nil
}

// Digest returns the content address of a module.
func Digest(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return hex.EncodeToString(sum[:])
}

// Progress is told how a long operation advances; done of total bytes.
type Progress func(stage string, done, total int64)

// Deploy stores the module (once per digest) and records m as the app's
// current deployment. The record is written last, in one compare-and-set,
// so a failure at any point leaves the previous deployment current. A
// deploy identical to the current one changes nothing and returns it.
func (r *Registry) Deploy(ctx context.Context, m *manifest.Manifest, wasm []byte, progress Progress) (*Deployment, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("cannot deploy: %w", err)
	}
	d := &Deployment{App: m.Name, Version: m.Version, Digest: Digest(wasm), Size: int64(len(wasm)),
		Manifest: m, At: time.Now().UTC(), Reason: "deploy"}
	if err := r.putWasm(ctx, d.Digest, wasm, progress); err != nil {
		return nil, err
	}
	cur, rev, err := r.current(ctx, m.Name)
	if err != nil && !errors.Is(err, abi.ErrNotFound) {
		return nil, fmt.Errorf("cannot deploy %s: %w", m.Name, err)
	}
	if cur != nil && same(cur, d) {
		return cur, nil
	}
	return r.write(ctx, d, rev)
}

func same(a, b *Deployment) bool {
	ma, err1 := a.Manifest.JSON()
	mb, err2 := b.Manifest.JSON()
	return err1 == nil && err2 == nil && a.Digest == b.Digest && bytes.Equal(ma, mb)
}

// write records d over revision rev (0: the key must not exist or be deleted).
func (r *Registry) write(ctx context.Context, d *Deployment, rev uint64) (*Deployment, error) {
	val, err := d.encode()
	if err != nil {
		return nil, fmt.Errorf("cannot encode deployment of %s: %w", d.App, err)
	}
	key := layout.DeployKey(d.App)
	if rev == 0 {
		d.Revision, err = r.apps.Create(ctx, key, val)
	} else {
		d.Revision, err = r.apps.Update(ctx, key, val, rev)
	}
	if err != nil {
		err = natsErr(err)
		if errors.Is(err, abi.ErrConflict) {
			return nil, fmt.Errorf("cannot record deployment of %s: it changed meanwhile, run the command again: %w", d.App, err)
		}
		return nil, fmt.Errorf("cannot record deployment of %s: %w", d.App, err)
	}
	return d, nil
}

func (r *Registry) putWasm(ctx context.Context, digest string, wasm []byte, progress Progress) error {
	total := int64(len(wasm))
	if _, err := r.wasm.GetInfo(ctx, digest); err == nil {
		if progress != nil {
			progress("module already stored", total, total)
		}
		return nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("cannot look up module %s: %w", short(digest), natsErr(err))
	}
	var rd io.Reader = bytes.NewReader(wasm)
	if progress != nil {
		rd = &progressReader{r: rd, total: total, progress: progress}
	}
	if _, err := r.wasm.Put(ctx, jetstream.ObjectMeta{Name: digest, Description: "wasm module"}, rd); err != nil {
		return fmt.Errorf("cannot upload module %s: %w", short(digest), natsErr(err))
	}
	return nil
}

type progressReader struct {
	r        io.Reader
	done     int64
	total    int64
	progress Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if n > 0 {
		p.progress("uploading module", p.done, p.total)
	}
	return n, err
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// Wasm returns a module's bytes, checked against its digest.
func (r *Registry) Wasm(ctx context.Context, digest string) ([]byte, error) {
	b, err := r.wasm.GetBytes(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch module %s: %w", short(digest), natsErr(err))
	}
	if Digest(b) != digest {
		return nil, fmt.Errorf("cannot fetch module %s: content does not match its digest: %w", short(digest), abi.ErrInternal)
	}
	return b, nil
}

// Current returns the app's current deployment; abi.ErrNotFound when the
// app is not deployed.
func (r *Registry) Current(ctx context.Context, app string) (*Deployment, error) {
	d, _, err := r.current(ctx, app)
	return d, err
}

// current also returns the revision to update over: the deployment's, or
// 0 when the key is absent or deleted.
func (r *Registry) current(ctx context.Context, app string) (*Deployment, uint64, error) {
	e, err := r.apps.Get(ctx, layout.DeployKey(app))
	if err != nil {
		return nil, 0, fmt.Errorf("app %s is not deployed: %w", app, natsErr(err))
	}
	d, err := decode(e)
	return d, e.Revision(), err
}

// Undeploy removes the app's current deployment; its history stays for
// rollback.
func (r *Registry) Undeploy(ctx context.Context, app string) error {
	_, rev, err := r.current(ctx, app)
	if err != nil {
		return fmt.Errorf("cannot undeploy: %w", err)
	}
	if err := r.apps.Delete(ctx, layout.DeployKey(app), jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("cannot undeploy %s: %w", app, natsErr(err))
	}
	return nil
}

// History returns the app's deployments, oldest first.
func (r *Registry) History(ctx context.Context, app string) ([]*Deployment, error) {
	entries, err := r.apps.History(ctx, layout.DeployKey(app))
	if err != nil {
		return nil, fmt.Errorf("cannot read history of %s: %w", app, natsErr(err))
	}
	var out []*Deployment
	for _, e := range entries {
		if e.Operation() != jetstream.KeyValuePut {
			continue
		}
		d, err := decode(e)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Rollback makes an earlier deployment current again, as a new revision.
// With version "", it goes to the deployment before the current one (or,
// for an undeployed app, the last one it had); otherwise to the latest
// deployment of that manifest version.
func (r *Registry) Rollback(ctx context.Context, app, version string) (*Deployment, error) {
	hist, err := r.History(ctx, app)
	if err != nil {
		return nil, fmt.Errorf("cannot roll back: %w", err)
	}
	cur, rev, err := r.current(ctx, app)
	if err != nil && !errors.Is(err, abi.ErrNotFound) {
		return nil, fmt.Errorf("cannot roll back %s: %w", app, err)
	}
	target, err := pickRollback(hist, cur, version)
	if err != nil {
		return nil, fmt.Errorf("cannot roll back %s: %w", app, err)
	}
	if _, err := r.wasm.GetInfo(ctx, target.Digest); err != nil {
		return nil, fmt.Errorf("cannot roll back %s: module %s of version %s: %w", app, short(target.Digest), target.Version, natsErr(err))
	}
	d := *target
	d.At = time.Now().UTC()
	d.Reason = fmt.Sprintf("rollback to %s (revision %d)", target.Version, target.Revision)
	return r.write(ctx, &d, rev)
}

func pickRollback(hist []*Deployment, cur *Deployment, version string) (*Deployment, error) {
	for i := len(hist) - 1; i >= 0; i-- {
		d := hist[i]
		if cur != nil && d.Revision >= cur.Revision {
			continue
		}
		if version == "" && cur != nil && same(d, cur) {
			continue
		}
		if version == "" || d.Version == version {
			return d, nil
		}
	}
	if version != "" {
		return nil, fmt.Errorf("no earlier deployment of version %s in the last %d (see `go-cluster history APP`): %w", version, History, abi.ErrNotFound)
	}
	return nil, fmt.Errorf("no earlier deployment to roll back to: %w", abi.ErrNotFound)
}

// List returns every app's current deployment, sorted by app.
func (r *Registry) List(ctx context.Context) ([]*Deployment, error) {
	var out []*Deployment
	err := r.scan(ctx, r.apps, layout.DeployWatch, func(e jetstream.KeyValueEntry) error {
		d, err := decode(e)
		if err == nil {
			out = append(out, d)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list apps: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out, nil
}

// scan calls fn with the current value of every key matching filter.
func (r *Registry) scan(ctx context.Context, kv jetstream.KeyValue, filter string, fn func(jetstream.KeyValueEntry) error) error {
	w, err := kv.WatchFiltered(ctx, []string{filter}, jetstream.IgnoreDeletes())
	if err != nil {
		return natsErr(err)
	}
	defer w.Stop()
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return nil
			}
			if err := fn(e); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
