#!/usr/bin/env bash
# CI check of test/start-all.sh and test/teardown.sh, in unsecure then
# secure (TLS) mode. Starts a throwaway OpenSSH sshd on a free loopback port
# as the target, runs start-all with its own state dir, checks that the SSH
# banner and host key come back through the tunnel, that a second start-all
# refuses, then that teardown stops every process and removes the state
# dir, and that a second teardown is a no-op. Cleans up on any failure.
#
# Needs mosquitto, openssl, openssh-server (/usr/sbin/sshd) and
# openssh-client (ssh-keygen, ssh-keyscan). Run as root, it creates sshd's
# privilege separation dir /run/sshd if missing. Uses the default ports
# (client 1230, broker 1883 / 8883) unless they are busy.
#
#   test/check-start-all.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=check-start-all
start_all=$repo/test/start-all.sh
teardown=$repo/test/teardown.sh

fail() {
  echo "$me: FAIL: $*" >&2
  exit 1
}
ok() { echo "  ok: $*"; }
indent() { sed 's/^/    | /'; }

# listening PORT (and connects), shared with start-all and teardown.
# shellcheck source=test/start-all-lib.sh
source "$repo/test/start-all-lib.sh"

# free_port PREFERRED: PREFERRED if free, else a free port in 20000-60999.
free_port() {
  local port=$1 i
  for ((i = 0; i < 200; i++)); do
    if ! listening "$port"; then
      echo "$port"
      return 0
    fi
    port=$((20000 + RANDOM % 41000))
  done
  fail "no free TCP port found"
}

# banner PORT: the first line a TCP server on 127.0.0.1:PORT sends (10 s).
banner() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r line <&3 &&
    printf "%s\n" "$line"' _ "$1" 2>/dev/null | tr -d '\r' || true
}

# alive PID: the process exists and is not a zombie.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# running_as PID CMDLINE: PID is alive and runs CMDLINE (arguments joined
# by spaces), so that a reused PID is not taken for the old process.
running_as() {
  alive "$1" && [ "$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" = "$2" ]
}

sshd_bin=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd_bin" ] || fail "sshd not found (apt-get install openssh-server)"
for cmd in ssh-keygen ssh-keyscan; do
  command -v "$cmd" >/dev/null 2>&1 || fail "$cmd not found (apt-get install openssh-client)"
done

unset BROKER_PORT CLIENT_PORT TARGET_HOST TARGET_PORT SERVER_ID
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-start-all.XXXXXX")
export MQTT_FORWARD_TEST_DIR=$tmp/state
sshd_pid=

