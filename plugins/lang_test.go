package plugins

import (
	"context"
	"strconv"
	"testing"

	"github.com/ozanturksever/go-cluster/internal/testwasm"
)

// The same app, basic, written with each guest SDK: greet (config and
// payload) and incr (a compare-and-set counter in the app's KV).
var basicGuests = []struct {
	lang  string
	build func(testing.TB) []byte
}{
	{"go", func(tb testing.TB) []byte { return testwasm.Build(tb, "examples/basic") }},
	{"rust", func(tb testing.TB) []byte { return testwasm.BuildRust(tb, "sdk-rust", "basic") }},
}

func loadBasic(tb testing.TB, wasm []byte, caps Capabilities) *App {
	tb.Helper()
	r, _ := newTestRuntime(tb)
	a, err := r.Load(context.Background(), "basic", wasm, caps, Limits{})
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return a
}

// TestBasicGuests runs both builds of basic through the same calls: they
// must answer alike.
func TestBasicGuests(t *testing.T) {
	for _, g := range basicGuests {
		t.Run(g.lang, func(t *testing.T) {
			caps := newFakeCaps()
			caps.config["greeting"] = "Hi"
			a := loadBasic(t, g.build(t), caps)
			if got := string(call(t, a, "greet", []byte("Ann"))); got != "Hi, Ann!" {
				t.Errorf("greet = %q, want %q", got, "Hi, Ann!")
			}
			for want := 1; want <= 3; want++ {
				if got := string(call(t, a, "incr", nil)); got != strconv.Itoa(want) {
					t.Errorf("incr #%d = %q", want, got)
				}
			}
			if _, err := a.Call(context.Background(), "nope", nil); err == nil {
				t.Error("unknown method: no error")
			}
		})
	}
}

// BenchmarkBasicGuests compares the Go and the Rust build of basic in one
// run: starting an instance (instantiation and the guest's start-up), one
// greet call, and what an idle instance holds. The Rust results carry
// their ratio to Go's (x-go).
func BenchmarkBasicGuests(b *testing.B) {
	instantiate := map[string]float64{}
	calls := map[string]float64{}
	for _, g := range basicGuests {
		wasm := g.build(b)
		b.Run(g.lang+"/instantiate", func(b *testing.B) {
			a := loadBasic(b, wasm, nil)
			guest, heap := idleInstanceCost(b, a, 8, "greet")
			b.ResetTimer()
			for b.Loop() {
				in, err := a.newInstance(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				in.close()
			}
			instantiate[g.lang] = perOp(b)
			reportRatio(b, g.lang, instantiate)
			b.ReportMetric(guest, "guest-bytes/instance")
			b.ReportMetric(heap, "heap-bytes/instance")
		})
		b.Run(g.lang+"/call", func(b *testing.B) {
			a := loadBasic(b, wasm, nil)
			payload := []byte("world")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Call(context.Background(), "greet", payload); err != nil {
					b.Fatal(err)
				}
			}
			calls[g.lang] = perOp(b)
			reportRatio(b, g.lang, calls)
		})
	}
}

func perOp(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }

func reportRatio(b *testing.B, lang string, ns map[string]float64) {
	if lang != "go" && ns["go"] > 0 {
		b.ReportMetric(ns[lang]/ns["go"], "x-go")
	}
}
