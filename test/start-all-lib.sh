# shellcheck shell=bash
# Shared by test/start-all.sh, test/teardown.sh and test/check-start-all.sh
# (sourced, not run): where the state lives and how its processes are found.

# The state directory: PID files, saved command lines, logs, certificates.
state=${MQTT_FORWARD_TEST_DIR:-${TMPDIR:-/tmp}/mqtt-forward-test-$(id -u)}
# A file that marks a state directory as made by start-all, so that nothing
# else (MQTT_FORWARD_TEST_DIR could name anything) is ever deleted.
# shellcheck disable=SC2034 # used by the scripts that source this file
marker=.mqtt-forward-test-state

# pid_of NAME: prints the PID in $state/NAME.pid if that process is alive
# and is the program start-all started (its command line is the one saved in
# NAME.cmdline, or, without that file, its program is mosquitto or
# mqtt-forward), so that a reused PID is never taken for ours.
pid_of() {
  local name=$1 pid cmdline want
  [ -f "$state/$name.pid" ] || return 1
  pid=$(head -n 1 "$state/$name.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  # A zombie (exited, not yet reaped) has an empty command line.
  cmdline=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [ -n "$cmdline" ] || return 1
  if [ -f "$state/$name.cmdline" ]; then
    want=$(tr '\0' '\n' <"$state/$name.cmdline")
    [ "$cmdline" = "$want" ] || return 1
  else
    case $name in mosquitto) want=mosquitto ;; *) want=mqtt-forward ;; esac
    [ "$(basename "${cmdline%%$'\n'*}")" = "$want" ] || return 1
  fi
  echo "$pid"
}

# connects HOST PORT: a TCP connection to HOST:PORT succeeds within 2 s.
connects() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# listening PORT: something listens on TCP PORT (any local address). Uses ss
# when present, so that probing the client port does not open a tunnelled
# session to the target; otherwise connects.
listening() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
  else
    connects 127.0.0.1 "$1"
  fi
}
