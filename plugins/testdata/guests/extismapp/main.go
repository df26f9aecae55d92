// Command extismapp is an Extism plugin, built with the Extism Go PDK, for
// the host's tests: it reaches every capability through the host functions
// of gocluster:host/v1 (see abi/EXTISM.md) and misbehaves on request.
//
// Methods (input -> output):
//
//	greet          name -> "Hello, <name>!"
//	echo           the input
//	host           {"fn":"kv_get","req":{...}} -> the raw JSON response of
//	               that host function, whatever it says
//	kv_roundtrip   {"key","value"} -> a kvReport in JSON: put, get, create
//	               (conflict), update, keys, delete, get (not_found)
//	kv_get         key -> its value; a host error becomes the call's error
//	kv_gets        decimal N -> "ok" after N kv_get calls of key "k"
//	kv_put_big     decimal N -> puts an N-byte value under key "big"; a
//	               host error becomes the call's error
//	db             -> a dbReport in JSON: exec, query, batch
//	lock           name -> a lockReport in JSON: acquire, renew, release
//	publish        {"topic","data"} -> nothing; publishes data (text)
//	call           {"app","method","payload","key","timeout_ms"} -> the reply
//	config         key -> its value, not_found when absent
//	log            text -> nothing; logs it at every level through the
//	               host, at info through Extism, and prints it to stdout
//	fail_with_status  text -> fails with that error text
//	fail_rc        -> returns 3 without an error message
//	loop_forever   spins without calling the host
//	alloc_forever  keeps allocating Go memory until the instance dies
//	alloc_blocks   keeps allocating Extism memory blocks until it fails
//	exit           exits with status 0
//	panic          panics
//	big_reply      decimal N -> N bytes
//	events         -> the events this instance received, in JSON
//
// gocluster_event records each event; it refuses the kinds listed in the
// config key fail_on (comma-separated) with "unavailable: refuses <kind>".
// On stop it also logs "extismapp stop" through the host.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/extism/go-pdk"
)

func main() {}

//go:wasmimport gocluster:host/v1 log
func hostLog(uint64) uint64

//go:wasmimport gocluster:host/v1 config_get
func hostConfigGet(uint64) uint64

//go:wasmimport gocluster:host/v1 kv_get
func hostKVGet(uint64) uint64

//go:wasmimport gocluster:host/v1 kv_put
func hostKVPut(uint64) uint64

//go:wasmimport gocluster:host/v1 kv_create
func hostKVCreate(uint64) uint64

//go:wasmimport gocluster:host/v1 kv_update
func hostKVUpdate(uint64) uint64

//go:wasmimport gocluster:host/v1 kv_delete
func hostKVDelete(uint64) uint64

//go:wasmimport gocluster:host/v1 kv_keys
func hostKVKeys(uint64) uint64

//go:wasmimport gocluster:host/v1 db_exec
func hostDBExec(uint64) uint64

//go:wasmimport gocluster:host/v1 db_query
func hostDBQuery(uint64) uint64

//go:wasmimport gocluster:host/v1 db_batch
func hostDBBatch(uint64) uint64

//go:wasmimport gocluster:host/v1 lock_acquire
func hostLockAcquire(uint64) uint64

//go:wasmimport gocluster:host/v1 lock_renew
func hostLockRenew(uint64) uint64

//go:wasmimport gocluster:host/v1 lock_release
func hostLockRelease(uint64) uint64

//go:wasmimport gocluster:host/v1 publish
func hostPublish(uint64) uint64

//go:wasmimport gocluster:host/v1 call
func hostCall(uint64) uint64

var hostFuncs = map[string]func(uint64) uint64{
	"log": hostLog, "config_get": hostConfigGet,
	"kv_get": hostKVGet, "kv_put": hostKVPut, "kv_create": hostKVCreate,
	"kv_update": hostKVUpdate, "kv_delete": hostKVDelete, "kv_keys": hostKVKeys,
	"db_exec": hostDBExec, "db_query": hostDBQuery, "db_batch": hostDBBatch,
	"lock_acquire": hostLockAcquire, "lock_renew": hostLockRenew, "lock_release": hostLockRelease,
	"publish": hostPublish, "call": hostCall,
}

