#!/usr/bin/env bash
# crest profile against a log written by a real nginx: nginx (its combined format plus the
# Cookie header) in front of the storefront (`storefront all`) while crest runs known-plan.yaml;
# the profile must give back that plan's rates and weights within tolerance.
# usage: nginx_profile_test.sh CREST STOREFRONT
set -euo pipefail
crest=$1
storefront=$2
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v nginx >/dev/null; then
  echo "skipped: nginx is not installed (apt-get install nginx)"
  exit 77
fi
work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
wait_for_file() {
  for _ in $(seq 300); do [[ -s $1 ]] && return 0; sleep 0.1; done
  echo "FAIL: $1 never appeared"; exit 1
}
"$storefront" all --port 0 --port-file "$work/storefront.port" --seed --products 20 --users 0 \
  >"$work/storefront.log" 2>&1 &
pids+=($!)
wait_for_file "$work/storefront.port"
upstream=$(cat "$work/storefront.port")
# A free port for nginx: bind 0 in Python, read it, close it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 1024; }
http {
  log_format crest '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status '
                   '\$body_bytes_sent "\$http_referer" "\$http_user_agent" "\$http_cookie"';
  access_log $work/access.log crest;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  upstream shop { server 127.0.0.1:$upstream; keepalive 32; }
  server {
    listen 127.0.0.1:$port;
    location / { proxy_pass http://shop; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
nginx -c "$work/nginx.conf" -e "$work/error.log" &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/api/categories" && break; sleep 0.1; done
: >"$work/access.log"  # only the plan's requests
"$crest" run "$here/known-plan.yaml" --target "http://127.0.0.1:$port" -q >"$work/run.out" 2>&1 ||
  { cat "$work/run.out"; echo "FAIL: crest run"; exit 1; }
"$crest" profile "$work/access.log" --format nginx-combined --session-cookie sid \
  --json "$work/profile.json" --plan "$work/plan.yaml" >"$work/report.txt" ||
  { cat "$work/report.txt"; echo "FAIL: crest profile"; exit 1; }
python3 - "$work/profile.json" "$work/plan.yaml" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
errors = []
def near(name, got, want, tol):
    if abs(got - want) > tol:
        errors.append(f"{name}: {got:.3f}, expected {want} +- {tol}")
# 20 sessions/s for 8 s: 160 sessions; each browser session is 2 requests, each searcher 1.
near("malformed lines", p["malformed"], 0, 0)
near("sessions", p["sessions"], 160, 8)
starts = p["session_starts_per_second"][1:-2]  # whole seconds only
near("session starts per second", sum(starts) / len(starts), 20, 2)
share = {r["method"] + " " + r["route"]: r["share"] for r in p["routes"]}
# Requests: 3 browsers x 2 + 1 searcher x 1 = 7 per 4 sessions.
near("share of GET /api/products", share.get("GET /api/products", 0), 3 / 7, 0.05)
near("share of GET /api/products/{id}", share.get("GET /api/products/{id}", 0), 3 / 7, 0.05)
near("share of GET /api/categories", share.get("GET /api/categories", 0), 1 / 7, 0.05)
journeys = {" > ".join(j["steps"]): j["share"] for j in p["journeys"]}
near("browser journeys", journeys.get("GET /api/products > GET /api/products/{id}", 0), 0.75, 0.08)
near("searcher journeys", journeys.get("GET /api/categories", 0), 0.25, 0.08)
trans = {(t["from"], t["to"]): t["probability"] for t in p["transitions"]}
near("P(list -> detail)", trans.get(("GET /api/products", "GET /api/products/{id}"), 0), 1.0, 0.02)
near("P(START -> list)", trans.get(("START", "GET /api/products"), 0), 0.75, 0.08)
# nginx logs whole seconds: a 1 s think time reads as 0, 1 or 2 s, 1 s on average.
near("think time mean", p["think"]["mean_s"], 1.0, 0.2)
plan = open(sys.argv[2]).read()
for needed in ("ramping-arrival-rate", "GET /api/products/{id}", "weight:"):
    if needed not in plan:
        errors.append(f"the plan lacks '{needed}'")
if errors:
    print("FAIL: " + "; ".join(errors))
    sys.exit(1)
print(f"ok: {p['requests']} requests, {p['sessions']} sessions by {p['session_key']}; rates, mix and journeys within tolerance")
PY
