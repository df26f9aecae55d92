package manifest

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

func (b *Backend) check(c *errs) {
	if !oneOf(c, "backend.kind", b.Kind, BackendProcess, BackendSystemd, BackendDocker) {
		return
	}
	b.checkKindFields(c)
	switch b.Kind {
	case BackendProcess:
		if b.Command == "" {
			c.add("backend.command", "required with kind: process")
		}
		checkText(c, "backend.command", b.Command)
		for i, a := range b.Args {
			checkText(c, index("backend.args", i), a)
		}
		for _, k := range sortedKeys(b.Env) {
			envNameRule.check(c, mapKey("backend.env", k), k)
			checkText(c, mapKey("backend.env", k), b.Env[k])
		}
		checkText(c, "backend.dir", b.Dir)
	case BackendSystemd:
		if b.Unit == "" {
			c.add("backend.unit", "required with kind: systemd (like app.service)")
		} else if strings.ContainsAny(b.Unit, "/ \t\n\x00") || !utf8.ValidString(b.Unit) {
			c.add("backend.unit", "%q is not a systemd unit name", b.Unit)
		}
	case BackendDocker:
		if b.Container == "" {
			c.add("backend.container", "required with kind: docker (the container's name or id)")
		} else {
			containerRule.check(c, "backend.container", b.Container)
		}
	}
	if b.Health != nil {
		b.Health.check(c, "backend.health")
	}
	checkRange(c, "backend.start_timeout", b.StartTimeout, MinTimeout, MaxBackendTimeout, Duration.String)
	checkRange(c, "backend.stop_timeout", b.StopTimeout, MinTimeout, MaxBackendTimeout, Duration.String)
	checkRange(c, "backend.restarts", b.Restarts, 0, MaxBackendRestarts, strconv.Itoa)
	checkRange(c, "backend.restart_window", b.RestartWindow, MinTimeout, MaxBackendRestartWindow, Duration.String)
}

// checkKindFields refuses fields that belong to another kind: they would
// be ignored, which is never what the author meant.
func (b *Backend) checkKindFields(c *errs) {
	owned := map[string]bool{
		"command":   b.Command != "",
		"args":      len(b.Args) > 0,
		"env":       len(b.Env) > 0,
		"dir":       b.Dir != "",
		"unit":      b.Unit != "",
		"container": b.Container != "",
	}
	mine := map[BackendKind][]string{
		BackendProcess: {"command", "args", "env", "dir"},
		BackendSystemd: {"unit"},
		BackendDocker:  {"container"},
	}[b.Kind]
	for _, f := range []string{"command", "args", "env", "dir", "unit", "container"} {
		if owned[f] && !slices.Contains(mine, f) {
			c.add("backend."+f, "not used with kind: %s", b.Kind)
		}
	}
}

func (h *Health) check(c *errs, field string) {
	probes := 0
	if h.HTTP != "" {
		probes++
		checkHTTP(c, dot(field, "http"), h.HTTP)
	}
	if h.TCP != "" {
		probes++
		checkHostPort(c, dot(field, "tcp"), h.TCP)
	}
	if len(h.Exec) > 0 {
		probes++
		if h.Exec[0] == "" {
			c.add(index(dot(field, "exec"), 0), "required: the command to run")
		}
		for i, a := range h.Exec {
			checkText(c, index(dot(field, "exec"), i), a)
		}
	}
	if probes != 1 {
		c.add(field, "needs exactly one of http, tcp and exec, not %d", probes)
	}
	checkRange(c, dot(field, "interval"), h.Interval, MinHealthInterval, MaxHealthInterval, Duration.String)
	checkRange(c, dot(field, "timeout"), h.Timeout, MinTimeout, max(h.Interval, MinTimeout), Duration.String)
	checkRange(c, dot(field, "failures"), h.Failures, 1, MaxHealthFailures, strconv.Itoa)
	checkRange(c, dot(field, "grace"), h.Grace, 0, MaxHealthGrace, Duration.String)
}

func checkHTTP(c *errs, field, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(field, "%q is not an http or https URL (like http://127.0.0.1:8080/healthz)", s)
	}
}

func checkHostPort(c *errs, field, s string) {
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		var n uint64
		n, err = strconv.ParseUint(port, 10, 16)
		if n == 0 {
			err = strconv.ErrRange
		}
	}
	if err != nil {
		c.add(field, "%q is not host:port (like 127.0.0.1:5432)", s)
	}
}

// checkText refuses strings that cannot reach a process intact: invalid
// UTF-8 is altered by JSON, and NUL ends a C string.
func checkText(c *errs, field, s string) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		c.add(field, "contains invalid UTF-8 or a NUL byte")
	}
}
