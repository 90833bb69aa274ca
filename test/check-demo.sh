#!/usr/bin/env bash
# Checks test/demo.sh: it says "tunnel is up" only once a connection through
# the tunnel has reached the target, and otherwise fails with one line
# naming what failed: a taken broker port, a taken client port, a target
# that nothing listens on. Run by test/run-tests.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=test/start-all-lib.sh
. "$ROOT/test/start-all-lib.sh"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# listen PORT [BANNER]: a TCP server on PORT that sends BANNER to each client.
listen() {
  python3 - "$1" "${2:-}" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    if sys.argv[2]:
        c.sendall(sys.argv[2].encode() + b"\r\n")
PY
  PIDS+=("$!")
  for _ in $(seq 50); do
    connects 127.0.0.1 "$1" && return 0
    sleep 0.1
  done
  echo "check-demo: helper listener on $1 did not start" >&2
  exit 1
}

# expect_failure NAME TEXT ENV...: demo.sh exits 1 with one FAILED line
# containing TEXT.
expect_failure() {
  local name=$1 text=$2 rc=0
  shift 2
  env "$@" bash "$ROOT/test/demo.sh" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || rc=$?
  if ((rc != 1)) || [ "$(grep -c 'demo: FAILED' "$WORK/$name.err")" != 1 ] || ! grep -qF -- "$text" "$WORK/$name.err" ||
    grep -q "tunnel is up" "$WORK/$name.out"; then
    echo "check-demo: $name: expected exit 1 and one line with '$text'; got $rc:" >&2
    cat "$WORK/$name.out" "$WORK/$name.err" >&2
    exit 1
  fi
}

target=$(free_port)
listen "$target" "SSH-2.0-check-demo"
broker=$(free_port)
client=$(free_port)

# A taken broker port (the old demo joined whatever listened there).
listen "$broker"
expect_failure broker-taken "port $broker (BROKER_PORT) is already taken" \
  TARGET_PORT="$target" BROKER_PORT="$broker" CLIENT_PORT="$client"
taken_client=$(free_port)
listen "$taken_client"
broker=$(free_port)
expect_failure client-taken "port $taken_client (CLIENT_PORT) is already taken" \
  TARGET_PORT="$target" BROKER_PORT="$broker" CLIENT_PORT="$taken_client"
nothing=$(free_port)
expect_failure no-target "nothing listens on 127.0.0.1:$nothing" \
  TARGET_PORT="$nothing" BROKER_PORT="$broker" CLIENT_PORT="$client"

# The real thing: up only once the target's banner came through the tunnel.
TARGET_PORT="$target" BROKER_PORT="$broker" CLIENT_PORT="$client" \
  setsid bash "$ROOT/test/demo.sh" >"$WORK/up.out" 2>"$WORK/up.err" </dev/null &
demo=$!
for _ in $(seq 600); do
  grep -q "tunnel is up" "$WORK/up.out" 2>/dev/null && break
  kill -0 "$demo" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "tunnel is up: the target answered: SSH-2.0-check-demo" "$WORK/up.out"; then
  echo "check-demo: the demo did not come up with the target's banner:" >&2
  cat "$WORK/up.out" "$WORK/up.err" >&2
  kill -- -"$demo" 2>/dev/null || true
  exit 1
fi
if grep -qi "cannot connect to broker" "$WORK/up.err"; then
  echo "check-demo: a side started before the broker listened:" >&2
  cat "$WORK/up.err" >&2
  exit 1
fi
kill -INT -- -"$demo" 2>/dev/null || true
wait "$demo" 2>/dev/null || true
for _ in $(seq 50); do
  pgrep -f "mqtt-port $broker" >/dev/null || break
  sleep 0.1
done
if pgrep -f "mqtt-port $broker" >/dev/null; then
  echo "check-demo: processes left after Ctrl-C: $(pgrep -af "mqtt-port $broker")" >&2
  exit 1
fi
sed 's/^/  | /' "$WORK/up.out"
echo "check-demo: ok (up with the banner; taken broker port, taken client port, no target each fail in one line)"
