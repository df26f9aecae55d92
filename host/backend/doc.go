// Package backend runs the native backend of an active-passive app: a
// program, a systemd unit or a docker container that must run only on the
// node holding the app's active role.
//
//	s, err := backend.New(backend.Config{App: "cache", Spec: *m.Backend, Logger: log})
//	if err := s.Start(ctx); err != nil { ... }  // healthy, or the node steps down
//	select {
//	case <-s.Failed():                          // restarts did not help: step down
//	case <-roleLost:
//	}
//	err = s.Stop(ctx)
//
// # Supervision
//
// Start launches the backend and waits, up to the spec's start_timeout, for
// it to be healthy: its first health check passes, or without a check, it
// runs. Then a goroutine watches it. A process that exits, a unit that is
// no longer active or a container that no longer runs is restarted at
// once; a health check that fails Failures times in a row (failures within
// Grace of a start do not count) is a failure too. A restart stops the old
// run and starts a new one, which again must be healthy within
// start_timeout. More than the spec's restarts within restart_window and
// the supervisor gives up: it stops the backend, closes Failed and Err
// says why. The host then gives up the active role, so that another node
// takes over, and calls Stop.
//
// # Kinds
//
// A process backend is a child of the host in its own process group, so a
// stop reaches every process it started: SIGTERM to the group, SIGKILL
// after stop_timeout to whatever is left. Its environment is PATH, HOME and
// LANG from the host, then the spec's env, then Config.Env; not the host's
// whole environment, which is the host's business. A relative command
// resolves against the spec's dir, a bare name on PATH. With Config.NetNS
// it is started as "ip netns exec NS command args..." (ip execs the
// command, so the pid is the program's). Each line it writes to stdout or
// stderr goes to the logger and into a bounded tail (Logs).
//
// A systemd backend is driven through systemctl: start, is-active --quiet
// on each check (every Config.Poll without a health check), stop and,
// after stop_timeout, kill --signal=SIGKILL. A docker backend is an
// existing container driven through the docker CLI: start, inspect, stop
// -t SECONDS and, should that fail, kill. A missing systemctl or docker
// fails Start with ErrUnavailable. Neither systemd nor a Docker engine is
// needed by the tests: both kinds are exercised against recording
// stand-ins for systemctl and docker that check the exact command lines.
//
// # Health
//
// A health check is an HTTP GET (2xx or 3xx is healthy), a TCP connect or
// a command that exits 0, each bounded by its timeout. HTTP and TCP checks
// dial from inside Config.NetNS; a command runs in the backend's dir, env
// and namespace.
package backend
