package manifest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
		err  string
	}{
		{"64MiB", 64 << 20, ""},
		{"1MB", 1_000_000, ""},
		{"512KiB", 512 << 10, ""},
		{"1048576", 1 << 20, ""},
		{"0", 0, ""},
		{"4GiB", 4 << 30, ""},
		{"2TiB", 2 << 40, ""},
		{"3GB", 3e9, ""},
		{"1TB", 1e12, ""},
		{"1KB", 1000, ""},
		{"10B", 10, ""},
		{"64 MiB", 64 << 20, ""},
		{" 64mib ", 64 << 20, ""},
		{"1kb", 1000, ""},
		{"", 0, "not a size"},
		{"MiB", 0, "not a size"},
		{"-1MiB", 0, "not a size"},
		{"+1", 0, "not a size"},
		{"1.5GiB", 0, "not a whole number"},
		{"1e6", 0, "unknown unit"},
		{"64M", 0, "unknown unit"},
		{"64 megs", 0, "unknown unit"},
		{"0x10", 0, "unknown unit"},
		{"9223372036854775807", 1<<63 - 1, ""},
		{"9223372036854775808", 0, "too large"},
		{"8388608TiB", 0, "too large"},
		{"8388607TiB", 8388607 << 40, ""},
	}
	for _, tc := range cases {
		got, err := ParseSize(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseSize(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseSize(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		case tc.err == "" && got != tc.want:
			t.Errorf("ParseSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSizeString(t *testing.T) {
	cases := map[Size]string{
		0: "0B", 1: "1B", 1023: "1023B", KiB: "1KiB", 64 * MiB: "64MiB", 4 * GiB: "4GiB",
		1536 * MiB: "1536MiB", MB: "1MB", 1000: "1KB", 1000001: "1000001B", 3 * TiB: "3TiB",
		1 << 62: "4194304TiB", 1<<63 - 1: "9223372036854775807B",
	}
	for s, want := range cases {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
		if back, err := ParseSize(s.String()); err != nil || back != s {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s.String(), back, err, s)
		}
	}
}

func TestSizeEncodings(t *testing.T) {
	type doc struct {
		S Size `yaml:"s" json:"s"`
	}
	for _, in := range []string{`{"s":"64MiB"}`, `{"s":67108864}`, `{"s":"67108864"}`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.S != 64*MiB {
			t.Errorf("json %s: %v %v", in, d.S, err)
		}
	}
	for _, in := range []string{"s: 64MiB", "s: 67108864", "s: '64 MiB'"} {
		var d doc
		if err := yaml.Unmarshal([]byte(in), &d); err != nil || d.S != 64*MiB {
			t.Errorf("yaml %s: %v %v", in, d.S, err)
		}
	}
	for _, in := range []string{`{"s":"64X"}`, `{"s":1.5}`, `{"s":true}`, `{"s":-1}`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("json %s: want an error, got %v", in, d.S)
		}
	}
	var d doc
	if err := yaml.Unmarshal([]byte("s: [1]"), &d); err == nil {
		t.Error("yaml list: want an error")
	}
	if err := json.Unmarshal([]byte(`{"s":null}`), &d); err != nil {
		t.Errorf("json null: %v", err)
	}
	b, _ := json.Marshal(doc{S: 64 * MiB})
	y, _ := yaml.Marshal(doc{S: 64 * MiB})
	if string(b) != `{"s":"64MiB"}` || string(y) != "s: 64MiB\n" {
		t.Errorf("marshal: json %s, yaml %q", b, y)
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5s", 5 * time.Second, true},
		{"250ms", 250 * time.Millisecond, true},
		{"1m30s", 90 * time.Second, true},
		{"1h", time.Hour, true},
		{"0", 0, true},
		{"5", 0, false},
		{"", 0, false},
		{"five seconds", 0, false},
		{"5 s", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got.Std() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "like 5s") {
			t.Errorf("ParseDuration(%q): unhelpful %v", tc.in, err)
		}
	}
}

func TestDurationString(t *testing.T) {
	cases := map[time.Duration]string{
		0: "0s", 5 * time.Second: "5s", 250 * time.Millisecond: "250ms", 10 * time.Minute: "10m",
		90 * time.Second: "1m30s", time.Hour: "1h", time.Hour + time.Second: "1h0m1s",
		2*time.Hour + 3*time.Minute: "2h3m", 1500 * time.Microsecond: "1.5ms",
	}
	for d, want := range cases {
		got := Duration(d).String()
		if got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back.Std() != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}

func TestDurationEncodings(t *testing.T) {
	type doc struct {
		D Duration `yaml:"d" json:"d"`
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"d":"250ms"}`), &d); err != nil || d.D.Std() != 250*time.Millisecond {
		t.Errorf("json: %v %v", d.D, err)
	}
	if err := yaml.Unmarshal([]byte("d: 250ms"), &d); err != nil || d.D.Std() != 250*time.Millisecond {
		t.Errorf("yaml: %v %v", d.D, err)
	}
	if err := json.Unmarshal([]byte(`{"d":5}`), &d); err == nil {
		t.Error("json number: want an error")
	}
	if err := yaml.Unmarshal([]byte("d: {a: 1}"), &d); err == nil {
		t.Error("yaml mapping: want an error")
	}
	b, _ := json.Marshal(doc{D: Duration(10 * time.Minute)})
	y, _ := yaml.Marshal(doc{D: Duration(10 * time.Minute)})
	if string(b) != `{"d":"10m"}` || string(y) != "d: 10m\n" {
		t.Errorf("marshal: json %s, yaml %q", b, y)
	}
}

func TestMemoryPages(t *testing.T) {
	for mem, want := range map[Size]uint32{64 * MiB: 1024, MiB + 1: 16, 4 * GiB: 65536, MB: 15} {
		if got := (Limits{Memory: mem}).MemoryPages(); got != want {
			t.Errorf("MemoryPages(%v) = %d, want %d", mem, got, want)
		}
	}
}
