package manifest

import "testing"

func TestValidateBackend(t *testing.T) {
	be := func(b Backend) func(*Manifest) {
		return func(m *Manifest) {
			b.setDefaults()
			m.Backend = &b
		}
	}
	proc := func(h *Health) Backend { return Backend{Kind: BackendProcess, Command: "./server", Health: h} }
	runValid(t, []validCase{
		{"process", be(Backend{Kind: BackendProcess, Command: "./server", Args: []string{"-v"}, Env: map[string]string{"LOG_LEVEL": "x"}, Dir: "/srv"}), "", ""},
		{"systemd", be(Backend{Kind: BackendSystemd, Unit: "app.service"}), "", ""},
		{"docker", be(Backend{Kind: BackendDocker, Container: "cache_1"}), "", ""},
		{"kind missing", be(Backend{Command: "x"}), "backend.kind", "required (process, systemd, docker)"},
		{"kind bad", be(Backend{Kind: "vm"}), "backend.kind", `"vm" is not one of process, systemd, docker`},
		{"process no command", be(Backend{Kind: BackendProcess}), "backend.command", "required with kind: process"},
		{"process with unit", be(Backend{Kind: BackendProcess, Command: "x", Unit: "a.service"}), "backend.unit", "not used with kind: process"},
		{"process bad env", be(Backend{Kind: BackendProcess, Command: "x", Env: map[string]string{"1X": "y"}}), "backend.env.1X", "not a valid environment variable name"},
		{"process env NUL", be(Backend{Kind: BackendProcess, Command: "x", Env: map[string]string{"X": "a\x00"}}), "backend.env.X", "NUL"},
		{"process arg NUL", be(Backend{Kind: BackendProcess, Command: "x", Args: []string{"ok", "a\x00"}}), "backend.args[1]", "NUL"},
		{"process command utf-8", be(Backend{Kind: BackendProcess, Command: "\xff"}), "backend.command", "invalid UTF-8"},
		{"systemd no unit", be(Backend{Kind: BackendSystemd}), "backend.unit", "required with kind: systemd"},
		{"systemd bad unit", be(Backend{Kind: BackendSystemd, Unit: "a b"}), "backend.unit", "not a systemd unit name"},
		{"systemd with command", be(Backend{Kind: BackendSystemd, Unit: "a", Command: "x"}), "backend.command", "not used with kind: systemd"},
		{"systemd with env", be(Backend{Kind: BackendSystemd, Unit: "a", Env: map[string]string{"A": "b"}}), "backend.env", "not used"},
		{"docker no container", be(Backend{Kind: BackendDocker}), "backend.container", "required with kind: docker"},
		{"docker bad container", be(Backend{Kind: BackendDocker, Container: "/x"}), "backend.container", "not a valid container name"},
		{"docker with args", be(Backend{Kind: BackendDocker, Container: "c", Args: []string{"x"}}), "backend.args", "not used with kind: docker"},

		{"health http", be(proc(&Health{HTTP: "http://127.0.0.1:8080/healthz"})), "", ""},
		{"health https", be(proc(&Health{HTTP: "https://localhost/h"})), "", ""},
		{"health tcp", be(proc(&Health{TCP: "127.0.0.1:5432"})), "", ""},
		{"health tcp ipv6", be(proc(&Health{TCP: "[::1]:5432"})), "", ""},
		{"health exec", be(proc(&Health{Exec: []string{"./check", "-q"}})), "", ""},
		{"health none", be(proc(&Health{})), "backend.health", "exactly one of http, tcp and exec, not 0"},
		{"health two", be(proc(&Health{HTTP: "http://x/", TCP: "x:1"})), "backend.health", "not 2"},
		{"health ftp", be(proc(&Health{HTTP: "ftp://x/"})), "backend.health.http", "not an http or https URL"},
		{"health no host", be(proc(&Health{HTTP: "http:///x"})), "backend.health.http", "not an http or https URL"},
		{"health tcp no port", be(proc(&Health{TCP: "localhost"})), "backend.health.tcp", "not host:port"},
		{"health tcp port 0", be(proc(&Health{TCP: "localhost:0"})), "backend.health.tcp", "not host:port"},
		{"health tcp port big", be(proc(&Health{TCP: "localhost:65536"})), "backend.health.tcp", "not host:port"},
		{"health exec empty", be(proc(&Health{Exec: []string{""}})), "backend.health.exec[0]", "required"},
		{"health interval", be(proc(&Health{TCP: "x:1", Interval: Duration(10e6)})), "backend.health.interval", "10ms is under the minimum 100ms"},
		{"health timeout", be(proc(&Health{TCP: "x:1", Interval: Duration(1e9), Timeout: Duration(2e9)})), "backend.health.timeout", "2s is over the maximum 1s"},
		{"health failures", be(proc(&Health{TCP: "x:1", Failures: 101})), "backend.health.failures", "over the maximum 100"},
		{"health grace", be(proc(&Health{TCP: "x:1", Grace: Duration(2 * 3600e9)})), "backend.health.grace", "2h is over the maximum 1h"},
		{"restarts -1 is none", be(Backend{Kind: BackendProcess, Command: "x", Restarts: -1}), "", ""},
		{"restarts big", be(Backend{Kind: BackendProcess, Command: "x", Restarts: 101}), "backend.restarts", "over the maximum 100"},
		{"restarts negative", be(Backend{Kind: BackendProcess, Command: "x", Restarts: -2}), "backend.restarts", "under the minimum 0"},
		{"stop timeout big", be(Backend{Kind: BackendProcess, Command: "x", StopTimeout: Duration(3600e9)}), "backend.stop_timeout", "1h is over the maximum 10m"},
		{"restart window big", be(Backend{Kind: BackendProcess, Command: "x", RestartWindow: Duration(48 * 3600e9)}), "backend.restart_window", "over the maximum"},
		{"health negative grace", be(proc(&Health{TCP: "x:1", Grace: -1})), "backend.health.grace", "under the minimum"},
	})
}
