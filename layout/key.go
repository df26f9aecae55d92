package layout

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadKey is a guest key that is empty, too long, or (when decoding) not
// produced by EncodeKey.
var ErrBadKey = errors.New("bad key")

// MaxKeyLen is the longest guest key, in bytes (abi.MaxKeyLen).
const MaxKeyLen = 512

const hexDigits = "0123456789ABCDEF"

// EncodeKey maps a guest key (any bytes) to a NATS KV key. Letters, digits,
// '-', '_' and '/' stand for themselves; every other byte becomes "=XX".
// The result never holds '.', '*' or '>', so it is always one subject token
// of the app's own bucket: a key is data, never syntax. The mapping is
// injective, so distinct guest keys never collide.
func EncodeKey(key []byte) (string, error) {
	if len(key) == 0 {
		return "", fmt.Errorf("cannot use an empty key: %w", ErrBadKey)
	}
	if len(key) > MaxKeyLen {
		return "", fmt.Errorf("cannot use a key of %d bytes (max %d): %w", len(key), MaxKeyLen, ErrBadKey)
	}
	var b strings.Builder
	b.Grow(len(key))
	for _, c := range key {
		if plainKeyByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String(), nil
}

// DecodeKey inverts EncodeKey.
func DecodeKey(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plainKeyByte(c) {
			out = append(out, c)
			continue
		}
		if c != '=' || i+2 >= len(s) {
			return nil, fmt.Errorf("cannot decode key %q: %w", s, ErrBadKey)
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return nil, fmt.Errorf("cannot decode key %q: %w", s, ErrBadKey)
		}
		out = append(out, byte(hi<<4|lo))
		i += 2
	}
	if len(out) == 0 || len(out) > MaxKeyLen {
		return nil, fmt.Errorf("cannot decode key %q: %w", s, ErrBadKey)
	}
	return out, nil
}

func plainKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/'
}

// unhex accepts upper-case digits only, so every byte has one encoding.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
