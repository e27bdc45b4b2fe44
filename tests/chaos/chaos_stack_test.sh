#!/usr/bin/env bash
# crest chaos end to end on a real local stack (crest up --set chaos.proxy=true): the fault proxy
# sits between the services and dynalite and passes traffic through until a fault is set; a
# DynamoDB throttling fault turns cart reads into 503s and its undo brings them back; 300 ms added
# between the balancer and catalog shows on catalog's answers and goes with the undo; a cpu-hog
# left behind by a killed `crest chaos run` is undone from the log; `crest down` undoes what is
# still active. Started processes are stopped by `crest down` (by pid); nothing leaves loopback.
#   tests/chaos/chaos_stack_test.sh path/to/crest
set -euo pipefail
crest=$1
work=$(mktemp -d /tmp/crest-chaos-test-XXXXXX)
run="$work/run"
fail() { echo "FAIL: $*" >&2; exit 1; }
# Running, and not a zombie waiting for whoever adopted it to reap it.
alive() { [ -e "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
cleanup() { "$crest" down --dir "$run" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

"$crest" up --profile baseline --set chaos.proxy=true --set seed.products=50 --dir "$run" \
  >"$work/up.log" 2>&1 || { cat "$work/up.log"; fail "crest up"; }
proxy_port=$(jq -r '.components[] | select(.component == "dynalite-proxy") | .instances[0].port' \
  "$run/state.json")
[ -n "$proxy_port" ] && [ "$proxy_port" != null ] || fail "no dynalite-proxy in state.json"
grep -qx "dynamodb.endpoint=http://127.0.0.1:$proxy_port" "$run/storefront.args" ||
  fail "the services do not reach DynamoDB through the proxy"

shop=$(jq -r .shop_url "$run/state.json")
IFS=, read -r email password _ < <(sed -n 2p "$run/users.csv")
token=$(curl -sf -XPOST "$shop/api/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" | jq -r .token)
cart() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$shop/api/cart" -H "Authorization: Bearer $token"; }
[ "$(cart)" = 200 ] || fail "pass-through: cart answered $(cart)"

"$crest" chaos run dynamodb-throttle --set probability=1 --dir "$run" >/dev/null
[ "$(cart)" = 503 ] || fail "under throttling the cart answered $(cart), not 503"
"$crest" chaos stop --all --dir "$run" >/dev/null
[ "$(cart)" = 200 ] || fail "after the undo the cart answered $(cart)"

# The network between the balancer and catalog: a proxy per instance, taken out by the undo.
catalog_s() { curl -s -o /dev/null -w '%{time_total}' --max-time 10 "$shop/api/categories"; }
"$crest" chaos run network-latency --target catalog --set delay_ms=300 --dir "$run" >/dev/null
t=$(catalog_s); awk -v t="$t" 'BEGIN { exit !(t >= 0.3) }' || fail "network-latency: catalog in $t s"
"$crest" chaos stop --all --dir "$run" >/dev/null
t=$(catalog_s); awk -v t="$t" 'BEGIN { exit !(t < 0.3) }' || fail "after the undo: catalog in $t s"

# A chaos command killed mid-fault: its helpers stay until `crest chaos stop` undoes them.
"$crest" chaos run cpu-hog --target catalog --for 60s --dir "$run" >"$work/hog.out" 2>&1 &
chaos_pid=$!
for _ in $(seq 50); do ls "$run"/chaos/cpu-hog-*.pids >/dev/null 2>&1 && break; sleep 0.1; done
sleep 0.5
kill -9 "$chaos_pid"; wait "$chaos_pid" 2>/dev/null || true
if jq -e '.cgroups == "enabled"' "$run/state.json" >/dev/null; then
  helpers=$(jq -r .pid "$run"/chaos/cpu-hog-*.pids)
  for p in $helpers; do alive "$p" || fail "hog $p not running"; done
  stopped=$("$crest" chaos stop --all --dir "$run")
  grep -q "undid 1 fault" <<<"$stopped" || fail "stop --all: $stopped"
  sleep 0.2
  for p in $helpers; do ! alive "$p" || fail "hog $p survived the undo"; done
else
  "$crest" chaos stop --all --dir "$run" >/dev/null
fi

# A scaling fault undone gives the service back its own scaling: the undo removes the entry it
# added to scale.json, and the stack then drops the override (it once kept it for good).
overrides() { jq -c 'select(.kind == "override" and .service == "users") | .override' "$run/events.jsonl"; }
"$crest" chaos run autoscaler-off --target users --dir "$run" >/dev/null
for _ in $(seq 50); do overrides | grep -q '"off":true' && break; sleep 0.2; done
overrides | grep -q '"off":true' || fail "autoscaler-off: no override event"
"$crest" chaos stop --all --dir "$run" >/dev/null
for _ in $(seq 50); do [ "$(overrides | tail -1)" = "{}" ] && break; sleep 0.2; done
[ "$(overrides | tail -1)" = "{}" ] || fail "autoscaler-off undone, the override stayed: $(overrides)"

# crest down undoes a fault still active: the SQS server frozen, then resumed before the stack stops.
"$crest" chaos run sqs-stop --dir "$run" >/dev/null
sqs=$(jq -r '.components[] | select(.component == "sqs") | .instances[0].pid' "$run/state.json")
[ "$(awk '{print $3}' "/proc/$sqs/stat")" = T ] || fail "the SQS server is not frozen"
down=$("$crest" down --dir "$run")
grep -q "undid 1 active fault" <<<"$down" || fail "crest down did not undo: $down"
tail -1 "$run/chaos/faults.jsonl" | jq -e '.event == "end" and .fault == "sqs-stop"' >/dev/null ||
  fail "no end line for sqs-stop"
jq -s -e '(map(select(.event == "start")) | length) == (map(select(.event == "end")) | length)' \
  "$run/chaos/faults.jsonl" >/dev/null || fail "a fault has no end line"
echo "chaos on the local stack: ok"
