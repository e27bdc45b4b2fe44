#!/usr/bin/env bash
# JTL compatibility: JMeter 2.13 and crest run examples/jmeter/storefront-jmeter2.jmx against the
# same local target (crest_load_target) and compare_jtl.py checks crest's JTL column by column
# against JMeter's. Without JMeter installed it says so in one line (ctest: skipped, code 77).
# usage: jtl_compat_test.sh CREST_BINARY LOAD_TARGET_BINARY
set -euo pipefail
crest=$1
target=$2
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ ! -f /usr/share/jmeter/bin/ApacheJMeter.jar ]] || ! command -v javac >/dev/null; then
  echo "skipped: JMeter 2.13 is not installed (apt-get install jmeter)"
  exit 77
fi
work="$(mktemp -d)"
target_pid=""
cleanup() {
  [[ -n $target_pid ]] && kill "$target_pid" 2>/dev/null && wait "$target_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
"$target" --duration-s 120 >"$work/target.out" &
target_pid=$!
for _ in $(seq 50); do
  grep -q '^port ' "$work/target.out" 2>/dev/null && break
  sleep 0.1
done
port=$(awk '/^port /{print $2}' "$work/target.out")
[[ -n $port ]] || { echo "FAIL: the load target did not start"; exit 1; }
plan="$root/examples/jmeter/storefront-jmeter2.jmx"
# JMeter: JMeter 5's default columns as far as 2.13 can write them.
CREST_JMETER_CLASSES="$work/classes" JMETER_LOG="$work/jmeter.log" \
  "$root/bench/jmeter/run-jmeter.sh" -t "$plan" -l "$work/jmeter.jtl" -Jport="$port" -Jthreads=2 \
  -Jduration=6 -Jjmeter.save.saveservice.url=true -Jjmeter.save.saveservice.connect_time=true \
  -Jjmeter.save.saveservice.idle_time=true \
  -Jjmeter.save.saveservice.assertion_results_failure_message=true >"$work/jmeter.out" 2>&1 ||
  { cat "$work/jmeter.out"; echo "FAIL: JMeter did not run"; exit 1; }
"$crest" run "$plan" -e port="$port" -e threads=2 --duration 2s -q --out jtl="$work/crest.jtl" \
  >"$work/crest.out" 2>&1 || { cat "$work/crest.out"; echo "FAIL: crest run failed"; exit 1; }
python3 "$here/compare_jtl.py" "$work/jmeter.jtl" "$work/crest.jtl" 2
