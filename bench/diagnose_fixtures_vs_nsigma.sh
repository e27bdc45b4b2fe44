#!/usr/bin/env bash
# Replays every case under libs/diagnose/fixtures/ through `crest diagnose`, ranked once with the
# robust scorer (median/IQR, the default) and once with the NSigma baseline (mean/stddev), and
# prints whether each names the expected component first (AC@1) and whether the expected
# component is among the first three (AC@3). Synthetic cases only: the accuracy benchmark on the
# local stack under chaos is a separate, long run.
#   bench/diagnose_fixtures_vs_nsigma.sh [build/ci]
set -euo pipefail
build=${1:-build/ci}
crest="$build/apps/crest/crest"
fixtures="$(dirname "$0")/../libs/diagnose/fixtures"
printf '%-34s %-14s %-28s %-28s\n' case expected "robust: top 3" "nsigma: top 3"
declare -A hit1 hit3
for dir in "$fixtures"/*/; do
  args=()
  for f in "$dir"*; do
    name=$(basename "$f")
    case "$name" in
      expected.json) ;;
      prometheus*) args+=(--prometheus-file "$f") ;;
      cloudwatch*) args+=(--cloudwatch "$f") ;;
      load-run*) args+=(--load-run "$f") ;;
      logs*) args+=(--logs "$f") ;;
      *.logback.*) args+=(--logback "${name%%.*}=$f") ;;
      slow-*) server=${name#slow-}; args+=(--slow-log "${server%%.*}=$f") ;;
      digests*) args+=(--digests "$f") ;;
      replica-status*) args+=(--replica-status "$f") ;;
      autoscaler*) args+=(--autoscaler-log "$f") ;;
      haproxy*) args+=(--haproxy "$f") ;;
    esac
  done
  expected=$(jq -r .component "$dir/expected.json")
  line=$(printf '%-34s %-14s' "$(basename "$dir")" "$expected")
  for scorer in robust nsigma; do
    extra=()
    [ "$scorer" = nsigma ] && extra=(--baseline nsigma)
    top=$("$crest" diagnose --json "${args[@]}" "${extra[@]}" | jq -r '[.components[:3][].component] | join(",")')
    first=${top%%,*}
    [ "$first" = "$expected" ] && hit1[$scorer]=$(( ${hit1[$scorer]:-0} + 1 ))
    [[ ",$top," == *",$expected,"* ]] && hit3[$scorer]=$(( ${hit3[$scorer]:-0} + 1 ))
    line+=$(printf ' %-28s' "$top")
  done
  echo "$line"
  cases=$(( ${cases:-0} + 1 ))
done
for scorer in robust nsigma; do
  echo "$scorer: AC@1 ${hit1[$scorer]:-0}/$cases, AC@3 ${hit3[$scorer]:-0}/$cases (component level)"
done
