#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs when missing
# (mosquitto, shellcheck, openssl, OpenSSH, musl-tools, qemu-user-static,
# MIPS binutils, busybox and systemd with apt-get; rustfmt, clippy and the
# musl target with rustup, the pinned nightly and rust-src through
# cross/build.sh; zig and docutils with pip; cargo-zigbuild and cargo-fuzz
# with cargo; aedes with npm),
# then: formatting, lints (both feature sets, shell scripts, README.rst and
# docs/*.rst),
# unit + simulator + integration tests (TLS, real ssh/scp), the router
# feature set's unit tests, the start-all/teardown scripts in both modes, the
# service files, a simulator soak, the static musl release build with its
# size, the cross builds with their size budgets (x86_64, mips full and
# router, armv7) and the size table of docs/router-builds.rst against them,
# the emulated end-to-end tests under qemu-user, a short
# fuzzing run of the frame decoder and the session (test/fuzz), and a quick
# benchmark run (figures only; targets are judged from them).
# A run leaves the checkout as it was: what it builds or writes goes to
# target/ (or the caches below, or temporary directories).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_missing=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || apt_missing+=(mosquitto)
command -v shellcheck >/dev/null 2>&1 || apt_missing+=(shellcheck)
command -v openssl >/dev/null 2>&1 || apt_missing+=(openssl)
[ -x /usr/sbin/sshd ] || apt_missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || apt_missing+=(openssh-client)
# A musl C compiler for ring (TLS) in the static build.
command -v musl-gcc >/dev/null 2>&1 || apt_missing+=(musl-tools)
# The emulated tests and the MIPS builds (objcopy removes the .pdr section).
command -v qemu-mips-static >/dev/null 2>&1 || apt_missing+=(qemu-user-static)
command -v mips-linux-gnu-objcopy >/dev/null 2>&1 || apt_missing+=(binutils-mips-linux-gnu)
# The service files: busybox ash runs the OpenWrt init script, systemd-analyze
# checks the unit.
command -v busybox >/dev/null 2>&1 || apt_missing+=(busybox)
command -v systemd-analyze >/dev/null 2>&1 || apt_missing+=(systemd)
# node runs aedes, the second broker (the machine image has Node.js 20).
command -v node >/dev/null 2>&1 || apt_missing+=(nodejs npm)
# Redis joins two aedes nodes into a cluster (test/failover.rs); tinyproxy
# is the HTTP CONNECT proxy of test/proxy.rs.
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || apt_missing+=(tinyproxy)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "== installing ${apt_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  rustup target add x86_64-unknown-linux-musl >/dev/null
fi
# Cross builds: zig as the C compiler and linker, cargo-zigbuild to use it.
# cross/build.sh installs the pinned nightly and rust-src itself.
if ! command -v zig >/dev/null 2>&1 && ! python3 -c 'import ziglang' 2>/dev/null; then
  echo "== installing ziglang (pip)"
  python3 -m pip install -q ziglang
fi
if ! python3 -c 'import docutils' 2>/dev/null; then
  echo "== installing docutils (pip)"
  python3 -m pip install -q docutils
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install -q --locked cargo-fuzz
fi
if ! command -v cargo-zigbuild >/dev/null 2>&1; then
  echo "== installing cargo-zigbuild"
  cargo install -q --locked cargo-zigbuild
fi
# aedes (npm), the second broker implementation of test/brokers.rs; its
# Redis emitter and persistence make a two-node cluster (test/failover.rs);
# ws serves it over WebSockets (test/websocket.rs).
export MQTT_FORWARD_AEDES_DIR=${MQTT_FORWARD_AEDES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mqtt-forward/aedes}
npm_missing=()
for module in aedes@1 mqemitter-redis@7 aedes-persistence-redis@11 ws@8; do
  [ -d "$MQTT_FORWARD_AEDES_DIR/node_modules/${module%@*}" ] || npm_missing+=("$module")
