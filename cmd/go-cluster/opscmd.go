package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/registry"
)

// connectFor parses a client command's flags, connects and bounds ctx by
// --timeout; the caller closes the client and calls cancel.
func connectFor(ctx context.Context, fs *flag.FlagSet, cf *clientFlags, args []string, min, max int) (*client.Client, []string, context.Context, context.CancelFunc, error) {
	pos, err := parse(fs, args, min, max)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	c, err := cf.connect(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	return c, pos, ctx, cancel, nil
}

func runNodes(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "nodes")
	cf := addClientFlags(fs, true)
	c, _, ctx, cancel, err := connectFor(ctx, fs, cf, args, 0, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	members, err := c.Members(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(e.stdout, members)
	}
	if len(members) == 0 {
		fmt.Fprintln(e.stderr, "no live nodes; start one with `go-cluster host`")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tLABELS\tADDRESS\tVERSION\tSTARTED")
	for _, m := range members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.State(), labelList(m.Labels), m.Address, m.Version, started(m.StartedAt))
	}
	return tw.Flush()
}

func labelList(labels map[string]string) string {
	if len(labels) == 0 {
		return "-"
	}
	kv := make([]string, 0, len(labels))
	for k, v := range labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func started(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.DateTime), time.Since(t).Round(time.Second))
}

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "status")
	cf := addClientFlags(fs, true)
	c, _, ctx, cancel, err := connectFor(ctx, fs, cf, args, 0, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(e.stdout, st)
	}
	if len(st.Apps) == 0 {
		fmt.Fprintf(e.stderr, "live nodes: %d; no apps deployed: deploy one with `go-cluster deploy app.yaml`\n", len(st.Nodes))
		return nil
	}
	return writeStatus(e.stdout, st)
}

// writeStatus prints apps x nodes: each cell is the instance's role, each
// row ends with the fencing epoch of the active and a note on placement.
func writeStatus(w io.Writer, st *client.Status) error {
	nodes, heads := statusColumns(st)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "APP\tREVISION\tEPOCH\t%s\tNOTE\n", strings.Join(heads, "\t"))
	for _, a := range st.Apps {
		byNode := map[string]client.Instance{}
		for _, in := range a.Instances {
			byNode[in.Node] = in
		}
		cells := make([]string, len(nodes))
		for i, n := range nodes {
			in, ok := byNode[n]
			cells[i] = "-"
			if ok {
				cells[i] = roleCell(in, a.Revision)
			}
		}
		epoch := "-"
		if a.Epoch != 0 {
			epoch = fmt.Sprint(a.Epoch)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", a.App, a.Revision, epoch, strings.Join(cells, "\t"), appNote(a))
	}
	return tw.Flush()
}

// statusColumns lists live nodes, then nodes only the apps mention (a
// crashed host's report, a placement on a node that left), marked gone.
func statusColumns(st *client.Status) (nodes, heads []string) {
	seen := map[string]bool{}
	for _, m := range st.Nodes {
		seen[m.ID] = true
		nodes = append(nodes, m.ID)
		head := m.ID
		if s := m.State(); s != "ready" {
			head += " (" + s + ")"
		}
		heads = append(heads, head)
	}
	var gone []string
	for _, a := range st.Apps {
		for _, in := range a.Instances {
			if !seen[in.Node] {
				seen[in.Node] = true
				gone = append(gone, in.Node)
			}
		}
	}
	sort.Strings(gone)
	for _, n := range gone {
		nodes = append(nodes, n)
		heads = append(heads, n+" (gone)")
	}
	return nodes, heads
}

// roleCell says what one instance does: its role while running, else its
// state; a revision other than the current one is named.
func roleCell(in client.Instance, rev uint64) string {
	cell := string(in.State)
	switch {
	case in.State != registry.StateRunning:
	case in.Role == registry.RoleRing:
		cell = fmt.Sprintf("owner of %d partitions", in.Partitions)
	case in.Role != "":
		cell = in.Role
	}
	if in.Revision != 0 && in.Revision != rev {
		cell += fmt.Sprintf(" (revision %d)", in.Revision)
	}
	if !in.Placed && in.State == registry.StateRunning {
		cell += " (leaving)"
	}
	if db := in.DB; db != nil && in.State == registry.StateRunning {
		cell += fmt.Sprintf(" [db txid %d, lag %s]", db.TXID, time.Duration(db.LagMS)*time.Millisecond)
	}
	if in.VIP != "" && in.State == registry.StateRunning {
		cell += " [vip " + in.VIP + "]"
	}
	if be := in.Backend; be != nil && in.State == registry.StateRunning {
		cell += " " + backendCell(be)
	}
	return cell
}

// backendCell is a backend's state, its restarts and its last error.
func backendCell(be *registry.BackendStatus) string {
	s := "[" + be.Kind + " " + be.State
	if be.Restarts > 0 {
		s += fmt.Sprintf(", %d restarts", be.Restarts)
	}
	if be.State == "failed" && be.Error != "" {
		s += ": " + be.Error
	}
	return s + "]"
}

