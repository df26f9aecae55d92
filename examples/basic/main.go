// Command basic is the smallest go-cluster app: a greeting that reads the
// manifest's config, and a counter kept in the app's own KV store that any
// number of instances on any nodes can increment without losing an update.
package main

import (
	"errors"
	"strconv"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

// Handlers are registered from init: the host runs package initialisers
// once per instance but never main.
func init() {
	sdk.Handle("greet", greet)
	sdk.Handle("incr", incr)
}

func main() {}

// greet replies "<greeting>, <payload>!", the greeting coming from the
// manifest's config.
func greet(payload []byte) ([]byte, error) {
	greeting, ok := sdk.Config("greeting")
	if !ok {
		greeting = "Hello"
	}
	out := make([]byte, 0, len(greeting)+len(payload)+3)
	out = append(out, greeting...)
	out = append(out, ", "...)
	out = append(out, payload...)
	return append(out, '!'), nil
}

const counterKey = "counter"

// incr adds one to the counter and replies its new value in decimal. The
// read-modify-write is a compare-and-set: create the key when it is absent,
// else update it at the revision read, and start over when another instance
// wrote first.
func incr([]byte) ([]byte, error) {
	for {
		n, err := increment()
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return strconv.AppendUint(nil, n, 10), nil
	}
}

// increment makes one attempt; ErrConflict means another write came first.
func increment() (uint64, error) {
	val, rev, err := sdk.KVGet(counterKey)
	if errors.Is(err, sdk.ErrNotFound) {
		_, err := sdk.KVCreate(counterKey, []byte("1"))
		return 1, err
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(val), 10, 64)
	if err != nil {
		return 0, sdk.NewError(sdk.StatusInternal, "counter holds "+strconv.Quote(string(val))+", not a number")
	}
	n++
	_, err = sdk.KVUpdate(counterKey, strconv.AppendUint(nil, n, 10), rev)
	return n, err
}
