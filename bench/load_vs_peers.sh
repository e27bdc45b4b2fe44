#!/usr/bin/env bash
# crest run against its peers, in one run, printing ratios side by side (issue 4, "Benchmarks").
#   1. raw efficiency: requests per CPU-second of the load tool itself (crest, wrk, h2load --h1,
#      ab -k, autocannon), same connections, against nginx (1 worker, 100-byte file, no access log);
#      crest and wrk run alternately ROUNDS times and the median of the per-round ratios is reported
#   2. a scripted journey (CSV login, captured token, three GETs, a JSON POST) against
#      crest_load_target: requests per CPU-second, as a ratio of crest's raw figure
#   3. RSS per virtual user at 10k and 50k VUs with think time, against nginx with several workers;
#      crest runs with --processes ceil(VUs / 15000) (each process stays under the descriptor limit)
#      and the RSS is the sum of every crest process's peak (the JSON's process_max_rss_kib)
#   4. coordinated omission: a target that stalls 1 s every 10 s, driven at a constant arrival
#      rate; crest's p99 and wrk's against the true p99 from the stall schedule
# Usage: bench/load_vs_peers.sh [BUILD_DIR]   (a Release build with crest and crest_load_target)
# Env: DURATION (raw seconds, default 5), CONNS (default 50), ROUNDS (crest/wrk rounds, default 3),
#      CO_SECONDS (default 30), SKIP_RAW=1, SKIP_JOURNEY=1, SKIP_MEMORY=1, SKIP_CO=1,
#      MEMORY_VUS (default "10000 50000")
# Installs its peers if missing (apt-get: nginx, nghttp2-client, apache2-utils, wrk; npm:
# autocannon into bench/.npm). Every process it starts is stopped by pid. Loopback only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/scripted_journey.sh
source "$here/scripted_journey.sh"
repo="$(cd "$here/.." && pwd)"
build="${1:-$repo/build/load-rel}"
crest="$build/apps/crest/crest"
[[ -x "$crest" ]] || crest="$build/crest/crest"
target_bin="$build/libs/load/crest_load_target"
[[ -x "$target_bin" ]] || target_bin="$build/load/crest_load_target"
DURATION="${DURATION:-5}"
CONNS="${CONNS:-50}"
ROUNDS="${ROUNDS:-3}"
MEMORY_VUS="${MEMORY_VUS:-10000 50000}"
CO_SECONDS="${CO_SECONDS:-30}"
AUTOCANNON_VERSION=9.0.0

if [[ ! -x "$crest" || ! -x "$target_bin" ]]; then
  echo "build crest and crest_load_target first (Release), e.g.:" >&2
  echo "  cmake -S $repo -B $repo/build/load-rel -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $repo/build/load-rel -j2 crest crest_load_target" >&2
  exit 2
fi

