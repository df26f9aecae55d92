package manifest

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts is
// valid, stores as JSON, and reads back as an equal, valid manifest.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add(readmeExample(f))
	for _, s := range []string{
		minimal + "mode: replicas\nreplicas: 3\npattern: ring\npartitions: 8\n",
		minimal + "data: {db: {}, events: {publish: [a], subscribe: [b.*]}}\nconfig: {a: '1'}\n",
		minimal + "data: {events: {subscribe: [platform.*, platform.leader, b.x], durable: true}}\n",
		"name: platform\nversion: 1.0.0\nwasm: p.wasm\napi: [get]\n",
		minimal + "limits: &l {memory: 1MiB}\nplacement: {<<: {nodes: [n1]}}\n",
		minimal + "vip: {address: 10.0.0.1/24, interface: eth0}\n",
		minimal + "backend: {kind: docker, container: c, health: {exec: [x], grace: 1s}}\n",
		"a: &a [*a]\n", "- [x]\n", "name: 'x\n", "{}", "[", "~",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("a manifest came back with an error")
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted but invalid: %v", err)
		}
		b, err := m.JSON()
		if err != nil {
			t.Fatalf("JSON: %v", err)
		}
		back, err := ParseJSON(b)
		if err != nil {
			t.Fatalf("ParseJSON(%s): %v", b, err)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("round trip changed the manifest:\n%#v\n%#v", m, back)
		}
	})
}

// FuzzParseSize checks that ParseSize never panics, that what it accepts
// prints back to the same size, and that every size's string parses.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64MiB", "1MB", "512 KiB", "1048576", "0", "", "1.5GiB", "9223372036854775807", "8388608TiB", "-1"} {
		f.Add(s, int64(len(s))<<20)
	}
	f.Fuzz(func(t *testing.T, s string, n int64) {
		if size, err := ParseSize(s); err == nil {
			if size < 0 {
				t.Fatalf("ParseSize(%q) = %d", s, size)
			}
			if back, err := ParseSize(size.String()); err != nil || back != size {
				t.Fatalf("ParseSize(%q) = %d, prints %q, reads back %d, %v", s, size, size.String(), back, err)
			}
		}
		if n < 0 {
			return
		}
		if back, err := ParseSize(Size(n).String()); err != nil || back != Size(n) {
			t.Fatalf("Size(%d) prints %q, reads back %d, %v", n, Size(n).String(), back, err)
		}
	})
}
