package main

import (
	"testing"

	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/registry"
)

func TestRoleCell(t *testing.T) {
	running := registry.StateRunning
	for _, tc := range []struct {
		name string
		in   client.Instance
		want string
	}{
		{"standby", client.Instance{State: running, Role: "standby", Placed: true}, "standby"},
		{"active with vip and backend", client.Instance{State: running, Role: "active", Placed: true, VIP: "10.0.1.100/24",
			Backend: &registry.BackendStatus{Kind: "process", State: "healthy", PID: 42}}, "active [vip 10.0.1.100/24] [process healthy]"},
		{"restarts", client.Instance{State: running, Role: "active", Placed: true,
			Backend: &registry.BackendStatus{Kind: "systemd", State: "healthy", Restarts: 2}}, "active [systemd healthy, 2 restarts]"},
		{"failed backend", client.Instance{State: running, Role: "standby", Placed: true,
			Backend: &registry.BackendStatus{Kind: "docker", State: "failed", Restarts: 3, Error: "gave up"}}, "standby [docker failed, 3 restarts: gave up]"},
		{"not running", client.Instance{State: registry.StateFailed, Placed: true, VIP: "10.0.1.100/24"}, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := roleCell(tc.in, 0); got != tc.want {
				t.Fatalf("roleCell = %q, want %q", got, tc.want)
			}
		})
	}
}
