package plugins

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
)

// BenchmarkExtismCall measures App.Call of a trivial echo on the native
// path (the testapp guest, sdk-go) and on the Extism path (the extismapp
// guest, Extism's Go PDK through extism go-sdk), one after the other in the
// same run, and reports Extism's cost as a multiple of the native one.
func BenchmarkExtismCall(b *testing.B) {
	native, _ := load(b, "testapp", nil, Limits{})
	ext, _ := load(b, "extismapp", nil, Limits{})
	for _, size := range []int{64, 16 << 10} {
		payload := bytes.Repeat([]byte{'p'}, size)
		var nativeNs float64
		b.Run(fmt.Sprintf("native-%dB", size), func(b *testing.B) {
			nativeNs = benchCalls(b, native, "echo", payload)
		})
		b.Run(fmt.Sprintf("extism-%dB", size), func(b *testing.B) {
			if perOp := benchCalls(b, ext, "echo", payload); nativeNs > 0 {
				b.ReportMetric(perOp/nativeNs, "x-native")
			}
		})
	}
}

// benchCalls calls method b.N times and returns the time per call.
func benchCalls(b *testing.B, a *App, method string, payload []byte) float64 {
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := a.Call(context.Background(), method, payload); err != nil {
			b.Fatal(err)
		}
	}
	// The last run of this function is the one reported.
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}

// BenchmarkExtismHostCall measures one kv_get, guest -> host -> fake KV ->
// guest, on each path: the guest reads a key b.N times within a single
// call, so ns/op is per host call. The native guest passes the key and
// gets the value through its buffers; the Extism guest writes a JSON
// request into an Extism block and decodes a JSON response from another.
func BenchmarkExtismHostCall(b *testing.B) {
	caps := newFakeCaps()
	caps.kv["k"] = fakeEntry{[]byte("value"), 1}
	native, _ := load(b, "testapp", caps, Limits{})
	ext, _ := load(b, "extismapp", caps, Limits{})
	var nativeNs float64
	b.Run("native-kv_get", func(b *testing.B) {
		nativeNs = benchHostCalls(b, native, "kvgets")
	})
	b.Run("extism-kv_get", func(b *testing.B) {
		if perOp := benchHostCalls(b, ext, "kv_gets"); nativeNs > 0 {
			b.ReportMetric(perOp/nativeNs, "x-native")
		}
	})
}

func benchHostCalls(b *testing.B, a *App, method string) float64 {
	b.ReportAllocs()
	b.ResetTimer()
	if out, err := a.Call(context.Background(), method, strconv.AppendInt(nil, int64(b.N), 10)); err != nil || string(out) != "ok" {
		b.Fatalf("%s: %q, %v", method, out, err)
	}
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}
