#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 20) from its seed corpus, with
# the nightly pinned in cross/nightly. Needs cargo-fuzz
# (cargo install --locked cargo-fuzz). Exits non-zero on a crash; the
# crashing input is left in test/fuzz/artifacts/TARGET/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SECONDS_EACH=${1:-20}
NIGHTLY=$(tr -d '[:space:]' <cross/nightly)
# Outlives the checkout (CI clones anew): the instrumented build is reused.
TARGET_DIR=${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mqtt-forward/fuzz-target}
for target in frame_decode session; do
    echo "== fuzz $target (${SECONDS_EACH} s)"
    # A private copy of the corpus: new inputs are not written into the
    # committed seeds.
    work=$(mktemp -d)
    cp -r "test/fuzz/corpus/$target/." "$work/"
    cargo "+$NIGHTLY" fuzz run --fuzz-dir test/fuzz --target-dir "$TARGET_DIR" "$target" "$work" -- \
        -max_total_time="$SECONDS_EACH" -max_len=70000 -print_final_stats=1 2>&1 |
        grep -E '^(#[0-9]+.*(DONE|INITED)|==[0-9]+==|stat::number_of_executed_units|SUMMARY|thread .* panicked)' || true
    status=${PIPESTATUS[0]}
    rm -rf "$work"
    if [ "$status" -ne 0 ]; then
        echo "test/fuzz/run.sh: $target failed (exit $status): see test/fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
