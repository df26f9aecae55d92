package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/layout"
)

// ErrWatchStopped is a watch whose underlying subscription ended.
var ErrWatchStopped = errors.New("deployment watch stopped")

// Change is one event of a deployment watch.
type Change struct {
	App string
	// Deployment is the app's new current deployment; nil when the app was
	// undeployed.
	Deployment *Deployment
	// Err is set for a record that cannot be decoded; the app's previous
	// state should stay as it is.
	Err error
	// Synced marks the end of the initial state: every app deployed when
	// the watch began has been sent. App and Deployment are empty.
	Synced bool
}

// Watcher follows deployments. Threading: one goroutine calls Next.
type Watcher struct {
	w jetstream.KeyWatcher
}

// Watch starts following deployments: first the current one of every app,
// then a Synced change, then every change as it happens.
func (r *Registry) Watch(ctx context.Context) (*Watcher, error) {
	w, err := r.apps.WatchFiltered(ctx, []string{layout.DeployWatch})
	if err != nil {
		return nil, fmt.Errorf("cannot watch deployments: %w", natsErr(err))
	}
	return &Watcher{w: w}, nil
}

// Next blocks for the next change.
func (w *Watcher) Next(ctx context.Context) (Change, error) {
	select {
	case e, ok := <-w.w.Updates():
		if !ok {
			return Change{}, ErrWatchStopped
		}
		if e == nil {
			return Change{Synced: true}, nil
		}
		app, _ := layout.AppOfDeployKey(e.Key())
		if e.Operation() != jetstream.KeyValuePut {
			return Change{App: app}, nil
		}
		d, err := decode(e)
		return Change{App: app, Deployment: d, Err: err}, nil
	case <-ctx.Done():
		return Change{}, ctx.Err()
	}
}

// Stop ends the watch.
func (w *Watcher) Stop() error { return w.w.Stop() }

// Report records how app runs on node.
func (r *Registry) Report(ctx context.Context, st Status) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if _, err := r.status.Put(ctx, layout.StatusKey(st.App, st.Node), b); err != nil {
		return fmt.Errorf("cannot report status of %s on %s: %w", st.App, st.Node, natsErr(err))
	}
	return nil
}

// ClearReport removes node's report on app.
func (r *Registry) ClearReport(ctx context.Context, app, node string) error {
	if err := r.status.Delete(ctx, layout.StatusKey(app, node)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cannot clear status of %s on %s: %w", app, node, natsErr(err))
	}
	return nil
}

// Reports returns every node's report on every app, sorted by app then node.
func (r *Registry) Reports(ctx context.Context) ([]Status, error) {
	var out []Status
	err := r.scan(ctx, r.status, ">", func(e jetstream.KeyValueEntry) error {
		var st Status
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			return fmt.Errorf("cannot decode status %s: %w", e.Key(), err)
		}
		out = append(out, st)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list app status: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].App != out[j].App {
			return out[i].App < out[j].App
		}
		return out[i].Node < out[j].Node
	})
	return out, nil
}
