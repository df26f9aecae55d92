package main

import (
	"encoding/binary"
	"math"
	"strconv"
	"unsafe"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

// The operations, by name. Each takes its expanded arguments and returns
// its outcome; an error is a request it cannot read. The fields of each
// operation that succeeds:
//
//	abi_version                       the version, decimal
//	config KEY                        the value
//	log LEVEL MSG                     none
//	last_error                        the raw host function: the message
//	take LEN                          the raw host function: LEN bytes
//	kv_get KEY                        the value, the revision
//	kv_put|kv_create KEY VAL          the revision
//	kv_update KEY VAL REV             the revision
//	kv_delete KEY                     none
//	kv_keys PREFIX                    the keys
//	call APP METHOD PAYLOAD [KEY [MS]] the reply
//	db_exec SQL VALUE...              rows affected, last insert id
//	db_query SQL VALUE...             the column count, the columns, then
//	                                  each value of each row (its abi
//	                                  encoding)
//	db_batch SQL VALUE... / SQL ...   rows affected and last insert id of
//	                                  each statement
//	lock_acquire NAME TTL WAIT        the token
//	lock_renew NAME TOKEN TTL         none
//	lock_release NAME TOKEN           none
//	event_publish TOPIC DATA          none
//	lifecycle                         the lifecycle events, in order
//	role                              none, active or passive
//	owned                             the partitions owned, decimal
//
// Numbers are decimal, durations milliseconds (or nanoseconds with the
// suffix "ns"). The raw operations report
// a failure with an empty message: the host keeps none for them.
var ops map[string]func([]arg) (outcome, error)

func init() {
	ops = map[string]func([]arg) (outcome, error){
		"abi_version": func([]arg) (outcome, error) { return ok(itoa(int64(sdk.ABIVersion()))) },
		"config":      opConfig,
		"log":         opLog,
		"last_error":  opLastError,
		"take":        opTake,
		"kv_get":      opKVGet,
		"kv_put": func(a []arg) (outcome, error) {
			return revision(sdk.KVPut(string(a[0].b), a[1].b))
		},
		"kv_create": func(a []arg) (outcome, error) {
			return revision(sdk.KVCreate(string(a[0].b), a[1].b))
		},
		"kv_update":    opKVUpdate,
		"kv_delete":    func(a []arg) (outcome, error) { return none(sdk.KVDelete(string(a[0].b))) },
		"kv_keys":      opKVKeys,
		"call":         opCall,
		"db_exec":      opDBExec,
		"db_query":     opDBQuery,
		"db_batch":     opDBBatch,
		"lock_acquire": opLockAcquire,
		"lock_renew":   opLockRenew,
		"lock_release": opLockRelease,
		"event_publish": func(a []arg) (outcome, error) {
			return none(sdk.Publish(string(a[0].b), a[1].b))
		},
		"lifecycle": func([]arg) (outcome, error) { return ok(strs(records)...) },
		"role":      func([]arg) (outcome, error) { return ok([]byte(sdk.CurrentRole().String())) },
		"owned":     opOwned,
	}
}

func none(err error) (outcome, error) {
	if err != nil {
		return failed(err)
	}
	return ok()
}

func revision(rev uint64, err error) (outcome, error) {
	if err != nil {
		return failed(err)
	}
	return ok(utoa(rev))
}

func strs(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i, v := range s {
		out[i] = []byte(v)
	}
	return out
}

func opConfig(a []arg) (outcome, error) {
	v, found := sdk.Config(string(a[0].b))
	if !found {
		return failed(sdk.ErrNotFound)
	}
	return ok([]byte(v))
}

func opLog(a []arg) (outcome, error) {
	level, err := strconv.Atoi(string(a[0].b))
	if err != nil || level < 0 || level > 3 {
		return outcome{}, errProtocol("log level 0 to 3")
	}
	sdk.Log(sdk.Level(level), string(a[1].b))
	return ok()
}

// The raw host functions: the SDK calls them only inside its own
// functions, so their own answers need a direct import.
//
//go:wasmimport gocluster_v1 last_error
//go:noescape
func rawLastError(out unsafe.Pointer, outCap uint32) int32

//go:wasmimport gocluster_v1 take
//go:noescape
func rawTake(out unsafe.Pointer, n uint32) int32

// rawFailed reports a raw host function's negated status.
func rawFailed(ret int32) (outcome, error) {
	return outcome{sdk.Status(-ret).String(), [][]byte{nil}}, nil
}

func opLastError(a []arg) (outcome, error) {
	buf := make([]byte, 64<<10)
	n := rawLastError(unsafe.Pointer(&buf[0]), uint32(len(buf)))
	if n < 0 {
		return rawFailed(n)
	}
	if int(n) > len(buf) {
		buf = make([]byte, n)
		if ret := rawTake(unsafe.Pointer(&buf[0]), uint32(n)); ret < 0 {
			return rawFailed(ret)
		}
	}
	return ok(buf[:n])
}

func opTake(a []arg) (outcome, error) {
	n, err := unsigned(a[0])
	if err != nil || n > 1<<20 {
		return outcome{}, errProtocol("take length 0 to 1 MiB")
	}
	buf := make([]byte, n+1) // never empty, so &buf[0] exists
	if ret := rawTake(unsafe.Pointer(&buf[0]), uint32(n)); ret < 0 {
		return rawFailed(ret)
	}
	return ok(buf[:n])
}

func opKVGet(a []arg) (outcome, error) {
	v, rev, err := sdk.KVGet(string(a[0].b))
	if err != nil {
		return failed(err)
	}
	return ok(v, utoa(rev))
}

func opKVUpdate(a []arg) (outcome, error) {
	rev, err := unsigned(a[2])
	if err != nil {
		return outcome{}, err
	}
	return revision(sdk.KVUpdate(string(a[0].b), a[1].b, rev))
}

func opKVKeys(a []arg) (outcome, error) {
	keys, err := sdk.KVKeys(string(a[0].b))
	if err != nil {
		return failed(err)
	}
	return ok(strs(keys)...)
}

func opCall(a []arg) (outcome, error) {
	var opts []sdk.CallOption
	if len(a) > 3 {
		opts = append(opts, sdk.WithKey(string(a[3].b)))
	}
	if len(a) > 4 {
		d, err := millis(a[4])
		if err != nil {
			return outcome{}, err
		}
		opts = append(opts, sdk.WithTimeout(d))
	}
	out, err := sdk.Call(string(a[0].b), string(a[1].b), a[2].b, opts...)
	if err != nil {
		return failed(err)
	}
	return ok(out)
}

func opLockAcquire(a []arg) (outcome, error) {
	ttl, err1 := millis(a[1])
	wait, err2 := millis(a[2])
	if err1 != nil || err2 != nil {
		return outcome{}, errProtocol("lock_acquire NAME TTL WAIT")
	}
	held, err := sdk.Lock(string(a[0].b), ttl, sdk.WaitFor(wait))
	if err != nil {
		return failed(err)
	}
	return ok(utoa(held.Token()))
}

func opLockRenew(a []arg) (outcome, error) {
	token, err1 := unsigned(a[1])
	ttl, err2 := millis(a[2])
	if err1 != nil || err2 != nil {
		return outcome{}, errProtocol("lock_renew NAME TOKEN TTL")
	}
	return none(sdk.HeldLock(string(a[0].b), token).Renew(ttl))
}

func opLockRelease(a []arg) (outcome, error) {
	token, err := unsigned(a[1])
	if err != nil {
		return outcome{}, err
	}
	return none(sdk.HeldLock(string(a[0].b), token).Release())
}

func opOwned([]arg) (outcome, error) {
	var out [][]byte
	for _, p := range sdk.Owned() {
		out = append(out, itoa(int64(p)))
	}
	return ok(out...)
}

func opDBExec(a []arg) (outcome, error) {
	params, err := values(a[1:])
	if err != nil {
		return outcome{}, err
	}
	res, err := sdk.Exec(string(a[0].b), params...)
	if err != nil {
		return failed(err)
	}
	return ok(itoa(res.RowsAffected), itoa(res.LastInsertID))
}

func opDBQuery(a []arg) (outcome, error) {
	params, err := values(a[1:])
	if err != nil {
		return outcome{}, err
	}
	rows, err := sdk.Query(string(a[0].b), params...)
	if err != nil {
		return failed(err)
	}
	fields := append([][]byte{itoa(int64(len(rows.Columns)))}, strs(rows.Columns)...)
	for _, row := range rows.Rows {
		for _, v := range row {
			fields = append(fields, encodeValue(v))
		}
	}
	return ok(fields...)
}

func opDBBatch(a []arg) (outcome, error) {
	var stmts []sdk.Stmt
	for start := 0; start < len(a); {
		end := start
		for end < len(a) && !a[end].sep {
			end++
		}
		params, err := values(a[start+1 : end])
		if err != nil {
			return outcome{}, err
		}
		stmts = append(stmts, sdk.Stmt{SQL: string(a[start].b), Args: params})
		start = end + 1
	}
	res, err := sdk.Batch(stmts...)
	if err != nil {
		return failed(err)
	}
	var fields [][]byte
	for _, r := range res {
		fields = append(fields, itoa(r.RowsAffected), itoa(r.LastInsertID))
	}
	return ok(fields...)
}

// values reads arguments that are each one value in the abi encoding into
// the Go types the SDK takes.
func values(a []arg) ([]any, error) {
	out := make([]any, 0, len(a))
	for _, x := range a {
		v, good := decodeValue(x.b)
		if !good {
			return nil, errProtocol("bad value argument")
		}
		out = append(out, v)
	}
	return out, nil
}

func decodeValue(b []byte) (any, bool) {
	if len(b) == 0 {
		return nil, false
	}
	t, rest := b[0], b[1:]
	switch {
	case t == 0 && len(rest) == 0:
		return nil, true
	case t == 1 && len(rest) == 8:
		return int64(binary.LittleEndian.Uint64(rest)), true
	case t == 2 && len(rest) == 8:
		return math.Float64frombits(binary.LittleEndian.Uint64(rest)), true
	case (t == 3 || t == 4) && len(rest) >= 4 && uint64(binary.LittleEndian.Uint32(rest)) == uint64(len(rest)-4):
		if t == 3 {
			return string(rest[4:]), true
		}
		return rest[4:], true
	}
	return nil, false
}

// encodeValue is the abi encoding of a value the SDK returned.
func encodeValue(v any) []byte {
	switch v := v.(type) {
	case int64:
		return binary.LittleEndian.AppendUint64([]byte{1}, uint64(v))
	case float64:
		return binary.LittleEndian.AppendUint64([]byte{2}, math.Float64bits(v))
	case string:
		return append(binary.LittleEndian.AppendUint32([]byte{3}, uint32(len(v))), v...)
	case []byte:
		return append(binary.LittleEndian.AppendUint32([]byte{4}, uint32(len(v))), v...)
	}
	return []byte{0}
}
