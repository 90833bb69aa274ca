#!/usr/bin/env bash
# Builds mqtt-forward and runs a complete local tunnel in the foreground:
# a private mosquitto broker, a server side forwarding to TARGET_PORT
# (default 22, sshd) and a client side listening on CLIENT_PORT (default
# 1234). Installs mosquitto with apt-get if it is missing. Ctrl-C stops all.
#
#   test/demo.sh                # then: ssh -p 1234 $USER@localhost
#   CLIENT_PORT=2222 TARGET_PORT=8080 QOS=0 test/demo.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
client_port=${CLIENT_PORT:-1234}
target_port=${TARGET_PORT:-22}
broker_port=${BROKER_PORT:-18830}
qos=${QOS:-1}

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  echo "demo: installing mosquitto (apt-get install mosquitto)"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto
fi
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
if ! command -v cargo >/dev/null 2>&1; then
  echo "demo: cargo not found; install Rust (https://rustup.rs or apt-get install cargo) first" >&2
  exit 1
fi

echo "demo: building (cargo build --release)"
(cd "$here" && cargo build --release --quiet)
bin="$here/target/release/mqtt-forward"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/mosquitto.conf" <<CONF
listener $broker_port 127.0.0.1
allow_anonymous true
# Without it mosquitto holds back small packets: 44 ms per round trip.
set_tcp_nodelay true
CONF
"$mosquitto_bin" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)

common=(--mqtt-host 127.0.0.1 --mqtt-port "$broker_port" --mqtt-qos "$qos" --server-side-id demo)
"$bin" -s -b -p "$target_port" "${common[@]}" 2> >(sed 's/^/[server] /' >&2) &
pids+=($!)
"$bin" -p "$client_port" "${common[@]}" 2> >(sed 's/^/[client] /' >&2) &
pids+=($!)

sleep 1
if ! (exec 3<>"/dev/tcp/127.0.0.1/$target_port") 2>/dev/null; then
  echo "demo: note: nothing listens on 127.0.0.1:$target_port yet (for ssh: apt-get install openssh-server)"
fi
cat <<MSG

demo: tunnel is up. Broker 127.0.0.1:$broker_port, QoS $qos.
demo: connect with:   ssh -p $client_port $(id -un)@localhost
demo: (any TCP client on 127.0.0.1:$client_port reaches 127.0.0.1:$target_port)
demo: press Ctrl-C to stop.

MSG
wait
