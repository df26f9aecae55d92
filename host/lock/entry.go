package lock

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"
)

// Info is a held lock as the server has it.
type Info struct {
	// Owner is the Config.Owner of the table that acquired the lock.
	Owner string
	// Token is the holder's fencing token: the revision of the write that
	// acquired the lock. It stays the same across renewals.
	Token uint64
	// Expires is when the server frees the lock unless it is renewed: the
	// server's time of the latest write plus its ttl (rounded up to a
	// whole second). The server frees it up to a fraction of a second
	// later than that, never sooner (clock skew between servers aside).
	Expires time.Time
}

// record is what a lock's key holds: "OWNER\nTOKEN\nTTL\nNONCE", readable
// with `nats kv get`. The write that acquires a lock cannot know its own
// revision and carries token 0, which reads as "this revision"; renewals
// carry the token. TTL is the write's TTL in whole seconds. NONCE is
// random per Acquire call and kept by renewals: an Acquire whose write was
// stored but not acknowledged (a timeout, a reconnect) knows it again.
type record struct {
	owner string
	token uint64
	ttl   time.Duration
	nonce string
}

func (r record) encode() []byte {
	b := make([]byte, 0, len(r.owner)+len(r.nonce)+24)
	b = append(b, r.owner...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, r.token, 10)
	b = append(b, '\n')
	b = strconv.AppendInt(b, int64(r.ttl/time.Second), 10)
	b = append(b, '\n')
	return append(b, r.nonce...)
}

var errFormat = errors.New("not a lock record")

func decode(b []byte) (record, error) {
	f := bytes.Split(b, []byte{'\n'})
	if len(f) != 4 || len(f[0]) == 0 {
		return record{}, errFormat
	}
	token, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return record{}, errFormat
	}
	secs, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil || secs <= 0 {
		return record{}, errFormat
	}
	return record{owner: string(f[0]), token: token, ttl: time.Duration(secs) * time.Second, nonce: string(f[3])}, nil
}

// newNonce names one Acquire call.
func newNonce() string { return strconv.FormatUint(rand.Uint64(), 36) }

// entry is a key's latest write, as read or watched.
type entry struct {
	free  bool   // absent, or a release or expiry marker
	rev   uint64 // the latest write's revision (0 when absent)
	info  Info   // with !free
	nonce string // with !free: the acquiring call's
}

// parse reads a lock's latest write: value, stored at revision rev at
// the server's time created. A write that is not a lock record (written
// by something else) counts as held by "?" until it is removed: taking
// over a key that is not ours would be guessing.
func parse(value []byte, rev uint64, created time.Time) entry {
	r, err := decode(value)
	if err != nil {
		return entry{rev: rev, info: Info{Owner: "?", Token: rev}}
	}
	token := r.token
	if token == 0 {
		token = rev
	}
	return entry{rev: rev, info: Info{Owner: r.owner, Token: token, Expires: created.Add(r.ttl)}, nonce: r.nonce}
}

// serverTTL is the TTL the server keeps a write with: ttl rounded up to a
// whole second. The server reads a TTL header as whole seconds (rounding
// down) and refuses less than one.
func serverTTL(ttl time.Duration) time.Duration {
	return (ttl + time.Second - 1).Truncate(time.Second)
}