# ---- peers, installed idempotently ----------------------------------------------------------
need=()
command -v nginx >/dev/null || need+=(nginx)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v ab >/dev/null || need+=(apache2-utils)
command -v wrk >/dev/null || need+=(wrk)
if ((${#need[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
autocannon="$here/.npm/node_modules/.bin/autocannon"
if [[ ! -x "$autocannon" ]]; then
  npm install --silent --no-audit --no-fund --prefix "$here/.npm" "autocannon@$AUTOCANNON_VERSION" >/dev/null
  echo "*" > "$here/.npm/.gitignore"
fi

tmp="$(mktemp -d /tmp/crest-bench.XXXXXX)"
chmod 755 "$tmp"  # nginx workers run as nobody
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# cpu_of FILE: user+sys seconds written by /usr/bin/time -f "%U %S %M"
cpu_of() { awk 'END {print $1 + $2}' "$1"; }
rss_of() { awk 'END {print $3}' "$1"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b>0 else 'n/a')" "$1" "$2"; }
per_cpu() { python3 -c "import sys; r,c=float(sys.argv[1]),float(sys.argv[2]); print(int(r/c) if c>0 else 0)" "$1" "$2"; }
median() { python3 -c "import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))" "$@"; }
json_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# The file-descriptor limit decides how many VUs one process can hold.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit="$(ulimit -n)"

# ---- nginx: 100-byte file, no access log ------------------------------------------------------
mkdir -p "$tmp/www"
head -c 100 /dev/zero | tr '\0' 'x' > "$tmp/www/100.html"
# start_nginx NAME PORT WORKERS [LISTEN_FLAGS]: serves $tmp/www on 127.0.0.1:PORT until the end.
start_nginx() {
  local dir="$tmp/$1" port="$2" workers="$3" flags="${4:-}"
  mkdir -p "$dir/logs"
  cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log error;
worker_rlimit_nofile $fd_limit;
events { worker_connections $((fd_limit - 200)); multi_accept on; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port $flags backlog=4096;
    root $tmp/www;
    location / { }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/100.html" >/dev/null 2>&1 && break; sleep 0.1; done
}
nginx_port="$(free_port)"
start_nginx nginx "$nginx_port" 1
url="http://127.0.0.1:$nginx_port/100.html"

echo "machine: $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/Model name: *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo

# ---- 1. raw efficiency ------------------------------------------------------------------------
cat > "$tmp/raw.yaml" <<YAML
target: http://127.0.0.1:$nginx_port
journeys: [{steps: [{name: file, request: {path: /100.html}}]}]
load: {executor: constant-vus, vus: $CONNS, duration: ${DURATION}s, threads: 1}
YAML
declare -A reqs cpu
run_crest_raw() {
  /usr/bin/time -o "$tmp/t.crest" -f "%U %S %M" "$crest" run "$tmp/raw.yaml" -q --out "json=$tmp/raw.json" >/dev/null
  reqs[crest]="$(json_field "$tmp/raw.json" http_reqs)"
  cpu[crest]="$(cpu_of "$tmp/t.crest")"
}
run_wrk_raw() {
  /usr/bin/time -o "$tmp/t.wrk" -f "%U %S %M" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url" > "$tmp/wrk.out"
  reqs[wrk]="$(awk '/requests in/ {print $1}' "$tmp/wrk.out")"
  cpu[wrk]="$(cpu_of "$tmp/t.wrk")"
}

crest_raw_eff=0
if [[ "${SKIP_RAW:-0}" != 1 ]]; then
  echo "1. Raw efficiency: nginx 1 worker, 100-byte file, $CONNS connections, ${DURATION}s, one thread each"
  echo "   crest and wrk alternately, $ROUNDS rounds:"
  printf "   %-6s %10s %7s %10s   %10s %7s %10s   %9s\n" round "crest req" cpu_s "req/cpu-s" "wrk req" cpu_s "req/cpu-s" crest/wrk
  crest_effs=(); wrk_effs=(); round_ratios=()
  for round in $(seq "$ROUNDS"); do
    run_crest_raw
    run_wrk_raw
    ce="$(per_cpu "${reqs[crest]}" "${cpu[crest]}")"
    we="$(per_cpu "${reqs[wrk]}" "${cpu[wrk]}")"
    rr="$(ratio "$ce" "$we")"
    crest_effs+=("$ce"); wrk_effs+=("$we"); round_ratios+=("$rr")
    printf "   %-6s %10s %7s %10s   %10s %7s %10s   %8sx\n" "$round" "${reqs[crest]}" "${cpu[crest]}" "$ce" \
      "${reqs[wrk]}" "${cpu[wrk]}" "$we" "$rr"
  done
  crest_raw_eff="$(median "${crest_effs[@]}" | cut -d. -f1)"
  wrk_eff="$(median "${wrk_effs[@]}" | cut -d. -f1)"
  echo "   median crest/wrk ratio: $(python3 -c "import sys; print(f'{float(sys.argv[1]):.2f}')" "$(median "${round_ratios[@]}")")x" \
    "(medians: crest $crest_raw_eff, wrk $wrk_eff req/cpu-s)"

  /usr/bin/time -o "$tmp/t.h2load" -f "%U %S %M" h2load --h1 -t1 -c"$CONNS" -D "$DURATION" "$url" > "$tmp/h2load.out" 2>&1
  reqs[h2load]="$(awk '/^requests:/ {print $8}' "$tmp/h2load.out")"
  cpu[h2load]="$(cpu_of "$tmp/t.h2load")"

  /usr/bin/time -o "$tmp/t.ab" -f "%U %S %M" ab -k -q -c"$CONNS" -t"$DURATION" -n 100000000 "$url" > "$tmp/ab.out" 2>&1
  reqs[ab]="$(awk '/^Complete requests:/ {print $3}' "$tmp/ab.out")"
  cpu[ab]="$(cpu_of "$tmp/t.ab")"

  /usr/bin/time -o "$tmp/t.autocannon" -f "%U %S %M" "$autocannon" -j -c"$CONNS" -d"$DURATION" "$url" > "$tmp/autocannon.json" 2>/dev/null
  reqs[autocannon]="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['requests']['total'])" "$tmp/autocannon.json")"
  cpu[autocannon]="$(cpu_of "$tmp/t.autocannon")"

  echo "   the other peers, once (vs the wrk median):"
  printf "   %-11s %10s %8s %14s %12s\n" tool requests cpu_s "req/cpu-s" "vs wrk"
  for tool in h2load ab autocannon; do
    eff="$(per_cpu "${reqs[$tool]}" "${cpu[$tool]}")"
    printf "   %-11s %10s %8s %14s %12s\n" "$tool" "${reqs[$tool]}" "${cpu[$tool]}" "$eff" "$(ratio "$eff" "$wrk_eff")x"
  done
  echo
fi

# ---- 2. scripted journey against crest_load_target --------------------------------------------
if [[ "${SKIP_JOURNEY:-0}" != 1 ]]; then
  "$target_bin" --port 0 --threads 1 --duration-s 900 > "$tmp/target.out" &
  pids+=($!)
  for _ in $(seq 50); do [[ -s "$tmp/target.out" ]] && break; sleep 0.1; done
  tport="$(awk '{print $2}' "$tmp/target.out")"
  write_scripted_journey "$tmp" "$tport" "$CONNS" "$DURATION"
  /usr/bin/time -o "$tmp/t.journey" -f "%U %S %M" "$crest" run "$tmp/journey.yaml" -q --out "json=$tmp/journey.json" >/dev/null
  jreqs="$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['http_reqs'])" "$tmp/journey.json")"
  jfail="$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['http_req_failed'])" "$tmp/journey.json")"
  jeff="$(per_cpu "$jreqs" "$(cpu_of "$tmp/t.journey")")"
  echo "2. Scripted journey (CSV login, token capture, 3 GETs, JSON POST; $CONNS VUs, ${DURATION}s) vs crest_load_target"
  echo "   requests $jreqs (failed $jfail), cpu $(cpu_of "$tmp/t.journey")s, $jeff req/cpu-s = $(ratio "$jeff" "$crest_raw_eff")x crest raw (goal >= 0.7; n/a when section 1 was skipped)"
  echo
fi

# ---- 3. memory per virtual user --------------------------------------------------------------
# The target must hold the connections too: nginx with several workers on one reuseport address,
# each worker under this machine's descriptor limit.
if [[ "${SKIP_MEMORY:-0}" != 1 ]]; then
  mem_workers=4
  mem_port="$(free_port)"
  start_nginx nginx-mem "$mem_port" "$mem_workers" reuseport

  echo "3. RSS per VU (journey: GET, think 2-4s, GET; nginx, $mem_workers workers; fd limit $fd_limit per process)"
  echo "   RSS = the sum of every crest process's peak RSS (parent and children: process_max_rss_kib)"
  # mem_run VUS PROCESSES -> "peak_vus rss_kib failed_requests"
  mem_run() {
    local vus="$1" procs="$2"
    cat > "$tmp/mem.yaml" <<YAML
target: {base_url: "http://127.0.0.1:$mem_port", timeouts: {connect: 20s, request: 20s}}
journeys: [{steps: [{request: {path: /100.html}, think: {uniform: [2s, 4s]}}, {request: {path: /100.html}, think: 2s}]}]
load: {executor: ramping-vus, start_vus: 0, stages: [{duration: 5s, target: $vus}, {duration: 10s, target: $vus}], graceful_stop: 1s}
YAML
    "$crest" run "$tmp/mem.yaml" -q --processes "$procs" --out "json=$tmp/mem.json" >/dev/null
    echo "$(json_field "$tmp/mem.json" vus_max) $(json_field "$tmp/mem.json" process_max_rss_kib) $(json_field "$tmp/mem.json" http_req_failed)"
  }
  declare -A base_rss
  for vus in $MEMORY_VUS; do
    procs=$(( (vus + 14999) / 15000 ))
    if [[ -z "${base_rss[$procs]:-}" ]]; then
      # The baseline has the same processes, so only what the VUs cost is left above it.
      read -r _ rss _ <<<"$(mem_run 10 "$procs")"
      base_rss[$procs]="$rss"
      echo "   baseline (10 VUs, $procs process(es)): RSS $rss KiB"
    fi
    read -r peak rss fails <<<"$(mem_run "$vus" "$procs")"
    per="$(python3 -c "import sys; r,b,v=map(float,sys.argv[1:]); print(f'{(r-b)/v:.1f}')" "$rss" "${base_rss[$procs]}" "$peak")"
    echo "   $vus VUs on $procs process(es) (peak $peak active, $fails failed requests): RSS $rss KiB," \
      "$per KiB per VU above baseline (goal <= 20)"
  done
  echo
fi

# ---- 4. coordinated omission -----------------------------------------------------------------
if [[ "${SKIP_CO:-0}" != 1 ]]; then
  "$target_bin" --port 0 --threads 1 --stall-every-ms 10000 --stall-for-ms 1000 --duration-s 900 > "$tmp/stall.out" &
  pids+=($!)
  for _ in $(seq 50); do [[ -s "$tmp/stall.out" ]] && break; sleep 0.1; done
  sport="$(awk '{print $2}' "$tmp/stall.out")"
  rate=200
  cat > "$tmp/co.yaml" <<YAML
target: http://127.0.0.1:$sport
journeys: [{steps: [{name: hello, request: {path: /hello}}]}]
load: {executor: constant-arrival-rate, rate: $rate, duration: ${CO_SECONDS}s, pre_allocated_vus: 50, max_vus: $((rate * 2)), threads: 1}
YAML
  "$crest" run "$tmp/co.yaml" -q --out "json=$tmp/co.json" >/dev/null
  crest_p99="$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['steps'][0]['http_req_duration']['p99_ms'])" "$tmp/co.json")"
  crest_dropped="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['dropped_iterations'])" "$tmp/co.json")"
  wrk --latency -t1 -c10 -d"${CO_SECONDS}s" "http://127.0.0.1:$sport/hello" > "$tmp/wrk_co.out"
  wrk_p99="$(awk '$1 == "99%" {v=$2; if (v ~ /ms$/) {sub(/ms/,"",v); print v} else if (v ~ /us$/) {sub(/us/,"",v); print v/1000} else {sub(/s/,"",v); print v*1000}}' "$tmp/wrk_co.out")"
  # Requests arrive uniformly; 10 % of them land in a stall and wait out its remainder, uniform on
  # (0, 1 s]. P(latency > x) = 0.1 * (1 - x): the p99 is 900 ms (plus a sub-millisecond service time).
  true_p99=900
  echo "4. Coordinated omission: target stalls 1 s every 10 s; ${CO_SECONDS}s"
  echo "   true p99 from the stall schedule: ${true_p99} ms"
  echo "   crest (constant-arrival-rate $rate/s, dropped $crest_dropped): p99 ${crest_p99} ms  -> $(python3 -c "import sys; c,t=map(float,sys.argv[1:]); print(f'{100*(c-t)/t:+.1f} %')" "$crest_p99" "$true_p99") vs true"
  echo "   wrk -c10 (closed loop):                         p99 ${wrk_p99} ms  -> $(python3 -c "import sys; c,t=map(float,sys.argv[1:]); print(f'{100*(c-t)/t:+.1f} %')" "$wrk_p99" "$true_p99") vs true"
fi
