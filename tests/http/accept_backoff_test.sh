#!/usr/bin/env bash
# At the descriptor limit (issue #9): the HTTP server tells the clients waiting in its backlog
# (accepts and closes them) instead of leaving them hanging, logs "accept failed" at most about
# once a second per event loop instead of in a tight loop, and serves again as soon as
# descriptors are free.
#   tests/http/accept_backoff_test.sh PATH/TO/http_hello_server
set -euo pipefail
server=$1
work=$(mktemp -d /tmp/crest-accept-backoff.XXXXXX)
clients=120
pid=""
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log (last 20 lines)" >&2; tail -20 "$work/log" >&2; exit 1; }

# 48 descriptors: the server's own (event loops, logging, the listening sockets, the spare one it
# keeps for shedding) plus a few dozen connections.
prlimit --nofile=48 "$server" 2 "$work/port" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 200); do [[ -s $work/port ]] && break; sleep 0.05; done
[[ -s $work/port ]] || fail "the server did not write its port"
port=$(cat "$work/port")
request=$'GET /api/products/1 HTTP/1.1\r\nHost: test\r\n\r\n'

# More keep-alive clients than the server has descriptors: each sends a request and must get an
# answer (status line) or be closed (end of file) within 5 s, never left waiting.
start=$SECONDS
fds=()
for _ in $(seq "$clients"); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect"
  printf '%s' "$request" >&"$fd"
  fds+=("$fd")
done
answered=0 closed=0 hung=0
deadline=$((SECONDS + 5))  # one 5 s budget for all of them, so hung clients fail fast
for fd in "${fds[@]}"; do
  line="" wait_s=$((deadline - SECONDS))
  ((wait_s > 0)) || wait_s=0.2
  if read -r -t "$wait_s" -u "$fd" line 2>/dev/null; then
    [[ $line == HTTP/1.1\ 200* ]] && answered=$((answered + 1)) || fail "unexpected answer: $line"
  else
    status=$?
    if ((status > 128)); then hung=$((hung + 1)); else closed=$((closed + 1)); fi
  fi
done
# Keep knocking for 3 s (20 new clients a second, each turned away): the server must back off
# rather than log a warning per failed accept.
for _ in $(seq 60); do
  if exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    printf '%s' "$request" >&"$fd" 2>/dev/null || true
    fds+=("$fd")
  fi
  sleep 0.05
done
elapsed=$((SECONDS - start + 1))
echo "clients: $clients, answered: $answered, closed at once: $closed, left hanging: $hung (${elapsed} s)"
((hung == 0)) || fail "$hung clients were left hanging at the descriptor limit"
((closed > 0)) || fail "no client was turned away: the descriptor limit was not reached (raise clients)"
((answered > 0)) || fail "no client was served"

warnings=$(grep -c "accept failed" "$work/log" || true)
echo "\"accept failed\" log lines: $warnings in about $elapsed s"
((warnings <= 2 * (elapsed + 1))) || fail "$warnings accept warnings in $elapsed s: no back-off"

# Free the descriptors: a new client is served again.
for fd in "${fds[@]}"; do exec {fd}>&-; done
sleep 0.5
served=0
for _ in $(seq 20); do
  if exec {fd}<>"/dev/tcp/127.0.0.1/$port"; then
    printf '%s' "$request" >&"$fd"
    line=""
    if read -r -t 2 -u "$fd" line && [[ $line == HTTP/1.1\ 200* ]]; then served=1; fi
    exec {fd}>&-
    ((served)) && break
  fi
  sleep 0.25
done
((served)) || fail "not served again after the descriptors were freed"
kill -0 "$pid" || fail "the server died"
echo "ok: served again after the descriptors were freed"
