# go-cluster build entry points. Guests (apps, test guests) are WASI
# reactors: GOOS=wasip1 GOARCH=wasm with -buildmode=c-shared, which emits
# _initialize and keeps the runtime alive between calls.

GO ?= go
WASM_BUILD := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared

# Every example with a manifest; each builds to the wasm its app.yaml names.
# Those with a Cargo.toml are Rust apps, built by the rust target.
RUST_EXAMPLES := $(patsubst %/Cargo.toml,%,$(wildcard examples/*/Cargo.toml))
EXAMPLES := $(filter-out $(RUST_EXAMPLES),$(patsubst %/app.yaml,%,$(wildcard examples/*/app.yaml)))
# Every test guest: one main package per directory of the guests module.
GUESTS := $(patsubst %/,%,$(dir $(wildcard plugins/testdata/guests/*/main.go)))

# Rust apps build with Debian's rustc 1.63 and cargo (apt-get install -y
# rustc cargo libstd-rust-dev-wasm32 lld-14): rustup's toolchain here has
# no wasm32 std. Override to use another toolchain with the target.
RUSTC ?= /usr/bin/rustc
RUSTDOC ?= /usr/bin/rustdoc
CARGO ?= /usr/bin/cargo
RUST_TARGET ?= wasm32-unknown-unknown
RUST_ENV := RUSTC=$(RUSTC) RUSTDOC=$(RUSTDOC) CARGO=$(CARGO) CARGO_NET_OFFLINE=true \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-14 CARGO_TARGET_WASM32_WASI_LINKER=wasm-ld-14

.PHONY: all build test vet bench examples guests sdk rust

all: build

## build: the go-cluster binary in bin/
build:
	$(GO) build -o bin/go-cluster ./cmd/go-cluster

## test: everything: example wasm, the SDK, vet, all tests, one pass of every benchmark
test: examples sdk rust vet
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

## rust: test sdk-rust natively, build it and its example apps for wasm, and
## test and build every Rust app under examples/ into the wasm its app.yaml names
rust:
	cd sdk-rust && $(RUST_ENV) TARGET=$(RUST_TARGET) ./build.sh
	@set -e; for d in $(RUST_EXAMPLES); do \
		wasm=$$(sed -n 's/^wasm:[[:space:]]*["'\'']\{0,1\}\([^"'\''#[:space:]]*\).*/\1/p' $$d/app.yaml); \
		lib=$$(sed -n '/^\[lib\]/,/^\[/s/^name[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' $$d/Cargo.toml); \
		[ -n "$$lib" ] || lib=$$(sed -n 's/^name[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' $$d/Cargo.toml | head -1); \
		echo "$$d/$$wasm"; \
		(cd $$d && $(RUST_ENV) $(CARGO) test && \
			$(RUST_ENV) $(CARGO) build --release --target $(RUST_TARGET) --lib && \
			cp target/$(RUST_TARGET)/release/$$(echo $$lib | tr - _).wasm $$wasm); \
	done

## sdk: vet and test the Go guest SDK, natively and for wasip1
sdk:
	cd sdk-go && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./... && $(GO) test ./...
