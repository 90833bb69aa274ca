#!/usr/bin/env bash
# Builds the shipped static binaries for routers and desktops, size-tuned,
# into dist/, and checks them against the size budgets (cross/budgets).
#
# Usage: cross/build.sh [--set full|router|both] [--no-budget] [TARGET...]
#
# TARGET is one of the Rust target triples below (default: all of them):
#   x86_64-unknown-linux-musl        desktops, servers, x86 routers
#   aarch64-unknown-linux-musl       Raspberry Pi 3/4/5 (64-bit OS), ARMv8 routers
#   armv7-unknown-linux-musleabihf   Raspberry Pi 2/3 (32-bit OS), ARMv7 routers
#   mips-unknown-linux-musl          big-endian MIPS routers (ath79, lantiq)
#   mipsel-unknown-linux-musl        little-endian MIPS routers (ramips, mt7621)
# --set picks the feature set: full (the default features), router
# (`--no-default-features --features router`, see Cargo.toml) or both
# (default: full, plus router for the MIPS targets).
#
# Every target is built with the nightly pinned in cross/nightly (so that a
# later nightly cannot change the result silently), -Zbuild-std with
# optimize_for_size, panic=immediate-abort, no unwind tables and a static
# non-PIE executable; the per-target flags that correctness needs are in
# .cargo/config.toml. Linking uses zig (cargo-zigbuild), which needs no
# cross toolchain. On MIPS the .pdr section (procedure descriptors, ~150 KB
# that strip leaves) is removed with objcopy.
#
# Needs: rustup, `pip install ziglang`, `cargo install --locked
# cargo-zigbuild`, and for MIPS an objcopy that knows MIPS
# (binutils-mips-linux-gnu on Debian, or llvm-objcopy). Missing rustup
# pieces (the pinned nightly, rust-src) are installed. With
# CROSS_BUILDER=cross, `cross build` (docker images with gcc cross
# toolchains, see Cross.toml) replaces `cargo zigbuild`, with the same
# flags: the release workflow (.github/workflows/release.yml) builds so.
#
# Writes dist/mqtt-forward-TARGET (full set) and
# dist/mqtt-forward-router-TARGET, dist/SHA256SUMS and dist/SIZES (target,
# set, bytes, budget), and prints the table (DIST names another directory
# than dist/). Also writes target/cross-sizes.txt (CROSS_SIZES_FILE names
# another file): one line "TARGET SET BYTES" per binary this run built, for
# cross/size-table.sh, which checks or rewrites the size table of
# docs/router-builds.rst. Exits 1 if a build fails or a binary exceeds its
# budget (unless --no-budget).

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ALL_TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl
    armv7-unknown-linux-musleabihf mips-unknown-linux-musl mipsel-unknown-linux-musl)
NIGHTLY=$(tr -d '[:space:]' <cross/nightly)
DIST=${DIST:-$ROOT/dist}
# A target directory of its own: the nightly build-std artefacts would
# otherwise evict the stable ones of the test build.
TARGET_DIR=${CROSS_TARGET_DIR:-$ROOT/target/cross}
# What this run built, machine-readable (never in the tracked tree).
SIZES_FILE=${CROSS_SIZES_FILE:-$ROOT/target/cross-sizes.txt}

BUILDER=${CROSS_BUILDER:-zigbuild}
SET=default
BUDGET=1
targets=()
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while (($#)); do
    case $1 in
    --set) SET=${2:?--set needs full, router or both}; shift ;;
    --no-budget) BUDGET=0 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "cross/build.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
    esac
    shift
done
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    case " ${ALL_TARGETS[*]} " in
    *" $t "*) ;;
    *) echo "cross/build.sh: unknown target $t (one of: ${ALL_TARGETS[*]})" >&2; exit 2 ;;
    esac
done
case $SET in default | full | router | both) ;; *)
    echo "cross/build.sh: --set must be full, router or both, not $SET" >&2; exit 2 ;;
esac

# --- tools -------------------------------------------------------------------
need() { echo "cross/build.sh: $1 is missing: $2" >&2; exit 1; }
command -v rustup >/dev/null || need rustup "install it from rustup.rs"
case $BUILDER in
zigbuild)
    command -v cargo-zigbuild >/dev/null || need cargo-zigbuild "cargo install --locked cargo-zigbuild"
    if ! command -v zig >/dev/null && ! python3 -c 'import ziglang' 2>/dev/null; then
        need zig "pip install ziglang"
    fi
    build_cmd=(cargo "+$NIGHTLY" zigbuild)
    ;;
cross)
    command -v cross >/dev/null || need cross "cargo install --locked cross"
    build_cmd=(cross "+$NIGHTLY" build)
    ;;
*) echo "cross/build.sh: CROSS_BUILDER must be zigbuild or cross, not $BUILDER" >&2; exit 2 ;;
esac
if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$NIGHTLY" --profile minimal
fi
rustup component add --toolchain "$NIGHTLY" rust-src >/dev/null 2>&1

