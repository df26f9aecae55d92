package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ozanturksever/go-cluster/abi"
)

// TestDBThroughGuest sends every value type through the SDK, the ABI and
// back: the fake database answers a query with its parameters.
func TestDBThroughGuest(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})
	out := call(t, a, "sql", []byte(`{"query":{"sql":"SELECT ?,?,?,?,?","args":[null,42,1.5,"text",{"blob":"b\u0000y"}]}}`))
	var rep struct {
		Columns []string
		Rows    [][]any
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	want := [][]any{{nil, 42.0, 1.5, "text", map[string]any{"blob": "b\x00y"}}}
	if !reflect.DeepEqual(rep.Rows, want) || len(rep.Columns) != 5 {
		t.Errorf("rows = %v %v, want %v", rep.Columns, rep.Rows, want)
	}
	stmts := caps.stmts
	if len(stmts) != 1 || stmts[0].sql != "SELECT ?,?,?,?,?" || stmts[0].params[1].Int != 42 ||
		stmts[0].params[4].Type != abi.TypeBlob || string(stmts[0].params[4].Bytes) != "b\x00y" {
		t.Errorf("host saw %+v", stmts)
	}
	out = call(t, a, "sql", []byte(`{"batch":[{"sql":"a"},{"sql":"b","args":[1,2]}]}`))
	if !strings.Contains(string(out), `"LastInsertID":2`) {
		t.Errorf("batch = %s", out)
	}
}

// TestHostMessagesReachGuest checks that a failing host function's message
// reaches the guest (last_error) and goes on to the caller with its status.
func TestHostMessagesReachGuest(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})
	for _, tc := range []struct {
		method, payload string
		want            error
		msg             string
	}{
		{"sql", `{"exec":{"sql":"fail"}}`, abi.ErrConflict, "UNIQUE constraint failed: t.id"},
		{"publish", "secret:x", abi.ErrDenied, "data.events.publish"},
		{"lock", `{"op":"release","name":"l","token":9}`, abi.ErrConflict, "not held with token 9"},
	} {
		_, err := a.Call(context.Background(), tc.method, []byte(tc.payload))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %s: err = %v, want %v with %q", tc.method, tc.payload, err, tc.want, tc.msg)
		}
	}
}

func TestLocksThroughGuest(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})
	out := call(t, a, "lock", []byte(`{"op":"acquire","name":"job","ttl_ms":1000}`))
	var got struct{ Token uint64 }
	if err := json.Unmarshal(out, &got); err != nil || got.Token == 0 {
		t.Fatalf("acquire = %s, %v", out, err)
	}
	_, err := a.Call(context.Background(), "lock", []byte(`{"op":"acquire","name":"job","ttl_ms":1000}`))
	if !errors.Is(err, abi.ErrConflict) || !strings.Contains(err.Error(), "held by node-x") {
		t.Errorf("second acquire: %v", err)
	}
	req, _ := json.Marshal(map[string]any{"op": "release", "name": "job", "token": got.Token})
	call(t, a, "lock", req)
	if len(caps.locks) != 0 {
		t.Errorf("locks after release: %v", caps.locks)
	}
}

// TestDeliverEvents hands events to the guest: a refused one comes back as
// an error (so a durable subscription redelivers it) and is taken the
// second time.
func TestDeliverEvents(t *testing.T) {
	caps := newFakeCaps()
	a, _ := load(t, "testapp", caps, Limits{})
	ctx := context.Background()
	if err := a.Deliver(ctx, "other", "updated", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := a.Deliver(ctx, "platform", "node_join", []byte("fail-once-1")); err == nil {
		t.Fatal("first delivery of fail-once-1 was taken")
	}
	if err := a.Deliver(ctx, "platform", "node_join", []byte("fail-once-1")); err != nil {
		t.Fatal(err)
	}
	got := string(call(t, a, "received", nil))
	if got != "other.updated/one\nplatform.node_join/fail-once-1\n" {
		t.Errorf("received = %q", got)
	}
	if err := a.Deliver(ctx, "x", "y", make([]byte, a.Limits().Payload+1)); !errors.Is(err, abi.ErrLimit) {
		t.Errorf("oversized event: %v", err)
	}
}
