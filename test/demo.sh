#!/usr/bin/env bash
# Builds mqtt-forward and runs a complete local tunnel in the foreground:
# a private mosquitto broker, a server side forwarding to TARGET_PORT
# (default 22, sshd) and a client side listening on CLIENT_PORT (default
# 1234). Installs mosquitto with apt-get if it is missing. Ctrl-C stops all.
#
#   test/demo.sh                # then: ssh -p 1234 "$(id -un)"@localhost
#   CLIENT_PORT=2222 TARGET_PORT=8080 QOS=0 test/demo.sh
#
# Each part is checked before the next starts: the broker listens and is
# the one this script started, both sides are connected to it, the client
# side listens, and one connection through the tunnel reaches the target
# (its banner, for sshd). Any failure is one line naming the part and its
# log; the logs stay in target/demo/ after the demo ends.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
client_port=${CLIENT_PORT:-1234}
target_port=${TARGET_PORT:-22}
broker_port=${BROKER_PORT:-18830}
qos=${QOS:-1}
# How long each part may take to come up.
ready_secs=${DEMO_READY_SECS:-20}

logs="$here/target/demo"
mkdir -p "$logs"
rm -f "$logs"/*.log

fail() {
  echo "demo: FAILED: $*" >&2
  exit 1
}

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# connects HOST PORT, shared with the start-all scripts.
# shellcheck source=test/start-all-lib.sh
. "$here/test/start-all-lib.sh"

# listening PORT: true if something accepts connections on 127.0.0.1:PORT.
listening() {
  connects 127.0.0.1 "$1"
}

# wait_for FILE TEXT PID: until FILE contains TEXT; false if PID dies or
# the time is up.
wait_for() {
  local i
  for ((i = 0; i < ready_secs * 10; i++)); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "demo: installing mosquitto (apt-get install mosquitto)"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto
fi
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
if ! command -v cargo >/dev/null 2>&1; then
  fail "cargo not found; install Rust (https://rustup.rs or apt-get install cargo) first"
fi

# The target first: nothing else is worth starting without it.
if ! listening "$target_port"; then
  if [ "$target_port" != 22 ]; then
    fail "nothing listens on 127.0.0.1:$target_port (TARGET_PORT): start the service to reach, or set TARGET_PORT"
  elif command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; then
    fail "sshd is installed but not listening on 127.0.0.1:22: start it (sudo systemctl start ssh, or sudo service ssh start), or set TARGET_PORT"
  else
    fail "nothing listens on 127.0.0.1:22 and sshd is not installed: sudo apt-get install openssh-server, or set TARGET_PORT"
  fi
fi
for port in "$broker_port" "$client_port"; do
  if listening "$port"; then
    what=BROKER_PORT
    [ "$port" = "$client_port" ] && what=CLIENT_PORT
    fail "port $port ($what) is already taken by another program: set $what to a free port"
  fi
done

# cargo's own progress: a first build takes minutes.
echo "demo: building (cargo build --release)"
(cd "$here" && cargo build --release)
bin="$here/target/release/mqtt-forward"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$logs/mosquitto.conf" <<CONF
listener $broker_port 127.0.0.1
allow_anonymous true
# Without it mosquitto holds back small packets: 44 ms per round trip.
set_tcp_nodelay true
CONF
"$mosquitto_bin" -c "$logs/mosquitto.conf" >"$logs/mosquitto.log" 2>&1 &
broker_pid=$!
pids+=("$broker_pid")
# Ours: this process says it listens on the port, and is still alive.
if ! wait_for "$logs/mosquitto.log" "listen socket on port $broker_port" "$broker_pid" ||
  ! listening "$broker_port"; then
  fail "the broker did not start on port $broker_port (log: $logs/mosquitto.log)"
fi

common=(--mqtt-host 127.0.0.1 --mqtt-port "$broker_port" --mqtt-qos "$qos" --server-side-id demo)
"$bin" -s -b -p "$target_port" "${common[@]}" > >(tee "$logs/server.log" | sed 's/^/[server] /' >&2) 2>&1 &
server_pid=$!
pids+=("$server_pid")
"$bin" -p "$client_port" "${common[@]}" > >(tee "$logs/client.log" | sed 's/^/[client] /' >&2) 2>&1 &
client_pid=$!
pids+=("$client_pid")

wait_for "$logs/server.log" "connected to broker" "$server_pid" ||
  fail "the server side did not connect to the broker (log: $logs/server.log)"
wait_for "$logs/client.log" "client side listening on" "$client_pid" ||
  fail "the client side is not listening on 127.0.0.1:$client_port (log: $logs/client.log)"
wait_for "$logs/client.log" "connected to broker" "$client_pid" ||
  fail "the client side did not connect to the broker (log: $logs/client.log)"

# One connection through the tunnel: the target's banner (sshd speaks
# first), or for a target that waits for its client, a connection that the
# server side dialed through to it.
banner=""
if exec 3<>"/dev/tcp/127.0.0.1/$client_port"; then
  IFS= read -r -t 5 banner <&3 || true
  exec 3<&-
else
  fail "cannot connect to the client side on 127.0.0.1:$client_port (log: $logs/client.log)"
fi
if [ -n "$banner" ]; then
  probe="the target answered: ${banner%$'\r'}"
elif wait_for "$logs/server.log" "opened to" "$server_pid"; then
  probe="a connection reached 127.0.0.1:$target_port (it sent nothing first)"
else
  fail "a connection through the tunnel did not reach 127.0.0.1:$target_port (logs: $logs/server.log, $logs/client.log)"
fi

cat <<MSG

demo: tunnel is up: $probe
demo: broker 127.0.0.1:$broker_port, QoS $qos; logs in $logs/
demo: connect with:   ssh -p $client_port $(id -un)@localhost
demo: (any TCP client on 127.0.0.1:$client_port reaches 127.0.0.1:$target_port)
demo: press Ctrl-C to stop.

MSG
wait
