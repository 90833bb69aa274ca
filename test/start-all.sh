#!/usr/bin/env bash
# Starts a complete local test tunnel in the background, natively (no
# docker): a private mosquitto broker, a server side forwarding to
# TARGET_HOST:TARGET_PORT (default 127.0.0.1:22, sshd) and a client side
# listening on 127.0.0.1:CLIENT_PORT (default 1230). By default everything
# runs over TLS with client certificates made by test/gen-certs.sh; -u runs
# plain MQTT with anonymous access instead. test/teardown.sh stops it all.
#
#   test/start-all.sh           # then: ssh -p 1230 $USER@localhost
#   test/start-all.sh -u        # unsecure: plain MQTT on port 1883
#   test/teardown.sh
#
# Environment (all optional):
#   BROKER_PORT            broker port (default 8883, or 1883 with -u)
#   CLIENT_PORT            client side listening port (default 1230)
#   TARGET_HOST            address the server side dials (default 127.0.0.1)
#   TARGET_PORT            port the server side dials (default 22)
#   SERVER_ID              --server-side-id of both sides (default test-server)
#   MQTT_FORWARD_BIN       use this binary instead of building
#                          target/release/mqtt-forward
#   MQTT_FORWARD_TEST_DIR  state dir: PID files, logs, config, certificates
#                          (default ${TMPDIR:-/tmp}/mqtt-forward-test-$(id -u))
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=start-all

usage() {
  cat <<'EOF'
usage: test/start-all.sh [-u|--unsecure] [-h|--help]

Starts mosquitto, a server side and a client side of mqtt-forward in the
background (secure mode: TLS with client certificates; -u: plain MQTT).
Stop them with test/teardown.sh.

  -u, --unsecure  plain MQTT, anonymous access, no certificates
  -h, --help      this help

Environment: BROKER_PORT (8883; 1883 with -u), CLIENT_PORT (1230),
TARGET_HOST (127.0.0.1), TARGET_PORT (22), SERVER_ID (test-server),
MQTT_FORWARD_BIN (binary to use instead of building), MQTT_FORWARD_TEST_DIR
(state dir; default ${TMPDIR:-/tmp}/mqtt-forward-test-$(id -u)).
EOF
}

die() {
  echo "$me: $*" >&2
  exit 1
}

secure=1
while [ $# -gt 0 ]; do
  case $1 in
    -u | --unsecure) secure=0 ;;
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

# The forwarders read these; a value left in the caller's environment (a
# certificate path implies TLS, a remote port redirects the client) would
# change what this script sets up.
unset MQTT_FORWARD_MQTT_HOST MQTT_FORWARD_SERVER_ID MQTT_FORWARD_ROOT_CA \
  MQTT_FORWARD_CERTIFICATE MQTT_FORWARD_PRIVATE_KEY MQTT_FORWARD_TOPIC_PREFIX \
  MQTT_FORWARD_REMOTE_IP MQTT_FORWARD_REMOTE_PORT \
  MQTT_FORWARD_MQTT_USERNAME MQTT_FORWARD_MQTT_PASSWORD

if [ "$secure" = 1 ]; then
  broker_port=${BROKER_PORT:-8883}
else
  broker_port=${BROKER_PORT:-1883}
fi
client_port=${CLIENT_PORT:-1230}
target_host=${TARGET_HOST:-127.0.0.1}
target_port=${TARGET_PORT:-22}
server_id=${SERVER_ID:-test-server}
# shellcheck source=test/start-all-lib.sh
source "$repo/test/start-all-lib.sh"

for var in broker_port client_port target_port; do
  value=${!var}
  if ! [[ $value =~ ^[0-9]{1,5}$ ]] || [ "$value" -lt 1 ] || [ "$value" -gt 65535 ]; then
    die "${var^^} must be a port number (1-65535), not '$value'"
  fi
done
[ "$broker_port" != "$client_port" ] || die "BROKER_PORT and CLIENT_PORT are both $broker_port"
[ -n "$server_id" ] || die "SERVER_ID is empty"
[ -n "$target_host" ] || die "TARGET_HOST is empty"

# --- prerequisites -----------------------------------------------------------

if command -v mosquitto >/dev/null 2>&1; then
  mosquitto_bin=$(command -v mosquitto)
elif [ -x /usr/sbin/mosquitto ]; then
  mosquitto_bin=/usr/sbin/mosquitto
else
  die "mosquitto not found (install the mosquitto package: apt-get install mosquitto)"
