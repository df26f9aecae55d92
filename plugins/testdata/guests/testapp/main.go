// Command testapp is a guest for the host's tests: it exercises every part
// of the SDK and misbehaves on request.
//
// Methods:
//
//	echo       replies with the payload
//	fail       payload "<status>:<message>"; answers that status and message
//	panic      panics with "deliberate panic" and the payload
//	loop       spins forever without calling the host
//	grow       allocates and keeps memory until the instance dies
//	big        payload decimal N; replies N bytes 'a'..'z' repeating
//	hostcalls  payload decimal N; calls sdk.ABIVersion N times without
//	           allocating; replies "ok"
//	kvgets     payload decimal N; reads KV key "k" N times; replies "ok"
//	kv         payload a kvRequest in JSON; replies a kvReply in JSON, or
//	           the KV error as it came from the host
//	config     payload a key; replies its value, NOT_FOUND when absent
//	log        logs the payload at info; replies nothing
//	errorsis   reads a missing KV key; replies "true" when the error
//	           matches sdk.ErrNotFound
//	call       payload a callRequest in JSON; calls that app's method and
//	           replies its reply, or the error as the host returned it
//	events     replies the lifecycle events this instance received, its
//	           role and owned partitions in JSON; payload "hold" first
//	           waits in the host on KV key "hold" (see lifecycle.go)
//
// Every lifecycle handler is registered; config keys fail_on and loop_on
// make chosen ones refuse or hang (see lifecycle.go).
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

func init() {
	sdk.Handle("echo", func(p []byte) ([]byte, error) { return p, nil })
	sdk.Handle("fail", fail)
	sdk.Handle("panic", func(p []byte) ([]byte, error) { panic("deliberate panic " + string(p)) })
	sdk.Handle("loop", loop)
	sdk.Handle("grow", grow)
	sdk.Handle("big", big)
	sdk.Handle("hostcalls", hostcalls)
	sdk.Handle("kvgets", kvgets)
	sdk.Handle("kv", kv)
	sdk.Handle("config", config)
	sdk.Handle("log", func(p []byte) ([]byte, error) { sdk.LogInfo(string(p)); return nil, nil })
	sdk.Handle("errorsis", errorsIs)
	sdk.Handle("call", call)
}

func main() {}

func fail(p []byte) ([]byte, error) {
	code, msg, ok := strings.Cut(string(p), ":")
	n, err := strconv.Atoi(code)
	if !ok || err != nil {
		return nil, sdk.NewError(sdk.StatusInvalid, "fail wants <status>:<message>")
	}
	return nil, sdk.NewError(sdk.Status(n), msg)
}

// spins is written by loop so the loop has an effect to keep.
var spins uint64

func loop([]byte) ([]byte, error) {
	for {
		spins++
	}
}

// hoard keeps what grow allocates reachable.
var hoard [][]byte

func grow([]byte) ([]byte, error) {
	for {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
	}
}

func decimal(p []byte) (int, error) {
	n, err := strconv.Atoi(string(p))
	if err != nil || n < 0 {
		return 0, sdk.NewError(sdk.StatusInvalid, "want a decimal count, got "+strconv.Quote(string(p)))
	}
	return n, nil
}

func big(p []byte) ([]byte, error) {
	n, err := decimal(p)
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = 'a' + byte(i%26)
	}
	return out, nil
}

func kvgets(p []byte) ([]byte, error) {
	n, err := decimal(p)
	if err != nil {
		return nil, err
	}
	for range n {
		if _, _, err := sdk.KVGet("k"); err != nil {
			return nil, err
		}
	}
	return []byte("ok"), nil
}

func hostcalls(p []byte) ([]byte, error) {
	n, err := decimal(p)
	if err != nil {
		return nil, err
	}
	for range n {
		if sdk.ABIVersion() != 1 {
			return nil, sdk.NewError(sdk.StatusInternal, "unexpected ABI version")
		}
	}
	return []byte("ok"), nil
}