cleanup() {
  local rc=$? log
  if [ "$rc" -ne 0 ]; then
    for log in "$MQTT_FORWARD_TEST_DIR"/*.log "$tmp/sshd.log"; do
      [ -s "$log" ] || continue
      echo "----- last lines of $log -----" >&2
      tail -n 15 "$log" >&2
    done
  fi
  if [ -e "$MQTT_FORWARD_TEST_DIR" ]; then
    timeout 30 bash "$teardown" >/dev/null 2>&1 || true
  fi
  if [ -n "$sshd_pid" ]; then
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  if [ "$rc" -ne 0 ]; then echo "$me: FAILED" >&2; fi
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# --- the binary (built once here, so that start-all's build is a no-op) ------

if [ -z "${MQTT_FORWARD_BIN:-}" ] && command -v cargo >/dev/null 2>&1; then
  echo "== $me: cargo build --release"
  (cd "$repo" && cargo build --release --quiet)
fi

# --- throwaway sshd as the target --------------------------------------------

SECONDS=0
ssh_port=$(free_port 20022)
echo "== $me: throwaway sshd on 127.0.0.1:$ssh_port"
ssh-keygen -q -t ed25519 -N '' -C check-start-all -f "$tmp/host_key"
cat >"$tmp/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $tmp/host_key
PidFile $tmp/sshd.pid
UsePAM no
PasswordAuthentication no
PermitRootLogin no
AuthorizedKeysFile none
EOF
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
  # Privilege separation dir, normally made by the package's service.
  # install -d does not fail if a concurrent sshd user creates it first.
  install -d -m 0755 /run/sshd
fi
"$sshd_bin" -t -f "$tmp/sshd_config" || fail "sshd rejects its configuration"
"$sshd_bin" -D -e -f "$tmp/sshd_config" </dev/null 2>"$tmp/sshd.log" &
sshd_pid=$!
for ((i = 0; i < 50; i++)); do
  listening "$ssh_port" && break
  alive "$sshd_pid" || fail "sshd exited: $(tail -n 5 "$tmp/sshd.log")"
  sleep 0.1
done
listening "$ssh_port" || fail "sshd does not listen on port $ssh_port after 5 s"
line=$(banner "$ssh_port")
[[ $line == SSH-2.0-OpenSSH* ]] || fail "sshd sends no SSH banner directly (got '$line')"
ok "sshd answers directly: $line"
host_key=$(cut -d ' ' -f 2 "$tmp/host_key.pub")

# --- both modes --------------------------------------------------------------

# check_mode MODE [-u]: the whole start / use / stop cycle in one mode.
check_mode() {
  local mode=$1 flag=${2:-} default_broker out pids=() cmdlines=() name pid scanned i n
  if [ "$mode" = secure ]; then default_broker=8883; else default_broker=1883; fi
  echo "== $me: $mode mode"

  local client_port broker_port
  client_port=$(free_port 1230)
  broker_port=$(free_port "$default_broker")
  local vars=(TARGET_PORT="$ssh_port")
  [ "$client_port" = 1230 ] || vars+=(CLIENT_PORT="$client_port")
  [ "$broker_port" = "$default_broker" ] || vars+=(BROKER_PORT="$broker_port")
  echo "  running: ${vars[*]} test/start-all.sh${flag:+ $flag}"
  if ! out=$(env "${vars[@]}" timeout 90 bash "$start_all" ${flag:+"$flag"} 2>&1); then
    indent <<<"$out" >&2
    fail "test/start-all.sh $flag failed"
  fi
  indent <<<"$out"
  ok "start-all exited 0"

  for name in mosquitto server client; do
    [ -f "$MQTT_FORWARD_TEST_DIR/$name.pid" ] || fail "no $name.pid"
    pid=$(cat "$MQTT_FORWARD_TEST_DIR/$name.pid")
    alive "$pid" || fail "$name (pid $pid) is not running"
    pids+=("$pid")
    cmdlines+=("$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")")
  done
  ok "mosquitto, server and client running (pids ${pids[*]})"

  if [ "$mode" = secure ]; then
    grep -qx 'require_certificate true' "$MQTT_FORWARD_TEST_DIR/mosquitto.conf" ||
      fail "mosquitto.conf does not require client certificates"
    for name in server client; do
      tr '\0' '\n' <"/proc/$(cat "$MQTT_FORWARD_TEST_DIR/$name.pid")/cmdline" | grep -qx -- --tls ||
        fail "the $name side does not run with --tls"
    done
    ok "broker requires client certificates; both sides run with --tls"
  fi
  local url
  if [ "$mode" = secure ]; then url=mqtts://localhost:$broker_port; else url=mqtt://localhost:$broker_port; fi
  grep -qF " connected to broker $url" "$MQTT_FORWARD_TEST_DIR/server.log" ||
    fail "server.log does not say 'connected to broker $url'"
  ok "server log: connected to broker $url"

  line=$(banner "$client_port")
  [[ $line == SSH-2.0-OpenSSH* ]] ||
    fail "no SSH banner through the tunnel on 127.0.0.1:$client_port (got '$line')"
  ok "SSH banner through the tunnel on port $client_port: $line"

  scanned=$(timeout 20 ssh-keyscan -T 10 -t ed25519 -p "$client_port" 127.0.0.1 2>/dev/null |
    awk '$2 == "ssh-ed25519" { print $3 }') || true
  [ "$scanned" = "$host_key" ] ||
    fail "ssh-keyscan through the tunnel did not return the throwaway host key (got '$scanned')"
  ok "ssh-keyscan through the tunnel returns the throwaway sshd's host key (key exchange both ways)"

  if out=$(env "${vars[@]}" timeout 30 bash "$start_all" ${flag:+"$flag"} 2>&1); then
    fail "a second start-all succeeded while running"
  fi
  [[ $out == *"already running"*"run test/teardown.sh first"* ]] ||
    fail "a second start-all did not say 'already running': $out"
  ok "a second start-all refuses: ${out#*: }"

  out=$(timeout 30 bash "$teardown" 2>&1) || fail "test/teardown.sh failed: $out"
  indent <<<"$out"
  ok "teardown exited 0"
  # The processes were re-parented when start-all exited: give init a
  # moment to reap them. A PID counts as gone once it is free, a zombie,
  # or another program.
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    for ((n = 0; n < 50; n++)); do
      running_as "$pid" "${cmdlines[$i]}" || break
      sleep 0.1
    done
    if running_as "$pid" "${cmdlines[$i]}"; then
      fail "pid $pid (${cmdlines[$i]}) still running after teardown"
    fi
  done
  ok "processes ${pids[*]} are gone"
  [ ! -e "$MQTT_FORWARD_TEST_DIR" ] || fail "state dir $MQTT_FORWARD_TEST_DIR still exists"
  ok "state dir removed"
  for port in "$client_port" "$broker_port"; do
    if listening "$port"; then fail "port $port still listening after teardown"; fi
  done
  ok "ports $client_port and $broker_port free again"

  out=$(timeout 30 bash "$teardown" 2>&1) || fail "a second teardown failed: $out"
  [[ $out == *"nothing to tear down"* ]] || fail "a second teardown did not say 'nothing to tear down': $out"
  ok "a second teardown is a no-op: $out"
}

check_mode unsecure -u
check_mode secure
echo "== $me: all checks passed (${SECONDS} s)"
