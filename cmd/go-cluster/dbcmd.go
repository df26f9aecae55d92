package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

// runDB dispatches `go-cluster db SUBCOMMAND`.
func runDB(ctx context.Context, e *env, args []string) error {
	sub := map[string]func(context.Context, *env, []string) error{
		"snapshot": runDBSnapshot, "snapshots": runDBSnapshots, "export": runDBExport, "restore": runDBRestore,
	}
	if len(args) == 0 || sub[args[0]] == nil {
		return usageError{"db needs one of: snapshot APP, snapshots APP, export APP -o FILE, restore APP --file FILE (see `go-cluster db -h`)"}
	}
	return sub[args[0]](ctx, e, args[1:])
}

func runDBSnapshot(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "db")
	cf := addClientFlags(fs, false)
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	fmt.Fprintf(e.stderr, "asking the active of %s for a snapshot...\n", pos[0])
	info, err := c.DBSnapshot(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "snapshot of %s at TXID %d (generation %d, %d bytes)\n", pos[0], info.TXID, info.Generation, info.Size)
	return nil
}

func runDBSnapshots(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "db")
	cf := addClientFlags(fs, true)
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	snaps, err := c.DBSnapshots(ctx, pos[0])
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(e.stdout).Encode(snaps)
	}
	if len(snaps) == 0 {
		fmt.Fprintf(e.stdout, "%s has no snapshot yet: `go-cluster db snapshot %s` takes one\n", pos[0], pos[0])
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TXID\tGENERATION\tSIZE\tTAKEN")
	for _, s := range snaps {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\n", s.TXID, s.Generation, s.Size, s.Time.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func runDBExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "db")
	cf := addClientFlags(fs, false)
	out := fs.String("o", "", "write the SQLite file here (required)")
	snapshot := fs.Uint64("snapshot", 0, "export the snapshot at this TXID (default: the latest state)")
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	if *out == "" {
		return usageError{"db export needs -o FILE"}
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", *out, err)
	}
	fmt.Fprintf(e.stderr, "restoring %s from its replica...\n", pos[0])
	if err := c.DBExport(ctx, pos[0], *snapshot, f); err != nil {
		f.Close()
		os.Remove(*out)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s; load it elsewhere with `go-cluster db restore %s --file %s`\n", *out, pos[0], *out)
	return nil
}

func runDBRestore(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "db")
	cf := addClientFlags(fs, false)
	file := fs.String("file", "", "a SQLite database file, e.g. from `go-cluster db export`")
	snapshot := fs.Uint64("snapshot", 0, "roll back to the snapshot at this TXID (`go-cluster db snapshots APP` lists them)")
	c, pos, ctx, cancel, err := connectFor(ctx, fs, cf, args, 1, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	defer cancel()
	app := pos[0]
	var src io.Reader
	switch {
	case *file != "" && *snapshot != 0, *file == "" && *snapshot == 0:
		return usageError{"db restore needs exactly one of --file FILE or --snapshot TXID"}
	case *file != "":
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("cannot open %s: %w", *file, err)
		}
		defer f.Close()
		src = f
	default:
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(c.DBExport(ctx, app, *snapshot, pw)) }()
		src = pr
	}
	fmt.Fprintf(e.stderr, "restoring the database of %s...\n", app)
	info, err := c.DBRestore(ctx, app, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s's database is now the restored one (generation %d, TXID %d); its active hands over to load it\n", app, info.Generation, info.TXID)
	return nil
}
