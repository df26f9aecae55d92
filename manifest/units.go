package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Size is a number of bytes. It is written as an integer with an optional
// unit: binary KiB, MiB, GiB, TiB (powers of 1024), decimal KB, MB, GB, TB
// (powers of 1000) or B; units are case-insensitive and may follow a space.
// A bare integer is bytes. Fractions are refused rather than rounded, so a
// limit means exactly what it says. Size marshals as the shortest exact
// form, e.g. "64MiB".
type Size int64

// Size units.
const (
	B   Size = 1
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
	KB  Size = 1e3
	MB  Size = 1e6
	GB  Size = 1e9
	TB  Size = 1e12
)

// Binary units first: String prefers them when both divide exactly.
var sizeUnits = []struct {
	name string
	size Size
}{
	{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB},
	{"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB}, {"B", B},
}

// ParseSize parses a size such as "64MiB", "1MB", "512 KiB" or "1048576".
func ParseSize(s string) (Size, error) {
	num := strings.TrimSpace(s)
	unit := ""
	if i := strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		num, unit = num[:i], strings.TrimSpace(num[i:])
	}
	if num == "" {
		return 0, fmt.Errorf("%q is not a size (want a whole number of bytes with an optional unit, like 64MiB or 1048576)", s)
	}
	if strings.HasPrefix(unit, ".") {
		return 0, fmt.Errorf("%q is not a whole number (use a smaller unit, like 1536MiB for 1.5GiB)", s)
	}
	mult, ok := B, unit == ""
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			mult, ok = u.size, true
		}
	}
	if !ok {
		return 0, fmt.Errorf("%q has an unknown unit %q (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", s, unit)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return Size(n) * mult, nil
}

// String returns the size in its largest exact unit, e.g. "64MiB", "1MB",
// "1000001B". Zero is "0B".
func (s Size) String() string {
	for _, u := range sizeUnits {
		if s != 0 && s%u.size == 0 {
			return strconv.FormatInt(int64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalText writes String; YAML and text encoders use it.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses ParseSize's forms.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalJSON writes a string, the same as YAML.
func (s Size) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON accepts a string or a bare integer of bytes; null leaves s
// unchanged, as encoding/json does for other types.
func (s *Size) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		return s.UnmarshalText([]byte(str))
	}
	return s.UnmarshalText(b)
}

// UnmarshalYAML accepts a string or a bare integer of bytes.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a size like 64MiB or 1048576")
	}
	return s.UnmarshalText([]byte(n.Value))
}

// Duration is a time.Duration written as Go writes durations: "5s",
// "250ms", "1m30s". A bare number other than 0 is refused, so "timeout: 5"
// cannot mean five nanoseconds by accident.
type Duration time.Duration

// ParseDuration parses a duration such as "5s" or "250ms".
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want a number with a unit, like 5s or 250ms)", s)
	}
	return Duration(d), nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String returns the duration as time.Duration does, without the trailing
// zero units ("10m" rather than "10m0s").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText writes String; YAML and text encoders use it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses ParseDuration's forms.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalYAML accepts a scalar in ParseDuration's forms.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a duration like 5s or 250ms")
	}
	return d.UnmarshalText([]byte(n.Value))
}
