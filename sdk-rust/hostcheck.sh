#!/usr/bin/env bash
# Runs the example apps on a real go-cluster host: builds the CLI from this
# checkout, starts a throwaway single-node host, deploys examples/basic and
# examples/checks (run ./build.sh first) and checks the replies of their
# methods. Stops the host it started on exit.
#
#   ./build.sh && ./hostcheck.sh
set -euo pipefail
cd "$(dirname "$0")"

PORT="${PORT:-4333}"
NATS="nats://127.0.0.1:$PORT"
tmp="$(mktemp -d)"
host_pid=""

# Stops the host this script started (by its pid), forcefully if it has
# not shut down within 10 s.
cleanup() {
	if [ -n "$host_pid" ]; then
		kill "$host_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$host_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$host_pid" 2>/dev/null || true
		wait "$host_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "+ go build -o $tmp/go-cluster ../cmd/go-cluster" >&2
(cd .. && go build -o "$tmp/go-cluster" ./cmd/go-cluster)
gc() { "$tmp/go-cluster" "$@"; }

if gc nodes --nats "$NATS" >/dev/null 2>&1; then
	echo "something already serves $NATS; set PORT to a free port" >&2
	exit 1
fi
echo "+ go-cluster host --data $tmp/data --listen 127.0.0.1:$PORT --http off" >&2
# Started directly, not through gc, so that $! is the host's own pid.
"$tmp/go-cluster" host --data "$tmp/data" --listen "127.0.0.1:$PORT" --http off --node rs1 >"$tmp/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 100); do
	gc nodes --nats "$NATS" >/dev/null 2>&1 && break
	if ! kill -0 "$host_pid" 2>/dev/null; then
		echo "the host exited:" >&2
		cat "$tmp/host.log" >&2
		exit 1
	fi
	sleep 0.2
done

failed=0
# expect METHOD-ARGS... = WANT: calls and compares the reply (stdout and
# stderr, so an error's text can be expected too).
expect() {
	local want="${*: -1}" args=("${@:1:$#-2}")
	local got
	got="$(gc call --nats "$NATS" "${args[@]}" 2>&1 || true)"
	if [ "$got" = "$want" ]; then
		echo "ok   ${args[*]}"
	else
		echo "FAIL ${args[*]}: got $(printf %q "$got"), want $(printf %q "$want")"
		failed=1
	fi
}

for app in basic checks; do
	echo "+ go-cluster deploy examples/$app/app.yaml" >&2
	gc deploy --nats "$NATS" "examples/$app/app.yaml" >/dev/null 2>&1
done

expect basicrs greet world = "Hello, world!"
expect basicrs incr = 1
expect basicrs incr = 2
expect basicrs nope = 'go-cluster call: error 404 not_found: app basicrs has no method "nope"; its api: greet, incr'

expect rscheck abi = 1
for m in kv db lock call; do
	expect rscheck "$m" = ok
done
expect rscheck fail x = "go-cluster call: error 409 conflict: refused x"
expect rscheck publish x = ok
expect rscheck seen = "start|active"
# The event reaches one instance shortly after; its handler keeps it in KV.
want="rscheck ping x"
for _ in $(seq 25); do
	got="$(gc call --nats "$NATS" rscheck last-event 2>&1 || true)"
	[ "$got" = "$want" ] && break
	sleep 0.2
done
if [ "$got" = "$want" ]; then echo "ok   rscheck last-event"; else echo "FAIL rscheck last-event: got $got"; failed=1; fi

# A panic traps: the caller gets an internal error, the host logs the
# panic's text and replaces the instance, which serves the next call.
got="$(gc call --nats "$NATS" rscheck panic 2>&1 || true)"
case "$got" in
*"error 500 internal"*) echo "ok   rscheck panic" ;;
*) echo "FAIL rscheck panic: $got"; failed=1 ;;
esac
if grep -q "panic: panicked at 'on purpose'" "$tmp/host.log"; then
	echo "ok   panic text in the host log"
else
	echo "FAIL panic text not in the host log"; failed=1
fi
expect rscheck echo again = again

# 700 KB through the input buffer and back through reply.
head -c 700000 /dev/zero | tr '\0' 'x' >"$tmp/big"
got="$(gc call --nats "$NATS" rscheck echo - <"$tmp/big" | wc -c)"
if [ "$got" -eq 700000 ]; then echo "ok   rscheck echo 700000 bytes"; else echo "FAIL echo: $got bytes"; failed=1; fi

if [ "$failed" != 0 ]; then
	echo "host log: $tmp/host.log" >&2
	tail -20 "$tmp/host.log" >&2
	exit 1
fi
echo "all host checks passed"
