// Package testwait is how tests wait for an event: check a condition on a
// ticker until it holds or a deadline passes, never sleep and hope.
package testwait

import (
	"testing"
	"time"
)

// Poll checks cond every interval until it holds (true) or timeout passes
// (false, after one last check).
func Poll(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}

// For fails tb unless cond holds within timeout, checked every interval.
func For(tb testing.TB, timeout, interval time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(timeout, interval, cond) {
		tb.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}
