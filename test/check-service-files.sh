#!/usr/bin/env bash
# Checks the service files in cross/: the OpenWrt init script against
# sample UCI values (test/check-openwrt-init.sh), and the systemd template
# unit with `systemd-analyze verify` (syntax, directives, the binary) and
# `systemd-analyze security --offline` (the hardening, which must keep the
# exposure at or below 2.0 of 10).
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
echo "check-service-files: systemd unit verified; ${exposure#→ }"
