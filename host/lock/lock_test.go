package lock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ozanturksever/go-cluster/abi"
	"github.com/ozanturksever/go-cluster/internal/natstest"
	"github.com/ozanturksever/go-cluster/internal/testwait"
)

func TestAcquireRelease(t *testing.T) {
	a, b := pair(t)
	ctx := ctxLong(t)
	name := []byte("orders/42")
	tok := acquire(t, a, string(name), 30*time.Second)

	info, err := b.Holder(ctx, name)
	if err != nil || info.Owner != "a" || info.Token != tok || !info.Expires.After(time.Now()) {
		t.Fatalf("Holder = %+v, %v; want a's lock under token %d, expiring later", info, err, tok)
	}
	_, err = b.Acquire(ctx, name, time.Minute, 0)
	wantErr(t, "Acquire of a held lock without waiting", err, ErrHeld, abi.ErrConflict)
	if !strings.Contains(err.Error(), `node "a" holds it`) {
		t.Errorf("error %q does not say who holds the lock", err)
	}

	wantErr(t, "Release by a non-holder", b.Release(ctx, name, tok+1), ErrNotHolder, abi.ErrConflict)
	if err := a.Release(ctx, name, tok); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "second Release", a.Release(ctx, name, tok), ErrNotHolder, abi.ErrConflict)
	_, err = a.Holder(ctx, name)
	wantErr(t, "Holder of a released lock", err, ErrFree, abi.ErrNotFound)

	tok2 := acquire(t, b, string(name), 30*time.Second)
	if tok2 <= tok {
		t.Errorf("token did not grow: %d then %d", tok, tok2)
	}
	wantErr(t, "Release by the former holder", a.Release(ctx, name, tok), ErrNotHolder)
}

// Waiters are woken by the release's marker (the watch's safety-net
// reads are off).
func TestWaitWokenByRelease(t *testing.T) {
	a, b := pair(t)
	b.resyncEvery = time.Hour
	ev := recordEvents(b)
	ctx := ctxLong(t)
	tok := acquire(t, a, "job", time.Minute)

	// Two waiters share one watch.
	w1 := acquireAsync(t, b, "job", time.Minute, 20*time.Second)
	w2 := acquireAsync(t, b, "job", time.Minute, 20*time.Second)
	ev.parked(t, 2)
	if err := a.Release(ctx, []byte("job"), tok); err != nil {
		t.Fatal(err)
	}
	// One takes it; when it releases, the other does.
	first, second := w1, w2
	select {
	case <-w1.done:
	case <-w2.done:
		first, second = w2, w1
	case <-time.After(waitLong):
		t.Fatal("no waiter acquired the released lock")
	}
	tok1, err := first.wait(t)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Release(ctx, []byte("job"), tok1); err != nil {
		t.Fatal(err)
	}
	tok2, err := second.wait(t)
	if err != nil {
		t.Fatal(err)
	}
	if !(tok < tok1 && tok1 < tok2) {
		t.Errorf("tokens did not grow: %d, %d, %d", tok, tok1, tok2)
	}
	if ev.get("marker") == 0 {
		t.Errorf("events: %v; want the release marker seen", ev)
	}
}

func TestWaitEndsHeld(t *testing.T) {
	a, b := pair(t)
	b.resyncEvery = time.Hour
	acquire(t, a, "job", time.Minute)
	_, err := b.Acquire(ctxLong(t), []byte("job"), time.Minute, 300*time.Millisecond)
	wantErr(t, "Acquire past its wait", err, ErrHeld, abi.ErrConflict)
}

