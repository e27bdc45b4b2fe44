#!/usr/bin/env bash
# JMeter 2.13 and crest running the same .jmx (examples/jmeter/storefront-jmeter2.jmx: login with
# a CSV feed, extract the token, browse, add to cart, check out) against the same local target
# (crest_load_target), one after the other, in one run:
#   1. saturation: THREADS threads/VUs, no think time, DURATION seconds: requests per CPU-second
#      of the load tool (user + system, JVM start-up included) and its peak RSS
#   2. the same load: a Constant Throughput Timer of RATE requests/s added to the plan (crest
#      translates it to a constant arrival rate): the latency percentiles of each tool's JTL
#      (the same computation, in JMeter's whole milliseconds), and the CPU each needed for it
# Both write a JTL in both phases. Prints one table and the ratios (crest / JMeter).
# Usage: bench/jmeter_vs_crest.sh [BUILD_DIR]   (a Release build with crest and crest_load_target)
# Env: THREADS (default 8), DURATION (default 20), RATE (default 600)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
build="$(cd "${1:-$repo/build/rel}" && pwd)"
crest="$build/apps/crest/crest"
target_bin="$build/libs/load/crest_load_target"
THREADS="${THREADS:-8}"
DURATION="${DURATION:-20}"
RATE="${RATE:-600}"
if [[ ! -x $crest || ! -x $target_bin ]]; then
  echo "build crest and crest_load_target first (Release):" >&2
  echo "  cmake -S $repo -B $repo/build/rel -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $repo/build/rel crest crest_load_target" >&2
  exit 2
fi
command -v jmeter >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q jmeter >/dev/null
tmp="$(mktemp -d /tmp/crest-jmeter-bench.XXXXXX)"
target_pid=""
cleanup() {
  [[ -n $target_pid ]] && kill "$target_pid" 2>/dev/null && wait "$target_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
"$target_bin" --threads 1 --duration-s 3600 >"$tmp/target.out" &
target_pid=$!
for _ in $(seq 50); do grep -q '^port ' "$tmp/target.out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/^port /{print $2}' "$tmp/target.out")
plan="$repo/examples/jmeter/storefront-jmeter2.jmx"
cp "$repo/examples/jmeter/users.csv" "$tmp/"
# The fixed-rate variant: a Constant Throughput Timer (all active threads) at the thread group.
python3 - "$plan" "$tmp/fixed-rate.jmx" "$RATE" <<'PY'
import sys
src, dst, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
text = open(src).read()
timer = ('<ConstantThroughputTimer guiclass="TestBeanGUI" testclass="ConstantThroughputTimer" '
         'testname="rate" enabled="true"><intProp name="calcMode">1</intProp><doubleProp>'
         f'<name>throughput</name><value>{rate * 60}</value><savedValue>0.0</savedValue>'
         '</doubleProp></ConstantThroughputTimer><hashTree/>')
anchor = '<TransactionController guiclass="TransactionControllerGui" testclass="TransactionController" testname="sign in"'
assert anchor in text
open(dst, "w").write(text.replace(anchor, timer + "\n        " + anchor, 1))
PY
cp "$plan" "$tmp/saturation.jmx"
# JMeter at its best: HttpClient 4's stale-connection check before every request (a blocking
# read with a timeout) and Nagle cost it 10-30 ms per request on a keep-alive connection here;
# both off (JMeter's documented hc.parameters file) brings its p50 to about 1 ms.
printf 'http.tcp.nodelay$Boolean=true\nhttp.connection.stalecheck$Boolean=false\n' >"$tmp/hc.parameters"

# Runs a command and prints "user_s system_s max_rss_kib" of it and its children.
measure() {
  /usr/bin/time -f "%U %S %M" -o "$tmp/time.out" "$@" >"$tmp/cmd.out" 2>&1 ||
    { cat "$tmp/cmd.out" >&2; echo "failed: $*" >&2; exit 1; }
  cat "$tmp/time.out"
}

# A JTL to "requests p50 p90 p99 max" over its samplers (not the transactions).
jtl_stats() {
  python3 - "$1" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if not r["responseMessage"].startswith("Number of samples in transaction")]
e = sorted(int(r["elapsed"]) for r in rows)
pct = lambda p: e[max(0, -(-len(e) * p // 100) - 1)]
print(len(e), pct(50), pct(90), pct(99), e[-1], sum(1 for r in rows if r["success"] != "true"))
PY
}
run_jmeter() {  # plan, jtl
  rm -f "$2"
  (cd "$tmp" && measure "$repo/bench/jmeter/run-jmeter.sh" -t "$1" -l "$2" -Jport="$port" \
    -Jthreads="$THREADS" -Jduration="$DURATION" -Jhc.parameters.file="$tmp/hc.parameters")
}
run_crest() {  # plan, jtl, json
  (cd "$tmp" && measure "$crest" run "$1" -e port="$port" -e threads="$THREADS" \
    -e duration="$DURATION" --threads 1 -q --out jtl="$2" --out json="$3")
}

printf "%-22s %10s %9s %9s %10s %12s %8s %8s %8s %8s\n" phase tool requests cpu_s req/cpu_s peak_rss_mb p50_ms p90_ms p99_ms failed
declare -A R
for phase in saturation fixed-rate; do
  read -r ju js jm < <(run_jmeter "$tmp/$phase.jmx" "$tmp/jmeter-$phase.jtl")
  read -r jn j50 j90 j99 jmax jf < <(jtl_stats "$tmp/jmeter-$phase.jtl")
  read -r cu cs cm < <(run_crest "$tmp/$phase.jmx" "$tmp/crest-$phase.jtl" "$tmp/crest-$phase.json")
  read -r cn c50 c90 c99 cmax cf < <(jtl_stats "$tmp/crest-$phase.jtl")
  jcpu=$(echo "$ju + $js" | bc -l); ccpu=$(echo "$cu + $cs" | bc -l)
  jeff=$(echo "$jn / $jcpu" | bc -l); ceff=$(echo "$cn / $ccpu" | bc -l)
  printf "%-22s %10s %9d %9.2f %10.0f %12.1f %8s %8s %8s %8s\n" "$phase" JMeter-2.13 "$jn" "$jcpu" "$jeff" "$(echo "$jm/1024" | bc -l)" "$j50" "$j90" "$j99" "$jf"
  printf "%-22s %10s %9d %9.2f %10.0f %12.1f %8s %8s %8s %8s\n" "$phase" crest "$cn" "$ccpu" "$ceff" "$(echo "$cm/1024" | bc -l)" "$c50" "$c90" "$c99" "$cf"
  R[$phase]="$(echo "$ceff / $jeff" | bc -l) $(echo "$cm / $jm" | bc -l) $(echo "$ccpu / $jcpu" | bc -l)"
done
read -r eff rss _ <<<"${R[saturation]}"
read -r _ rss2 cpu2 <<<"${R[fixed-rate]}"
printf "\nratios (crest / JMeter): saturation: requests per CPU-second x%.1f, peak RSS x%.3f; " "$eff" "$rss"
printf "fixed rate (%s req/s target): CPU x%.3f, peak RSS x%.3f\n" "$RATE" "$cpu2" "$rss2"
