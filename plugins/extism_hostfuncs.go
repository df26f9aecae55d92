package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"

	"github.com/ozanturksever/go-cluster/abi"
)

// Host functions of abi.ExtismHostNamespace, the capabilities offered to
// Extism modules. Each takes the offset of an Extism memory block holding
// a JSON request and returns the offset of a new block holding the JSON
// response; a failure is the response {"error":{"status":..,"message":..}}.
// abi/EXTISM.md documents every request and response.
//
// The functions are shared by every app (extism go-sdk instantiates them
// per app runtime); each finds its instance, and so its app and
// capabilities, in the call's context.

// extismHostSig is the type of every host function: a block in, a block out.
var extismHostSig = fnSig([]api.ValueType{i64}, i64)

// extismHandler serves one host function: raw is the JSON request, still
// in guest memory, and the result is encoded as the response.
type extismHandler func(ctx context.Context, in *instance, raw []byte) (any, error)

var extismHost = []struct {
	name string
	h    extismHandler
}{
	{"log", handle(extLog)},
	{"config_get", handle(extConfigGet)},
	{"kv_get", handle(extKVGet)},
	{"kv_put", handle(extKVPut)},
	{"kv_create", handle(extKVCreate)},
	{"kv_update", handle(extKVUpdate)},
	{"kv_delete", handle(extKVDelete)},
	{"kv_keys", handle(extKVKeys)},
	{"db_exec", handle(extDBExec)},
	{"db_query", handle(extDBQuery)},
	{"db_batch", handle(extDBBatch)},
	{"lock_acquire", handle(extLockAcquire)},
	{"lock_renew", handle(extLockRenew)},
	{"lock_release", handle(extLockRelease)},
	{"publish", handle(extPublish)},
	{"call", handle(extCall)},
}

var extismHostNames = func() map[string]bool {
	m := make(map[string]bool, len(extismHost))
	for _, f := range extismHost {
		m[f.name] = true
	}
	return m
}()

func extismHostFunctions() []extism.HostFunction {
	fns := make([]extism.HostFunction, 0, len(extismHost))
	for _, f := range extismHost {
		name, h := f.name, f.h
		hf := extism.NewHostFunctionWithStack(name, func(ctx context.Context, p *extism.CurrentPlugin, stack []uint64) {
			stack[0] = serveExtism(ctx, p, stack[0], name, h)
		}, []extism.ValueType{extism.ValueTypePTR}, []extism.ValueType{extism.ValueTypePTR})
		hf.SetNamespace(abi.ExtismHostNamespace)
		fns = append(fns, hf)
	}
	return fns
}

// handle decodes the request into a Req before fn sees it.
func handle[Req any](fn func(context.Context, *instance, *Req) (any, error)) extismHandler {
	return func(ctx context.Context, in *instance, raw []byte) (any, error) {
		var req Req
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("malformed request: %v: %w", err, abi.ErrInvalid)
		}
		return fn(ctx, in, &req)
	}
}

func serveExtism(ctx context.Context, p *extism.CurrentPlugin, req uint64, name string, h extismHandler) uint64 {
	in, _ := ctx.Value(extismCallKey{}).(*instance)
	if in == nil {
		panic("plugins: Extism host function " + name + " ran outside a call")
	}
	resp, err := in.extismServe(p, req, h)
	if err != nil {
		var ae *abi.Error
		if abi.StatusOf(err) == abi.StatusInternal && !errors.As(err, &ae) {
			// As for native guests: the host's failure is the host's to
			// investigate; a callee's internal error is its host's.
			in.app.log.Warn("capability failed", "func", name, "err", err)
		}
	}
	return extismRespond(p, name, resp, err)
}

// extismServe reads the request block, bounded so that a guest cannot make
// the host decode more than a call's worth of data, and runs h on it.
func (in *instance) extismServe(p *extism.CurrentPlugin, off uint64, h extismHandler) (any, error) {
	n, err := p.Length(off)
	if err != nil {
		return nil, fmt.Errorf("cannot read the request: %v: %w", err, abi.ErrInternal)
	}
	if limit := extismMaxRequest(in.app.lim); n > limit {
		return nil, fmt.Errorf("request of %d bytes is over the %d-byte limit: %w", n, limit, abi.ErrLimit)
	}
	raw, ok := p.Memory().Read(uint32(min(off, math.MaxUint32)), uint32(n))
	if n == 0 || off > math.MaxUint32 || !ok {
		return nil, fmt.Errorf("the request is not an Extism memory block: %w", abi.ErrInvalid)
	}
	return h(in.context(), in, raw)
}

