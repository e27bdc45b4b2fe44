#!/usr/bin/env bash
# crest run --coordinator with WORKERS crest workers on this machine against nginx (issue 13,
# "Record"): the merged summary against the sum of the workers' own counts (must be equal, and
# every merged histogram the bucket-by-bucket sum of theirs), and the coordinator's own CPU per
# merged request, beside the workers' CPU per request measured in the same run.
# Usage: bench/coordinator_workers.sh [BUILD_DIR]   (a Release build with crest; default build/ci)
# Env: WORKERS (default 4), VUS (default 40), DURATION (seconds, default 10), THREADS (event loops
#      per worker, default 1). Installs nginx if missing. Every process it starts is stopped by
#      pid. Loopback only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
build="${1:-$repo/build/ci}"
crest="$build/apps/crest/crest"
WORKERS="${WORKERS:-4}"
VUS="${VUS:-40}"
DURATION="${DURATION:-10}"
THREADS="${THREADS:-1}"
[[ -x "$crest" ]] || { echo "build crest first: cmake --build --preset ci --target crest" >&2; exit 2; }
command -v nginx >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null

tmp="$(mktemp -d /tmp/crest-dist-bench.XXXXXX)"
chmod 755 "$tmp"  # nginx workers run as another user
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx: one worker, a 100-byte file, no access log (docs/benchmarks.md's fixed target).
mkdir -p "$tmp/www" "$tmp/nginx/logs"
head -c 100 /dev/zero | tr '\0' 'x' > "$tmp/www/100.html"
nginx_port="$(free_port)"
cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server { listen 127.0.0.1:$nginx_port; root $tmp/www; location / { } }
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$nginx_port/100.html" >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$tmp/plan.yaml" <<YAML
target: http://127.0.0.1:$nginx_port
journeys: [{steps: [{name: file, request: {path: /100.html}, check: {status: 200}}]}]
load: {executor: constant-vus, vus: $VUS, duration: ${DURATION}s}
YAML

echo "machine: $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/Model name: *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "run:     $WORKERS workers x $THREADS event loop(s), $VUS VUs in total, ${DURATION}s, against nginx (1 worker)"
echo

token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port="$(free_port)"
/usr/bin/time -o "$tmp/time.coordinator" -f "%U %S %M" "$crest" run "$tmp/plan.yaml" -q \
  --coordinator "127.0.0.1:$port" --workers "$WORKERS" --token "$token" --threads "$THREADS" \
  --wait-workers 30s --out "json=$tmp/merged.json" > "$tmp/summary.txt" 2> "$tmp/coordinator.err" &
coordinator=$!
pids+=($coordinator)
worker_pids=()
for i in $(seq 0 $((WORKERS - 1))); do
  /usr/bin/time -o "$tmp/time.w$i" -f "%U %S %M" "$crest" worker --coordinator "127.0.0.1:$port" \
    --token "$token" --name "w$i" --out "json=$tmp/w$i.json" > "$tmp/w$i.out" 2> "$tmp/w$i.err" &
  worker_pids+=($!)
  pids+=($!)
done
status=0
wait "$coordinator" || status=$?
for pid in "${worker_pids[@]}"; do wait "$pid" || true; done
if ((status != 0)); then
  echo "the coordinated run failed (exit $status):" >&2
  cat "$tmp/coordinator.err" "$tmp"/w*.err >&2
  exit 1
fi
grep -E "executor|http_reqs|http_req_duration\.|checks" "$tmp/summary.txt"
echo

python3 - "$tmp" "$WORKERS" <<'PY'
import json, sys
from collections import Counter
tmp, n = sys.argv[1], int(sys.argv[2])

def buckets(text):  # "lh1 count min max sum ... idx:count ...": the non-zero counters
    return Counter({int(k): int(v) for k, v in (t.split(":") for t in text.split() if ":" in t)})

def cpu(path):
    user, system, _ = open(path).read().split()[-3:]
    return float(user) + float(system)

merged = json.load(open(f"{tmp}/merged.json"))
own = [json.load(open(f"{tmp}/w{i}.json")) for i in range(n)]
total = merged["http_reqs"]
summed = sum(w["http_reqs"] for w in own)
kinds = ["http_req_duration", "http_req_service_duration", "http_req_waiting"]
same = all(buckets(merged["steps"][0][k]["histogram"]) ==
           sum((buckets(w["steps"][0][k]["histogram"]) for w in own), Counter()) for k in kinds)
print("worker   requests   CPU s   CPU µs/request")
worker_cpu = 0.0
for i, w in enumerate(own):
    c = cpu(f"{tmp}/time.w{i}")
    worker_cpu += c
    print(f"w{i:<7} {w['http_reqs']:>8}   {c:5.2f}   {1e6 * c / max(w['http_reqs'], 1):8.2f}")
coord = cpu(f"{tmp}/time.coordinator")
print()
print(f"merged http_reqs {total}, sum of the workers' own {summed}: {'EQUAL' if total == summed else 'DIFFERENT'}")
print(f"merged histograms (duration, service, ttfb) = bucket-by-bucket sum of the workers': {'yes' if same else 'NO'}")
print(f"coordinator CPU {coord:.2f} s = {1e6 * coord / max(total, 1):.3f} µs per merged request")
print(f"workers' CPU {worker_cpu:.2f} s = {1e6 * worker_cpu / max(total, 1):.2f} µs per request")
print(f"coordinator / workers CPU: {coord / worker_cpu:.4f}")
sys.exit(0 if total == summed and same else 1)
PY