objcopy_for_mips() {
    local tool
    for tool in mips-linux-gnu-objcopy llvm-objcopy \
        "$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-objcopy"; do
        if command -v "$tool" >/dev/null 2>&1; then echo "$tool"; return; fi
    done
    need "an objcopy for MIPS" "apt-get install binutils-mips-linux-gnu"
}

# --- build -------------------------------------------------------------------
# Size settings (measured on x86_64 when they were chosen: stable 1,914,712
# bytes; build-std 1,840,944; + optimize_for_size 1,646,032; +
# immediate-abort 1,437,104; + static non-PIE, no unwind tables 1,235,824;
# docs/router-builds.rst has the whole story).
SIZE_FLAGS='"-Zunstable-options", "-Cpanic=immediate-abort", "-Cforce-unwind-tables=no", "-Crelocation-model=static"'
# The router set also compiles Debug formatting to nothing: 57 KB less on
# mips than full Debug (shallow, a type or variant name only, saved 28 of
# them). Our own messages are words, never {:?} (src/shell/words.rs); a
# library error whose Display uses {:?} loses those details there.
ROUTER_FLAGS='"-Zfmt-debug=none"'
# The C code (ring) without unwind tables: nothing unwinds with
# panic=immediate-abort (measured on mips: 3.4 KB smaller). cc-rs reads
# TARGET_CFLAGS for target builds only, not for build scripts.
export TARGET_CFLAGS="${TARGET_CFLAGS:+$TARGET_CFLAGS }-fno-asynchronous-unwind-tables -fno-unwind-tables"
# zig (or cross's gcc) links its own musl and C runtime objects; rustc's
# self-contained copies exist only where rustup ships a prebuilt std (without
# this, armv7 fails to link: "failed to open object crt1.o").
LINK_FLAGS='"-Clink-self-contained=no"'

# budget TARGET SET: the byte budget from cross/budgets, or "-".
budget() {
    awk -v t="$1" -v s="$2" '$1 == t && $2 == s { print $3; found = 1 } END { if (!found) print "-" }' \
        cross/budgets
}

mkdir -p "$DIST" "$(dirname "$SIZES_FILE")"
: >"$SIZES_FILE"
failed=0
build() { # build TARGET SET
    local target=$1 set=$2 features=() name=mqtt-forward flags="$SIZE_FLAGS, $LINK_FLAGS"
    if [[ $set == router ]]; then
        features=(--no-default-features --features router)
        name=mqtt-forward-router
        flags="$flags, $ROUTER_FLAGS"
    fi
    echo "== $target ($set)"
    # The --config array is merged with .cargo/config.toml's flags for the target.
    if ! "${build_cmd[@]}" --release --locked --target "$target" \
        --target-dir "$TARGET_DIR/$set" "${features[@]}" \
        -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
        --config "target.$target.rustflags = [$flags]"; then
        echo "cross/build.sh: build of $target ($set) failed" >&2
        failed=1
        return
    fi
    local out="$DIST/$name-$target"
    cp "$TARGET_DIR/$set/$target/release/mqtt-forward" "$out"
    if [[ $target == mips* ]]; then
        "$(objcopy_for_mips)" --remove-section=.pdr "$out"
    fi
    echo "$target $set $(stat -c %s "$out")" >>"$SIZES_FILE"
}

sets_for() { # sets_for TARGET
    case $SET in
    both) echo full router ;;
    default) if [[ $1 == mips* ]]; then echo full router; else echo full; fi ;;
    *) echo "$SET" ;;
    esac
}

for target in "${targets[@]}"; do
    for set in $(sets_for "$target"); do
        build "$target" "$set"
    done
done

# --- report --------------------------------------------------------------------
# SIZES lists every binary in dist/ (earlier runs' too), so that one file
# describes the directory; the budget check covers what this run built.
(
    cd "$DIST"
    rm -f SHA256SUMS SIZES
    for f in mqtt-forward-*; do
        [[ -f $f ]] || continue
        sha256sum "$f" >>SHA256SUMS
    done
)
over=0
printf '%-32s %-7s %10s %10s  %s\n' target set bytes budget "" | tee "$DIST/SIZES"
for f in "$DIST"/mqtt-forward-*; do
    [[ -f $f ]] || continue
    base=${f##*/}
    case $base in
    mqtt-forward-router-*) set=router; target=${base#mqtt-forward-router-} ;;
    *) set=full; target=${base#mqtt-forward-} ;;
    esac
    bytes=$(stat -c %s "$f")
    limit=$(budget "$target" "$set")
    verdict=""
    if [[ $limit != - ]] && ((bytes > limit)); then
        verdict="OVER BUDGET by $((bytes - limit)) bytes"
        for built in "${targets[@]}"; do
            [[ $built == "$target" ]] && over=1
        done
    fi
    printf '%-32s %-7s %10s %10s  %s\n' "$target" "$set" "$bytes" "$limit" "$verdict" | tee -a "$DIST/SIZES"
done
if ((failed)); then
    exit 1
fi
if ((over && BUDGET)); then
    echo "cross/build.sh: a binary exceeds its size budget (cross/budgets)" >&2
    exit 1
fi
