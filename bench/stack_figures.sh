#!/usr/bin/env bash
# Figures of the local platform for docs/benchmarks.md (section "Local platform"):
#   1. `crest up --profile scaled` start-up time (after the first run's one-off MariaDB template);
#   2. capacity of one catalogue instance vs three behind HAProxy (same stack, same run), as the
#      highest constant arrival rate of product reads that keeps p99 < 500 ms and errors < 1 %;
#   3. autoscaling response time for a step load (breach -> decision -> serving, from
#      events.jsonl) and the failed requests across the scale-out and scale-in it causes.
# Usage: bench/stack_figures.sh [BUILD_DIR]   (default build/ci; needs root for cgroups)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/ci}
CREST=$BUILD/apps/crest/crest
DIR=$(mktemp -d /tmp/crest-stack-figures.XXXXXX)
trap '"$CREST" down --dir "$DIR/run" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT

# Start-up, RUNS times (default 3): wall time of `crest up` and its per-step seconds.
for i in $(seq "${RUNS:-3}"); do
  start=$(date +%s.%N)
  "$CREST" up --profile scaled --dir "$DIR/startup" >"$DIR/startup.log"
  end=$(date +%s.%N)
  echo "startup_seconds $(echo "$end - $start" | bc) ($(grep -o 'seconds per step: .*' "$DIR/startup.log"))"
  "$CREST" down --purge --dir "$DIR/startup" >/dev/null
done

"$CREST" up --profile scaled --dir "$DIR/run" --set services.catalog.max=3 >"$DIR/up.log"
SHOP=$(python3 -c "import json;print(json.load(open('$DIR/run/state.json'))['shop_url'])")

PRODUCT='{name: product, request: {path: "/api/products/{{ randint(1, 200) }}"}, check: {status: 200}}'
# A search whose text is new each time: a cache miss read on a replica, the CPU a step load needs.
SEARCH='{name: search, request: {path: "/api/products?q=x{{ randint(1, 100000000) }}"}, check: {status: 200}}'
plan() {  # rate duration name [step]
  cat >"$DIR/$3.yaml" <<PLAN
target: {base_url: $SHOP, timeouts: {connect: 2s, request: 5s}}
journeys:
  - steps:
      - ${4:-$PRODUCT}
load: {executor: constant-arrival-rate, rate: $1, time_unit: 1s, duration: $2, pre_allocated_vus: 50, max_vus: 400}
PLAN
  "$CREST" run -q "$DIR/$3.yaml" --out csv="$DIR/$3.csv" >/dev/null 2>&1 || true
  python3 - "$DIR/$3.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))[3:]  # skip the first seconds
req = sum(int(r["requests"]) for r in rows); fail = sum(int(r["failures"]) for r in rows)
p99 = sorted(float(r["p99_ms"]) for r in rows)[int(len(rows) * 0.9)] if rows else 0
print(f"{req / max(len(rows), 1):.0f} {fail / max(req, 1) * 100:.2f} {p99:.0f}")
PY
}

capacity() {  # label: step the rate until p99 >= 500 ms or errors >= 1 %
  local best=0
  for rate in 50 100 200 300 400 600; do
    read -r got err p99 < <(plan "$rate" 12s "cap-$1-$rate")
    echo "  $1 rate=$rate achieved=$got/s errors=$err% p99(90th pct of seconds)=${p99}ms"
    if (($(echo "$err >= 1 || $p99 >= 500" | bc))); then break; fi
    best=$rate
  done
  echo "capacity_$1 $best"
}

if [ "${CAPACITY:-1}" != 0 ]; then
  "$CREST" scale catalog --replicas 1 --dir "$DIR/run" >/dev/null
  sleep 5
  capacity one_catalog
  "$CREST" scale catalog --replicas 3 --dir "$DIR/run" >/dev/null
  sleep 8
  capacity three_catalogs
fi

# Step loads with the autoscaler back on (uncached searches, about 2.5x the catalogue's CPU target
# at ~0.6 ms of CPU per search): first with room on the two nodes, then with them filled by four
# users instances (8 pods of 125m on 2 x 500m) so that the scale-out needs a node (provision
# delay 10 s, the profile's). CAPACITY=0 RUNS=0 ROOM=0: only the step with a node provision.
step() {  # label
  "$CREST" scale catalog --on --min 1 --max 4 --dir "$DIR/run" >/dev/null
  sleep 45  # back to one catalogue instance (30 s scale-down window), metrics windows emptied
  local mark
  mark=$(wc -l <"$DIR/run/events.jsonl")
  read -r got err p99 < <(plan 400 30s "step-heavy-$1" "$SEARCH")
  echo "$1: step_heavy achieved=$got/s errors=$err% p99=${p99}ms"
  read -r got err p99 < <(plan 10 60s "step-light-$1")
  echo "$1: step_light achieved=$got/s errors=$err% p99=${p99}ms"
  tail -n +"$((mark + 1))" "$DIR/run/events.jsonl" >"$DIR/events-$1.jsonl"
  python3 - "$DIR/events-$1.jsonl" "$1" <<'PY'
import json, sys
from datetime import datetime
ts = lambda e: datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
ev = [json.loads(l) for l in open(sys.argv[1])]
dec = [e for e in ev if e.get("kind") == "decision" and e.get("service") == "catalog"]
breach = next((e for e in dec if any((m.get("value") or 0) > m["target"] for m in e["metrics"])), None)
up = next((e for e in dec if e["desired"] > e["current"]), None)
label = sys.argv[2]
if breach and up:
    added = up["desired"] - up["current"]
    serving = [e for e in ev if e.get("kind") == "pod" and e.get("service") == "catalog"
               and e.get("transition") == "serving" and ts(e) >= ts(up)]
    print(f"{label}: scale-up {up['current']} -> {up['desired']}: breach_to_decision_s {ts(up) - ts(breach):.1f}")
    if len(serving) >= added:
        done = serving[added - 1]
        nodes = [e for e in ev if e.get("kind") == "node" and e.get("transition") == "requested"
                 and ts(up) <= ts(e) <= ts(done)]
        print(f"{label}: decision_to_serving_s {ts(done) - ts(up):.1f}"
              f"{' (a node was provisioned)' if nodes else ' (no node provisioned)'}")
    for later in (e for e in dec if e["desired"] > e["current"] and ts(e) > ts(up)):
        print(f"{label}: then {later['current']} -> {later['desired']} at +{ts(later) - ts(up):.1f} s")
    nodes = [(e["transition"], round(ts(e) - ts(up), 1)) for e in ev if e.get("kind") == "node"]
    if nodes: print(f"{label}: node events (s after the first decision): {nodes}")
    down = next((e for e in dec if e["desired"] < e["current"] and ts(e) > ts(up)), None)
    if down: print(f"{label}: scale_in_decision_after_scale_out_s {ts(down) - ts(up):.1f}")
else:
    print(f"{label}: no scale-up decision for catalog")
PY
}
if [ "${ROOM:-1}" != 0 ]; then step room_on_nodes; fi
"$CREST" scale users --replicas 4 --dir "$DIR/run" >/dev/null
step node_provision
