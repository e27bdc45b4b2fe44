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

start=$(date +%s.%N)
"$CREST" up --profile scaled --dir "$DIR/run" --set services.catalog.max=3 >"$DIR/up.log"
end=$(date +%s.%N)
echo "startup_seconds $(echo "$end - $start" | bc)"
SHOP=$(python3 -c "import json;print(json.load(open('$DIR/run/state.json'))['shop_url'])")

plan() {  # rate duration name
  cat >"$DIR/$3.yaml" <<PLAN
target: {base_url: $SHOP, timeouts: {connect: 2s, request: 5s}}
journeys:
  - steps:
      - {name: product, request: {path: "/api/products/{{ randint(1, 200) }}"}, check: {status: 200}}
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

"$CREST" scale catalog --replicas 1 --dir "$DIR/run" >/dev/null
sleep 5
capacity one_catalog
"$CREST" scale catalog --replicas 3 --dir "$DIR/run" >/dev/null
sleep 8
capacity three_catalogs

# Step load with the autoscaler back on: 2 -> 3 catalogue instances, then back.
"$CREST" scale catalog --on --min 1 --max 3 --dir "$DIR/run" >/dev/null
sleep 50
: >"$DIR/mark"
read -r got err p99 < <(plan 200 30s step-heavy)
echo "step_heavy achieved=$got/s errors=$err% p99=${p99}ms"
read -r got err p99 < <(plan 10 60s step-light)
echo "step_light achieved=$got/s errors=$err% p99=${p99}ms"
python3 - "$DIR/run/events.jsonl" <<'PY'
import json, sys
from datetime import datetime
ts = lambda e: datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
ev = [json.loads(l) for l in open(sys.argv[1])]
dec = [e for e in ev if e.get("kind") == "decision" and e.get("service") == "catalog"]
breach = next((e for e in dec if any((m.get("value") or 0) > m["target"] for m in e["metrics"])), None)
up = next((e for e in dec if e["desired"] > e["current"]), None)
if breach and up:
    serving = [e for e in ev if e.get("kind") == "pod" and e.get("service") == "catalog"
               and e.get("transition") == "serving" and ts(e) >= ts(up)]
    print(f"breach_to_decision_s {ts(up) - ts(breach):.1f}")
    if serving: print(f"decision_to_serving_s {ts(serving[0]) - ts(up):.1f}")
    down = next((e for e in dec if e["desired"] < e["current"] and ts(e) > ts(up)), None)
    if down: print(f"scale_in_decision_after_scale_out_s {ts(down) - ts(up):.1f}")
else:
    print("no scale-up decision for catalog")
PY
