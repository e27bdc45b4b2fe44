#!/usr/bin/env bash
# CPU per request of GET /api/products/{id} on the storefront ('all' role, embedded mode) against
# a hello-world built from the same http library, both driven by wrk on loopback in one run.
# Reports server CPU-seconds per request (utime+stime from /proc) and their ratio.
#   bench/storefront_cpu_per_request.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-32}
threads=4

cmake --preset release >/dev/null
cmake --build --preset release --target storefront http_hello_server >/dev/null
work=$(mktemp -d /tmp/crest-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

wait_port() { for _ in $(seq 400); do [[ -s $1 ]] && return 0; sleep 0.05; done; echo "no port in $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

build/release/apps/storefront/storefront all --seed --products 200 --users 0 --port 0 \
  --port-file "$work/storefront.port" --set log.level=warn --set http.threads=$threads >"$work/storefront.log" 2>&1 &
pids+=($!); storefront_pid=$!
build/release/bench/http_hello_server $threads "$work/hello.port" >"$work/hello.log" 2>&1 &
pids+=($!); hello_pid=$!
wait_port "$work/storefront.port"; wait_port "$work/hello.port"

tick=$(getconf CLK_TCK)
# measure NAME PID PORT: prints "requests cpu_seconds"
measure() {
  local before after out requests
  curl -sf "http://127.0.0.1:$3/api/products/1" >/dev/null  # warm
  before=$(cpu_ticks "$2")
  out=$(wrk -t1 -c"$connections" -d"${duration}s" "http://127.0.0.1:$3/api/products/1")
  after=$(cpu_ticks "$2")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$requests $(awk -v a="$after" -v b="$before" -v t="$tick" 'BEGIN {printf "%.2f", (a-b)/t}')"
}

declare -A req cpu
for name in hello storefront hello storefront; do
  pid_var=${name}_pid; port=$(cat "$work/$name.port")
  read -r r c < <(measure "$name" "${!pid_var}" "$port")
  req[$name]=$(( ${req[$name]:-0} + r ))
  cpu[$name]=$(awk -v x="${cpu[$name]:-0}" -v y="$c" 'BEGIN {print x + y}')
done

printf '%s, %s cores (%s), wrk -t1 -c%s, 2 x %ss per target, interleaved\n' "$(date -u +%F)" \
  "$(nproc)" "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')" "$connections" "$duration"
printf '%-12s %10s %10s %14s %12s\n' target requests cpu_s us_cpu_per_req req_per_s
for name in hello storefront; do
  awk -v n="$name" -v r="${req[$name]}" -v c="${cpu[$name]}" -v d="$duration" \
    'BEGIN {printf "%-12s %10d %10.2f %14.1f %12.0f\n", n, r, c, c/r*1e6, r/(2*d)}'
done
awk -v rh="${req[hello]}" -v ch="${cpu[hello]}" -v rs="${req[storefront]}" -v cs="${cpu[storefront]}" \
  'BEGIN {printf "storefront / hello CPU per request: %.2fx\n", (cs/rs)/(ch/rh)}'