// hostRaw calls fn with req in a block and returns the response block's bytes.
func hostRaw(fn func(uint64) uint64, req []byte) []byte {
	in := pdk.AllocateBytes(req)
	defer in.Free()
	out := pdk.FindMemory(fn(in.Offset()))
	defer out.Free()
	return out.ReadBytes()
}

// statusError is a host function's error, "<status>: <message>": failing
// a call with it passes the status on to the caller.
type statusError struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (e *statusError) Error() string { return e.Status + ": " + e.Message }

func isStatus(err error, status string) bool {
	var se *statusError
	return errors.As(err, &se) && se.Status == status
}

// host calls fn with req in JSON and decodes its response into resp.
func host(fn func(uint64) uint64, req, resp any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	raw := hostRaw(fn, b)
	var env struct {
		Error *statusError `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("internal: bad response %q: %v", raw, err)
	}
	if env.Error != nil {
		return env.Error
	}
	if resp == nil {
		return nil
	}
	return json.Unmarshal(raw, resp)
}

// run serves a method: the input in, the output or the error out.
func run(fn func(in []byte) ([]byte, error)) int32 {
	out, err := fn(pdk.Input())
	if err != nil {
		pdk.SetError(err)
		return 1
	}
	pdk.Output(out)
	return 0
}

//go:wasmexport greet
func greet() int32 {
	return run(func(in []byte) ([]byte, error) { return []byte("Hello, " + string(in) + "!"), nil })
}

//go:wasmexport echo
func echo() int32 {
	return run(func(in []byte) ([]byte, error) { return in, nil })
}

//go:wasmexport host
func hostMethod() int32 {
	return run(func(in []byte) ([]byte, error) {
		var req struct {
			Fn  string          `json:"fn"`
			Req json.RawMessage `json:"req"`
		}
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, fmt.Errorf("invalid: %v", err)
		}
		fn, ok := hostFuncs[req.Fn]
		if !ok {
			return nil, fmt.Errorf("not_found: no host function %q", req.Fn)
		}
		return hostRaw(fn, req.Req), nil
	})
}

type kvReq struct {
	Key      string `json:"key"`
	Value    []byte `json:"value,omitempty"`
	Revision uint64 `json:"revision,omitempty"`
}

type kvResp struct {
	Value    []byte `json:"value"`
	Revision uint64 `json:"revision"`
}

// kvReport is what kv_roundtrip saw at each step.
type kvReport struct {
	Put, Updated    uint64
	Got             string
	CreateConflict  bool
	Keys            []string
	MissingNotFound bool
}

//go:wasmexport kv_roundtrip
func kvRoundtrip() int32 {
	return run(func(in []byte) ([]byte, error) {
		var req struct{ Key, Value string }
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, fmt.Errorf("invalid: %v", err)
		}
		var rep kvReport
		var rev, got kvResp
		if err := host(hostKVPut, kvReq{Key: req.Key, Value: []byte(req.Value)}, &rev); err != nil {
			return nil, err
		}
		rep.Put = rev.Revision
		if err := host(hostKVGet, kvReq{Key: req.Key}, &got); err != nil {
			return nil, err
		}
		rep.Got = string(got.Value)
		err := host(hostKVCreate, kvReq{Key: req.Key, Value: []byte("again")}, nil)
		rep.CreateConflict = isStatus(err, "conflict")
		if err := host(hostKVUpdate, kvReq{Key: req.Key, Value: []byte(req.Value + "2"), Revision: got.Revision}, &rev); err != nil {
			return nil, err
		}
		rep.Updated = rev.Revision
		var keys struct{ Keys []string }
		if err := host(hostKVKeys, map[string]string{"prefix": req.Key[:1]}, &keys); err != nil {
			return nil, err
		}
		rep.Keys = keys.Keys
		if err := host(hostKVDelete, kvReq{Key: req.Key}, nil); err != nil {
			return nil, err
		}
		err = host(hostKVGet, kvReq{Key: req.Key}, &got)
		rep.MissingNotFound = isStatus(err, "not_found")
		return json.Marshal(rep)
	})
}

//go:wasmexport kv_get
func kvGet() int32 {
	return run(func(in []byte) ([]byte, error) {
		var got kvResp
		if err := host(hostKVGet, kvReq{Key: string(in)}, &got); err != nil {
			return nil, err
		}
		return got.Value, nil
	})
}

//go:wasmexport kv_put_big
func kvPutBig() int32 {
	return run(func(in []byte) ([]byte, error) {
		n, err := strconv.Atoi(string(in))
		if err != nil {
			return nil, fmt.Errorf("invalid: %v", err)
		}
		return nil, host(hostKVPut, kvReq{Key: "big", Value: make([]byte, n)}, nil)
	})
}

//go:wasmexport kv_gets
func kvGets() int32 {
	return run(func(in []byte) ([]byte, error) {
		n, err := strconv.Atoi(string(in))
		if err != nil {
			return nil, fmt.Errorf("invalid: %v", err)
		}
		req := pdk.AllocateString(`{"key":"k"}`)
		defer req.Free()
		for range n {
			out := pdk.FindMemory(hostKVGet(req.Offset()))
			out.Free()
		}
		return []byte("ok"), nil
	})
}

type execResult struct {
	RowsAffected int64 `json:"rows_affected"`
	LastInsertID int64 `json:"last_insert_id"`
}

// dbReport is what the db method saw.
type dbReport struct {
	Exec    execResult
	Columns []string
	Rows    [][]json.RawMessage
	Batch   []execResult
}

//go:wasmexport db
func db() int32 {
	return run(func([]byte) ([]byte, error) {
		params := []map[string]any{{"null": true}, {"int": 1 << 60}, {"real": 2.5}, {"text": "tëxt"}, {"blob": []byte{0, 1, 255}}}
		var rep dbReport
		if err := host(hostDBExec, map[string]any{"sql": "insert", "params": params}, &rep.Exec); err != nil {
			return nil, err
		}
		var rows struct {
			Columns []string
			Rows    [][]json.RawMessage
		}
		if err := host(hostDBQuery, map[string]any{"sql": "select", "params": params}, &rows); err != nil {
			return nil, err
		}
		rep.Columns, rep.Rows = rows.Columns, rows.Rows
		var batch struct{ Results []execResult }
		stmts := []map[string]any{{"sql": "a"}, {"sql": "b", "params": params[:2]}}
		if err := host(hostDBBatch, map[string]any{"statements": stmts}, &batch); err != nil {
			return nil, err
		}
		rep.Batch = batch.Results
		return json.Marshal(rep)
	})
}

// lockReport is what the lock method saw.
type lockReport struct {
	Token        uint64
	HeldConflict bool
	Renewed      bool
	Released     bool
}

//go:wasmexport lock
func lock() int32 {
	return run(func(in []byte) ([]byte, error) {
		name := string(in)
		var rep lockReport
		var tok struct{ Token uint64 }
		if err := host(hostLockAcquire, map[string]any{"name": name, "ttl_ms": 5000}, &tok); err != nil {
			return nil, err
		}
		rep.Token = tok.Token
		err := host(hostLockAcquire, map[string]any{"name": name, "ttl_ms": 5000}, nil)
		rep.HeldConflict = isStatus(err, "conflict")
		rep.Renewed = host(hostLockRenew, map[string]any{"name": name, "token": tok.Token, "ttl_ms": 5000}, nil) == nil
		rep.Released = host(hostLockRelease, map[string]any{"name": name, "token": tok.Token}, nil) == nil
		return json.Marshal(rep)
	})
}

//go:wasmexport publish
func publish() int32 {
	return run(func(in []byte) ([]byte, error) {
		var req struct{ Topic, Data string }
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, fmt.Errorf("invalid: %v", err)
		}
		return nil, host(hostPublish, map[string]any{"topic": req.Topic, "data": []byte(req.Data)}, nil)
	})
}

//go:wasmexport call
func call() int32 {
	return run(func(in []byte) ([]byte, error) {
		var req struct {
			App       string `json:"app"`
			Method    string `json:"method"`
			Payload   string `json:"payload"`
			Key       string `json:"key"`
			TimeoutMS int    `json:"timeout_ms"`
		}
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, fmt.Errorf("invalid: %v", err)
		}
		var rep struct{ Reply []byte }
		err := host(hostCall, map[string]any{"app": req.App, "method": req.Method, "payload": []byte(req.Payload), "key": req.Key, "timeout_ms": req.TimeoutMS}, &rep)
		return rep.Reply, err
	})
}

func config(key string) (string, error) {
	var rep struct{ Value string }
	err := host(hostConfigGet, map[string]string{"key": key}, &rep)
	return rep.Value, err
}

//go:wasmexport config
func configMethod() int32 {
	return run(func(in []byte) ([]byte, error) {
		v, err := config(string(in))
		return []byte(v), err
	})
}

//go:wasmexport log
func logMethod() int32 {
	return run(func(in []byte) ([]byte, error) {
		for _, level := range []string{"debug", "info", "warn", "error"} {
			if err := host(hostLog, map[string]string{"level": level, "message": level + " " + string(in)}, nil); err != nil {
				return nil, err
			}
		}
		pdk.Log(pdk.LogInfo, "extism "+string(in))
		fmt.Println("stdout " + string(in))
		return nil, nil
	})
}

//go:wasmexport fail_with_status
func failWithStatus() int32 {
	pdk.SetErrorString(pdk.InputString())
	return 1
}

//go:wasmexport fail_rc
func failRC() int32 { return 3 }

// spins is written by loop_forever so the loop has an effect to keep.
var spins uint64

//go:wasmexport loop_forever
func loopForever() int32 {
	for {
		spins++
	}
}

// hoard keeps what alloc_forever allocates reachable.
var hoard [][]byte

//go:wasmexport alloc_forever
func allocForever() int32 {
	for {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
	}
}

//go:wasmexport alloc_blocks
func allocBlocks() int32 {
	for {
		if m := pdk.Allocate(1 << 20); m.Offset() == 0 {
			pdk.SetErrorString("limit: Extism memory exhausted")
			return 1
		}
	}
}

//go:wasmexport exit
func exit() int32 {
	os.Exit(0)
	return 0
}

//go:wasmexport panic
func panicMethod() int32 { panic("deliberate panic") }

//go:wasmexport big_reply
func bigReply() int32 {
	return run(func(in []byte) ([]byte, error) {
		n, err := strconv.Atoi(string(in))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid: want a decimal count")
		}
		return []byte(strings.Repeat("b", n)), nil
	})
}

// events is this instance's record of gocluster_event inputs.
var events []json.RawMessage

//go:wasmexport gocluster_event
func goclusterEvent() int32 {
	in := pdk.Input()
	var ev struct{ Kind string }
	if err := json.Unmarshal(in, &ev); err != nil {
		pdk.SetErrorString("invalid: " + err.Error())
		return 1
	}
	if failOn, err := config("fail_on"); err == nil && slices.Contains(strings.Split(failOn, ","), ev.Kind) {
		pdk.SetErrorString("unavailable: refuses " + ev.Kind)
		return 1
	}
	events = append(events, in)
	if ev.Kind == "stop" {
		host(hostLog, map[string]string{"message": "extismapp stop"}, nil)
	}
	return 0
}

//go:wasmexport events
func eventsMethod() int32 {
	return run(func([]byte) ([]byte, error) {
		if events == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(events)
	})
}
