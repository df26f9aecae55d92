package sdk

import (
	"fmt"
	"unsafe"
)

// A Handler answers one API method. payload aliases the SDK's input buffer:
// it is valid only until the handler returns and the next call overwrites
// it, so copy what you keep. The returned bytes are copied to the host
// before the handler's next call; returning payload itself is fine.
//
// A nil error answers OK with the returned bytes. A non-nil error answers
// with StatusOf(err) and err.Error() as the message: return a sentinel
// (ErrNotFound, ...), wrap one with fmt.Errorf("...: %w", ErrNotFound), or
// return an *Error to choose both. Any other error answers StatusInternal.
type Handler func(payload []byte) ([]byte, error)

// handlers maps method names to handlers. A guest runs one call at a time,
// so it needs no lock.
var handlers = map[string]Handler{}

// Handle registers h as the handler of method. Call it from an init
// function: in -buildmode=c-shared the host runs package initialisers once
// per instance, but never main.main. The manifest's api list decides which
// registered methods callers may reach.
//
// Handle panics on an empty method, one longer than MaxMethodLen, a nil
// handler or a method registered twice; a panic during initialisation makes
// the host refuse the module, so mistakes show at deploy.
func Handle(method string, h Handler) {
	switch {
	case method == "":
		panic("sdk.Handle: empty method name")
	case len(method) > MaxMethodLen:
		panic(fmt.Sprintf("sdk.Handle: method %q is longer than %d bytes", method, MaxMethodLen))
	case h == nil:
		panic(fmt.Sprintf("sdk.Handle: nil handler for method %q", method))
	}
	if _, dup := handlers[method]; dup {
		panic(fmt.Sprintf("sdk.Handle: method %q registered twice", method))
	}
	handlers[method] = h
}

// minInput is the smallest input buffer; growing in pages keeps a run of
// slightly larger payloads from allocating each time.
const minInput = 4 << 10

// input is the buffer the host writes each call into: the method name then
// the payload. It is replaced only when a call needs more room.
var input []byte

// inputBuffer implements gocluster_v1_buffer: it returns the address of a
// buffer of at least size bytes that stays put until the next request, or
// nil for a negative size. A first request for 0 bytes still gets a
// buffer: the address must be one the guest owns.
func inputBuffer(size int32) *byte {
	if size < 0 {
		return nil
	}
	if int(size) > len(input) || len(input) == 0 {
		n := max(minInput, (int(size)+minInput-1)/minInput*minInput)
		input = make([]byte, n)
	}
	return &input[0]
}

// dispatch implements gocluster_v1_handle: it finds the handler of the
// method in the input buffer, runs it and replies. A panic in the handler
// answers StatusInternal with the panic's text instead of trapping, so the
// caller learns what went wrong; the host decides whether to keep the
// instance.
func dispatch(methodLen, payloadLen int32) (status Status) {
	if methodLen < 0 || payloadLen < 0 || int64(methodLen)+int64(payloadLen) > int64(len(input)) {
		return replyStatus(StatusInvalid, "call does not fit the input buffer")
	}
	end := methodLen + payloadLen
	method := input[:methodLen:methodLen]
	payload := input[methodLen:end:end]
	h, ok := handlers[string(method)]
	if !ok {
		return replyStatus(StatusNotFound, "no handler for method "+string(method))
	}
	defer func() {
		if r := recover(); r != nil {
			status = replyStatus(StatusInternal, "panic: "+panicText(r))
		}
	}()
	out, err := h(payload)
	if err != nil {
		return replyStatus(StatusOf(err), err.Error())
	}
	if len(out) > 0 {
		hostReply(unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out)))
	}
	return StatusOK
}

// replyStatus answers the call in progress with status s and message msg.
func replyStatus(s Status, msg string) Status {
	if s == StatusOK {
		s = StatusInternal // a handler error must never read as success
	}
	hostReply(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	return s
}

// panicText renders a recovered value the way the runtime would print it.
func panicText(r any) string {
	if err, ok := r.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(r)
}
