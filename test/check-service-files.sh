#!/usr/bin/env bash
# Checks the service files in cross/: the OpenWrt init script against
# sample UCI values (test/check-openwrt-init.sh), and the systemd template
# unit with `systemd-analyze verify` (syntax, directives, the binary),
# `systemd-analyze security --offline` (the hardening, which must keep the
# exposure at or below 2.0 of 10), and that every key file the example env
# file names is one the unit hands its transient user as a credential.
#
# Usage: test/check-service-files.sh [BINARY]   (default: target/debug/mqtt-forward)

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(realpath "${1:-$ROOT/target/debug/mqtt-forward}")

bash "$ROOT/test/check-openwrt-init.sh" "$BIN"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "check-service-files: systemd-analyze is missing (apt-get install systemd)" >&2
    exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# An instance of the template, run from the built binary.
unit=$WORK/mqtt-forward@check.service
sed "s|^ExecStart=/usr/local/bin/mqtt-forward|ExecStart=$BIN|" \
    "$ROOT/cross/systemd/mqtt-forward@.service" >"$unit"
grep -q "^ExecStart=$BIN " "$unit" || { echo "check-service-files: no ExecStart to check" >&2; exit 1; }
if ! out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$unit" 2>&1) || [[ -n $out ]]; then
    echo "check-service-files: systemd-analyze verify complains:" >&2
    echo "$out" >&2
    exit 1
fi
exposure=$(systemd-analyze security --offline=true --threshold=20 "$unit" 2>&1 | grep 'Overall exposure') || {
    systemd-analyze security --offline=true "$unit" >&2 || true
    echo "check-service-files: the unit's exposure is above 2.0" >&2
    exit 1
}
# The transient user (DynamicUser) cannot read a root-owned key file: every
# key file the example env file names, set or commented out, must lie in
# the instance's credentials directory (/run/credentials/UNIT, the path
# systemd.exec gives for where %d cannot be used), and the unit must load a
# credential of that name.
template=$ROOT/cross/systemd/mqtt-forward@.service
secrets=0
while IFS='=' read -r var path; do
    var=${var#\#}
    if [[ ! $path =~ ^/run/credentials/mqtt-forward@[^/]+\.service/([^/]+)$ ]]; then
        echo "check-service-files: $var=$path in example.env is not in the credentials" \
            "directory (/run/credentials/mqtt-forward@NAME.service/ID): the service's" \
            "transient user cannot read it" >&2
        exit 1
    fi
    id=${BASH_REMATCH[1]}
    if ! grep -q "^LoadCredential=$id:/" "$template"; then
        echo "check-service-files: $var names the credential $id, which the unit does" \
            "not load (LoadCredential=$id:...)" >&2
        exit 1
    fi
    secrets=$((secrets + 1))
done < <(grep -E '^#?MQTT_FORWARD_(PSK_FILE|PRIVATE_KEY)=' "$ROOT/cross/systemd/example.env")
[[ $secrets -gt 0 ]] || { echo "check-service-files: example.env names no key file" >&2; exit 1; }
# As systemd lays a credential out for the transient user (a directory of
# mode 500 and a file of mode 400, both the user's), the program takes the
# key; a root-owned key of mode 600 it cannot read. Needs root (to switch
# users with setpriv); without it, skipped.
as_transient_user() {
    timeout 2 setpriv --reuid 61934 --regid 61934 --clear-groups \
        "$BIN" -l --mqtt-host 127.0.0.1 --mqtt-port 1 --psk-file "$1" >/dev/null 2>&1
}
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null 2>&1; then
    chmod 711 "$WORK"
    install -d -m 755 "$WORK/etc"
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$WORK/etc/psk"
    chmod 600 "$WORK/etc/psk"
    install -d -m 500 -o 61934 -g 61934 "$WORK/credentials"
    install -m 400 -o 61934 -g 61934 "$WORK/etc/psk" "$WORK/credentials/psk"
    rc=0; as_transient_user "$WORK/credentials/psk" || rc=$?
    # 124: still running (retrying the absent broker), the key taken.
    [[ $rc -eq 124 ]] || { echo "check-service-files: the credential's key was refused (exit $rc)" >&2; exit 1; }
    rc=0; as_transient_user "$WORK/etc/psk" || rc=$?
    [[ $rc -eq 2 ]] || { echo "check-service-files: a root-owned key was not refused (exit $rc)" >&2; exit 1; }
    transient="; the transient user reads the credential"
else
    transient="; the transient user's read skipped (not root)"
fi
echo "check-service-files: systemd unit verified; ${exposure#→ }; $secrets key file(s) as credentials$transient"
