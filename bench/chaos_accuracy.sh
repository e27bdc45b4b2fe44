#!/usr/bin/env bash
# The diagnosis accuracy benchmark of issue #11: every fault of `crest chaos` REPS times on the
# local stack under a steady journey load (examples/chaos/steady-journeys.yaml). For each case:
# PRE seconds of normal load, the fault for FAULT seconds, POST seconds after; then `crest
# diagnose` on what an SRE would have (Prometheus, the load run, the autoscaler's events), never
# the chaos log, which only scores it afterwards. The same saved inputs are ranked again with the
# NSigma baseline (--baseline nsigma).
#
# Scores, per fault type and overall, at service level (which component: the rank of the expected
# component in `components[]`) and at cause level (which mechanism: the rank of the first cause
# with an accepted mechanism in `causes[]`): AC@1, AC@3, Avg@5 (mean of AC@1..AC@5), and the
# diagnosis time per case.
#
# Resumable: each case is saved under OUT/cases/<fault>-<rep>/ as it completes (its inputs as a
# fixture in libs/diagnose/fixtures' layout, expected.json, both diagnoses, result.json); a case
# with a result.json is not run again. Summary: OUT/summary.md.
#
#   bench/chaos_accuracy.sh [--reps 3] [--faults "cpu-hog redis-stop"] [--out bench/results/chaos]
#                           [--dir RUNDIR] [--build build/ci] [--pre 50] [--fault 30] [--post 10]
#                           [--settle 20]   # quiet seconds before each case's load starts
#                           [--target SERVICE]  # the instance faults on another service
#   bench/chaos_accuracy.sh --summary-only --out DIR
#   bench/chaos_accuracy.sh --rediagnose --out DIR   # offline: diagnose the saved cases again
# Starts `crest up --profile scaled --set chaos.proxy=true` in RUNDIR if no stack runs there (and
# stops it at the end); an existing stack must have chaos.proxy for the dynamodb-* faults.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=build/ci reps=3 out=bench/results/chaos run_dir=/tmp/crest-chaos-bench pre=50 fault_s=30 post=10
settle=20
faults="" summary_only=0 rediagnose=0 on_service=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --faults) faults=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --dir) run_dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --pre) pre=$2; shift 2 ;;
    --fault) fault_s=$2; shift 2 ;;
    --post) post=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --target) on_service=$2; shift 2 ;;
    --summary-only) summary_only=1; shift ;;
    --rediagnose) rediagnose=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out/cases"
# A copy, so rebuilding crest during a long run does not pull the binary from under it.
cp "$build/apps/crest/crest" "$out/crest"
crest="$out/crest"

