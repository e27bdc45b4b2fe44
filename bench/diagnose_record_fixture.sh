#!/usr/bin/env bash
# Turns a case of bench/chaos_accuracy.sh into a compact replay fixture under
# libs/diagnose/fixtures/ (docs/diagnose.md, "Tests and fixtures"): the series the diagnosis ranked
# (crest diagnose --save-fixture, gzipped), the autoscaler's events without their per-decision
# metric readings and repeats (gzipped), and expected.json with the component and mechanism the
# diagnosis named first. Refuses a case the diagnosis got wrong (the fixture must hold the right
# answer) and checks that the fixture replays to the same answer.
#
#   bench/diagnose_record_fixture.sh CASE_DIR FIXTURE_DIR [--crest build/ci/apps/crest/crest]
set -euo pipefail
case_dir=$1 fixture=$2 crest=build/ci/apps/crest/crest
[ "${3:-}" = --crest ] && crest=$4
fault=$(jq -r .fault "$case_dir/case.json")
want_component=$(jq -r .component "$case_dir/case.json")
mkdir -p "$fixture"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inputs=(--load-run "$case_dir/load-run.json")
if [ -s "$case_dir/autoscaler.jsonl" ]; then
  # One line per change of a service's replica numbers; what no rule reads is dropped.
  # A decision's metric readings shrink to the largest proposal (what the metrics asked for).
  jq -c 'if (.metrics | type) == "array" and (.metrics | length) > 0
         then .metrics = [{proposal: ([.metrics[].proposal] | max)}] else del(.metrics) end' \
    "$case_dir/autoscaler.jsonl" |
    jq -s -c 'reduce .[] as $e ({seen: {}, out: []};
        ($e.service + "|" + $e.kind + "|" + ([$e.current, $e.desired, $e.max, $e.from, $e.to,
          $e.reason, $e.transition, $e.instance, $e.node, $e.metrics] | tostring)) as $k
        | if .seen[$e.service + "|" + $e.kind] == $k then . else
            .seen[$e.service + "|" + $e.kind] = $k | .out += [$e] end) | .out[]' \
    >"$tmp/autoscaler.jsonl"
  inputs+=(--autoscaler-log "$tmp/autoscaler.jsonl")
fi
# Digest snapshots (what names a missing index): per server, only the application's five
# statements with the most time over the case, every snapshot, without the server's monitoring.
for digests in "$case_dir"/digests-*.jsonl; do
  [ -s "$digests" ] || continue
  name=$(basename "$digests")
  top=$(jq -s -c '
      def app: (.digest_text | ascii_downcase) as $t
        | ($t | startswith("show ") | not) and ($t | test("performance_schema|information_schema") | not);
      (.[0].digests | map({key: .digest, value: .sum_timer_wait}) | from_entries) as $first
      | [.[-1].digests[] | select(app) | {digest, t: (.sum_timer_wait - ($first[.digest] // 0))}]
      | sort_by(-.t) | .[:5] | map(.digest)' "$digests")
  jq -c --argjson keep "$top" '.digests |= map(select(.digest as $d | $keep | index($d)))
      | .waits = []' "$digests" >"$tmp/$name"
  inputs+=(--digests "$tmp/$name")
done
"$crest" diagnose --prometheus-file "$case_dir/prometheus.json" "${inputs[@]}" --json \
  --save-fixture "$tmp/prometheus.json" >"$tmp/diagnosis.json"
component=$(jq -r '.components[0].component' "$tmp/diagnosis.json")
mechanism=$(jq -r '.causes[0].mechanism // "none"' "$tmp/diagnosis.json")
cause_component=$(jq -r '.causes[0].component // "none"' "$tmp/diagnosis.json")
if ! [[ $component =~ $want_component ]] || [ "$cause_component" != "$component" ] ||
   ! jq -e --arg m "$mechanism" '.mechanisms | index($m) != null' "$case_dir/case.json" >/dev/null; then
  echo "$case_dir: diagnosed $component / $cause_component $mechanism, not $fault's $want_component: not a fixture" >&2
  exit 1
fi
gzip -9 -n -c "$tmp/prometheus.json" >"$fixture/prometheus.json.gz"
replay=(--prometheus-file "$fixture/prometheus.json.gz")
if [ -s "$tmp/autoscaler.jsonl" ]; then
  gzip -9 -n -c "$tmp/autoscaler.jsonl" >"$fixture/autoscaler.jsonl.gz"
  replay+=(--autoscaler-log "$fixture/autoscaler.jsonl.gz")
fi
# The bundle holds the load series made from the digests; the snapshots themselves go in only
# when the answer needs them (a missing index is named from its server's statements).
for digests in "$tmp"/digests-*.jsonl; do
  [ -s "$digests" ] && [ "$mechanism" = missing_index ] || continue
  [ "$(basename "$digests")" = "digests-${component#db:}.jsonl" ] || continue  # the named server
  gzip -9 -n -c "$digests" >"$fixture/$(basename "$digests").gz"
  replay+=(--digests "$fixture/$(basename "$digests").gz")
done
jq -n --arg c "$component" --arg m "$mechanism" --arg f "$fault" \
  '{component: $c, mechanism: $m, recorded: ("crest chaos run " + $f + " on the local stack under examples/chaos/steady-journeys.yaml (bench/chaos_accuracy.sh)")}' \
  >"$fixture/expected.json"
again=$("$crest" diagnose "${replay[@]}" --json | jq -r '[.components[0].component, .causes[0].mechanism] | join(" ")')
if [ "$again" != "$component $mechanism" ]; then
  echo "$fixture: replays to '$again', not '$component $mechanism': removed" >&2
  rm -rf "$fixture"
  exit 1
fi
echo "$fixture: $component $mechanism ($(du -cb "$fixture"/* | tail -1 | cut -f1) bytes)"
