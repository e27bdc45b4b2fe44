#!/usr/bin/env bash
# Calibrates the scaling faults' spike (examples/chaos/login-spike.yaml) on the local stack: the
# steady journey load throughout, then the spike at each of RATES logins/s for 30 s with `users`'
# autoscaling off (the most the scaling faults leave it: its replicas at the time), and once at
# NOFAULT_RATE with the autoscaler free. For each: the machine's CPU (node exporter), each
# component's CPU (cgroups, through Prometheus), users' throttled periods and replicas, the nodes,
# the spike's login latency, and the load average. Takes about 6 minutes and a whole stack (run
# it under the heavy lock where several people share a machine).
#   bench/chaos_spike_calibration.sh [--build build/ci] [--dir /tmp/crest-spike-calibration]
#   RATES="20 30 40" NOFAULT_RATE=30 bench/chaos_spike_calibration.sh
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=build/ci run=/tmp/crest-spike-calibration
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --dir) run=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
crest=$build/apps/crest/crest
work=$(mktemp -d /tmp/crest-spike-calibration-XXXXXX)
steady=""
cleanup() {
  [ -n "$steady" ] && kill "$steady" 2>/dev/null
  "$crest" chaos stop --all --dir "$run" >/dev/null 2>&1
  "$crest" down --dir "$run" >/dev/null 2>&1
  echo "outputs in $work"
}
trap cleanup EXIT
echo "== $(date -u +%T) crest up; $(uptime)"
"$crest" up --profile scaled --set chaos.proxy=true --dir "$run" >"$work/up.log" 2>&1 ||
  { tail "$work/up.log"; exit 1; }
shop=$(jq -r .shop_url "$run/state.json")
prom=$(jq -r .prometheus_url "$run/state.json")
"$crest" run "$here/examples/chaos/spike-users-register.yaml" --target "$shop" -q >/dev/null 2>&1
"$crest" run "$here/examples/chaos/steady-journeys.yaml" --target "$shop" --duration 600s -q \
  >"$work/steady.out" 2>&1 &
steady=$!
query() {
  curl -s --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[]
    | "\(.metric | del(.__name__) | to_entries | map(.value) | join(",")) \(.value[1] | tonumber * 1000 | round / 1000)"'
}
measure() {  # LABEL WINDOW_SECONDS
  echo "--- $1 ($(date -u +%T)) $(uptime | sed 's/.*load/load/')"
  echo "machine busy cores: $(query "sum(rate(node_cpu_seconds_total{mode!=\"idle\"}[$2s]))")"
  echo "stack's containers, cores: $(query "sum(rate(container_cpu_usage_seconds_total[$2s]))")"
  query "sort_desc(sum by (container) (rate(container_cpu_usage_seconds_total[$2s])))" | sed 's/^/  /'
  echo "users throttled periods/s: $(query "sum(rate(container_cpu_cfs_throttled_periods_total{container=\"users\"}[$2s]))")"
  echo "users instances: $(jq -c '[.components[] | select(.component == "users") | .instances[]
    | "\(.name):\(.phase)@\(.node)"]' "$run/state.json")"
  "$crest" status --dir "$run" | grep -E '^nodes' | sed 's/^/  /'
}
spike() {  # RATE FILE
  "$crest" run "$here/examples/chaos/login-spike.yaml" --target "$shop" --rate "$1" \
    --duration 30s >"$2" 2>&1 &
  local pid=$!
  sleep 28
  measure "spike $1/s, $3" 20
  wait "$pid"
  grep -E 'http_req_duration|checks\.\.' "$2" | sed 's/^/  spike: /'
}
sleep 70
measure "steady journeys only" 30
for rate in ${RATES:-20 30 40}; do
  "$crest" chaos run autoscaler-off --target users --for 34s --dir "$run" >/dev/null 2>&1 &
  fault=$!
  sleep 1
  spike "$rate" "$work/spike-$rate.out" "users' autoscaling off"
  wait "$fault"
  sleep 45  # users' scale-in (30 s stabilisation) and the queue behind the spike drained
done
spike "${NOFAULT_RATE:-30}" "$work/spike-free-${NOFAULT_RATE:-30}.out" "autoscaler free"
cp "$run/events.jsonl" "$work/events.jsonl"
