package sdk

import "time"

// Calls to other apps over the API bus. An app may call itself and the apps
// its manifest lists under calls; any other app answers ErrDenied. The
// callee runs with its own capabilities only: a call lends it nothing of
// the caller's (no KV, no grants), and it learns who called from the
// request's headers, which the host sets.
//
// A status the callee answers comes back as its sentinel, so errors.Is
// works across any number of hops:
//
//	out, err := sdk.Call("users", "get", []byte(id))
//	if errors.Is(err, sdk.ErrNotFound) {
//		...
//	}
//
// The host routes a call as the callee's pattern wants: to its active node,
// to any instance of a pool, or, with WithKey, to the node that owns the
// key's partition of a ring.

// CallOption tunes one Call.
type CallOption func(*callOptions)

type callOptions struct {
	key     string
	timeout time.Duration
}

// WithKey sends key with the call: a ring app's call then reaches the owner
// of the key's partition. The key is 1 to MaxKeyLen bytes without control
// characters.
func WithKey(key string) CallOption {
	return func(o *callOptions) { o.key = key }
}

// WithTimeout bounds the call. Without it the call may take what is left
// of the caller's own call time; the host caps any timeout.
func WithTimeout(d time.Duration) CallOption {
	return func(o *callOptions) { o.timeout = d }
}

var (
	errBadApp     = &Error{Status: StatusInvalid, Message: "app name must be 1 to 32 bytes"}
	errBadMethod  = &Error{Status: StatusInvalid, Message: "method must be 1 to 64 bytes"}
	errBadCallKey = &Error{Status: StatusInvalid, Message: "call key must be at most 512 bytes"}
)

// Call calls method of app with payload and returns its reply.
func Call(app, method string, payload []byte, opts ...CallOption) ([]byte, error) {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case len(app) == 0 || len(app) > MaxAppNameLen:
		return nil, errBadApp
	case len(method) == 0 || len(method) > MaxMethodLen:
		return nil, errBadMethod
	case len(o.key) > MaxKeyLen:
		return nil, errBadCallKey
	}
	ms := int32(0)
	if o.timeout > 0 {
		// Rounded up so a sub-millisecond timeout does not mean "no
		// timeout"; the host caps what is left.
		ms = int32(millis(o.timeout))
	}
	n := hostCall(stringPtr(app), uint32(len(app)), stringPtr(method), uint32(len(method)),
		bytesPtr(payload), uint32(len(payload)), stringPtr(o.key), uint32(len(o.key)),
		ms, scratchPtr(), scratchSize)
	if n < 0 {
		return nil, hostErr(n)
	}
	return result(n)
}
