#!/usr/bin/env bash
# Runs the emulated end-to-end tests (test/emulated.rs): cross-built
# binaries under qemu-user as server side (and once as client side) against
# a real mosquitto on loopback, with the native binary on the other end.
#
# Usage: cross/test-emulated.sh [ENTRY...]
#
# ENTRY is TARGET (the full feature set, dist/mqtt-forward-TARGET) or
# router:TARGET (dist/mqtt-forward-router-TARGET); default:
#   mips-unknown-linux-musl router:mips-unknown-linux-musl
#   armv7-unknown-linux-musleabihf
# Binaries missing from dist/ are built with cross/build.sh first. Needs
# qemu-user-static (apt) and mosquitto.

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DIST=${DIST:-$ROOT/dist}

entries=("$@")
((${#entries[@]})) || entries=(mips-unknown-linux-musl router:mips-unknown-linux-musl
    armv7-unknown-linux-musleabihf)

pairs=()
for entry in "${entries[@]}"; do
    case $entry in
    router:*) target=${entry#router:}; set=router; file=$DIST/mqtt-forward-router-$target ;;
    *) target=$entry; set=full; file=$DIST/mqtt-forward-$target ;;
    esac
    if [[ ! -f $file ]]; then
        bash cross/build.sh --set "$set" "$target"
    fi
    pairs+=("$target=$file")
done

for tool in qemu-mips-static qemu-arm-static; do
    command -v "$tool" >/dev/null ||
        { echo "cross/test-emulated.sh: $tool is missing: apt-get install qemu-user-static" >&2; exit 1; }
done

echo "== emulated tests: ${pairs[*]}"
MQTT_FORWARD_EMULATED="${pairs[*]}" cargo test --test emulated -- --ignored --nocapture --test-threads 1
