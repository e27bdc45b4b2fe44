#!/usr/bin/env bash
# Server CPU per request, side by side in one run, alternating rounds:
#   nginx        one worker (master_process off), the storefront's own JSON bytes as static files
#   hello        bench/http_hello_server: the http library and standard middleware, a fixed body
#   detail       storefront 'all' (embedded, default configuration: cache=memory, log level info,
#                access log on) GET /api/products/{id} over a hot set of ids
#   list         the same storefront, GET /api/products?page=N&page_size=20 (20 items) over pages
# nginx serves the detail and the list bytes with its access log on, like the storefront.
# Reports CPU-seconds per request (utime+stime from /proc) and the ratios the issue sets:
# detail <= 1.5x nginx, list <= 2x nginx (same bytes), hello <= 1.2x nginx.
#   bench/storefront_cpu_per_request.sh [seconds per round, default 5] [rounds, default 3]
#                                       [connections, default 32] [hot ids, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5}
rounds=${2:-3}
connections=${3:-32}
hot=${4:-100}
pages=5

preset=${CREST_BENCH_PRESET:-release}  # ci builds -O2 -DNDEBUG too, with warnings as errors
# CREST_BENCH_BINARIES=DIR: run DIR/apps/storefront/storefront and DIR/bench/http_hello_server
# as they are (e.g. copies of an earlier build, for a before/after in one session).
bin=${CREST_BENCH_BINARIES:-build/$preset}
if [[ -z ${CREST_BENCH_BINARIES:-} ]]; then
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" --target storefront http_hello_server >/dev/null
fi
work=$(mktemp -d /tmp/crest-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

wait_port() { for _ in $(seq 400); do [[ -s $1 ]] && return 0; sleep 0.05; done; echo "no port in $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Context switches (voluntary + involuntary) summed over every thread of a process.
context_switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin/apps/storefront/storefront" all --seed --products 1000 --users 0 --port 0 \
  --port-file "$work/storefront.port" >"$work/storefront.log" 2>&1 &
pids+=($!); storefront_pid=$!
"$bin/bench/http_hello_server" 0 "$work/hello.port" >"$work/hello.log" 2>&1 &
pids+=($!); hello_pid=$!
wait_port "$work/storefront.port"; wait_port "$work/hello.port"
sf_port=$(cat "$work/storefront.port"); hello_port=$(cat "$work/hello.port")

# The same bytes for nginx, fetched from the storefront.
mkdir -p "$work/www/api/products" "$work/www/list"
for id in $(seq "$hot"); do curl -sf "http://127.0.0.1:$sf_port/api/products/$id" >"$work/www/api/products/$id"; done
for page in $(seq "$pages"); do
  curl -sf "http://127.0.0.1:$sf_port/api/products?page=$page&page_size=20" >"$work/www/list/$page"
done
nginx_port=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.error.log warn;
events { worker_connections 1024; }
http {
  access_log $work/nginx.access.log;
  default_type application/json;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!); nginx_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nginx_port/api/products/1" >/dev/null && break; sleep 0.05; done

# wrk scripts cycling over the hot set.
cat >"$work/detail.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/products/" .. ((n % $hot) + 1))
end
LUA
cat >"$work/list_storefront.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/products?page=" .. ((n % $pages) + 1) .. "&page_size=20")
end
LUA
cat >"$work/list_nginx.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/list/" .. ((n % $pages) + 1))
end
LUA

tick=$(getconf CLK_TCK)
# measure PID PORT SCRIPT: prints "requests cpu_seconds context_switches"
measure() {
  local before after switches_before switches_after out requests
  before=$(cpu_ticks "$1"); switches_before=$(context_switches "$1")
  out=$(wrk -t1 -c"$connections" -d"${duration}s" -s "$3" "http://127.0.0.1:$2/")
  after=$(cpu_ticks "$1"); switches_after=$(context_switches "$1")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$requests $(awk -v a="$after" -v b="$before" -v t="$tick" 'BEGIN {printf "%.2f", (a-b)/t}') $((switches_after - switches_before))"
}

targets=(nginx_detail hello detail nginx_list list)
declare -A pid_of=([nginx_detail]=$nginx_pid [hello]=$hello_pid [detail]=$storefront_pid [nginx_list]=$nginx_pid [list]=$storefront_pid)
declare -A port_of=([nginx_detail]=$nginx_port [hello]=$hello_port [detail]=$sf_port [nginx_list]=$nginx_port [list]=$sf_port)
declare -A script_of=([nginx_detail]=$work/detail.lua [hello]=$work/detail.lua [detail]=$work/detail.lua [nginx_list]=$work/list_nginx.lua [list]=$work/list_storefront.lua)
declare -A req cpu switches
for round in $(seq "$rounds"); do
  for name in "${targets[@]}"; do
    read -r r c w < <(measure "${pid_of[$name]}" "${port_of[$name]}" "${script_of[$name]}")
    req[$name]=$(( ${req[$name]:-0} + r ))
    switches[$name]=$(( ${switches[$name]:-0} + w ))
    cpu[$name]=$(awk -v x="${cpu[$name]:-0}" -v y="$c" 'BEGIN {print x + y}')
  done
done

printf '%s, %s CPUs available (%s), wrk -t1 -c%s, %s rounds x %ss per target, alternating, %s hot ids\n' \
  "$(date -u +%F)" "$(nproc)" "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}')" \
  "$connections" "$rounds" "$duration" "$hot"
per_request() { awk -v r="${req[$1]}" -v c="${cpu[$1]}" 'BEGIN {printf "%.1f", c / r * 1e6}'; }
printf '%-13s %10s %8s %14s %10s %16s\n' target requests cpu_s us_cpu_per_req req_per_s ctx_switch_per_req
for name in "${targets[@]}"; do
  awk -v n="$name" -v r="${req[$name]}" -v c="${cpu[$name]}" -v d="$((duration * rounds))" \
    -v w="${switches[$name]}" \
    'BEGIN {printf "%-13s %10d %8.2f %14.1f %10.0f %16.3f\n", n, r, c, c/r*1e6, r/d, w/r}'
done
ratio() { awk -v a="$(per_request "$1")" -v b="$(per_request "$2")" 'BEGIN {printf "%.2f", a / b}'; }
echo "detail / nginx: $(ratio detail nginx_detail)x (goal <= 1.5)"
echo "list   / nginx: $(ratio list nginx_list)x (goal <= 2)"
echo "hello  / nginx: $(ratio hello nginx_detail)x (goal <= 1.2)"
