#!/usr/bin/env bash
# Checks the OpenWrt procd init script (cross/openwrt/mqtt-forward.init)
# without OpenWrt: the UCI and procd shell functions are replaced by stubs
# that read sample UCI values and record what the script asks procd for,
# the script runs under busybox ash (what OpenWrt runs) or dash, and the
# recorded command lines and environments are compared with the expected
# ones. Every flag the script passes must exist in the binary's --help.
#
# Usage: test/check-openwrt-init.sh [BINARY]   (default: target/debug/mqtt-forward)

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INIT=$ROOT/cross/openwrt/mqtt-forward.init
BIN=${1:-$ROOT/target/debug/mqtt-forward}
if command -v busybox >/dev/null 2>&1; then SH=(busybox sh); else SH=(dash); fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The stubs: OpenWrt's functions.sh keeps option values in variables named
# CONFIG_<section>_<option>, section types in CONFIG_<section>_TYPE and the
# section list in CONFIG_SECTIONS; procd calls are printed, one per line,
# each argument in brackets.
cat >"$WORK/stubs.sh" <<'EOF'
config_load() { :; }
config_get() {
	eval "_v=\${CONFIG_${2}_${3}-}"
	[ -n "$_v" ] || _v=${4-}
	eval "$1=\$_v"
}
config_get_bool() {
	config_get _b "$2" "$3" "${4-}"
	case "$_b" in
	1 | on | true | yes | enabled) _b=1 ;;
	0 | off | false | no | disabled) _b=0 ;;
	*) _b=${4-0} ;;
	esac
	eval "$1=\$_b"
}
config_foreach() {
	_fn=$1 _type=$2
	for _s in $CONFIG_SECTIONS; do
		eval "_t=\${CONFIG_${_s}_TYPE-}"
		[ "$_t" = "$_type" ] && "$_fn" "$_s"
	done
	return 0
}
record() { printf '%s' "$1"; shift; for a in "$@"; do printf ' [%s]' "$a"; done; echo; }
procd_open_instance() { record open "$@"; }
procd_set_param() { record set "$@"; }
procd_append_param() { record append "$@"; }
procd_close_instance() { record close; }
procd_add_reload_trigger() { record trigger "$@"; }
logger() { record logger "$@"; }
EOF

printf 'secret with spaces\n' >"$WORK/password"
chmod 600 "$WORK/password"

# run_case NAME: runs start_service with the UCI values in $WORK/NAME.uci.
run_case() {
    "${SH[@]}" -c ". '$WORK/stubs.sh'; . '$WORK/$1.uci'; . '$INIT'; start_service" >"$WORK/$1.out"
}

# The sample configuration: a server with TLS files, credentials from a
# file and tuning; a client with a remote target; a disabled section; a bad
# mode; a missing password file; the example config's defaults.
cat >"$WORK/sample.uci" <<EOF
CONFIG_SECTIONS="router desk off bad nopw"
CONFIG_router_TYPE=mqtt_forward
CONFIG_router_enabled=1
CONFIG_router_mode=server
CONFIG_router_server_side_id=home-router
CONFIG_router_mqtt_host=broker.example.com
CONFIG_router_mqtt_port=8883
CONFIG_router_tls=1
CONFIG_router_root_ca=/etc/mqtt-forward/ca.pem
CONFIG_router_certificate=/etc/mqtt-forward/router.pem
CONFIG_router_private_key=/etc/mqtt-forward/router.key
CONFIG_router_username=router
CONFIG_router_password_file=$WORK/password
CONFIG_router_addr=127.0.0.1
CONFIG_router_port=22
CONFIG_router_psk_file=/etc/mqtt-forward/psk
CONFIG_router_allow_remote='192.168.1.0/24:22 10.0.0.1:*'
CONFIG_router_beacon=1
CONFIG_router_qos=0
CONFIG_router_topic_prefix='my prefix'
CONFIG_router_window=16
CONFIG_router_frame_size=16384
CONFIG_router_peer_timeout=60
CONFIG_router_max_buffer_memory=8
CONFIG_router_debug=0
CONFIG_desk_TYPE=mqtt_forward
CONFIG_desk_enabled=yes
CONFIG_desk_mode=client
CONFIG_desk_server_side_id=home-router
CONFIG_desk_mqtt_host=10.0.0.2
CONFIG_desk_port=2222
CONFIG_desk_addr=0.0.0.0
CONFIG_desk_remote_ip=192.168.1.10
CONFIG_desk_remote_port=80
CONFIG_desk_password=inline
CONFIG_desk_username=desk
CONFIG_desk_debug=on
CONFIG_off_TYPE=mqtt_forward
CONFIG_off_enabled=0
CONFIG_off_mqtt_host=never
CONFIG_bad_TYPE=mqtt_forward
CONFIG_bad_enabled=1
CONFIG_bad_mode=relay
CONFIG_nopw_TYPE=mqtt_forward
CONFIG_nopw_enabled=1
CONFIG_nopw_password_file=$WORK/missing
EOF
run_case sample

