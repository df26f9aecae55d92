// Command go-cluster runs a node of a go-cluster platform (`go-cluster
// host`) and drives the platform from a shell: deploy, call, list, roll
// back and undeploy wasm apps, and operate the nodes (status, cordon,
// drain, move, stepdown).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	usage   string // the arguments after the command name
	run     func(ctx context.Context, env *env, args []string) error
}

// commands is filled in init: the commands' flag usage reads it back.
var commands map[string]command

func init() {
	commands = map[string]command{
		"host":     {"run a node (embeds NATS unless --nats is given)", "[flags]", runHost},
		"deploy":   {"upload an app's wasm and record its manifest", "[flags] app.yaml", runDeploy},
		"apps":     {"list deployed apps and how they run", "[flags]", runApps},
		"history":  {"list an app's deployments, newest last", "[flags] APP", runHistory},
		"undeploy": {"stop and remove an app (its history stays)", "[flags] APP", runUndeploy},
		"rollback": {"make an earlier deployment current again", "[flags] APP [VERSION]", runRollback},
		"call":     {"call an app's API method and print the reply", "[flags] APP METHOD [PAYLOAD|-]", runCall},
		"nodes":    {"list the live nodes with their labels and state", "[flags]", runNodes},
		"status":   {"show apps x nodes: each instance's role and the fencing epoch", "[flags]", runStatus},
		"cordon":   {"place nothing new on a node; what runs there stays", "[flags] NODE", runCordon},
		"drain":    {"move everything off a node and keep it off", "[flags] NODE", runDrain},
		"uncordon": {"let a cordoned or draining node take placements again", "[flags] NODE", runUncordon},
		"move":     {"run an app on a node first (a singleton's active)", "[flags] APP --to NODE | --clear", runMove},
		"db":       {"a database's snapshots: snapshot, snapshots, export, restore", "snapshot|snapshots|export|restore [flags] APP", runDB},
		"stepdown": {"make an app's active hand over to another node", "[flags] APP", runStepdown},
	}
}

// env is what a command writes to; tests swap it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// usageError is a mistake in the command line: exit 2 and show usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "go-cluster: unknown command %q; run `go-cluster help` for the list\n", args[0])
		return 2
	}
	err := cmd.run(ctx, e, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "go-cluster %s: %s\nusage: go-cluster %s %s (see `go-cluster %s -h`)\n", args[0], ue.msg, args[0], cmd.usage, args[0])
		return 2
	}
	fmt.Fprintf(e.stderr, "go-cluster %s: %v\n", args[0], err)
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "go-cluster runs wasm apps on every node of a cluster coordinated over NATS.")
	fmt.Fprintln(w, "\nusage: go-cluster COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nStart with `go-cluster host`, then in another shell `go-cluster deploy examples/basic/app.yaml`")
	fmt.Fprintln(w, "and `go-cluster call basic greet world`; `go-cluster status` shows where it runs.")
	fmt.Fprintln(w, "`go-cluster COMMAND -h` shows a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("go-cluster "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: go-cluster %s %s\n\n%s.\n\nflags:\n", name, commands[name].usage, commands[name].summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among the arguments (up to a "--", after
// which everything is positional) and checks the count of positional ones.
func parse(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var pos, rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	pos = append(pos, rest...)
	if len(pos) < min || len(pos) > max {
		want := fmt.Sprintf("%d", min)
		if max != min {
			want = fmt.Sprintf("%d to %d", min, max)
		}
		return nil, usageError{fmt.Sprintf("takes %s arguments, got %d (%s)", want, len(pos), strings.Join(pos, " "))}
	}
	return pos, nil
}
