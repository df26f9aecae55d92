package conformance

import (
	"fmt"

	"github.com/ozanturksever/go-cluster/abi"
)

// OpSpec is an operation the guests run: its arguments and the host
// functions it reaches. The guests' sources document what each returns.
type OpSpec struct {
	// MinArgs and MaxArgs bound the argument count; MaxArgs -1 means any.
	MinArgs, MaxArgs int
	// Funcs are the host functions the operation calls besides reply,
	// which every call of the run method uses.
	Funcs []string
}

// Ops are the operations a step may name.
var Ops = map[string]OpSpec{
	"abi_version":   {0, 0, []string{abi.FuncABIVersion}},
	"config":        {1, 1, []string{abi.FuncConfig, abi.FuncTake}},
	"log":           {2, 2, []string{abi.FuncLog}},
	"last_error":    {0, 0, []string{abi.FuncLastError}},
	"take":          {1, 1, []string{abi.FuncTake}},
	"kv_get":        {1, 1, []string{abi.FuncKVGet, abi.FuncTake, abi.FuncLastError}},
	"kv_put":        {2, 2, []string{abi.FuncKVPut, abi.FuncLastError}},
	"kv_create":     {2, 2, []string{abi.FuncKVCreate, abi.FuncLastError}},
	"kv_update":     {3, 3, []string{abi.FuncKVUpdate, abi.FuncLastError}},
	"kv_delete":     {1, 1, []string{abi.FuncKVDelete, abi.FuncLastError}},
	"kv_keys":       {1, 1, []string{abi.FuncKVKeys, abi.FuncTake, abi.FuncLastError}},
	"call":          {3, 5, []string{abi.FuncCall, abi.FuncTake, abi.FuncLastError}},
	"db_exec":       {1, -1, []string{abi.FuncDBExec, abi.FuncLastError}},
	"db_query":      {1, -1, []string{abi.FuncDBQuery, abi.FuncTake, abi.FuncLastError}},
	"db_batch":      {0, -1, []string{abi.FuncDBBatch, abi.FuncLastError}},
	"lock_acquire":  {3, 3, []string{abi.FuncLockAcquire, abi.FuncLastError}},
	"lock_renew":    {3, 3, []string{abi.FuncLockRenew, abi.FuncLastError}},
	"lock_release":  {2, 2, []string{abi.FuncLockRelease, abi.FuncLastError}},
	"event_publish": {2, 2, []string{abi.FuncEventPublish, abi.FuncLastError}},
	"lifecycle":     {0, 0, nil},
	"role":          {0, 0, nil},
	"owned":         {0, 0, nil},
}

func checkOp(op string, args []Arg) error {
	spec, ok := Ops[op]
	if !ok {
		return fmt.Errorf("unknown operation %q", op)
	}
	if len(args) < spec.MinArgs || spec.MaxArgs >= 0 && len(args) > spec.MaxArgs {
		return fmt.Errorf("%s takes %d to %d arguments, got %d", op, spec.MinArgs, spec.MaxArgs, len(args))
	}
	for i, a := range args {
		if a.Sep && (op != "db_batch" || i == 0 || i == len(args)-1 || args[i-1].Sep) {
			return fmt.Errorf("%s: / ends a statement of db_batch", op)
		}
	}
	return nil
}
