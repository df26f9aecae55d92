package main

import (
	"errors"
	"testing"

	sdk "github.com/ozanturksever/go-cluster/sdk-go"
)

// Natively the host functions answer unavailable; what can be checked here
// is the request checking, which runs before any of them.
func TestBadRequests(t *testing.T) {
	for _, tc := range []struct{ name, payload string }{
		{"not json", `{`},
		{"no table", `{"doc":{}}`},
		{"long table", `{"table":"` + string(make([]byte, 65)) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, h := range []func([]byte) ([]byte, error){put, get, list} {
				if _, err := h([]byte(tc.payload)); !errors.Is(err, sdk.ErrInvalid) {
					t.Fatalf("err = %v, want invalid", err)
				}
			}
		})
	}
	if _, err := put([]byte(`{"table":"t","doc":{`)); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("put of a broken doc: err = %v, want invalid", err)
	}
}

func TestNeedsAHost(t *testing.T) {
	if _, err := put([]byte(`{"table":"t","doc":{"a":1}}`)); errors.Is(err, sdk.ErrInvalid) || err == nil {
		t.Fatalf("put without a host: err = %v, want a host error", err)
	}
}