fi
if [ "$secure" = 1 ] && ! command -v openssl >/dev/null 2>&1; then
  die "openssl not found, needed for the certificates (install the openssl package: apt-get install openssl; or use -u)"
fi
command -v setsid >/dev/null 2>&1 || command -v nohup >/dev/null 2>&1 ||
  die "neither setsid nor nohup found (install the util-linux or coreutils package)"

# --- already running? --------------------------------------------------------

running=()
for name in mosquitto server client; do
  if pid=$(pid_of "$name"); then running+=("$name (pid $pid)"); fi
done
if [ ${#running[@]} -gt 0 ]; then
  die "already running: ${running[*]} in $state; run test/teardown.sh first"
fi
if [ -e "$state" ] && [ ! -f "$state/$marker" ] &&
  { [ ! -d "$state" ] || [ -n "$(ls -A "$state")" ]; }; then
  die "$state exists and was not made by start-all; remove it or set MQTT_FORWARD_TEST_DIR"
fi
for port in "$broker_port" "$client_port"; do
  if listening "$port"; then
    die "port $port is already in use (set BROKER_PORT / CLIENT_PORT to choose others)"
  fi
done

# --- binary ------------------------------------------------------------------

if [ -n "${MQTT_FORWARD_BIN:-}" ]; then
  if [ ! -f "$MQTT_FORWARD_BIN" ] || [ ! -x "$MQTT_FORWARD_BIN" ]; then
    die "MQTT_FORWARD_BIN=$MQTT_FORWARD_BIN is not an executable file"
  fi
  bin=$(cd "$(dirname "$MQTT_FORWARD_BIN")" && pwd)/$(basename "$MQTT_FORWARD_BIN")
else
  bin=$repo/target/release/mqtt-forward
  if command -v cargo >/dev/null 2>&1; then
    echo "$me: building (cargo build --release)"
    (cd "$repo" && cargo build --release --quiet) || die "cargo build --release failed"
  elif [ -x "$bin" ]; then
    echo "$me: cargo not found; using the existing $bin"
  else
    die "cargo not found and $bin is not built; install Rust (https://rustup.rs or apt-get install cargo) or set MQTT_FORWARD_BIN"
  fi
  [ -x "$bin" ] || die "$bin missing after the build"
fi

# --- state dir ---------------------------------------------------------------

# Left by a run whose processes are gone (an empty dir is simply reused).
if [ -f "$state/$marker" ]; then rm -rf "$state"; fi
mkdir -p "$state"
chmod 700 "$state"
state=$(cd "$state" && pwd)
: >"$state/$marker"

# --- start -------------------------------------------------------------------

# On any failure from here on: show the log tails, stop whatever was
# started (test/teardown.sh --keep-logs) and exit 1.
up=0
on_exit() {
  local log
  [ "$up" = 0 ] || return 0
  for log in "$state"/mosquitto.log "$state"/server.log "$state"/client.log; do
    [ -s "$log" ] || continue
    echo "----- last lines of $log -----" >&2
    tail -n 15 "$log" >&2
  done
  echo "$me: stopping what was started; logs kept in $state" >&2
  MQTT_FORWARD_TEST_DIR=$state bash "$repo/test/teardown.sh" --keep-logs >&2 || true
  exit 1
}
trap on_exit EXIT
trap 'die "interrupted"' INT TERM

# launch NAME PROGRAM ARGS...: runs the program detached from this script
# and its terminal (new session, stdin from /dev/null), output to
# $state/NAME.log, PID in $state/NAME.pid, command line in NAME.cmdline.
launch() {
  local name=$1 i
  shift
  local detach=setsid
  command -v setsid >/dev/null 2>&1 || detach="nohup"
  printf '%s\0' "$@" >"$state/$name.cmdline"
  # The inner shell writes its own PID and execs the program, so the PID
  # file names the program even if setsid has to fork.
  # shellcheck disable=SC2016 # expanded by the inner sh
  "$detach" sh -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' \
    "$state/$name.pid" "$@" </dev/null >"$state/$name.log" 2>&1 &
  # Wait until the PID file is there and the process has exec'd the program.
  for ((i = 0; i < 100; i++)); do
    if [ -s "$state/$name.pid" ]; then
      pid_of "$name" >/dev/null && return 0
      # Gone, or a zombie (empty command line): it exited.
      [ -n "$(tr -d '\0' 2>/dev/null <"/proc/$(head -n 1 "$state/$name.pid")/cmdline")" ] ||
        die "$name exited at once"
    fi
    sleep 0.05
  done
  die "$name did not start within 5 s"
}

if [ "$secure" = 1 ]; then
  echo "$me: generating certificates (test/gen-certs.sh $state/certs)"
  bash "$repo/test/gen-certs.sh" "$state/certs" >"$state/gen-certs.log" 2>&1 ||
    die "test/gen-certs.sh failed: $(tail -n 5 "$state/gen-certs.log")"
fi

certs=$state/certs
{
  echo "# written by test/start-all.sh"
  echo "listener $broker_port 127.0.0.1"
  if [ "$secure" = 1 ]; then
    echo "cafile $certs/ca.pem"
    echo "certfile $certs/broker.pem"
    echo "keyfile $certs/broker.key"
    echo "require_certificate true"
  fi
  echo "allow_anonymous true"
  echo "persistence false"
  # Without it a small packet waits for the previous one's delayed ACK
  # (44 ms per exchange; see README.rst, Broker configuration).
  echo "set_tcp_nodelay true"
  echo "log_dest stderr"
  echo "log_timestamp_format %Y-%m-%dT%H:%M:%S"
  # Started as root, mosquitto switches to the mosquitto user before it
  # loads the certificates, and that user cannot read ours (private dir,
  # keys mode 600).
  if [ "$(id -u)" -eq 0 ]; then echo "user root"; fi
} >"$state/mosquitto.conf"

echo "$me: starting mosquitto on 127.0.0.1:$broker_port"
launch mosquitto "$mosquitto_bin" -c "$state/mosquitto.conf"
deadline=$((SECONDS + 10))
until listening "$broker_port"; do
  pid_of mosquitto >/dev/null || die "mosquitto exited"
  [ "$SECONDS" -lt "$deadline" ] || die "mosquitto does not accept connections on port $broker_port after 10 s"
  sleep 0.1
done

common=(--mqtt-host localhost --mqtt-port "$broker_port" --server-side-id "$server_id")
if [ "$secure" = 1 ]; then
  common+=(--tls --mqtt-root-ca "$certs/ca.pem")
  server_tls=(--mqtt-certificate "$certs/server-side.pem" --mqtt-private-key "$certs/server-side.key")
  client_tls=(--mqtt-certificate "$certs/client-side.pem" --mqtt-private-key "$certs/client-side.key")
else
  server_tls=()
  client_tls=()
fi

echo "$me: starting the server side (to $target_host:$target_port) and the client side (port $client_port)"
launch server "$bin" -s -b -a "$target_host" -p "$target_port" "${common[@]}" ${server_tls[@]+"${server_tls[@]}"}
launch client "$bin" -p "$client_port" "${common[@]}" ${client_tls[@]+"${client_tls[@]}"}

deadline=$((SECONDS + 15))
while :; do
  for name in mosquitto server client; do
    pid_of "$name" >/dev/null || die "$name exited"
  done
  if grep -qF ' connected to broker ' "$state/server.log" &&
    grep -qF ' connected to broker ' "$state/client.log" &&
    listening "$client_port"; then
    break
  fi
  [ "$SECONDS" -lt "$deadline" ] ||
    die "the forwarders are not both connected to the broker, with the client listening on port $client_port, after 15 s"
  sleep 0.1
done
up=1
trap - INT TERM

# --- summary -----------------------------------------------------------------

teardown=test/teardown.sh
[ "$PWD" = "$repo" ] || teardown=$repo/test/teardown.sh
if [ -n "${MQTT_FORWARD_TEST_DIR:-}" ]; then
  teardown="MQTT_FORWARD_TEST_DIR=$state $teardown"
fi
if [ "$secure" = 1 ]; then
  mode="secure (TLS, client certificates from $certs)"
else
  mode="unsecure (plain MQTT, anonymous)"
fi
cat <<EOF

$me: tunnel is up.
  mode         $mode
  broker       mosquitto on 127.0.0.1:$broker_port (pid $(pid_of mosquitto))
  server side  to $target_host:$target_port, server-side-id $server_id (pid $(pid_of server))
  client side  listening on 127.0.0.1:$client_port (pid $(pid_of client))
  state dir    $state
  logs         $state/mosquitto.log
               $state/server.log
               $state/client.log

  connect:     ssh -p $client_port $(id -un)@localhost
  stop:        $teardown
EOF
if ! connects "$target_host" "$target_port"; then
  echo
  echo "$me: warning: nothing accepts connections on $target_host:$target_port yet;" \
    "tunnelled connections will be refused (for ssh: apt-get install openssh-server)" >&2
fi