func TestContextDeadline(t *testing.T) {
	a, b := pair(t)
	acquire(t, a, "job", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := b.Acquire(ctx, []byte("job"), time.Minute, 20*time.Second)
	wantErr(t, "Acquire past its context's deadline", err, abi.ErrTimeout, context.DeadlineExceeded)
}

// A holder that never releases loses the lock to the server's expiry; the
// waiter is woken by the expiry marker (the watch's safety-net reads are
// off).
func TestExpiry(t *testing.T) {
	a, b := pair(t)
	b.resyncEvery = time.Hour
	ev := recordEvents(b)
	ctx := ctxLong(t)
	name := []byte("job")
	tokA := acquire(t, a, "job", time.Second)

	tokB, err := b.Acquire(ctx, name, time.Minute, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tokB <= tokA {
		t.Errorf("token did not grow: %d then %d", tokA, tokB)
	}
	if ev.get("marker") == 0 {
		t.Errorf("events: %v; want the expiry marker seen", ev)
	}
	err = a.Renew(ctx, name, tokA, time.Minute)
	wantErr(t, "Renew by the expired holder", err, ErrNotHolder, abi.ErrConflict)
	if !strings.Contains(err.Error(), `node "b" holds it`) {
		t.Errorf("error %q does not name the new holder", err)
	}
	wantErr(t, "Release by the expired holder", a.Release(ctx, name, tokA), ErrNotHolder)
	if info, err := a.Holder(ctx, name); err != nil || info.Owner != "b" || info.Token != tokB {
		t.Errorf("Holder = %+v, %v; want b under token %d", info, err, tokB)
	}
}

func TestExpiryFrees(t *testing.T) {
	a, _ := pair(t)
	ctx := ctxLong(t)
	tok := acquire(t, a, "job", time.Second)
	testwait.For(t, waitLong, 20*time.Millisecond, "the lock to expire", func() bool {
		_, err := a.Holder(ctx, []byte("job"))
		return err != nil
	})
	err := a.Renew(ctx, []byte("job"), tok, time.Minute)
	wantErr(t, "Renew of an expired lock", err, ErrNotHolder)
	if !strings.Contains(err.Error(), "nobody does") {
		t.Errorf("error %q does not say the lock is free", err)
	}
}

// Renew keeps the lock past its first ttl, under the same token.
func TestRenew(t *testing.T) {
	a, b := pair(t)
	b.resyncEvery = time.Hour
	ctx := ctxLong(t)
	name := []byte("job")
	tok := acquire(t, a, "job", time.Second)
	before, err := a.Holder(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Renew(ctx, name, tok, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Without the renewal the server would free it after about a second,
	// and b would take it well within its wait.
	_, err = b.Acquire(ctx, name, time.Minute, 2500*time.Millisecond)
	wantErr(t, "Acquire of a renewed lock", err, ErrHeld)
	after, err := b.Holder(ctx, name)
	if err != nil || after.Token != tok || after.Owner != "a" || !after.Expires.After(before.Expires) {
		t.Fatalf("Holder = %+v, %v; want a under token %d, expiring after %v", after, err, tok, before.Expires)
	}
	wantErr(t, "Renew by a non-holder", b.Renew(ctx, name, tok+1, time.Minute), ErrNotHolder, abi.ErrConflict)
	// The token is what holds the lock: another table may renew with it,
	// and the owner recorded stays the acquirer.
	if err := b.Renew(ctx, name, tok, time.Minute); err != nil {
		t.Fatal(err)
	}
	if info, err := b.Holder(ctx, name); err != nil || info.Owner != "a" || info.Token != tok {
		t.Fatalf("Holder = %+v, %v; want a under token %d", info, err, tok)
	}
	if err := a.Release(ctx, name, tok); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Renew after Release", a.Renew(ctx, name, tok, time.Minute), ErrNotHolder)
}

// Names are data: dots, wildcards, spaces and any bytes name distinct
// locks, up to MaxName bytes.
func TestHostileNames(t *testing.T) {
	a, b := pair(t)
	ctx := ctxLong(t)
	names := []string{
		"a", "A", "a.b", "a.*", "a.>", "*", ">", ".", "..", "a b", " ", "\x00",
		"\xff\xfe", "=41", "=", "a/b", "a_b", "a-b", "é", "$KV.locks.a",
		strings.Repeat("\xff", MaxName), strings.Repeat("x", MaxName), strings.Repeat(".", MaxName),
	}
	tokens := map[string]uint64{}
	for _, n := range names {
		tokens[n] = acquire(t, a, n, time.Minute) // a collision would be ErrHeld
	}
	for _, n := range names {
		info, err := b.Holder(ctx, []byte(n))
		if err != nil || info.Token != tokens[n] {
			t.Errorf("Holder(%q) = %+v, %v; want token %d", n, info, err, tokens[n])
		}
		if err := a.Renew(ctx, []byte(n), tokens[n], time.Minute); err != nil {
			t.Error(err)
		}
		if err := a.Release(ctx, []byte(n), tokens[n]); err != nil {
			t.Error(err)
		}
	}
	for _, n := range [][]byte{nil, {}, bytes.Repeat([]byte("x"), MaxName+1)} {
		_, err := a.Acquire(ctx, n, time.Minute, 0)
		wantErr(t, "Acquire of a bad name", err, ErrBadName, abi.ErrInvalid)
		wantErr(t, "Renew of a bad name", a.Renew(ctx, n, 1, time.Minute), ErrBadName, abi.ErrInvalid)
		wantErr(t, "Release of a bad name", a.Release(ctx, n, 1), ErrBadName, abi.ErrInvalid)
		_, err = a.Holder(ctx, n)
		wantErr(t, "Holder of a bad name", err, ErrBadName, abi.ErrInvalid)
	}
}

func TestBadTTLAndWait(t *testing.T) {
	s := natstest.Start(t, nil)
	nc := natstest.Connect(t, s.ClientURL())
	kv := natstest.KeyValue(t, nc, BucketConfig(testBucket, 1))
	js, _ := jetstream.New(nc)
	tbl, err := New(Config{KV: kv, JS: js, Owner: "a", MaxTTL: 10 * time.Second, MaxWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxLong(t)
	for _, ttl := range []time.Duration{-time.Second, 0, MinTTL - 1, 10*time.Second + 1} {
		_, err := tbl.Acquire(ctx, []byte("x"), ttl, 0)
		wantErr(t, "Acquire with ttl "+ttl.String(), err, ErrBadTTL, abi.ErrInvalid)
		wantErr(t, "Renew with ttl "+ttl.String(), tbl.Renew(ctx, []byte("x"), 1, ttl), ErrBadTTL, abi.ErrInvalid)
	}
	for _, wait := range []time.Duration{-1, 2*time.Second + 1} {
		_, err := tbl.Acquire(ctx, []byte("x"), time.Second, wait)
		wantErr(t, "Acquire with wait "+wait.String(), err, ErrBadWait, abi.ErrInvalid)
	}
	// The bounds themselves are fine; MinTTL is kept for a whole second.
	tok, err := tbl.Acquire(ctx, []byte("x"), MinTTL, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Renew(ctx, []byte("x"), tok, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestBucketCheck(t *testing.T) {
	s := natstest.Start(t, nil)
	nc := natstest.Connect(t, s.ClientURL())
	kv := natstest.KeyValue(t, nc, jetstream.KeyValueConfig{Bucket: "plain"})
	js, _ := jetstream.New(nc)
	tbl, err := New(Config{KV: kv, JS: js, Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tbl.Acquire(ctxLong(t), []byte("x"), time.Second, 0)
	wantErr(t, "Acquire on a bucket without per-key TTLs", err, ErrBucket)
}

func TestRecord(t *testing.T) {
	for _, r := range []record{
		{owner: "node-1", token: 42, ttl: 3 * time.Second, nonce: newNonce()},
		{owner: "n", ttl: time.Second},
	} {
		got, err := decode(r.encode())
		if err != nil || got != r {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", r, got, err)
		}
	}
	for _, bad := range []string{
		"", "a", "a\n1\n1", "\n1\n1\nn", "a\nx\n1\nn", "a\n-1\n1\nn",
		"a\n1\n0\nn", "a\n1\nx\nn", "a\n1\n1\nn\nmore",
	} {
		if _, err := decode([]byte(bad)); err == nil {
			t.Errorf("decode(%q) succeeded", bad)
		}
	}
	for in, want := range map[time.Duration]time.Duration{
		100 * time.Millisecond: time.Second, time.Second: time.Second,
		1001 * time.Millisecond: 2 * time.Second, time.Minute: time.Minute,
	} {
		if got := serverTTL(in); got != want {
			t.Errorf("serverTTL(%s) = %s, want %s", in, got, want)
		}
	}
}

// An Acquire whose write was stored but not acknowledged finds it again by
// its nonce when it tries once more; another call's write stays held.
func TestAdoptOwnWrite(t *testing.T) {
	a, _ := pair(t)
	ctx := ctxLong(t)
	if err := a.checkBucket(ctx); err != nil {
		t.Fatal(err)
	}
	key, _ := keyOf([]byte("job"))
	rec := record{owner: "a", ttl: time.Minute, nonce: newNonce()}
	rev, err := a.write(ctx, key, rec, 0)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := a.try(ctx, key, rec, 0)
	if err != nil || token != rev {
		t.Fatalf("try again = %d, %v; want the stored write's revision %d", token, err, rev)
	}
	other := record{owner: "a", ttl: time.Minute, nonce: newNonce()}
	token, held, err := a.try(ctx, key, other, 0)
	if err != nil || token != 0 || held.free || held.info.Token != rev {
		t.Fatalf("try by another call = %d, %+v, %v; want held under token %d", token, held, err, rev)
	}
}

// A released or expired name leaves nothing in the bucket once its marker
// expires.
func TestNothingLeftBehind(t *testing.T) {
	a, _ := pair(t)
	ctx := ctxLong(t)
	tok := acquire(t, a, "released", time.Minute)
	if err := a.Release(ctx, []byte("released"), tok); err != nil {
		t.Fatal(err)
	}
	acquire(t, a, "expired", time.Second)
	testwait.For(t, waitLong, 50*time.Millisecond, "an empty bucket", func() bool {
		st, err := a.cfg.KV.Status(ctx)
		return err == nil && st.Values() == 0
	})
}

func TestErrorStatus(t *testing.T) {
	for err, want := range map[error]abi.Status{
		ErrHeld:                               abi.StatusConflict,
		ErrNotHolder:                          abi.StatusConflict,
		ErrFree:                               abi.StatusNotFound,
		ErrBadName:                            abi.StatusInvalid,
		ErrBadTTL:                             abi.StatusInvalid,
		ErrBadWait:                            abi.StatusInvalid,
		classify(context.DeadlineExceeded):    abi.StatusTimeout,
		classify(nats.ErrNoResponders):        abi.StatusUnavailable,
		classify(jetstream.ErrStreamNotFound): abi.StatusUnavailable,
	} {
		if got := abi.StatusOf(fmt.Errorf("cannot x: %w", err)); got != want {
			t.Errorf("StatusOf(%v) = %s, want %s", err, got, want)
		}
	}
}

func TestTransient(t *testing.T) {
	for err, want := range map[error]bool{
		context.DeadlineExceeded:                         true,
		nats.ErrNoResponders:                             true,
		jetstream.ErrNoStreamResponse:                    true,
		&jetstream.APIError{Code: 503, ErrorCode: 10008}: true,
		&jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}: false,
		ErrHeld:                     false,
		ErrNotHolder:                false,
		context.Canceled:            false,
		jetstream.ErrStreamNotFound: false,
	} {
		if got := transient(fmt.Errorf("wrapped: %w", err)); got != want {
			t.Errorf("transient(%v) = %v, want %v", err, got, want)
		}
	}
	// Trouble is retried until the bound; anything else is returned at once.
	calls := 0
	err := retrying(context.Background(), time.Now().Add(200*time.Millisecond), func(context.Context) error {
		calls++
		return nats.ErrNoResponders
	})
	if !errors.Is(err, nats.ErrNoResponders) || calls < 2 {
		t.Errorf("retrying trouble: %v after %d calls; want it retried, then returned", err, calls)
	}
	calls = 0
	err = retrying(context.Background(), time.Time{}, func(context.Context) error {
		calls++
		return ErrHeld
	})
	if !errors.Is(err, ErrHeld) || calls != 1 {
		t.Errorf("retrying ErrHeld: %v after %d calls; want one call", err, calls)
	}
}