// extismMaxRequest bounds a request: twice the payload limit (base64 and
// JSON around a payload or value) plus the longest SQL.
func extismMaxRequest(lim Limits) uint64 { return 2*uint64(lim.Payload) + abi.MaxSQLLen }

type extismError struct {
	Error struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

// extismRespond writes the response into a new block. When the guest has
// no room left for it the call cannot go on: the panic becomes its error.
func extismRespond(p *extism.CurrentPlugin, name string, resp any, err error) uint64 {
	var out []byte
	if err == nil {
		if out, err = json.Marshal(resp); err != nil {
			err = fmt.Errorf("cannot encode the response: %v: %w", err, abi.ErrInternal)
		}
	}
	if err != nil {
		var e extismError
		e.Error.Status, e.Error.Message = abi.StatusOf(err).String(), errorMessage(err)
		out, _ = json.Marshal(e)
	}
	off, aerr := p.Alloc(uint64(len(out)))
	if aerr != nil || off == 0 || !p.Memory().Write(uint32(off), out) {
		panic(fmt.Errorf("cannot answer %s: no room in guest memory for %d bytes", name, len(out)))
	}
	return off
}

func checkLen(what, s string, lo, hi int) error {
	if len(s) < lo || len(s) > hi {
		return fmt.Errorf("%s must be %d to %d bytes, not %d: %w", what, lo, hi, len(s), abi.ErrInvalid)
	}
	return nil
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

type none struct{}

type extLogReq struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

var extLevels = map[string]abi.Level{
	"": abi.LevelInfo, "debug": abi.LevelDebug, "info": abi.LevelInfo, "warn": abi.LevelWarn, "error": abi.LevelError,
}

func extLog(ctx context.Context, in *instance, r *extLogReq) (any, error) {
	level, ok := extLevels[r.Level]
	if !ok {
		return nil, fmt.Errorf("log level %q is none of debug, info, warn, error: %w", r.Level, abi.ErrInvalid)
	}
	in.app.caps.Log(ctx, level, []byte(r.Message[:min(len(r.Message), maxLogBytes)]))
	return none{}, nil
}

type extKeyReq struct {
	Key string `json:"key"`
}

type extConfigResp struct {
	Value string `json:"value"`
}

func extConfigGet(_ context.Context, in *instance, r *extKeyReq) (any, error) {
	if err := checkLen("key", r.Key, 0, abi.MaxKeyLen); err != nil {
		return nil, err
	}
	v, ok := in.app.caps.Config(r.Key)
	if !ok {
		return nil, fmt.Errorf("no config %q: %w", r.Key, abi.ErrNotFound)
	}
	return extConfigResp{v}, nil
}

type extKVResp struct {
	Value    []byte `json:"value"`
	Revision uint64 `json:"revision"`
}

func extKVGet(ctx context.Context, in *instance, r *extKeyReq) (any, error) {
	if err := checkLen("key", r.Key, 1, abi.MaxKeyLen); err != nil {
		return nil, err
	}
	val, rev, err := in.app.caps.KVGet(ctx, []byte(r.Key))
	if err != nil {
		return nil, err
	}
	return extKVResp{orEmpty(val), rev}, nil
}

type extKVWriteReq struct {
	Key      string `json:"key"`
	Value    []byte `json:"value"`
	Revision uint64 `json:"revision"`
}

type extRevResp struct {
	Revision uint64 `json:"revision"`
}

func extKVPut(ctx context.Context, in *instance, r *extKVWriteReq) (any, error) {
	return extKVWrite(r, func(key []byte) (uint64, error) { return in.app.caps.KVPut(ctx, key, r.Value) })
}

func extKVCreate(ctx context.Context, in *instance, r *extKVWriteReq) (any, error) {
	return extKVWrite(r, func(key []byte) (uint64, error) { return in.app.caps.KVCreate(ctx, key, r.Value) })
}

func extKVUpdate(ctx context.Context, in *instance, r *extKVWriteReq) (any, error) {
	return extKVWrite(r, func(key []byte) (uint64, error) { return in.app.caps.KVUpdate(ctx, key, r.Value, r.Revision) })
}

func extKVWrite(r *extKVWriteReq, write func(key []byte) (uint64, error)) (any, error) {
	if err := checkLen("key", r.Key, 1, abi.MaxKeyLen); err != nil {
		return nil, err
	}
	rev, err := write([]byte(r.Key))
	if err != nil {
		return nil, err
	}
	return extRevResp{rev}, nil
}

func extKVDelete(ctx context.Context, in *instance, r *extKeyReq) (any, error) {
	if err := checkLen("key", r.Key, 1, abi.MaxKeyLen); err != nil {
		return nil, err
	}
	return none{}, in.app.caps.KVDelete(ctx, []byte(r.Key))
}

type extPrefixReq struct {
	Prefix string `json:"prefix"`
}

type extKeysResp struct {
	Keys []string `json:"keys"`
}

func extKVKeys(ctx context.Context, in *instance, r *extPrefixReq) (any, error) {
	if err := checkLen("prefix", r.Prefix, 0, abi.MaxKeyLen); err != nil {
		return nil, err
	}
	keys, err := in.app.caps.KVKeys(ctx, []byte(r.Prefix))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return extKeysResp{out}, nil
}

type extLockReq struct {
	Name   string `json:"name"`
	TTLMS  int64  `json:"ttl_ms"`
	WaitMS int64  `json:"wait_ms"`
	Token  uint64 `json:"token"`
}

type extTokenResp struct {
	Token uint64 `json:"token"`
}

// millis checks a lock duration in milliseconds against its bounds.
func millis(what string, ms, lo, hi int64) (time.Duration, error) {
	if ms < lo || ms > hi {
		return 0, fmt.Errorf("%s must be %d to %d ms, not %d: %w", what, lo, hi, ms, abi.ErrInvalid)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func extLockAcquire(ctx context.Context, in *instance, r *extLockReq) (any, error) {
	err := checkLen("lock name", r.Name, 1, abi.MaxKeyLen)
	ttl, err2 := millis("ttl_ms", r.TTLMS, abi.MinLockTTL, abi.MaxLockTTL)
	wait, err3 := millis("wait_ms", r.WaitMS, 0, abi.MaxLockWait)
	if err := errors.Join(err, err2, err3); err != nil {
		return nil, err
	}
	token, err := in.app.caps.LockAcquire(ctx, []byte(r.Name), ttl, wait)
	if err != nil {
		return nil, err
	}
	return extTokenResp{token}, nil
}

func extLockRenew(ctx context.Context, in *instance, r *extLockReq) (any, error) {
	err := checkLen("lock name", r.Name, 1, abi.MaxKeyLen)
	ttl, err2 := millis("ttl_ms", r.TTLMS, abi.MinLockTTL, abi.MaxLockTTL)
	if err := errors.Join(err, err2); err != nil {
		return nil, err
	}
	return none{}, in.app.caps.LockRenew(ctx, []byte(r.Name), r.Token, ttl)
}

func extLockRelease(ctx context.Context, in *instance, r *extLockReq) (any, error) {
	if err := checkLen("lock name", r.Name, 1, abi.MaxKeyLen); err != nil {
		return nil, err
	}
	return none{}, in.app.caps.LockRelease(ctx, []byte(r.Name), r.Token)
}

type extPublishReq struct {
	Topic string `json:"topic"`
	Data  []byte `json:"data"`
}

func extPublish(ctx context.Context, in *instance, r *extPublishReq) (any, error) {
	if err := checkLen("topic", r.Topic, 1, abi.MaxTopicLen); err != nil {
		return nil, err
	}
	if len(r.Data) > in.app.lim.Payload {
		return nil, fmt.Errorf("event of %d bytes is over the %d-byte payload limit: %w", len(r.Data), in.app.lim.Payload, abi.ErrLimit)
	}
	return none{}, in.app.caps.Publish(ctx, r.Topic, r.Data)
}

type extCallReq struct {
	App       string `json:"app"`
	Method    string `json:"method"`
	Payload   []byte `json:"payload"`
	Key       string `json:"key"`
	TimeoutMS int64  `json:"timeout_ms"`
}

type extCallResp struct {
	Reply []byte `json:"reply"`
}

func extCall(ctx context.Context, in *instance, r *extCallReq) (any, error) {
	err := errors.Join(
		checkLen("app", r.App, 1, abi.MaxAppNameLen),
		checkLen("method", r.Method, 1, abi.MaxMethodLen),
		checkLen("key", r.Key, 0, abi.MaxKeyLen),
	)
	timeout, err2 := millis("timeout_ms", r.TimeoutMS, 0, math.MaxInt32)
	if err := errors.Join(err, err2); err != nil {
		return nil, err
	}
	limit := in.app.lim.Payload
	if len(r.Payload) > limit {
		return nil, fmt.Errorf("payload of %d bytes is over the %d-byte limit: %w", len(r.Payload), limit, abi.ErrLimit)
	}
	reply, err := in.app.caps.Call(ctx, r.App, r.Method, r.Payload, []byte(r.Key), timeout)
	if err != nil {
		return nil, err
	}
	if len(reply) > limit {
		return nil, fmt.Errorf("reply of %d bytes is over the %d-byte limit: %w", len(reply), limit, abi.ErrLimit)
	}
	return extCallResp{orEmpty(reply)}, nil
}
