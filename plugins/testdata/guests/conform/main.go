// Command conform is the Go guest of the ABI conformance suite: the table
// abi/testdata/conformance.txt, run by host/conformance_test.go against
// this guest and its Rust twin, sdk-rust/examples/conform. Both interpret
// the same operations with their SDK and answer in the same bytes, so a
// difference between the SDKs fails the suite.
//
// Methods:
//
//	run    payload: steps to run in this call; replies their outcomes.
//	       The protocol is internal/conformance's (wire.go): Lists of
//	       Lists, each argument a tag byte ('=' bytes, '*' u32 count then
//	       bytes to repeat, '/' a statement break) and each outcome the
//	       status name then fields (an error's one field is its text).
//	echo   replies with the payload
//	fail   payload "status:message" (status a name, e.g. not_found);
//	       answers that status and message
//	slow   payload decimal milliseconds; waits that long in the host for
//	       the lock "slow", which it holds for 5 minutes, and answers
//	       conflict: a callee that takes a known time without a clock
//	panic  panics
//
// Lifecycle handlers record what they were told in memory (the lifecycle
// operation reads it back); the event handler writes each event it gets
// to KV as key "event:TOPIC:DATA" with the source as value.
package main

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

func init() {
	sdk.Handle("run", run)
	sdk.Handle("echo", func(p []byte) ([]byte, error) { return p, nil })
	sdk.Handle("fail", fail)
	sdk.Handle("slow", slow)
	sdk.Handle("panic", func(p []byte) ([]byte, error) { panic("conform panics: " + string(p)) })
	registerLifecycle()
	sdk.OnEvent(func(e sdk.Event) error {
		_, err := sdk.KVPut("event:"+e.Topic+":"+string(e.Data), []byte(e.Source))
		return err
	})
}

func main() {}

// errProtocol is a request this guest cannot read: the run call fails
// with it, as no outcome could report it.
func errProtocol(what string) error {
	return sdk.NewError(sdk.StatusInvalid, "conform: "+what)
}

func run(payload []byte) ([]byte, error) {
	steps, ok := splitList(payload)
	if !ok {
		return nil, errProtocol("request is not a List")
	}
	var reply []byte
	for _, s := range steps {
		o, err := runStep(s)
		if err != nil {
			return nil, err
		}
		reply = appendList(reply, appendList(nil, append([][]byte{[]byte(o.status)}, o.fields...)...))
	}
	return reply, nil
}

func runStep(step []byte) (outcome, error) {
	items, ok := splitList(step)
	if !ok || len(items) == 0 {
		return outcome{}, errProtocol("step is not a List")
	}
	op, ok := ops[string(items[0])]
	if !ok {
		return outcome{}, errProtocol("unknown operation " + strconv.Quote(string(items[0])))
	}
	args := make([]arg, 0, len(items)-1)
	for _, w := range items[1:] {
		a, err := expand(w)
		if err != nil {
			return outcome{}, err
		}
		args = append(args, a)
	}
	return op(args)
}

// arg is one argument: bytes, or a statement break of db_batch.
type arg struct {
	b   []byte
	sep bool
}

func expand(w []byte) (arg, error) {
	switch {
	case len(w) >= 1 && w[0] == '=':
		return arg{b: w[1:]}, nil
	case len(w) == 1 && w[0] == '/':
		return arg{sep: true}, nil
	case len(w) >= 5 && w[0] == '*':
		n := binary.LittleEndian.Uint32(w[1:])
		unit := w[5:]
		if uint64(n)*uint64(max(len(unit), 1)) > 16<<20 {
			return arg{}, errProtocol("repeat over 16 MiB")
		}
		out := make([]byte, 0, int(n)*len(unit))
		for range n {
			out = append(out, unit...)
		}
		return arg{b: out}, nil
	}
	return arg{}, errProtocol("bad argument tag")
}

