# go-cluster build entry points. Guests (apps, test guests) are WASI
# reactors: GOOS=wasip1 GOARCH=wasm with -buildmode=c-shared, which emits
# _initialize and keeps the runtime alive between calls.

GO ?= go
WASM_BUILD := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared

# Every example with a manifest; each builds to the wasm its app.yaml names.
EXAMPLES := $(patsubst %/app.yaml,%,$(wildcard examples/*/app.yaml))
# Every test guest: one main package per directory of the guests module.
GUESTS := $(patsubst %/,%,$(dir $(wildcard plugins/testdata/guests/*/main.go)))

.PHONY: all build test vet bench examples guests sdk

all: build

## build: the go-cluster binary in bin/
build:
	$(GO) build -o bin/go-cluster ./cmd/go-cluster

## test: everything: example wasm, the SDK, vet, all tests, one pass of every benchmark
test: examples sdk vet
	$(GO) test -count=1 -p 1 -timeout 40m ./...
	cd examples/basic && $(GO) test -count=1 ./...
	cd examples/convex-backend && $(GO) test -count=1 ./...
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./...

vet:
	$(GO) vet ./...
	cd plugins/testdata/guests && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...
	cd examples/convex-backend && $(GO) vet ./...

## bench: the benchmarks behind BENCHMARKS.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 -timeout 60m ./abi/ ./plugins/ ./host/

## examples: build every examples/*/ with an app.yaml into its wasm
examples:
	@set -e; for d in $(EXAMPLES); do \
		wasm=$$(sed -n 's/^wasm:[[:space:]]*["'\'']\{0,1\}\([^"'\''#[:space:]]*\).*/\1/p' $$d/app.yaml); \
		if [ -z "$$wasm" ]; then wasm=$$(basename $$d).wasm; fi; \
		echo "$$d/$$wasm"; \
		(cd $$d && $(WASM_BUILD) -o $$wasm .); \
	done

## guests: build the test guests next to their sources (tests build their own)
guests:
	@set -e; for d in $(GUESTS); do \
		echo "$$d/$$(basename $$d).wasm"; \
		(cd $$d && $(WASM_BUILD) -o $$(basename $$d).wasm .); \
	done

## sdk: vet and test the Go guest SDK, natively and for wasip1
sdk:
	cd sdk-go && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./... && $(GO) test ./...
