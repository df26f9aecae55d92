package plugins

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkHostCall measures one guest -> host -> guest round trip: the
// guest calls the no-op abi_version b.N times within a single call, so
// ns/op is per host call and the call's own cost vanishes in the average.
func BenchmarkHostCall(b *testing.B) {
	a, _ := load(b, "testapp", nil, Limits{})
	payload := []byte(strconv.Itoa(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	if out, err := a.Call(context.Background(), "hostcalls", payload); err != nil || string(out) != "ok" {
		b.Fatalf("hostcalls: %q, %v", out, err)
	}
}

// nativeEcho is the baseline for BenchmarkCall: a Go function doing the
// work a guest call cannot avoid, copying the payload into a new reply.
//
//go:noinline
func nativeEcho(_ context.Context, _ string, p []byte) ([]byte, error) {
	out := make([]byte, len(p))
	copy(out, p)
	return out, nil
}

// BenchmarkCall measures App.Call of echo against a native function doing
// the same copy, measured just before in the same run, and reports the
// ratio.
func BenchmarkCall(b *testing.B) {
	a, _ := load(b, "testapp", nil, Limits{})
	for _, size := range []int{64, 16 << 10} {
		payload := bytes.Repeat([]byte{'p'}, size)
		var nativeNs float64
		b.Run(fmt.Sprintf("native-%dB", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				nativeEcho(context.Background(), "echo", payload)
			}
			// The last run of this function is the one reported.
			nativeNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		b.Run(fmt.Sprintf("wasm-%dB", size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := a.Call(context.Background(), "echo", payload); err != nil {
					b.Fatal(err)
				}
			}
			if nativeNs > 0 {
				perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perOp/nativeNs, "x-native")
			}
		})
	}
}

// BenchmarkInstantiate measures starting one more instance of a loaded
// app: instantiation from the compiled module plus the guest's
// _initialize (Go's runtime and package initialisers).
func BenchmarkInstantiate(b *testing.B) {
	a, _ := load(b, "testapp", nil, Limits{})
	b.ReportAllocs()
	for b.Loop() {
		in, err := a.newInstance(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		in.close()
	}
}

// BenchmarkIdleInstance measures what an extra idle instance costs: the
// guest's linear memory, and the Go heap it takes in all (linear memory
// is Go heap too, plus wazero's per-instance state).
func BenchmarkIdleInstance(b *testing.B) {
	const batch = 16
	a, _ := load(b, "testapp", nil, Limits{})
	var guestBytes, heapBytes, batches float64
	for i := 0; b.Loop(); i++ {
		if i%batch == 0 {
			g, h := idleInstanceCost(b, a, batch, "")
			guestBytes, heapBytes, batches = guestBytes+g, heapBytes+h, batches+1
		}
	}
	b.ReportMetric(guestBytes/batches, "guest-bytes/instance")
	b.ReportMetric(heapBytes/batches, "heap-bytes/instance")
}

// idleInstanceCost starts n instances, has each serve method once unless
// it is "", and reports per instance the guest's linear memory and the Go
// heap they take in all (linear memory is Go heap too, plus wazero's state).
func idleInstanceCost(b *testing.B, a *App, n int, method string) (guestBytes, heapBytes float64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	kept := make([]*instance, 0, n)
	for range n {
		in, err := a.newInstance(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if method != "" {
			if _, err := in.call(context.Background(), method, []byte("x")); err != nil {
				b.Fatal(err)
			}
		}
		kept = append(kept, in)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, in := range kept {
		guestBytes += float64(in.mem.Size())
		in.close()
	}
	return guestBytes / float64(n), (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
}
