package client

import (
	"testing"

	"github.com/ozanturksever/go-cluster/host/lease"
	"github.com/ozanturksever/go-cluster/manifest"
	"github.com/ozanturksever/go-cluster/placement"
	"github.com/ozanturksever/go-cluster/registry"
)

func TestAppStatusJoinsPlacementReportsAndLease(t *testing.T) {
	d := &registry.Deployment{App: "a", Revision: 3, Manifest: &manifest.Manifest{Mode: manifest.ModeSingleton, Pattern: manifest.PatternActivePassive}}
	places := map[string]registry.Placement{"a": {Assignment: placement.Assignment{App: "a", Nodes: []string{"n1", "n2"}}}}
	reports := []registry.Status{
		{App: "a", Node: "n1", Revision: 3, State: registry.StateRunning, Role: registry.RoleActive, Token: 9, Instances: 1},
		{App: "a", Node: "n3", Revision: 2, State: registry.StateRunning, Role: registry.RoleStandby, Instances: 1},
	}
	a := appStatus(d, places, reports, lease.Info{Token: 9, Value: []byte("n1")})
	if a.Active != "n1" || a.Epoch != 9 || a.Reason != "" || len(a.Instances) != 3 {
		t.Fatalf("%+v", a)
	}
	want := []Instance{
		{Node: "n1", Role: registry.RoleActive, Token: 9, State: registry.StateRunning, Revision: 3, Instances: 1, Placed: true},
		{Node: "n2", State: StatePending, Placed: true},
		{Node: "n3", Role: registry.RoleStandby, State: registry.StateRunning, Revision: 2, Instances: 1},
	}
	for i, in := range a.Instances {
		if in != want[i] {
			t.Errorf("instance %d: %+v, want %+v", i, in, want[i])
		}
	}
}

func TestAppStatusSaysWhyNotPlaced(t *testing.T) {
	d := &registry.Deployment{App: "a", Revision: 1, Manifest: &manifest.Manifest{}}
	if a := appStatus(d, nil, nil, lease.Info{}); a.Reason != notPlaced || a.Placed != nil || a.Epoch != 0 {
		t.Fatalf("not placed: %+v", a)
	}
	places := map[string]registry.Placement{"a": {Assignment: placement.Assignment{App: "a", Reason: "every node is draining"}}}
	if a := appStatus(d, places, nil, lease.Info{}); a.Reason != "every node is draining" {
		t.Fatalf("unplaceable: %+v", a)
	}
	if got := placementReason(nil, "a"); got != notPlaced {
		t.Fatalf("apps reason of an app not placed: %q", got)
	}
}

func TestFailedInstanceHasNoRole(t *testing.T) {
	d := &registry.Deployment{App: "a", Revision: 1, Manifest: &manifest.Manifest{}}
	reports := []registry.Status{{App: "a", Node: "n1", Revision: 1, State: registry.StateFailed, Role: registry.RoleActive, Token: 4, Error: "boom"}}
	a := appStatus(d, nil, reports, lease.Info{})
	if in := a.Instances[0]; in.Role != "" || in.Token != 0 || in.Error != "boom" || in.Placed {
		t.Fatalf("%+v", in)
	}
}