# fault -> expected component (a regular expression over `components[].component`) and the
# mechanisms that name it (any of them counts at cause level). The queue's component is the queue
# (`queue:<name>`) or the SQS server that holds it (`sqs`); a stopped worker may be named itself.
declare -A component mechanisms
component[instance-kill]='^catalog$';          mechanisms[instance-kill]='instance_down failing'
component[cpu-hog]='^catalog$';                mechanisms[cpu-hog]='cpu_saturation'
component[memory-pressure]='^catalog$';        mechanisms[memory-pressure]='memory_pressure oom_killed instance_down'
component[replica-stop]='^db:.*replica1$';     mechanisms[replica-stop]='replica_down'
component[replica-lag]='^db:.*replica1$';      mechanisms[replica-lag]='replica_lag'
component[primary-slow-queries]='^db:.*primary$'; mechanisms[primary-slow-queries]='db_saturation missing_index'
component[primary-table-lock]='^db:.*primary$';   mechanisms[primary-table-lock]='db_saturation lock_contention'
# The index is dropped on the primary and the drop replicates: the reads that lose it run on the
# replicas, so any database server is the right component.
component[missing-index]='^db:';               mechanisms[missing-index]='missing_index'
component[redis-stop]='^cache$';               mechanisms[redis-stop]='cache_unavailable'
component[redis-slow]='^cache$';               mechanisms[redis-slow]='cache_degraded cache_unavailable'
component[sqs-stop]='^(queue:|sqs$)';                 mechanisms[sqs-stop]='queue_unreachable'
component[worker-stop]='^(queue:|sqs$|worker$)';    mechanisms[worker-stop]='worker_down queue_backlog instance_down'
component[poison-messages]='^(queue:|sqs$)';          mechanisms[poison-messages]='poison_messages'
component[dynamodb-throttle]='^dynamodb$';     mechanisms[dynamodb-throttle]='dynamodb_throttling'
component[dynamodb-latency]='^dynamodb$';      mechanisms[dynamodb-latency]='dynamodb_latency'
component[autoscaler-cap]='^users$';           mechanisms[autoscaler-cap]='cpu_saturation at_max_replicas'
component[autoscaler-off]='^users$';           mechanisms[autoscaler-off]='cpu_saturation autoscaling_off'
# The scaling faults change nothing until something needs to scale: at the steady load no
# service wants more replicas than it has. Their cases add a spike beside the steady load while
# the fault is on, as the issue puts it: "capped or disabled during a spike". The spike is logins
# of registered users (examples/chaos/login-spike.yaml, SPIKE_RATE logins/s): its demand lands on
# `users`' CPU (password hashing) and hardly on the databases, so the autoscaler faults target
# `users`; slow node provisioning is the node pool's. Calibration: docs/chaos.md.
component[node-provision-slow]='^node-pool$'
mechanisms[node-provision-slow]='node_provisioning_slow'
# Time added between the load balancer and catalog's instances (a proxy per instance): the
# balancer's time for catalog rises while catalog's own does not.
component[network-latency]='^catalog$';        mechanisms[network-latency]='network_latency'
spike_rate=${SPIKE_RATE:-30}
declare -A spike=([node-provision-slow]=1 [autoscaler-cap]=1 [autoscaler-off]=1)
# The catalogue's queries never used products_by_category (their `? = ? OR category_id = ?` form
# scans the 200 products with or without it), so dropping it changed nothing; the outbox relay's
# poll (about 16 a second) reads through outbox_pending.
declare -A target=([autoscaler-cap]=users [autoscaler-off]=users [missing-index]=outbox.outbox_pending)
# --target SERVICE: the faults on one instance of a service (the table above has them on catalog)
# run on SERVICE instead, as cases `FAULT@SERVICE-REP` with SERVICE the expected component: how
# far the diagnosis carries to a place it was not tuned on.
instance_faults="instance-kill cpu-hog memory-pressure network-latency"
expect_on() {  # expect_on FAULT@SERVICE: that case's target, component and mechanisms
  local base=${1%@*} service=${1#*@}
  target[$1]=$service component[$1]="^$service\$" mechanisms[$1]=${mechanisms[$base]}
}
all_faults="instance-kill cpu-hog memory-pressure replica-stop replica-lag primary-slow-queries
  primary-table-lock missing-index redis-stop redis-slow sqs-stop worker-stop poison-messages
  dynamodb-throttle dynamodb-latency autoscaler-cap autoscaler-off node-provision-slow"
all_faults="$all_faults network-latency"
faults=${faults:-$all_faults}
if [ -n "$on_service" ]; then
  on=""
  for f in $faults; do
    [[ " $instance_faults " == *" $f "* ]] || { echo "--target: $f is not an instance fault ($instance_faults)" >&2; exit 2; }
    on="$on $f@$on_service"
  done
  faults=$on
fi
for f in $faults; do
  if [[ $f == *@* ]]; then expect_on "$f"; fi
done

# rank FILE REGEX (service level) / rank_cause FILE "m1 m2" (cause level): 1-based, 0 if absent.
rank() {
  jq --arg re "$2" '[.components[].component] | (map(test($re)) | index(true)) as $i
    | if $i == null then 0 else $i + 1 end' "$1"
}
rank_cause() {
  jq --arg ms "$2" '($ms | split(" ")) as $m | [.causes[].mechanism]
    | (map(. as $x | $m | index($x) != null) | index(true)) as $i
    | if $i == null then 0 else $i + 1 end' "$1"
}
now_ms() { date +%s%3N; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }

run_case() {
  local f=$1 rep=$2 dir="$out/cases/$1-$2"
  [ -f "$dir/result.json" ] && { echo "$f-$rep: done before, kept"; return; }
  rm -rf "$dir"; mkdir -p "$dir"
  local shop prom start end
  shop=$(jq -r .shop_url "$run_dir/state.json")
  prom=$(jq -r .prometheus_url "$run_dir/state.json")
  local total=$((pre + fault_s + post))
  # Start from normal: no fault left active (crest chaos stop --all undoes a stray one), every
  # process back (the supervisor restarts what a fault killed), then a quiet spell.
  "$crest" chaos stop --all --dir "$run_dir" >/dev/null 2>&1 || true
  # The spike's users exist before the case's normal period (409s on a second case: registered).
  if [ -n "${spike[$f]:-}" ]; then
    "$crest" run "$here/examples/chaos/spike-users-register.yaml" --target "$shop" -q \
      >"$dir/spike-register.out" 2>&1 || true
  fi
  sleep "$settle"
  # What a DBA reads besides the graphs: each server's slow log (this case's part of it, from the
  # size it had now) and its performance_schema digests, snapshotted every second by `crest db top`
  # over the server's own socket.
  local -A slow_size=()
  local slow db_tops=() name pid sock
  for slow in "$run_dir"/mariadb/*-slow.log; do
    [ -f "$slow" ] && slow_size[$slow]=$(stat -c %s "$slow")
  done
  while read -r name pid; do
    sock=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 's/^--socket=//p')
    [ -n "$sock" ] || continue
    "$crest" db top --socket "$sock" --user root --server-name "${name#mariadb-}" --watch 1s \
      --count $((pre + fault_s + post + 5)) --save "$dir/digests-${name#mariadb-}.jsonl" \
      >/dev/null 2>"$dir/db-top-${name#mariadb-}.err" &
    db_tops+=($!)
  done < <(jq -r '.components[] | select(.component == "mariadb") | .instances[]
                   | select(.pid > 0) | "\(.name) \(.pid)"' "$run_dir/state.json")
  start=$(date +%s)
  "$crest" run "$here/examples/chaos/steady-journeys.yaml" --target "$shop" --duration "${total}s" \
    --out "json=$dir/load-run.json" >"$dir/load.out" 2>&1 &
  local load=$!
  sleep "$pre"
  local chaos_lines
  chaos_lines=0
  [ -f "$run_dir/chaos/faults.jsonl" ] && chaos_lines=$(wc -l <"$run_dir/chaos/faults.jsonl")
  local target_args=()
  [ -n "${target[$f]:-}" ] && target_args=(--target "${target[$f]}")
  "$crest" chaos run "${f%@*}" "${target_args[@]}" --for "${fault_s}s" --dir "$run_dir" \
    >"$dir/chaos.out" 2>&1 &
  local fault_run=$!
  if [ -n "${spike[$f]:-}" ]; then
    # Inside the fault: on a second after it starts, over before it ends.
    sleep 1
    "$crest" run "$here/examples/chaos/login-spike.yaml" --target "$shop" \
      --duration "$((fault_s - 2))s" --rate "$spike_rate" >"$dir/spike.out" 2>&1 || true
  fi
  wait "$fault_run" || true
  wait "$load" || true
  # The run's start inside the file, so the saved case replays aligned without --load-start.
  if [ -s "$dir/load-run.json" ]; then
    jq -c --argjson s "$((start * 1000))" '. + {start_unix_ms: $s}' "$dir/load-run.json" \
      >"$dir/load-run.tmp" && mv "$dir/load-run.tmp" "$dir/load-run.json"
  fi
  sleep "$post"
  end=$(date +%s)
  local p
  for p in "${db_tops[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${db_tops[@]}"; do wait "$p" 2>/dev/null || true; done
  for slow in "${!slow_size[@]}"; do
    name=$(basename "$slow" -slow.log)
    tail -c +"$((slow_size[$slow] + 1))" "$slow" >"$dir/slow-$name.log" 2>/dev/null || true
  done
  # The case's chaos log lines: for scoring only, never an input to the diagnosis.
  tail -n +"$((chaos_lines + 1))" "$run_dir/chaos/faults.jsonl" >"$dir/chaos.jsonl" 2>/dev/null || true
  jq -c --arg from "$(iso "$start")" --arg to "$(iso "$end")" \
    'select(.ts >= $from and .ts <= $to)' \
    "$run_dir/events.jsonl" >"$dir/autoscaler.jsonl" 2>/dev/null || true
  jq -n --arg c "${component[$f]}" --arg m "${mechanisms[$f]}" --arg fault "$f" \
    '{fault: $fault, component: $c, mechanisms: ($m | split(" "))}' >"$dir/case.json"
  echo "$((end - start))" >"$dir/case_seconds"
  diagnose_case "$f" "$rep" "$dir" "$prom" "$start" "$end"
}

# diagnose_case FAULT REP DIR [PROMETHEUS_URL START END]: diagnoses a case (live from Prometheus,
# saving its answers, or again from the saved prometheus.json without a URL), ranks it with
# NSigma on the same saved inputs, and scores both against the fault.
diagnose_case() {
  local f=$1 rep=$2 dir=$3 prom=${4:-} start=${5:-} end=${6:-}
  local inputs=(--load-run "$dir/load-run.json")
  [ -n "$start" ] && inputs+=(--load-start "$start")
  [ -s "$dir/autoscaler.jsonl" ] && inputs+=(--autoscaler-log "$dir/autoscaler.jsonl")
  local file server
  for file in "$dir"/slow-*.log; do
    [ -f "$file" ] || continue
    server=$(basename "$file" .log); server=${server#slow-}
    inputs+=(--slow-log "$server=$file")
  done
  for file in "$dir"/digests-*.jsonl; do
    [ -s "$file" ] && inputs+=(--digests "$file")
  done
  local t0 t1 t2
  t0=$(now_ms)
  if [ -n "$prom" ]; then
    "$crest" diagnose --prometheus "$prom" --from "$start" --to "$end" \
      --save-prometheus "$dir/prometheus.json" "${inputs[@]}" --json >"$dir/diagnosis.json" \
      2>"$dir/diagnose.err" || true
  else
    "$crest" diagnose --prometheus-file "$dir/prometheus.json" "${inputs[@]}" --json \
      >"$dir/diagnosis.json" 2>"$dir/diagnose.err" || true
  fi
  t1=$(now_ms)
  "$crest" diagnose --prometheus-file "$dir/prometheus.json" "${inputs[@]}" --baseline nsigma \
    --json >"$dir/diagnosis-nsigma.json" 2>>"$dir/diagnose.err" || true
  t2=$(now_ms)
  local r_s r_c n_s n_c case_s
  case_s=$(cat "$dir/case_seconds" 2>/dev/null || jq -r '.case_seconds // 0' "$dir/result.json" 2>/dev/null || echo 0)
  # A diagnosis that failed (empty output) ranks nothing: 0.
  r_s=$(rank "$dir/diagnosis.json" "${component[$f]}" 2>/dev/null) || r_s=0
  r_c=$(rank_cause "$dir/diagnosis.json" "${mechanisms[$f]}" 2>/dev/null) || r_c=0
  n_s=$(rank "$dir/diagnosis-nsigma.json" "${component[$f]}" 2>/dev/null) || n_s=0
  n_c=$(rank_cause "$dir/diagnosis-nsigma.json" "${mechanisms[$f]}" 2>/dev/null) || n_c=0
  jq -n --arg fault "$f" --argjson rep "$rep" --argjson rs "$r_s" --argjson rc "$r_c" \
    --argjson ns "$n_s" --argjson nc "$n_c" --argjson ms $((t1 - t0)) --argjson nms $((t2 - t1)) \
    --argjson case_s "${case_s:-0}" \
    --arg top "$(jq -r '[.components[:3][].component] | join(",")' "$dir/diagnosis.json" 2>/dev/null)" \
    --arg cause "$(jq -r '.causes[0].mechanism // "none"' "$dir/diagnosis.json" 2>/dev/null)" \
    '{fault: $fault, rep: $rep, robust: {service_rank: $rs, cause_rank: $rc, diagnose_ms: $ms},
      nsigma: {service_rank: $ns, cause_rank: $nc, diagnose_ms: $nms}, case_seconds: $case_s,
      top3: $top, top_cause: $cause}' >"$dir/result.tmp"
  mv "$dir/result.tmp" "$dir/result.json"
  echo "$f-$rep: robust service #$r_s cause #$r_c, nsigma service #$n_s cause #$n_c (top: $(jq -r .top3 "$dir/result.json"); first cause $(jq -r .top_cause "$dir/result.json"))"
}

summary() {
  local files=("$out"/cases/*/result.json)
  [ -e "${files[0]}" ] || { echo "no case yet"; return; }
  jq -s -r '
    def ac($k; $r): ($r | map(select(. > 0 and . <= $k)) | length) / ($r | length);
    def avg5($r): ([range(1; 6)] | map(ac(.; $r)) | add) / 5;
    def row(name; rs):
      [name, (rs | length),
       ac(1; rs | map(.robust.service_rank)), ac(3; rs | map(.robust.service_rank)),
       avg5(rs | map(.robust.service_rank)),
       ac(1; rs | map(.robust.cause_rank)), ac(3; rs | map(.robust.cause_rank)),
       avg5(rs | map(.robust.cause_rank)),
       ac(1; rs | map(.nsigma.service_rank)), avg5(rs | map(.nsigma.service_rank)),
       ac(1; rs | map(.nsigma.cause_rank)),
       ((rs | map(.robust.diagnose_ms) | add) / (rs | length) | floor)]
      | map(if type == "number" and . < 1.0001 and . != (. | floor) then (. * 100 | round / 100) else . end)
      | "| " + (map(tostring) | join(" | ")) + " |";
    "| fault | cases | svc AC@1 | svc AC@3 | svc Avg@5 | cause AC@1 | cause AC@3 | cause Avg@5 | NSigma svc AC@1 | NSigma svc Avg@5 | NSigma cause AC@1 | diagnose ms |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    (group_by(.fault)[] | row(.[0].fault; .)),
    row("**all**"; .)' "${files[@]}" | tee "$out/summary.md"
}

if [ "$summary_only" = 1 ]; then summary; exit 0; fi
if [ "$rediagnose" = 1 ]; then
  for dir in "$out"/cases/*/; do
    dir=${dir%/}
    [ -f "$dir/prometheus.json" ] || continue
    name=$(basename "$dir")
    if [[ $name == *@* ]]; then expect_on "${name%-*}"; fi
    diagnose_case "${name%-*}" "${name##*-}" "$dir"
  done
  summary
  exit 0
fi
started_stack=0
if ! "$crest" status --dir "$run_dir" >/dev/null 2>&1; then
  "$crest" up --profile scaled --set chaos.proxy=true --dir "$run_dir" >"$out/up.log" 2>&1
  started_stack=1
fi
trap '"$crest" chaos stop --all --dir "$run_dir" >/dev/null 2>&1 || true;
      [ $started_stack = 1 ] && "$crest" down --dir "$run_dir" >/dev/null 2>&1 || true' EXIT
for rep in $(seq 1 "$reps"); do
  for f in $faults; do
    run_case "$f" "$rep"
  done
done
summary
