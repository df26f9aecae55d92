package backend

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ozanturksever/go-cluster/manifest"
)

// netNS makes a network namespace with its loopback up, removed at
// cleanup; it skips the test where that is not allowed.
func netNS(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	name := "gocluster-backend-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot make a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("cannot remove network namespace %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("cannot bring lo up in %s: %v: %s", name, err, out)
	}
	return name
}

// A backend in a namespace runs there, and its health checks reach it
// there: nothing listens on the port in the host's own namespace.
func TestProcessInNetNS(t *testing.T) {
	ns := netNS(t)
	tests := []struct {
		name   string
		health func(port string) *manifest.Health
	}{
		{"http", func(port string) *manifest.Health {
			return &manifest.Health{HTTP: "http://127.0.0.1:" + port + "/healthz"}
		}},
		{"tcp", func(port string) *manifest.Health { return &manifest.Health{TCP: "127.0.0.1:" + port} }},
		{"exec", func(port string) *manifest.Health {
			// The check proves where it runs by reading its namespace.
			return &manifest.Health{Exec: []string{"/bin/sh", "-c", `[ "$(readlink /proc/self/ns/net)" = "$WANT_NS" ]`}}
		}},
	}
	want, err := os.Stat("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	nsLink := readNSLink(t, ns)
	if own, err := os.Readlink("/proc/self/ns/net"); err != nil || own == nsLink {
		t.Fatalf("the namespace reads as %q, the host's as %q (%v)", nsLink, own, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := freePort(t)
			spec := serverSpec(t, port)
			spec.Health = tt.health(port)
			spec.Health.Interval = manifest.Duration(50 * time.Millisecond)
			s, _ := newSupervisor(t, Config{Spec: spec, NetNS: ns, Env: map[string]string{"WANT_NS": nsLink}})
			start(t, s)
			got, err := os.Stat("/proc/" + strconv.Itoa(s.Status().PID) + "/ns/net")
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(got, want) {
				t.Error("the backend does not run in the namespace")
			}
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
				c.Close()
				t.Error("the backend listens in the host's namespace")
			}
		})
	}
}

// readNSLink returns what /proc/self/ns/net reads as inside ns.
func readNSLink(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "readlink", "/proc/self/ns/net").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out[:len(out)-1])
}