// outcome is a step's result as the reply carries it.
type outcome struct {
	status string
	fields [][]byte
}

func ok(fields ...[]byte) (outcome, error) { return outcome{"ok", fields}, nil }

// failed reports an SDK error: its status and text, as its caller would
// see them.
func failed(err error) (outcome, error) {
	return outcome{sdk.StatusOf(err).String(), [][]byte{[]byte(err.Error())}}, nil
}

func itoa(n int64) []byte { return strconv.AppendInt(nil, n, 10) }

func utoa(n uint64) []byte { return strconv.AppendUint(nil, n, 10) }

// millis reads a duration: a decimal count of milliseconds, at most
// 2^31-1, or of nanoseconds with the suffix "ns", at most 2^63-1.
func millis(a arg) (time.Duration, error) {
	s := string(a.b)
	if ns, found := strings.CutSuffix(s, "ns"); found {
		n, err := strconv.ParseUint(ns, 10, 63)
		if err != nil {
			return 0, errProtocol("want nanoseconds, got " + strconv.Quote(s))
		}
		return time.Duration(n), nil
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, errProtocol("want milliseconds, got " + strconv.Quote(s))
	}
	return time.Duration(n) * time.Millisecond, nil
}

func unsigned(a arg) (uint64, error) {
	n, err := strconv.ParseUint(string(a.b), 10, 64)
	if err != nil {
		return 0, errProtocol("want an unsigned decimal, got " + strconv.Quote(string(a.b)))
	}
	return n, nil
}

// splitList splits the ABI List encoding: each item a little-endian u32
// length then its bytes.
func splitList(b []byte) ([][]byte, bool) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, false
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return nil, false
		}
		out = append(out, b[4:4+n])
		b = b[4+n:]
	}
	return out, true
}

func appendList(dst []byte, items ...[]byte) []byte {
	for _, it := range items {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(it)))
		dst = append(dst, it...)
	}
	return dst
}

var statuses = map[string]sdk.Status{
	"not_found": sdk.StatusNotFound, "conflict": sdk.StatusConflict,
	"denied": sdk.StatusDenied, "limit": sdk.StatusLimit,
	"timeout": sdk.StatusTimeout, "unavailable": sdk.StatusUnavailable,
	"invalid": sdk.StatusInvalid, "internal": sdk.StatusInternal,
}

func fail(p []byte) ([]byte, error) {
	name, msg, _ := strings.Cut(string(p), ":")
	s, found := statuses[name]
	if !found {
		return nil, errProtocol("fail wants status:message")
	}
	return nil, sdk.NewError(s, msg)
}

func slow(p []byte) ([]byte, error) {
	ms, err := millis(arg{b: p})
	if err != nil {
		return nil, err
	}
	// Whoever holds "slow" keeps it long past any wait, so the second
	// Lock waits exactly ms in the host.
	_, _ = sdk.Lock("slow", sdk.MaxLockTTL)
	_, err = sdk.Lock("slow", sdk.MinLockTTL, sdk.WaitFor(ms))
	if err == nil {
		return nil, errors.New("conform: the slow lock was free")
	}
	return nil, err
}

// records is what the lifecycle handlers were told, in order.
var records []string

func record(what string) error {
	records = append(records, what)
	return nil
}

func registerLifecycle() {
	sdk.OnStart(func() error { return record("start") })
	sdk.OnActive(func() error { return record("active") })
	sdk.OnPassive(func() error { return record("passive") })
	sdk.OnStop(func() error { return record("stop") })
	sdk.OnMemberJoin(func(node string) error { return record("member_join " + node) })
	sdk.OnMemberLeave(func(node string) error { return record("member_leave " + node) })
	sdk.OnOwn(func(p []int) error { return record("own " + joinInts(p)) })
	sdk.OnRelease(func(p []int) error { return record("release " + joinInts(p)) })
}

func joinInts(p []int) string {
	s := make([]string, len(p))
	for i, n := range p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