cat >"$WORK/expected" <<EOF
open [router]
set [command] [/usr/bin/mqtt-forward]
append [command] [--no-timestamps]
append [command] [-s]
append [command] [-b]
append [command] [-a] [127.0.0.1]
append [command] [-p] [22]
append [command] [--server-side-id] [home-router]
append [command] [--mqtt-host] [broker.example.com]
append [command] [--mqtt-port] [8883]
append [command] [-t]
append [command] [--mqtt-root-ca] [/etc/mqtt-forward/ca.pem]
append [command] [--mqtt-certificate] [/etc/mqtt-forward/router.pem]
append [command] [--mqtt-private-key] [/etc/mqtt-forward/router.key]
append [command] [--psk-file] [/etc/mqtt-forward/psk]
append [command] [--mqtt-qos] [0]
append [command] [--mqtt-topic-prefix] [my prefix]
append [command] [--window] [16]
append [command] [--frame-size] [16384]
append [command] [--peer-timeout] [60]
append [command] [--max-buffer-memory] [8]
set [env] [MQTT_FORWARD_MQTT_USERNAME=router] [MQTT_FORWARD_MQTT_PASSWORD=secret with spaces] [MQTT_FORWARD_ALLOW_REMOTE=192.168.1.0/24:22 10.0.0.1:*]
set [respawn] [3600] [5] [5]
set [stdout] [1]
set [stderr] [1]
set [file] [/etc/config/mqtt-forward]
close
open [desk]
set [command] [/usr/bin/mqtt-forward]
append [command] [--no-timestamps]
append [command] [--remote-ip] [192.168.1.10]
append [command] [--remote-port] [80]
append [command] [-a] [0.0.0.0]
append [command] [-p] [2222]
append [command] [--server-side-id] [home-router]
append [command] [--mqtt-host] [10.0.0.2]
append [command] [-d]
set [env] [MQTT_FORWARD_MQTT_USERNAME=desk] [MQTT_FORWARD_MQTT_PASSWORD=inline]
set [respawn] [3600] [5] [5]
set [stdout] [1]
set [stderr] [1]
set [file] [/etc/config/mqtt-forward]
close
logger [-t] [mqtt-forward] [-p] [daemon.err] [section 'bad': mode must be server or client, not 'relay'; not started]
logger [-t] [mqtt-forward] [-p] [daemon.err] [section 'nopw': cannot read password_file $WORK/missing; not started]
EOF
if ! diff -u "$WORK/expected" "$WORK/sample.out"; then
    echo "check-openwrt-init: the init script asked procd for something else (diff above: - expected, + got)" >&2
    exit 1
fi

# The shipped example config, sourced as UCI would load it, gives a disabled
# section: enabling it must give a server side with the example's values.
awk -v dir="$WORK" '
    /^config mqtt_forward/ { gsub("\047", "", $3); s = $3; print "CONFIG_SECTIONS=\"" s "\""; print "CONFIG_" s "_TYPE=mqtt_forward" }
    /^[ \t]*option/ { v = $0; sub(/^[ \t]*option[ \t]+[a-z_]+[ \t]+/, "", v); print "CONFIG_" s "_" $2 "=" v }
' "$ROOT/cross/openwrt/mqtt-forward.config" >"$WORK/example.uci"
echo 'CONFIG_router_enabled=1' >>"$WORK/example.uci"
run_case example
if ! grep -q '^append \[command\] \[-s\]$' "$WORK/example.out" ||
    ! grep -q '^append \[command\] \[--mqtt-root-ca\] \[/etc/mqtt-forward/ca.pem\]$' "$WORK/example.out" ||
    ! grep -q '^close$' "$WORK/example.out"; then
    echo "check-openwrt-init: the example config does not give a server side:" >&2
    cat "$WORK/example.out" >&2
    exit 1
fi

# Every flag the script can pass exists in the binary.
if [[ -x $BIN ]]; then
    help=$("$BIN" --help)
    flags=$(grep -E '^\s*(mqtt_forward_value|mqtt_forward_switch|procd_append_param command)' "$INIT" |
        grep -o -- ' -[a-z-]*$' | sort -u)
    [[ -n $flags ]] || { echo "check-openwrt-init: found no flags in $INIT" >&2; exit 1; }
    for flag in $flags; do
        # -x as "-x," or "-x <", --long as "--long" followed by a space.
        if ! grep -qE -- "(^|[ ,])$flag([ ,]|$)" <<<"$help"; then
            echo "check-openwrt-init: the init script passes $flag, which mqtt-forward --help does not list" >&2
            exit 1
        fi
    done
else
    echo "check-openwrt-init: $BIN not built; flags not checked against --help" >&2
    exit 1
fi
echo "check-openwrt-init: ok (${SH[*]}; 2 instances, 2 refusals, example config, flags in --help)"
