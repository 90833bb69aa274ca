#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 20) from its seed corpus, with
# the nightly pinned in cross/nightly. Needs cargo-fuzz
# (cargo install --locked cargo-fuzz). Exits non-zero on a crash; the
# crashing input is left in target/fuzz/artifacts/TARGET/.
#
# The checkout is left as it was: cargo-fuzz runs on a copy of this crate in
# target/fuzz/ (two levels below the root, like test/fuzz, so that its
# relative paths to the product still hold), seeded with the committed
# Cargo.lock; cargo may update the copy's lock when the product's
# dependencies change, and the script then says how to refresh the
# committed one. New corpus inputs go to a temporary directory.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SECONDS_EACH=${1:-20}
NIGHTLY=$(tr -d '[:space:]' <cross/nightly)
# Outlives the checkout (CI clones anew): the instrumented build is reused.
TARGET_DIR=${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mqtt-forward/fuzz-target}
CRATE=$ROOT/target/fuzz
mkdir -p "$CRATE"
rm -rf "$CRATE/fuzz_targets"
cp test/fuzz/Cargo.toml test/fuzz/Cargo.lock "$CRATE/"
cp -r test/fuzz/fuzz_targets "$CRATE/"
for target in frame_decode session mqtt_read; do
    echo "== fuzz $target (${SECONDS_EACH} s)"
    # A private copy of the corpus: new inputs are not written into the
    # committed seeds.
    work=$(mktemp -d)
    cp -r "test/fuzz/corpus/$target/." "$work/"
    cargo "+$NIGHTLY" fuzz run --fuzz-dir "$CRATE" --target-dir "$TARGET_DIR" "$target" "$work" -- \
        -max_total_time="$SECONDS_EACH" -max_len=70000 -print_final_stats=1 2>&1 |
        grep -E '^(#[0-9]+.*(DONE|INITED)|==[0-9]+==|stat::number_of_executed_units|SUMMARY|thread .* panicked)' || true
    status=${PIPESTATUS[0]}
    rm -rf "$work"
    if [ "$status" -ne 0 ]; then
        echo "test/fuzz/run.sh: $target failed (exit $status): see target/fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
if ! cmp -s "$CRATE/Cargo.lock" test/fuzz/Cargo.lock; then
    echo "test/fuzz/run.sh: note: test/fuzz/Cargo.lock is out of date (the product's dependencies changed);" \
        "refresh it with: cp target/fuzz/Cargo.lock test/fuzz/Cargo.lock" >&2
fi