// kvRequest is one KV operation. The *64 fields, when set, carry the key,
// value or prefix base64-encoded so tests can use bytes JSON strings
// cannot; they take precedence over the plain fields.
type kvRequest struct {
	Op       string `json:"op"` // get, put, create, update, delete, keys
	Key      string `json:"key"`
	Key64    string `json:"key64"`
	Value    string `json:"value"`
	Value64  string `json:"value64"`
	Prefix   string `json:"prefix"`
	Prefix64 string `json:"prefix64"`
	Rev      uint64 `json:"rev"`
}

// kvReply is the outcome of a kvRequest that succeeded.
type kvReply struct {
	Value64 string   `json:"value64,omitempty"`
	Rev     uint64   `json:"rev,omitempty"`
	Keys64  []string `json:"keys64,omitempty"`
}

func pick(plain, b64 string) (string, error) {
	if b64 == "" {
		return plain, nil
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", sdk.NewError(sdk.StatusInvalid, "bad base64: "+err.Error())
	}
	return string(b), nil
}

func kv(p []byte) ([]byte, error) {
	var req kvRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, sdk.NewError(sdk.StatusInvalid, "bad kv request: "+err.Error())
	}
	key, err := pick(req.Key, req.Key64)
	if err != nil {
		return nil, err
	}
	value, err := pick(req.Value, req.Value64)
	if err != nil {
		return nil, err
	}
	prefix, err := pick(req.Prefix, req.Prefix64)
	if err != nil {
		return nil, err
	}
	var rep kvReply
	switch req.Op {
	case "get":
		var v []byte
		v, rep.Rev, err = sdk.KVGet(key)
		rep.Value64 = base64.StdEncoding.EncodeToString(v)
	case "put":
		rep.Rev, err = sdk.KVPut(key, []byte(value))
	case "create":
		rep.Rev, err = sdk.KVCreate(key, []byte(value))
	case "update":
		rep.Rev, err = sdk.KVUpdate(key, []byte(value), req.Rev)
	case "delete":
		err = sdk.KVDelete(key)
	case "keys":
		var keys []string
		keys, err = sdk.KVKeys(prefix)
		rep.Keys64 = make([]string, len(keys))
		for i, k := range keys {
			rep.Keys64[i] = base64.StdEncoding.EncodeToString([]byte(k))
		}
	default:
		return nil, sdk.NewError(sdk.StatusInvalid, "unknown kv op "+strconv.Quote(req.Op))
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(rep)
}

// callRequest is what the call method calls: payload as text, or
// payload_size bytes 'p' when that is set.
type callRequest struct {
	App         string `json:"app"`
	Method      string `json:"method"`
	Payload     string `json:"payload"`
	PayloadSize int    `json:"payload_size"`
	Key         string `json:"key"`
	TimeoutMS   int    `json:"timeout_ms"`
}

func call(p []byte) ([]byte, error) {
	var req callRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, sdk.NewError(sdk.StatusInvalid, "bad call request: "+err.Error())
	}
	var opts []sdk.CallOption
	if req.Key != "" {
		opts = append(opts, sdk.WithKey(req.Key))
	}
	if req.TimeoutMS > 0 {
		opts = append(opts, sdk.WithTimeout(time.Duration(req.TimeoutMS)*time.Millisecond))
	}
	payload := []byte(req.Payload)
	if req.PayloadSize > 0 {
		payload = []byte(strings.Repeat("p", req.PayloadSize))
	}
	return sdk.Call(req.App, req.Method, payload, opts...)
}

func config(p []byte) ([]byte, error) {
	v, ok := sdk.Config(string(p))
	if !ok {
		return nil, sdk.NewError(sdk.StatusNotFound, "no config "+strconv.Quote(string(p)))
	}
	return []byte(v), nil
}

func errorsIs([]byte) ([]byte, error) {
	_, _, err := sdk.KVGet("testapp/errorsis/missing")
	if errors.Is(err, sdk.ErrNotFound) {
		return []byte("true"), nil
	}
	return []byte("false: " + strconv.Quote(errString(err))), nil
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
