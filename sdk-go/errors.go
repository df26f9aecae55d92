package sdk

import (
	"errors"
	"strconv"
)

// Sentinel errors, one per non-OK Status. Every error a host function
// returns matches one of them with errors.Is; when the host explains the
// failure (a SQL error, who holds a lock, a callee's own message) the error
// is an *Error whose Message is that explanation. A handler that returns a
// sentinel (or an error wrapping one) answers its caller with the matching
// status.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrDenied      = errors.New("denied")
	ErrLimit       = errors.New("limit exceeded")
	ErrTimeout     = errors.New("timeout")
	ErrUnavailable = errors.New("unavailable")
	ErrInvalid     = errors.New("invalid")
	ErrInternal    = errors.New("internal error")
)

var statusNames = [...]string{
	StatusOK:          "ok",
	StatusNotFound:    "not_found",
	StatusConflict:    "conflict",
	StatusDenied:      "denied",
	StatusLimit:       "limit",
	StatusTimeout:     "timeout",
	StatusUnavailable: "unavailable",
	StatusInvalid:     "invalid",
	StatusInternal:    "internal",
}

var statusErrs = [...]error{
	StatusOK:          nil,
	StatusNotFound:    ErrNotFound,
	StatusConflict:    ErrConflict,
	StatusDenied:      ErrDenied,
	StatusLimit:       ErrLimit,
	StatusTimeout:     ErrTimeout,
	StatusUnavailable: ErrUnavailable,
	StatusInvalid:     ErrInvalid,
	StatusInternal:    ErrInternal,
}

func (s Status) known() bool { return s >= 0 && int(s) < len(statusErrs) }

// String returns the status name, e.g. "not_found".
func (s Status) String() string {
	if !s.known() {
		return "status(" + strconv.Itoa(int(s)) + ")"
	}
	return statusNames[s]
}

// Err returns the sentinel error of s: nil for StatusOK, ErrInternal for a
// status this SDK does not know.
func (s Status) Err() error {
	if !s.known() {
		return ErrInternal
	}
	return statusErrs[s]
}

// StatusOf returns the status that carries err to the caller: StatusOK for
// nil, the status of an *Error in err's chain, the status of a sentinel err
// wraps, and StatusInternal for anything else.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	if errors.As(err, &e) && e.Status != StatusOK {
		if !e.Status.known() {
			return StatusInternal
		}
		return e.Status
	}
	for s := StatusNotFound; s.known(); s++ {
		if errors.Is(err, statusErrs[s]) {
			return s
		}
	}
	return StatusInternal
}

// Error is a status with a message. Return one from a handler to choose both
// what the caller sees as the error code and its text:
//
//	return nil, &sdk.Error{Status: sdk.StatusNotFound, Message: "no user " + id}
//
// errors.Is(err, ErrNotFound) holds for an *Error with StatusNotFound, so
// code that tests sentinels works whichever form an error takes.
type Error struct {
	Status  Status
	Message string
}

// NewError returns an error with status s and message msg.
func NewError(s Status, msg string) *Error { return &Error{Status: s, Message: msg} }

// Error returns the message, or the sentinel's text when there is none. It
// adds no status prefix: the message crosses the boundary as it is and the
// status travels beside it.
func (e *Error) Error() string {
	if e.Message == "" {
		if err := e.Status.Err(); err != nil {
			return err.Error()
		}
		return "ok"
	}
	return e.Message
}

// Is reports whether target is the sentinel of e's status.
func (e *Error) Is(target error) bool { return target != nil && target == e.Status.Err() }

// hostErr turns a host function's negative return into an error. When the
// host has a message for the failure (a SQL error, who holds a lock, a
// callee's own message) the error is an *Error carrying it; otherwise, or
// when the message is just the sentinel's text, it is the status's
// sentinel. Either way errors.Is matches the sentinel. Call it right after
// the failed host function: the host keeps the message only until the
// next one.
func hostErr(ret int32) error {
	s := Status(-ret)
	msg, ok := lastError()
	if !s.known() || s == StatusOK {
		text := "host returned unknown " + s.String()
		if ok {
			text += ": " + msg
		}
		return &Error{Status: s, Message: text}
	}
	if !ok || msg == statusErrs[s].Error() {
		return statusErrs[s] // nothing beyond the sentinel's own text
	}
	return &Error{Status: s, Message: msg}
}

// statusErr is hostErr without asking the host for a message, for take,
// whose failures the host keeps none for.
func statusErr(ret int32) error {
	s := Status(-ret)
	if s.known() && s != StatusOK {
		return statusErrs[s]
	}
	return &Error{Status: s, Message: "host returned unknown " + s.String()}
}
