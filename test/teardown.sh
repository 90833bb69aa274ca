#!/usr/bin/env bash
# Stops what test/start-all.sh started (client side, server side, mosquitto)
# and removes its state dir. Each process is found by its PID file and
# killed only if it is still the program start-all started (same command
# line), so a reused PID is never killed: SIGTERM, then SIGKILL after 5 s.
# Running it when nothing runs is fine: it says so and exits 0.
#
#   test/teardown.sh
#   MQTT_FORWARD_TEST_DIR=/some/dir test/teardown.sh
set -euo pipefail

me=teardown

usage() {
  cat <<'EOF'
usage: test/teardown.sh [--keep-logs] [-h|--help]

Stops the mosquitto broker, server side and client side started by
test/start-all.sh and removes the state dir
(MQTT_FORWARD_TEST_DIR, default ${TMPDIR:-/tmp}/mqtt-forward-test-$(id -u)).

  --keep-logs  stop the processes but keep the state dir and its logs
  -h, --help   this help
EOF
}

die() {
  echo "$me: $*" >&2
  exit 1
}

keep_logs=0
while [ $# -gt 0 ]; do
  case $1 in
    --keep-logs) keep_logs=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "$me: unknown argument '$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

# shellcheck source=test/start-all-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/start-all-lib.sh"

if [ ! -e "$state" ]; then
  echo "$me: nothing to tear down ($state does not exist)"
  exit 0
fi
# Never delete a directory start-all did not make (MQTT_FORWARD_TEST_DIR
# could name anything).
[ -f "$state/$marker" ] || die "$state was not made by test/start-all.sh; leaving it alone"

# gone NAME TENTHS: waits up to TENTHS tenths of a second for NAME to exit.
gone() {
  local i
  for ((i = 0; i < $2; i++)); do
    pid_of "$1" >/dev/null || return 0
    sleep 0.1
  done
  ! pid_of "$1" >/dev/null
}

# --- stop --------------------------------------------------------------------

stopped=0
failed=0
# Forwarders first, so that they do not log the broker going away.
for name in client server mosquitto; do
  pidfile=$state/$name.pid
  [ -f "$pidfile" ] || continue
  if ! pid=$(pid_of "$name"); then
    echo "$me: $name is not running (pid $(head -n 1 "$pidfile") is gone or another program)"
    rm -f "$pidfile"
    continue
  fi
  echo "$me: stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! gone "$name" 50; then
    echo "$me: $name (pid $pid) still running 5 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    if ! gone "$name" 20; then
      echo "$me: $name (pid $pid) survived SIGKILL" >&2
      failed=1
      continue
    fi
  fi
  rm -f "$pidfile"
  stopped=$((stopped + 1))
done

[ "$failed" = 0 ] || die "some processes could not be stopped; $state kept"
if [ "$keep_logs" = 1 ]; then
  rm -f "$state"/*.cmdline
  what="logs kept in $state"
else
  rm -rf "$state"
  what="removed $state"
fi
if [ "$stopped" = 0 ]; then
  echo "$me: nothing was running; $what"
else
  echo "$me: stopped $stopped process(es); $what"
fi