done
if [ ${#npm_missing[@]} -gt 0 ]; then
  echo "== installing ${npm_missing[*]} (npm)"
  mkdir -p "$MQTT_FORWARD_AEDES_DIR"
  npm install --prefix "$MQTT_FORWARD_AEDES_DIR" --no-audit --no-fund --silent "${npm_missing[@]}"
fi
# The cross builds' target directory outlives the checkout (CI clones anew
# each time): the pinned nightly's std and the dependencies are built once
# per machine.
export CROSS_TARGET_DIR=${CROSS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mqtt-forward/cross-target}
# The cross-built binaries (cross/build.sh, cross/test-emulated.sh) go to
# target/dist, not dist/: a test run neither leaves files outside target/
# nor mixes with release binaries in dist/. What the cross builds measured
# goes to target/cross-sizes.txt for the size-table check.
export DIST=${DIST:-$PWD/target/dist}
export CROSS_SIZES_FILE=${CROSS_SIZES_FILE:-$PWD/target/cross-sizes.txt}

# Every step runs, even after a failure, so that one run reports them all;
# the last line sums them up, and the exit status is 1 if any failed.
STARTED=$SECONDS
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
steps_passed=0
steps_failed=()
tests_passed=0
tests_failed=0
# step NAME COMMAND...: runs COMMAND, its output shown and kept to count the
# cargo tests in it.
step() {
  local name=$1 rc=0
  shift
  echo "== $name"
  "$@" 2>&1 | tee "$LOG" || rc=${PIPESTATUS[0]}
  local counts
  counts=$(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$LOG" |
    awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }')
  tests_passed=$((tests_passed + ${counts% *}))
  tests_failed=$((tests_failed + ${counts#* }))
  if ((rc == 0)); then
    steps_passed=$((steps_passed + 1))
  else
    steps_failed+=("$name")
    echo "== FAILED: $name (exit status $rc)"
  fi
}

static_build() {
  cargo build --release --target x86_64-unknown-linux-musl
  local bin=target/x86_64-unknown-linux-musl/release/mqtt-forward
  echo "binary: $bin, $(stat -c %s "$bin") bytes"
  if ldd "$bin" 2>&1 | grep -q "=>"; then
    echo "error: $bin is not statically linked" >&2
    return 1
  fi
  "$bin" --version
}

step "format" cargo fmt --check
step "lints" cargo clippy --all-targets -- -D warnings
step "lints (router feature set)" cargo clippy --all-targets --no-default-features --features router -- -D warnings
step "shellcheck" shellcheck -x test/*.sh .ci/run cross/*.sh cross/openwrt/mqtt-forward.init
step "README.rst" python3 -m docutils --halt=warning README.rst /dev/null
docs_rst() { # every docs/*.rst through docutils, one line per file
  local f rc=0
  for f in docs/*.rst; do
    echo "$f"
    python3 -m docutils --halt=warning "$f" /dev/null || rc=1
  done
  return "$rc"
}
step "docs/*.rst" docs_rst
step "tests" cargo test
step "unit tests (router feature set)" cargo test --no-default-features --features router --lib
step "start-all/teardown scripts" bash test/check-start-all.sh
step "quick-start demo (test/demo.sh)" bash test/check-demo.sh
step "service files (OpenWrt init script, systemd unit)" bash test/check-service-files.sh
step "simulator soak (20x seeds, release)" env SIM_SCALE=20 cargo test --release --lib reliable::
step "static musl release build" static_build
step "cross builds and size budgets" \
  bash cross/build.sh x86_64-unknown-linux-musl mips-unknown-linux-musl armv7-unknown-linux-musleabihf
step "size table (docs/router-builds.rst within 3 % of these builds)" \
  bash cross/size-table.sh --check --tolerance 3 "$CROSS_SIZES_FILE"
step "emulated end-to-end tests (qemu-user)" bash cross/test-emulated.sh
step "fuzzing (cargo-fuzz, 20 s per target)" bash test/fuzz/run.sh 20
# Figures, not pass/fail: the benchmark fails only if it cannot run.
step "quick benchmark (figures)" bash test/bench.sh --quick

elapsed=$((SECONDS - STARTED))
echo
printf 'run-tests: %s tests passed, %s failed; %s of %s steps passed%s (%d min %02d s)\n' \
  "$tests_passed" "$tests_failed" "$steps_passed" "$((steps_passed + ${#steps_failed[@]}))" \
  "$( ((${#steps_failed[@]})) && printf '; FAILED: %s' "$(IFS=,; echo "${steps_failed[*]}")")" \
  $((elapsed / 60)) $((elapsed % 60))
((${#steps_failed[@]} == 0))
