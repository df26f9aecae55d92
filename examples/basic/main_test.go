package main

import "testing"

// The handlers' logic runs natively too; there the host functions answer
// unavailable, so greet falls back to its default greeting.
func TestGreetNative(t *testing.T) {
	out, err := greet([]byte("world"))
	if err != nil || string(out) != "Hello, world!" {
		t.Fatalf("greet = %q, %v", out, err)
	}
}

func TestIncrNeedsAHost(t *testing.T) {
	if _, err := incr(nil); err == nil {
		t.Fatal("incr without a host must fail")
	}
}
