#!/bin/sh
# grey-bench.sh: greylist checks per second and latency per check, Redis
# (unix socket and TCP loopback) against the memory store, through one
# store conn (one moatd worker) with CONC requests in flight.  Prints
# figures; it is not a test.
#   usage: bench/grey-bench.sh BUILDDIR [N [CONC]]
# Starts its own redis-server (no persistence) and stops it by its pid.
set -eu
builddir=${1:?usage: grey-bench.sh BUILDDIR [N [CONC]]}
n=${2:-100000}
conc=${3:-50}
driver=$builddir/store_driver
redis=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$driver" ] || { echo "no $driver (make store_driver)"; exit 1; }
[ -x "$redis" ] || { echo "no redis-server"; exit 1; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$redis" --port "$port" --bind 127.0.0.1 --unixsocket "$tmp/r.sock" \
    --save '' --appendonly no --dir "$tmp" >"$tmp/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
i=0
while [ ! -S "$tmp/r.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
run() {
	label=$1; shift
	printf '%-14s ' "$label"
	echo "bench $n $conc" | "$driver" "$@" 2>/dev/null
}
echo "greylist checks: n=$n, $conc in flight, one connection"
run memory --mem
run redis-unix --unix "$tmp/r.sock"
run redis-tcp --host 127.0.0.1 --port "$port"
# Sequential latency: one request at a time (the per-RCPT added latency).
conc=1
n=$((n / 10))
echo "one at a time: n=$n"
run memory --mem
run redis-unix --unix "$tmp/r.sock"
run redis-tcp --host 127.0.0.1 --port "$port"
