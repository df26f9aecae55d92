package host

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/ozanturksever/go-cluster/client"
	"github.com/ozanturksever/go-cluster/manifest"
)

// nativeNS is the native baseline's time per op, kept for the wasm run's ratio.
var nativeNS float64

// BenchmarkAPICall compares a call of the basic app's greet through the
// host with a native Go micro handler doing the same work, on the same
// NATS server through the same client connection.
func BenchmarkAPICall(b *testing.B) {
	h := startHost(b, testConfig(b, "n1"))
	c := connect(b, h)
	m, wasm := loadBasic(b)
	deploy(b, c, m, wasm)
	stopNative := serveNativeGreet(b, h, m)
	defer stopNative()
	ctx := context.Background()
	payload := []byte("world")

	run := func(b *testing.B, subject string) {
		for b.Loop() {
			resp, err := c.Conn().RequestWithContext(ctx, subject, payload)
			if err != nil || len(resp.Data) == 0 {
				b.Fatalf("call: %v", err)
			}
		}
	}
	b.Run("native", func(b *testing.B) {
		run(b, "bench.native.greet")
		nativeNS = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("wasm", func(b *testing.B) {
		run(b, h.layout.APISubject("basic", "greet"))
		if nativeNS > 0 {
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/nativeNS, "wasm/native")
		}
	})
}

// serveNativeGreet serves the basic app's greet natively, the way a Go
// program would without go-cluster, on its own connection to the host's
// NATS (in-process, like the host's own).
func serveNativeGreet(b *testing.B, h *Host, m *manifest.Manifest) func() {
	nc, err := nats.Connect(h.ClientURL(), nats.InProcessServer(h.ns))
	if err != nil {
		b.Fatal(err)
	}
	greeting := m.Config["greeting"]
	svc, err := micro.AddService(nc, micro.Config{Name: "native", Version: "1.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	err = svc.AddEndpoint("greet", micro.HandlerFunc(func(r micro.Request) {
		_ = r.Respond([]byte(greeting + ", " + string(r.Data()) + "!"))
	}), micro.WithEndpointSubject("bench.native.greet"))
	if err != nil {
		b.Fatal(err)
	}
	return func() { _ = svc.Stop(); nc.Close() }
}

// BenchmarkColdStart measures deploy -> first successful call of the basic
// app. cold-cache deploys a module no host has compiled (the same code
// with a unique custom section); warm-cache deploys the same module again
// under a new name, so its compilation comes from the on-disk cache.
func BenchmarkColdStart(b *testing.B) {
	h := startHost(b, testConfig(b, "n1"))
	c := connect(b, h)
	m, wasm := loadBasic(b)
	seq := 0
	measure := func(b *testing.B, module func() []byte) {
		var total time.Duration
		for b.Loop() {
			b.StopTimer()
			seq++
			mm := *m
			mm.Name = fmt.Sprintf("cold%d", seq)
			mod := module()
			b.StartTimer()
			start := time.Now()
			coldDeployAndCall(b, c, &mm, mod)
			total += time.Since(start)
			b.StopTimer()
			if err := c.Registry().Undeploy(context.Background(), mm.Name); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/start")
	}
	b.Run("cold-cache", func(b *testing.B) {
		measure(b, func() []byte { return withCustomSection(wasm, fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), seq)) })
	})
	b.Run("warm-cache", func(b *testing.B) {
		// The first deploy of these bytes compiles them; the ones measured
		// find them in the cache.
		warm := *m
		warm.Name = "warmup"
		coldDeployAndCall(b, c, &warm, wasm)
		measure(b, func() []byte { return wasm })
	})
}

func coldDeployAndCall(b *testing.B, c *client.Client, m *manifest.Manifest, wasm []byte) {
	ctx := context.Background()
	if _, err := c.Deploy(ctx, m, wasm, nil); err != nil {
		b.Fatal(err)
	}
	var err error
	answered := poll(60*time.Second, time.Millisecond, func() bool {
		_, err = c.Call(ctx, m.Name, "greet", []byte("x"), client.CallOptions{Timeout: 5 * time.Second})
		return err == nil
	})
	if !answered {
		b.Fatalf("%s never answered: %v", m.Name, err)
	}
}

// withCustomSection appends a custom section: the module means the same
// but its bytes, digest and compilation-cache key differ.
func withCustomSection(wasm []byte, name string) []byte {
	// The section carries one data byte: wazero refuses an empty custom
	// section at the very end of a module.
	body := append(append(uleb(uint32(len(name))), name...), 1)
	out := append([]byte{}, wasm...)
	out = append(out, 0)
	out = append(out, uleb(uint32(len(body)))...)
	return append(out, body...)
}

func uleb(v uint32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}
