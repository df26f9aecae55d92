#!/usr/bin/env bash
# Builds the SDK and its example apps for wasm and runs the native tests,
# with Debian's rustc 1.63 toolchain (rustc, cargo, libstd-rust-dev-wasm32,
# lld-14), printing each step.
#
#   ./build.sh                   wasm32-unknown-unknown (the default target)
#   TARGET=wasm32-wasi ./build.sh
#
# The wasm of each example is copied beside its manifest, ready for
# `go-cluster deploy examples/basic/app.yaml`. RUSTC, RUSTDOC and CARGO
# may point elsewhere, e.g. at a current stable toolchain with the target
# installed.
set -euo pipefail
cd "$(dirname "$0")"

export RUSTC="${RUSTC:-/usr/bin/rustc}"
export RUSTDOC="${RUSTDOC:-/usr/bin/rustdoc}"
CARGO="${CARGO:-/usr/bin/cargo}"
TARGET="${TARGET:-wasm32-unknown-unknown}"

run() {
	echo "+ $*" >&2
	"$@"
}

run "$RUSTC" --version
run "$CARGO" test
run "$CARGO" build --release --target "$TARGET" --lib --examples
for app in basic checks; do
	run cp "target/$TARGET/release/examples/$app.wasm" "examples/$app/$app.wasm"
done
ls -l examples/*/*.wasm
