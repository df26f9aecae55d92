package backend_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ozanturksever/go-cluster/host/backend"
	"github.com/ozanturksever/go-cluster/manifest"
)

// A host runs an app's backend while it holds the app's active role: it
// starts it on taking the role, steps down when Failed closes, and stops
// it on giving the role up.
func Example() {
	spec := manifest.Backend{
		Kind:    manifest.BackendProcess,
		Command: "/bin/sh",
		Args:    []string{"-c", `echo "serving $GOCLUSTER_APP"; exec sleep 60`},
		Health: &manifest.Health{
			Exec:     []string{"/bin/true"},
			Interval: manifest.Duration(100 * time.Millisecond),
		},
		StopTimeout: manifest.Duration(2 * time.Second),
		Restarts:    3,
	}
	s, err := backend.New(backend.Config{
		App:     "cache",
		Spec:    spec,
		Env:     map[string]string{"GOCLUSTER_APP": "cache"},
		OnEvent: func(e backend.Event) { fmt.Println("event:", e.Kind) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		fmt.Println(err) // the host would give up the active role
		return
	}
	fmt.Println("state:", s.Status().State)

	select {
	case <-s.Failed():
		fmt.Println("step down:", s.Err())
	default: // the role is given up while the backend is fine
	}
	if err := s.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println("state:", s.Status().State)
	// Output:
	// event: started
	// event: healthy
	// state: healthy
	// event: stopped
	// state: stopped
}
