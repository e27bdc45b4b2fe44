#!/usr/bin/env bash
# Instructions per request of crest run's scripted journey (the plan of load_vs_peers.sh section
# 2: CSV login, captured token, three GETs, a JSON POST), counted by callgrind: repeatable where
# CPU-seconds on a shared machine are not. Each thread is counted on its own: the event loop's
# thread does the per-request work; the main thread parses, aggregates once a second and writes
# the outputs, so its share per request depends on how many requests fit in the run's seconds.
# Usage: bench/load_callgrind.sh BUILD_DIR [BUILD_DIR ...]   (Release builds with crest and
#        crest_load_target; several builds run in turn, ROUNDS times: default 2)
# Env: ROUNDS, VUS (default 10), SECONDS_PER_RUN (default 6). Loopback only; stops what it starts.
set -euo pipefail

# shellcheck source=bench/scripted_journey.sh
source "$(cd "$(dirname "$0")" && pwd)/scripted_journey.sh"

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
[[ $# -ge 1 ]] || { sed -n 2,9p "$0" >&2; exit 2; }
tmp="$(mktemp -d /tmp/crest-callgrind.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# one_run BUILD: prints "requests total main loop" (instructions per request)
one_run() {
  local build="$1" out="$tmp/target.out"
  : > "$out"
  "$build/libs/load/crest_load_target" --port 0 --threads 1 --duration-s 300 > "$out" &
  local target_pid=$!
  pids+=("$target_pid")
  for _ in $(seq 300); do [[ -s "$out" ]] && break; sleep 0.1; done
  local port
  port="$(awk '{print $2}' "$out")"
  write_scripted_journey "$tmp" "$port" "${VUS:-10}" "${SECONDS_PER_RUN:-6}"
  rm -f "$tmp"/cg.out*
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/cg.out" \
    "$build/apps/crest/crest" run "$tmp/journey.yaml" -q --out "json=$tmp/run.json" \
    > /dev/null 2> "$tmp/valgrind.log"
  kill "$target_pid" 2>/dev/null || true
  wait "$target_pid" 2>/dev/null || true
  local requests
  requests="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['http_reqs'])" "$tmp/run.json")"
  # Thread 1 is the main thread; the event loop is the next one.
  local main loop
  main="$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out-01")"
  loop="$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out-02")"
  echo "$requests $(( (main + loop) / requests )) $(( main / requests )) $(( loop / requests ))"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %6s %9s %14s %10s %10s\n' build round requests "Ir/req total" "main" "event loop"
for round in $(seq "${ROUNDS:-2}"); do
  for build in "$@"; do
    read -r requests total main loop < <(one_run "$build")
    printf '%-44s %6s %9s %14s %10s %10s\n' "$build" "$round" "$requests" "$total" "$main" "$loop"
  done
done
