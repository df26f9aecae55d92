package abi

import (
	"errors"
	"strconv"
)

// Status is the outcome of a guest export or host function. Errors cross
// the boundary as a Status, never as a trap; each SDK maps them to its own
// typed errors and the host maps them to the sentinel errors below.
type Status int32

// Status codes. Host functions return them negated.
const (
	StatusOK          Status = 0
	StatusNotFound    Status = 1
	StatusConflict    Status = 2
	StatusDenied      Status = 3
	StatusLimit       Status = 4
	StatusTimeout     Status = 5
	StatusUnavailable Status = 6
	StatusInvalid     Status = 7
	StatusInternal    Status = 8
)

// Sentinel errors, one per non-OK Status. errors.Is works on every error the
// host returns for a guest, a call or a deploy, whichever side produced it.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrDenied      = errors.New("denied")
	ErrLimit       = errors.New("limit exceeded")
	ErrTimeout     = errors.New("timeout")
	ErrUnavailable = errors.New("unavailable")
	ErrInvalid     = errors.New("invalid")
	ErrInternal    = errors.New("internal error")

	// ErrUnknownVersion is an ABI major version this host does not know.
	ErrUnknownVersion = errors.New("unknown ABI version")
)

type statusInfo struct {
	name string
	code string // the NATS micro error code on the wire
	err  error
}

var statuses = [...]statusInfo{
	StatusOK:          {"ok", "200", nil},
	StatusNotFound:    {"not_found", "404", ErrNotFound},
	StatusConflict:    {"conflict", "409", ErrConflict},
	StatusDenied:      {"denied", "403", ErrDenied},
	StatusLimit:       {"limit", "413", ErrLimit},
	StatusTimeout:     {"timeout", "504", ErrTimeout},
	StatusUnavailable: {"unavailable", "503", ErrUnavailable},
	StatusInvalid:     {"invalid", "400", ErrInvalid},
	StatusInternal:    {"internal", "500", ErrInternal},
}

// Statuses lists every Status, OK first.
func Statuses() []Status {
	out := make([]Status, len(statuses))
	for i := range statuses {
		out[i] = Status(i)
	}
	return out
}

func (s Status) valid() bool { return s >= 0 && int(s) < len(statuses) }

// String returns the status name, e.g. "not_found".
func (s Status) String() string {
	if !s.valid() {
		return "status(" + strconv.Itoa(int(s)) + ")"
	}
	return statuses[s].name
}

// Code returns the NATS micro error code that carries s on the wire.
func (s Status) Code() string {
	if !s.valid() {
		return statuses[StatusInternal].code
	}
	return statuses[s].code
}

// Err returns the sentinel error for s, nil for StatusOK. An unknown status
// maps to ErrInternal.
func (s Status) Err() error {
	if !s.valid() {
		return ErrInternal
	}
	return statuses[s].err
}

// StatusFromCode maps a NATS micro error code back to a Status. An unknown
// code is StatusInternal.
func StatusFromCode(code string) Status {
	for i, st := range statuses {
		if st.code == code {
			return Status(i)
		}
	}
	return StatusInternal
}

// StatusByName returns the status whose String is name, e.g. "not_found".
func StatusByName(name string) (Status, bool) {
	for i, st := range statuses {
		if st.name == name {
			return Status(i), true
		}
	}
	return 0, false
}

// StatusOf returns the Status that carries err across the boundary:
// StatusOK for nil, the matching code for an error wrapping a sentinel,
// StatusInternal otherwise.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	if errors.As(err, &e) && e.Status.valid() {
		return e.Status
	}
	for i := 1; i < len(statuses); i++ {
		if errors.Is(err, statuses[i].err) {
			return Status(i)
		}
	}
	return StatusInternal
}

// Error is a Status with a message, as a guest or a remote host reported it.
// errors.Is(err, ErrNotFound) holds for an *Error with StatusNotFound.
type Error struct {
	Status  Status
	Message string
}

// NewError returns an error carrying status s and message msg.
func NewError(s Status, msg string) *Error { return &Error{Status: s, Message: msg} }

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Status.Err().Error()
	}
	return e.Status.String() + ": " + e.Message
}

// Is reports whether target is the sentinel of e's status.
func (e *Error) Is(target error) bool { return target != nil && target == e.Status.Err() }
