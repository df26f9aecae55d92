package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/plugins"
	"github.com/ozanturksever/go-cluster/registry"
)

// clientFlags are the flags every client command takes.
type clientFlags struct {
	url, platform string
	json          bool
	timeout       time.Duration
}

func addClientFlags(fs *flag.FlagSet, listing bool) *clientFlags {
	f := &clientFlags{}
	fs.StringVar(&f.url, "nats", "", "NATS URL (default $"+client.EnvURL+" or "+client.DefaultURL+")")
	fs.StringVar(&f.platform, "platform", "", "platform name (default \"default\")")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait")
	if listing {
		fs.BoolVar(&f.json, "json", false, "print JSON for scripts")
	}
	return f
}

func (f *clientFlags) connect(ctx context.Context) (*client.Client, error) {
	return client.Connect(ctx, client.Config{URL: client.URL(f.url), Platform: f.platform})
}

func runDeploy(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "deploy")
	cf := addClientFlags(fs, false)
	wait := fs.Bool("wait", true, "wait until a node serves the new deployment (or fails to)")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	m, wasm, err := manifest.Load(pos[0])
	if err != nil {
		return fmt.Errorf("%w (fix the manifest and deploy again)", err)
	}
	c, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, cf.timeout+time.Duration(len(wasm)>>20)*time.Second)
	defer cancel()
	d, err := c.Deploy(ctx, m, wasm, progressPrinter(e.stderr))
	if errors.Is(err, abi.ErrMissingExport) || errors.Is(err, abi.ErrNotAnApp) || errors.Is(err, abi.ErrUnknownVersion) || errors.Is(err, plugins.ErrNotWasm) {
		return fmt.Errorf("%w (rebuild it: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared, with the sdk)", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deployed %s %s as revision %d (module %s, %s)\n", d.App, d.Version, d.Revision, d.Digest[:12], bytesize(d.Size))
	if !*wait {
		return nil
	}
	return waitServing(ctx, e, c, d)
}

func progressPrinter(w io.Writer) registry.Progress {
	last := -1
	return func(stage string, done, total int64) {
		pct := 100
		if total > 0 {
			pct = int(done * 100 / total)
		}
		if pct/10 == last/10 && pct != 100 {
			return
		}
		last = pct
		fmt.Fprintf(w, "%s: %3d%% (%s of %s)\n", stage, pct, bytesize(done), bytesize(total))
	}
}

// waitServing polls the nodes' reports until one serves d or one failed.
func waitServing(ctx context.Context, e *env, c *client.Client, d *registry.Deployment) error {
	fmt.Fprintf(e.stderr, "waiting for a node to serve revision %d...\n", d.Revision)
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	reason := ""
	for {
		apps, err := c.Apps(ctx)
		if err == nil {
			for _, a := range apps {
				if a.Name != d.App || a.Revision != d.Revision {
					continue
				}
				reason = a.Reason
				switch a.Status {
				case "running":
					fmt.Fprintf(e.stdout, "%s is serving on %s (%d instances) after %s\n", d.App, nodeList(a), a.Instances, time.Since(start).Round(time.Millisecond))
					return nil
				case "failed":
					return fmt.Errorf("%s revision %d failed to start: %s (fix it and deploy again, or `go-cluster rollback %s`)", d.App, d.Revision, a.Error, d.App)
				}
			}
		}
		select {
		case <-ctx.Done():
			if reason != "" {
				return fmt.Errorf("no node serves %s revision %d yet: %s; it is recorded and starts once a node can run it (check `go-cluster status` and `go-cluster nodes`)", d.App, d.Revision, reason)
			}
			return fmt.Errorf("no node reported %s revision %d within the timeout; it is recorded and will start when a host sees it (check `go-cluster apps` and the hosts' logs)", d.App, d.Revision)
		case <-tick.C:
		}
	}
}

func nodeList(a client.App) string {
	var names []string
	for _, n := range a.Nodes {
		if n.Revision == a.Revision && n.State == registry.StateRunning {
			names = append(names, n.Node)
		}
	}
	return strings.Join(names, ",")
}

func runApps(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "apps")
	cf := addClientFlags(fs, true)
	c, _, ctx, cancel, err := connectFor(ctx, fs, cf, args, 0, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	apps, err := c.Apps(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(e.stdout, apps)
	}
	if len(apps) == 0 {
		fmt.Fprintln(e.stderr, "no apps deployed; deploy one with `go-cluster deploy app.yaml`")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tREVISION\tDIGEST\tSTATUS\tINSTANCES\tNODES")
	for _, a := range apps {
		status := a.Status
		if a.Error != "" {
			status += ": " + oneLine(a.Error, 80)
		}
		if a.Reason != "" {
			status += " (" + oneLine(a.Reason, 80) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", a.Name, a.Version, a.Revision, a.Digest[:12], status, a.Instances, nodeList(a))
	}
	return tw.Flush()
}

func runHistory(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "history")
	cf := addClientFlags(fs, true)
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	hist, err := c.Registry().History(ctx, pos[0])
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(e.stdout, hist)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REVISION\tVERSION\tDIGEST\tAT\tREASON")
	for _, d := range hist {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", d.Revision, d.Version, d.Digest[:12], d.At.Format(time.RFC3339), d.Reason)
	}
	return tw.Flush()
}

func runUndeploy(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "undeploy")
	cf := addClientFlags(fs, false)
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	if err := c.Registry().Undeploy(ctx, pos[0]); err != nil {
		if errors.Is(err, abi.ErrNotFound) {
			return fmt.Errorf("%w (`go-cluster apps` lists what is deployed)", err)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "undeployed %s; `go-cluster rollback %s` brings it back\n", pos[0], pos[0])
	return nil
}

func runRollback(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "rollback")
	cf := addClientFlags(fs, false)
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 2)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	version := ""
	if len(pos) == 2 {
		version = pos[1]
	}
	d, err := c.Registry().Rollback(ctx, pos[0], version)
	if err != nil {
		return fmt.Errorf("%w (`go-cluster history %s` lists its deployments)", err, pos[0])
	}
	fmt.Fprintf(e.stdout, "%s is back at %s (module %s) as revision %d\n", d.App, d.Version, d.Digest[:12], d.Revision)
	return waitServing(ctx, e, c, d)
}

func runCall(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "call")
	cf := addClientFlags(fs, false)
	key := fs.String("key", "", "the call's `KEY`: a ring app's call goes to the owner of the key's partition")
	pos, err := parse(fs, args, 2, 3)
	if err != nil {
		return err
	}
	var payload []byte
	if len(pos) == 3 {
		payload = []byte(pos[2])
		if pos[2] == "-" {
			if payload, err = io.ReadAll(e.stdin); err != nil {
				return fmt.Errorf("cannot read the payload from stdin: %w", err)
			}
		}
	}
	c, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	out, err := c.Call(ctx, pos[0], pos[1], payload, client.CallOptions{Timeout: cf.timeout, Key: *key})
	if err != nil {
		st := abi.StatusOf(err)
		return fmt.Errorf("error %s %s: %s", st.Code(), st, errText(err))
	}
	_, err = e.stdout.Write(out)
	if len(out) > 0 && out[len(out)-1] != '\n' && isTerminal(e.stdout) {
		fmt.Fprintln(e.stdout)
	}
	return err
}

func errText(err error) string {
	var ae *abi.Error
	if errors.As(err, &ae) && ae.Message != "" {
		return ae.Message
	}
	return err.Error()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func bytesize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func oneLine(s string, max int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
