package sdk

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusErrors(t *testing.T) {
	sentinels := []error{nil, ErrNotFound, ErrConflict, ErrDenied, ErrLimit, ErrTimeout, ErrUnavailable, ErrInvalid, ErrInternal}
	for i, sentinel := range sentinels {
		s := Status(i)
		if s.Err() != sentinel {
			t.Errorf("%v.Err() = %v, want %v", s, s.Err(), sentinel)
		}
		if StatusOf(sentinel) != s {
			t.Errorf("StatusOf(%v) = %v, want %v", sentinel, StatusOf(sentinel), s)
		}
		if s == StatusOK {
			continue
		}
		for _, err := range []error{
			hostErr(-int32(s)),
			NewError(s, "msg"),
			fmt.Errorf("wrapped: %w", NewError(s, "")),
		} {
			if !errors.Is(err, sentinel) || StatusOf(err) != s {
				t.Errorf("%v: errors.Is(%v, %v) = false or StatusOf = %v", s, err, sentinel, StatusOf(err))
			}
			for _, other := range sentinels[1:] {
				if other != sentinel && errors.Is(err, other) {
					t.Errorf("%v also matches %v", err, other)
				}
			}
		}
	}
}

func TestStatusString(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{StatusOK, "ok"},
		{StatusNotFound, "not_found"},
		{StatusInternal, "internal"},
		{-1, "status(-1)"},
		{99, "status(99)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestUnknownStatus(t *testing.T) {
	err := hostErr(-99)
	if !errors.Is(err, ErrInternal) || StatusOf(err) != StatusInternal {
		t.Errorf("unknown host status: %v is not internal", err)
	}
	if (&Error{Status: StatusNotFound}).Error() != "not found" {
		t.Error("an *Error without message reads as its sentinel")
	}
	if (&Error{}).Error() != "ok" {
		t.Error("a zero *Error reads as ok")
	}
}