func appNote(a client.AppStatus) string {
	var notes []string
	if a.Reason != "" {
		notes = append(notes, a.Reason)
	}
	if a.MoveTo != "" {
		notes = append(notes, "move to "+a.MoveTo+" requested")
	}
	for _, in := range a.Instances {
		if in.Error != "" {
			notes = append(notes, in.Node+": "+oneLine(in.Error, 80))
			break
		}
	}
	if len(notes) == 0 {
		return "-"
	}
	return strings.Join(notes, "; ")
}

func runCordon(ctx context.Context, e *env, args []string) error {
	return nodeOp(ctx, e, "cordon", args, (*client.Client).Cordon,
		"cordoned %[1]s: nothing new is placed there, what runs there stays (`go-cluster drain %[1]s` moves it off, `go-cluster uncordon %[1]s` undoes this)\n")
}

func runDrain(ctx context.Context, e *env, args []string) error {
	return nodeOp(ctx, e, "drain", args, (*client.Client).Drain,
		"draining %[1]s: its apps move to other nodes (`go-cluster status` shows where); `go-cluster uncordon %[1]s` undoes this\n")
}

func runUncordon(ctx context.Context, e *env, args []string) error {
	return nodeOp(ctx, e, "uncordon", args, (*client.Client).Uncordon,
		"uncordoned %[1]s: it takes placements again (`go-cluster status` shows what moves back)\n")
}

// nodeOp runs one of cordon, drain and uncordon on the node named in args.
func nodeOp(ctx context.Context, e *env, name string, args []string, op func(*client.Client, context.Context, string) error, done string) error {
	fs := newFlags(e, name)
	cf := addClientFlags(fs, false)
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	if err := op(c, ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, done, pos[0])
	return nil
}

// optString is a string flag that knows whether it was given, so that
// `--to ""` (clear) differs from no --to at all.
type optString struct {
	v   string
	set bool
}

func (o *optString) String() string     { return o.v }
func (o *optString) Set(s string) error { o.v, o.set = s, true; return nil }

func runMove(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "move")
	cf := addClientFlags(fs, false)
	var to optString
	fs.Var(&to, "to", "the `NODE` to run APP on first (for a singleton: its active); \"\" clears the request")
	clear := fs.Bool("clear", false, "drop the standing move request of APP")
	wait := fs.Bool("wait", true, "wait until the scheduler has placed APP there (and, for active-passive, it is active there)")
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	app := pos[0]
	switch {
	case *clear || to.set && to.v == "":
		if err := c.Move(ctx, app, ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "cleared the move request of %s; the scheduler places it by its manifest again\n", app)
		return nil
	case !to.set:
		return usageError{"say where: --to NODE, or --clear to drop a standing request"}
	}
	if err := c.Move(ctx, app, to.v); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "asked the scheduler to move %s to %s; the request stands until `go-cluster move %s --clear`\n", app, to.v, app)
	if !*wait {
		return nil
	}
	return waitMoved(ctx, e, c, app, to.v)
}

// waitMoved waits until the scheduler put app on node first or said why
// not, then, for an active-passive app, until node reports it active.
func waitMoved(ctx context.Context, e *env, c *client.Client, app, node string) error {
	refusal := "cannot move to " + node
	p, err := c.WaitPlacement(ctx, app, func(p registry.Placement) bool {
		return len(p.Nodes) > 0 && p.Nodes[0] == node || strings.Contains(p.Reason, refusal)
	})
	if err != nil {
		return fmt.Errorf("the scheduler has not placed %s on %s yet (%w); the request stands: `go-cluster status` shows when it is there", app, node, err)
	}
	if len(p.Nodes) == 0 || p.Nodes[0] != node {
		return fmt.Errorf("the scheduler did not move %s: %s (fix that, or drop the request with `go-cluster move %s --clear`): %w", app, p.Reason, app, abi.ErrInvalid)
	}
	d, err := c.Registry().Current(ctx, app)
	if err != nil || d.Manifest.Pattern != manifest.PatternActivePassive {
		fmt.Fprintf(e.stdout, "%s is placed on %s first\n", app, node)
		return nil
	}
	st, err := c.WaitReport(ctx, app, func(st registry.Status) bool {
		return st.Node == node && st.Role == registry.RoleActive
	})
	if err != nil {
		return fmt.Errorf("%s is placed on %s, which has not reported it active yet (%w); `go-cluster status` shows the hand-over", app, node, err)
	}
	fmt.Fprintf(e.stdout, "%s is active on %s with token %d\n", app, node, st.Token)
	return nil
}

func runStepdown(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "stepdown")
	cf := addClientFlags(fs, false)
	wait := fs.Bool("wait", true, "wait until a node reports the app active again and print who")
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	app := pos[0]
	sd, err := c.Stepdown(ctx, app)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is stepping down as the active of %s (token %d)\n", sd.Node, app, sd.Token)
	if !*wait {
		return nil
	}
	st, err := c.WaitActive(ctx, app, sd.Token)
	if errors.Is(err, abi.ErrTimeout) {
		return fmt.Errorf("%w; the election goes on: `go-cluster status` shows when an active is back", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s took over %s with token %d\n", st.Node, app, st.Token)
	return nil
}
