#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs when missing
# (mosquitto, shellcheck, openssl, OpenSSH and musl-tools with apt-get;
# rustfmt, clippy and the musl target with rustup), then: formatting, lints,
# unit + simulator + integration tests (TLS, real ssh/scp), the
# start-all/teardown scripts in both modes, a simulator soak, the static
# musl release build with its size, and a quick benchmark run (figures only;
# targets are judged from them).
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
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "== installing ${apt_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  rustup target add x86_64-unknown-linux-musl >/dev/null
fi

echo "== format";      cargo fmt --check
echo "== lints";       cargo clippy --all-targets -- -D warnings
echo "== shellcheck";  shellcheck -x test/*.sh .ci/run
echo "== tests";       cargo test
echo "== start-all/teardown scripts"; bash test/check-start-all.sh
echo "== simulator soak (20x seeds, release)"
SIM_SCALE=20 cargo test --release --bin mqtt-forward reliable::

echo "== static musl release build"
cargo build --release --target x86_64-unknown-linux-musl
bin=target/x86_64-unknown-linux-musl/release/mqtt-forward
size=$(stat -c %s "$bin")
echo "binary: $bin, $size bytes"
if ldd "$bin" 2>&1 | grep -q "=>"; then
  echo "error: $bin is not statically linked" >&2
  exit 1
fi
"$bin" --version

echo "== quick benchmark"
bash test/bench.sh --quick
