#!/usr/bin/env bash
# Benchmark of mqtt-forward against the broker's own floor.
#
# Usage: test/bench.sh [--quick] [--other PATH] [--qos "0 1"] [--keep-logs]
#
# Builds the release binary and the load generator (test/loadgen.rs), starts
# a private mosquitto on a free loopback port, a target server (echo / sink /
# source), one server side and one client side of mqtt-forward, and for each
# QoS measures: session setup, 64-byte echo round trip, bulk echo (1 session),
# one-way up and down, and echo with 16 parallel sessions; next to them the
# broker floor measured with raw MQTT clients in the same run. Prints a table
# with the ratios against the floor, the forwarders' memory, threads and CPU
# time, and what their logs say. Then two impaired links, both sides
# through the fault proxy (test/faultproxy.rs): a WAN with 25 ms per broker
# hop, and 1 % loss each way, with their floors; and slow shared links
# (1 MiB/s and 256 KiB/s, 25 ms per hop): a 64-byte round trip idle and
# beside bulk transfers, and the bulk share of the link.
#
# Options (each also as an environment variable):
#   --quick             BENCH_QUICK=1   smaller sizes, well under a minute
#   --other PATH        BENCH_OTHER     a second forwarder with the same CLI
#                                       (e.g. a C build of the original), run
#                                       through the same suite, side by side
#   --qos "LEVELS"      BENCH_QOS       QoS levels to run (default "0 1")
#   --keep-logs         BENCH_KEEP_LOGS=1  keep the work directory and logs
#                       BENCH_ARGS      extra flags for the main binary only
#                                       (e.g. "--window 128 --frame-size 32768")
#                       BENCH_BROKER_NODELAY=0  leave out "set_tcp_nodelay
#                                       true" (the recommended broker setting,
#                                       on by default; see README.rst,
#                                       Broker configuration)
#                       BENCH_FLOOR_SIZE  message size of the floor's
#                                       throughput test (default 32792)
#                       BENCH_REPS      runs of each throughput test (default
#                                       3, 1 with --quick); the table shows
#                                       the median and the range
#                       MOSQUITTO       broker binary (default /usr/sbin/mosquitto)
#
# "cores" in the CPU table is the CPU time of everything involved (both
# forwarders, broker, target server, load generator) over the wall time:
# near the machine's core count, a test is CPU-bound here.
#
# Throughputs are MB/s (10^6 bytes/s) of payload, an echoed byte counted once.
# Every raw result line of the load generator is printed as it comes.

set -euo pipefail

START_SECS=$SECONDS
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

QUICK=${BENCH_QUICK:-0}
OTHER=${BENCH_OTHER:-}
QOS_LEVELS=${BENCH_QOS:-"0 1"}
KEEP_LOGS=${BENCH_KEEP_LOGS:-0}
MAIN_ARGS=${BENCH_ARGS:-}
BROKER_NODELAY=${BENCH_BROKER_NODELAY:-1}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --other)
        OTHER=${2:?--other needs a path}
        shift
        ;;
    --other=*) OTHER=${1#--other=} ;;
    --qos)
        QOS_LEVELS=${2:?--qos needs levels}
        shift
        ;;
    --qos=*) QOS_LEVELS=${1#--qos=} ;;
    --keep-logs) KEEP_LOGS=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "bench.sh: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

MIB=$((1024 * 1024))
if [[ $QUICK == 1 ]]; then
    SETUP_N=30 RTT_N=300 MAX_SECS=3
    BULK_BYTES=$((16 * MIB)) ONEWAY_BYTES=$((16 * MIB))
    MULTI_SESSIONS=16 MULTI_BYTES=$((2 * MIB))
    FLOOR_RTT_N=300 FLOOR_TP_N=5000
    STALL=15 REPS=${BENCH_REPS:-1}
else
    SETUP_N=200 RTT_N=2000 MAX_SECS=20
    BULK_BYTES=$((64 * MIB)) ONEWAY_BYTES=$((64 * MIB))
    MULTI_SESSIONS=16 MULTI_BYTES=$((8 * MIB))
    FLOOR_RTT_N=2000 FLOOR_TP_N=10000
    STALL=60 REPS=${BENCH_REPS:-3}
fi
# The floor is measured with the tunnel's own message size: a full frame
# between two instances (default --frame-size 32768 + 24-byte header). Set
# BENCH_FLOOR_SIZE when BENCH_ARGS changes --frame-size.
FLOOR_SIZE=${BENCH_FLOOR_SIZE:-32792}

[[ -x $MOSQUITTO ]] || {
    echo "bench.sh: no broker at $MOSQUITTO (apt-get install mosquitto)" >&2
    exit 1
}
if [[ -n $OTHER && ! -x $OTHER ]]; then
    echo "bench.sh: BENCH_OTHER '$OTHER' is not an executable" >&2
    exit 1
fi

# ------------------------------------------------------------------ cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mfbench.XXXXXX")
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $KEEP_LOGS == 1 ]]; then
        echo "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops one process started here and forgets it.
stop() {
    local pid=$1 keep=() p
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do
        [[ $p == "$pid" ]] || keep+=("$p")
    done
    PIDS=("${keep[@]}")
}

# -------------------------------------------------------------------- build

echo "== building (release) in $ROOT"
BUILD_START=$SECONDS
(cd "$ROOT" && cargo build --release --quiet --bin mqtt-forward --example loadgen --example faultproxy)
BUILD_SECS=$((SECONDS - BUILD_START))
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
TARGET_DIR=${TARGET_DIR:-$ROOT/target}
MAIN=$TARGET_DIR/release/mqtt-forward
# Measure what ships: the static musl build, when its target and a musl C
# compiler (musl-gcc from musl-tools, for ring) are installed.
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl &&
    command -v musl-gcc >/dev/null 2>&1; then
    (cd "$ROOT" && cargo build --release --quiet --bin mqtt-forward --target x86_64-unknown-linux-musl)
    MAIN=$TARGET_DIR/x86_64-unknown-linux-musl/release/mqtt-forward
fi
echo "== forwarder binary: $MAIN"
LOADGEN=$TARGET_DIR/release/examples/loadgen
FAULTPROXY=$TARGET_DIR/release/examples/faultproxy
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------------ helpers

# True once something listens on 127.0.0.1:PORT (read from /proc, so that
# probing the client side does not open a tunnel session).
listening() {
    local hex
    hex=$(printf '%04X' "$1")
    # 127.0.0.1 (this program's default) or any address (the C original).
    grep -qE "^ *[0-9]+: (0100007F|00000000):$hex 00000000:0000 0A " /proc/net/tcp
}

wait_listening() { # port what pid
    local i
    for ((i = 0; i < 100; i++)); do
        listening "$1" && return 0
        kill -0 "$3" 2>/dev/null || {
            echo "bench.sh: $2 exited before listening on port $1" >&2
            return 1
        }
        sleep 0.05
    done
    echo "bench.sh: $2 is not listening on port $1 after 5 s" >&2
    return 1
}

# utime+stime of PID in clock ticks (0 if it is gone).
cpu_ticks() {
    local stat rest
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
        echo 0
        return
    }
    rest=${stat##*) }
    # shellcheck disable=SC2086 # split the fields on purpose
    set -- $rest
    echo $((${12} + ${13}))
}

# CPU time of this shell's reaped children (the load generator runs), in
# clock ticks, into CHILD_TICKS. No subshell: `times` must see this shell.
CHILD_TICKS=0
children_ticks() {
    times >"$WORK/times"
    CHILD_TICKS=$(awk -v hz="$CLK_TCK" 'NR == 2 {
        split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%d", ((u[1] + s[1]) * 60 + u[2] + s[2]) * hz + 0.5 }' "$WORK/times")
}

secs() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

# "VmRSS VmHWM Threads" of PID (KiB, KiB, count).
mem_threads() {
    awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^Threads:/ { t = $2 }
         END { print (r ? r : "-"), (h ? h : "-"), (t ? t : "-") }' "/proc/$1/status" 2>/dev/null ||
        echo "- - -"
}

declare -A R=()

# Stores the key=value pairs of a result line under prefix "$1|".
store() {
    local prefix=$1 kv
    for kv in $2; do
        [[ $kv == *=* ]] && R["$prefix|${kv%%=*}"]=${kv#*=}
    done
    return 0
}

get() { echo "${R[$1]:--}"; }

# Runs the load generator, prints and stores its result line; records the
# CPU time each watched process used meanwhile. Never fails the script.
# Usage: measure PREFIX loadgen-args...
WATCH_NAMES=() WATCH_PIDS=()
measure() {
    local prefix=$1 out rc=0 i t0 l0
    shift
    local before=()
    for i in "${!WATCH_PIDS[@]}"; do before[i]=$(cpu_ticks "${WATCH_PIDS[i]}"); done
    children_ticks
    l0=$CHILD_TICKS
    t0=$EPOCHREALTIME
    out=$("$LOADGEN" "$@" 2>>"$WORK/loadgen.err") || rc=$?
    R["$prefix|wall_ms"]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
    children_ticks
    R["$prefix|cpu_loadgen"]=$((CHILD_TICKS - l0))
    [[ -n $out ]] || out="mode=$1 error=no_output_exit_$rc"
    for i in "${!WATCH_PIDS[@]}"; do
        R["$prefix|cpu_${WATCH_NAMES[i]}"]=$(($(cpu_ticks "${WATCH_PIDS[i]}") - before[i]))
    done
    printf '  %-22s %s\n' "[$prefix]" "$out"
    store "$prefix" "$out"
}

# Runs a throughput measurement REPS times; stores the median MB/s as
# "PREFIX|mbps", the range as "PREFIX|range", the first error if any, and
# the CPU time of all the runs together.
# AFTER_FIRST, if set, names a command run right after the first run.
# Usage: measure_reps PREFIX loadgen-args...
AFTER_FIRST=""
measure_reps() {
    local prefix=$1 i name vals=()
    shift
    for ((i = 1; i <= REPS; i++)); do
        measure "$prefix#$i" "$@"
        if [[ $(get "$prefix#$i|error") != - && $(get "$prefix|error") == - ]]; then
            R["$prefix|error"]=$(get "$prefix#$i|error")
        fi
        ((i == 1)) && [[ -n $AFTER_FIRST ]] && "$AFTER_FIRST"
        [[ $(get "$prefix#$i|mbps") != - ]] && vals+=("$(get "$prefix#$i|mbps")")
        [[ $(get "$prefix#$i|lost") != - ]] && R["$prefix|lost"]=$((${R["$prefix|lost"]:-0} + $(get "$prefix#$i|lost")))
        for name in "${WATCH_NAMES[@]}" loadgen; do
            R["$prefix|cpu_$name"]=$((${R["$prefix|cpu_$name"]:-0} + ${R["$prefix#$i|cpu_$name"]:-0}))
        done
        R["$prefix|wall_ms"]=$((${R["$prefix|wall_ms"]:-0} + ${R["$prefix#$i|wall_ms"]:-0}))
    done
    ((${#vals[@]})) || return 0
    R["$prefix|mbps"]=$(printf '%s\n' "${vals[@]}" | sort -g | awk '{ v[NR] = $1 }
        END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    R["$prefix|range"]=$(printf '%s\n' "${vals[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
        END { if (NR > 1) printf "%.0f-%.0f", lo, hi }')
}

# ------------------------------------------------------------------- broker

BROKER_PORT=$("$LOADGEN" free-port)
{
    echo "listener $BROKER_PORT 127.0.0.1"
    echo "allow_anonymous true"
    echo "max_queued_messages 10000"
    [[ $BROKER_NODELAY == 1 ]] && echo "set_tcp_nodelay true"
    true
} >"$WORK/mosquitto.conf"
# A private copy, like the forwarders below (see there).
cp "$MOSQUITTO" "$WORK/broker"
"$WORK/broker" -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
BROKER_PID=$!
PIDS+=("$BROKER_PID")
wait_listening "$BROKER_PORT" mosquitto "$BROKER_PID"

"$LOADGEN" target --port 0 >"$WORK/target.out" 2>"$WORK/target.err" &
TARGET_PID=$!
PIDS+=("$TARGET_PID")
for ((i = 0; i < 100; i++)); do
    TARGET_PORT=$(sed -n 's/^mode=target port=//p' "$WORK/target.out")
    [[ -n $TARGET_PORT ]] && break
    sleep 0.05
done
[[ -n ${TARGET_PORT:-} ]] || {
    echo "bench.sh: target server did not start" >&2
    exit 1
}

# The forwarders run from private copies: a rebuild during the run cannot
# swap the binary under the suite, and a "pkill mqtt-forward" run by
# someone else on the same host does not stop them.
IMPLS=(main)
cp "$MAIN" "$WORK/fwd-main"
declare -A BIN=([main]=$WORK/fwd-main)
if [[ -n $OTHER ]]; then
    IMPLS+=(other)
    cp "$OTHER" "$WORK/fwd-other"
    BIN[other]=$WORK/fwd-other
fi

echo "== broker: $("$MOSQUITTO" -h 2>&1 | head -n1 | sed 's/ is an MQTT.*//') on 127.0.0.1:$BROKER_PORT$([[ $BROKER_NODELAY == 1 ]] && echo ' (set_tcp_nodelay true)'), target on port $TARGET_PORT"
REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
echo "== main:  $MAIN ($(stat -c %s "$MAIN") bytes, source $REV)${MAIN_ARGS:+ args: $MAIN_ARGS}"
[[ -n $OTHER ]] && echo "== other: $OTHER ($(stat -c %s "$OTHER") bytes)"
echo "== throughput tests run $REPS time(s) each: median (min-max) shown"
echo "== sizes: setup ${SETUP_N}x, rtt ${RTT_N}x64 B (each capped at ${MAX_SECS} s), bulk echo $((BULK_BYTES / MIB)) MiB," \
    "one-way $((ONEWAY_BYTES / MIB)) MiB, ${MULTI_SESSIONS}x$((MULTI_BYTES / MIB)) MiB echo," \
    "floor ${FLOOR_RTT_N}x64 B rtt and ${FLOOR_TP_N}x${FLOOR_SIZE} B"

# Other brokers or forwarders on the same host share its CPUs (and may be
# stopped or restarted by whoever started them): say so, figures will vary.
FOREIGN=$(pgrep -c -x mqtt-forward || true)
FOREIGN_BROKERS=$(pgrep -c -x mosquitto || true)
if ((FOREIGN > 0 || FOREIGN_BROKERS > 0)); then
    echo "== WARNING: $FOREIGN mqtt-forward and $FOREIGN_BROKERS mosquitto processes not started by this run are alive; figures may be disturbed"
fi

# -------------------------------------------------------------------- suite

# Runs every tunnel measurement for one implementation at one QoS.
suite() {
    local impl=$1 qos=$2 bin id cp spid cpid extra=()
    local p="$impl|q$qos"
    bin=${BIN[$impl]}
    [[ $impl == main && -n $MAIN_ARGS ]] && read -ra extra <<<"$MAIN_ARGS"
    id="bench-$impl-q$qos-$$"
    cp=$("$LOADGEN" free-port)
    "$bin" -s --mqtt-host 127.0.0.1 --mqtt-port "$BROKER_PORT" --mqtt-qos "$qos" \
        --server-side-id "$id" -p "$TARGET_PORT" "${extra[@]}" \
        >"$WORK/$impl-q$qos-server.log" 2>&1 &
    spid=$!
    PIDS+=("$spid")
    "$bin" --mqtt-host 127.0.0.1 --mqtt-port "$BROKER_PORT" --mqtt-qos "$qos" \
        --server-side-id "$id" -p "$cp" "${extra[@]}" \
        >"$WORK/$impl-q$qos-client.log" 2>&1 &
    cpid=$!
    PIDS+=("$cpid")
    if ! wait_listening "$cp" "$impl client side" "$cpid"; then
        R["$p|failed"]="client side did not start"
        stop "$cpid"
        stop "$spid"
        return 0
    fi
    WATCH_NAMES=(client server broker target)
    WATCH_PIDS=("$cpid" "$spid" "$BROKER_PID" "$TARGET_PID")
    # End-to-end readiness: one echo through the tunnel (retransmitted by
    # the forwarder if the server side was not subscribed yet).
    echo "-- $impl QoS $qos"
    measure "$p|warmup" setup --port "$cp" --count 1 --timeout 15
    sleep 1
    read -r R["$p|rss_idle_client"] R["$p|hwm_idle_client"] R["$p|thr_idle_client"] <<<"$(mem_threads "$cpid")"
    read -r R["$p|rss_idle_server"] R["$p|hwm_idle_server"] R["$p|thr_idle_server"] <<<"$(mem_threads "$spid")"
    local c0 s0 b0 t0=$SECONDS
    c0=$(cpu_ticks "$cpid")
    s0=$(cpu_ticks "$spid")
    b0=$(cpu_ticks "$BROKER_PID")

    measure "$p|setup" setup --port "$cp" --count "$SETUP_N" --max-secs "$MAX_SECS" --timeout "$STALL"
    measure "$p|rtt" rtt --port "$cp" --count "$RTT_N" --size 64 --max-secs "$MAX_SECS" --timeout "$STALL"
    measure_reps "$p|bulk" bulk-echo --port "$cp" --bytes "$BULK_BYTES" --sessions 1 --timeout "$STALL"
    measure_reps "$p|up" one-way --port "$cp" --bytes "$ONEWAY_BYTES" --dir up --timeout "$STALL"
    measure_reps "$p|down" one-way --port "$cp" --bytes "$ONEWAY_BYTES" --dir down --timeout "$STALL"
    # Memory right after the first 16-session run, and after all of them
    # (back to back: sessions of earlier runs may still be lingering).
    snap() {
        read -r R["$p|rss_load_client"] R["$p|hwm_load_client"] R["$p|thr_load_client"] <<<"$(mem_threads "$cpid")"
        read -r R["$p|rss_load_server"] R["$p|hwm_load_server"] R["$p|thr_load_server"] <<<"$(mem_threads "$spid")"
    }
    AFTER_FIRST=snap
    measure_reps "$p|multi" bulk-echo --port "$cp" --bytes "$MULTI_BYTES" --sessions "$MULTI_SESSIONS" --timeout "$STALL"
    AFTER_FIRST=""
    read -r R["$p|rss_end_client"] R["$p|hwm_end_client"] R["$p|thr_end_client"] <<<"$(mem_threads "$cpid")"
    read -r R["$p|rss_end_server"] R["$p|hwm_end_server"] R["$p|thr_end_server"] <<<"$(mem_threads "$spid")"
    R["$p|cpu_client"]=$(($(cpu_ticks "$cpid") - c0))
    R["$p|cpu_server"]=$(($(cpu_ticks "$spid") - s0))
    R["$p|cpu_broker"]=$(($(cpu_ticks "$BROKER_PID") - b0))
    R["$p|wall"]=$((SECONDS - t0))
    local side pid status
    for side in client server; do
        pid=${cpid}
        [[ $side == server ]] && pid=$spid
        if ! kill -0 "$pid" 2>/dev/null; then
            status=0
            wait "$pid" 2>/dev/null || status=$?
            R["$p|died_$side"]="exit status $status"
            ((status > 128)) && R["$p|died_$side"]+=" (signal $((status - 128)))"
        fi
    done
    # Let the last sessions close (FIN handshake, linger) before stopping.
    sleep 1
    stop "$cpid"
    stop "$spid"
    WATCH_PIDS=() WATCH_NAMES=()
}

floor() {
    local qos=$1
    echo "-- broker floor QoS $qos"
    WATCH_NAMES=(broker)
    WATCH_PIDS=("$BROKER_PID")
    measure "floor|q$qos|rtt" mqtt-rtt --port "$BROKER_PORT" --qos "$qos" --count "$FLOOR_RTT_N" --size 64 --timeout "$STALL"
    measure_reps "floor|q$qos|tp" mqtt-throughput --port "$BROKER_PORT" --qos "$qos" --count "$FLOOR_TP_N" --size "$FLOOR_SIZE"
    # Two streams at once: what a bulk echo puts through the broker (every
    # echoed byte crosses it twice, once each way).
    measure_reps "floor|q$qos|tp2" mqtt-throughput --port "$BROKER_PORT" --qos "$qos" --count "$FLOOR_TP_N" --size "$FLOOR_SIZE" --streams 2
    WATCH_PIDS=() WATCH_NAMES=()
}

for qos in $QOS_LEVELS; do
    floor "$qos"
    for impl in "${IMPLS[@]}"; do
        suite "$impl" "$qos"
    done
done

# ------------------------------------------------------------ impaired links

# One-way delay per broker hop of the WAN rows, and their window ceiling.
WAN_DELAY_MS=25
# Starts a fault proxy in front of the broker with FLAGS; prints its port.
start_proxy() {
    local out
    out=$(mktemp "$WORK/proxy.XXXX")
    "$FAULTPROXY" "$BROKER_PORT" "$@" >"$out" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 100); do
        [[ -s $out ]] && { head -n1 "$out"; return 0; }
        sleep 0.05
    done
    echo "fault proxy did not start: $(cat "$out")" >&2
    return 1
}

# start_sides NAME SERVER_MQTT_PORT CLIENT_MQTT_PORT FLAGS...: a server side
# (to the target) and a client side of the main forwarder with FLAGS, each to
# its own broker port, logs in $WORK/NAME-{server,client}.log. Sets SPID,
# CPID and PORT (the client side's); fails when the client never listens.
start_sides() {
    local name=$1 sport=$2 cport=$3 id
    shift 3
    id="bench-$name-$$"
    PORT=$("$LOADGEN" free-port)
    "${BIN[main]}" -s --mqtt-host 127.0.0.1 --mqtt-port "$sport" "$@" \
        --server-side-id "$id" -p "$TARGET_PORT" >"$WORK/$name-server.log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    "${BIN[main]}" --mqtt-host 127.0.0.1 --mqtt-port "$cport" "$@" \
        --server-side-id "$id" -p "$PORT" >"$WORK/$name-client.log" 2>&1 &
    CPID=$!
    PIDS+=("$CPID")
    wait_listening "$PORT" "$name client side" "$CPID"
}

# impaired NAME PROXY-FLAGS...: the main forwarder at QoS 0, both sides
# through their own proxy; a 64-byte echo round trip and a one-way upload.
impaired() {
    local name=$1 sp cp port
    shift
    sp=$(start_proxy "$@" --seed 1) || return 0
    cp=$(start_proxy "$@" --seed 2) || return 0
    if start_sides "$name" "$sp" "$cp" --mqtt-qos 0; then
        port=$PORT
        WATCH_NAMES=(client server)
        WATCH_PIDS=("$CPID" "$SPID")
        echo "-- impaired link: $name ($*)"
        measure "imp|$name|warmup" setup --port "$port" --count 1 --timeout 30
        measure "imp|$name|rtt" rtt --port "$port" --count 20 --size 64 --max-secs "$MAX_SECS" --timeout 60
        if [[ $name == loss20 ]]; then
            measure "imp|$name|echo" bulk-echo --port "$port" --bytes $((8 * MIB)) --sessions 1 --timeout 120
        elif [[ $name == wan ]]; then
            measure "imp|$name|down" one-way --port "$port" --bytes "$WAN_BYTES" --dir down --timeout 120
        else
            measure "imp|$name|up" one-way --port "$port" --bytes "$IMPAIRED_BYTES" --dir up --timeout 120
        fi
    fi
    stop "$CPID"
    stop "$SPID"
}

IMPAIRED_BYTES=$((QUICK ? 4 * MIB : 16 * MIB))
# The WAN: 10 MiB/s each way, a transfer of 4 s (8 s) at that rate; the
# window must grow to the path (100 ms round trip) and hold the link.
WAN_RATE=$((10 * MIB))
WAN_BYTES=$((WAN_RATE * (QUICK ? 4 : 8)))
impaired wan --delay-ms "$WAN_DELAY_MS" --rate "$WAN_RATE"
impaired loss1 --drop 1
impaired loss20 --drop 20

# A long path: 75 ms per broker hop (a 300 ms round trip), no rate cap, one
# session downloading: the second half's rate against what the buffer
# budget allows, its share per round trip.
LONG_BUDGET_MIB=8
long_path() {
    local sp cp
    sp=$(start_proxy --delay-ms 75 --seed 1) || return 0
    cp=$(start_proxy --delay-ms 75 --seed 2) || return 0
    if start_sides long "$sp" "$cp" --mqtt-qos 1 --max-buffer-memory "$LONG_BUDGET_MIB"; then
        echo "-- long path: 75 ms per hop"
        measure "long|warmup" setup --port "$PORT" --count 1 --timeout 30
        measure "long|down" one-way --port "$PORT" --bytes $((QUICK ? 96 * MIB : 256 * MIB)) \
            --dir down --timeout 120
    fi
    stop "$CPID"
    stop "$SPID"
}
long_path

# ------------------------------------------------------------ slow links

# Slow shared links, as a router's: both sides through their own fault
# proxy whose rate is shared by all of the side's connections (one queue per
# direction, as deep as it gets), 25 ms per broker hop. The main forwarder
# at QoS 1: a 64-byte round trip idle, then beside bulk transfers (upload,
# download; one session and four), each sized to last SLOW_SECS at the
# link's rate; the round trip's median and the bulk's share of the link.
SLOW_RATES="1048576 262144"
SLOW_SECS=$((QUICK ? 8 : 15))
slow_link() {
    local rate=$1 sp cp port bulk n
    sp=$(start_proxy --delay-ms "$WAN_DELAY_MS" --rate "$rate" --shared-link 1 --seed 1) || return 0
    cp=$(start_proxy --delay-ms "$WAN_DELAY_MS" --rate "$rate" --shared-link 1 --seed 2) || return 0
    if start_sides "slow-$rate" "$sp" "$cp" --mqtt-qos 1; then
        port=$PORT
        echo "-- slow shared link: $rate bytes/s, $WAN_DELAY_MS ms per hop"
        measure "slow|$rate|warmup" setup --port "$port" --count 1 --timeout 30
        measure "slow|$rate|idle" rtt --port "$port" --count 30 --size 64 --timeout 60
        for bulk in up down; do
            for n in 1 4; do
                measure "slow|$rate|$bulk|$n" loaded-rtt --port "$port" --bulk "$bulk" \
                    --bytes $((rate * SLOW_SECS / n)) --sessions "$n" --timeout 120
            done
        done
    fi
    stop "$CPID"
    stop "$SPID"
}
for rate in $SLOW_RATES; do
    slow_link "$rate"
done

# ------------------------------------------------------------ quotas

# Publishing caps (--mqtt-max-rate, --mqtt-max-bandwidth) on both sides,
# straight to the broker, QoS 1: a one-way upload under a 512 KiB/s and
# 100 publishes/s cap, against the bandwidth cap; and 64-byte round trips
# under a 10 publishes/s cap (a keystroke's echo), against the idle round
# trip without caps plus 200 ms. (test/quotas.rs checks at the broker that
# no second carries more than a cap.)
QUOTA_BW=$((512 * 1024))
# sniff_start NAME / sniff_stop PREFIX: a subscriber of "#" at the broker counts
# every publish of each side between the two; its result line is stored
# under PREFIX (the busiest second of each side, in publishes and bytes).
sniff_start() {
    rm -f "$WORK/sniff.ready" "$WORK/sniff.stop"
    "$LOADGEN" sniff --port "$BROKER_PORT" --ready "$WORK/sniff.ready" --until "$WORK/sniff.stop" \
        --log "$WORK/sniff-$1.log" >"$WORK/sniff.out" 2>>"$WORK/loadgen.err" &
    SNIFF_PID=$!
    PIDS+=("$SNIFF_PID")
    for _ in $(seq 200); do
        [[ -e $WORK/sniff.ready ]] && return 0
        kill -0 "$SNIFF_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "  sniffer did not subscribe: $(cat "$WORK/sniff.out")"
}
sniff_stop() {
    local out
    touch "$WORK/sniff.stop"
    wait "$SNIFF_PID" 2>/dev/null || true
    out=$(cat "$WORK/sniff.out")
    [[ -n $out ]] || out="mode=sniff error=no_output"
    printf '  %-22s %s\n' "[$1]" "$out"
    store "$1" "$out"
}
quota_run() { # NAME FLAGS...: starts both sides with FLAGS, measures
    local name=$1 port
    shift
    if start_sides "quota-$name" "$BROKER_PORT" "$BROKER_PORT" --mqtt-qos 1 "$@"; then
        port=$PORT
        echo "-- publishing caps: $name ($*)"
        measure "quota|$name|warmup" setup --port "$port" --count 1 --timeout 30
        measure "quota|$name|rtt" rtt --port "$port" --count 30 --size 64 --timeout 60
        if [[ $name == rate10 ]]; then
            # Typing beside an upload, and 20 sessions at once, at 10/s.
            measure "quota|$name|loaded" loaded-rtt --port "$port" --bulk up --bytes $((MIB / 2)) \
                --sessions 1 --timeout 60
            measure "quota|$name|one" bulk-echo --port "$port" --bytes 4096 --sessions 1 --timeout 60
            sniff_start "$name"
            measure "quota|$name|many" bulk-echo --port "$port" --bytes 4096 --sessions 20 --timeout 120
            sniff_stop "quota|$name|sniff"
        else
            sniff_start "$name"
            measure "quota|$name|up" one-way --port "$port" --bytes $((QUICK ? 2 * MIB : 4 * MIB)) \
                --dir up --timeout 120
            sniff_stop "quota|$name|sniff"
        fi
    fi
    stop "$CPID"
    stop "$SPID"
}
quota_run bandwidth --mqtt-max-rate 100 --mqtt-max-bandwidth 512k
quota_run rate10 --mqtt-max-rate 10

# ------------------------------------------------------------ with a key

# The main forwarder at QoS 0 with --psk-file on both sides: the cost of
# authenticated encryption, next to the same tests without a key above.
keyed() {
    local port key="$WORK/psk"
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$key")
    if start_sides keyed "$BROKER_PORT" "$BROKER_PORT" --mqtt-qos 0 --psk-file "$key"; then
        port=$PORT
        WATCH_NAMES=(client server broker target)
        WATCH_PIDS=("$CPID" "$SPID" "$BROKER_PID" "$TARGET_PID")
        echo "-- main QoS 0 with --psk-file"
        measure "key|warmup" setup --port "$port" --count 1 --timeout 15
        measure "key|setup" setup --port "$port" --count "$SETUP_N" --max-secs "$MAX_SECS" --timeout "$STALL"
        measure "key|rtt" rtt --port "$port" --count "$RTT_N" --size 64 --max-secs "$MAX_SECS" --timeout "$STALL"
        measure_reps "key|bulk" bulk-echo --port "$port" --bytes "$BULK_BYTES" --sessions 1 --timeout "$STALL"
        measure_reps "key|up" one-way --port "$port" --bytes "$ONEWAY_BYTES" --dir up --timeout "$STALL"
        read -r R["key|rss_client"] _ _ <<<"$(mem_threads "$CPID")"
        read -r R["key|rss_server"] _ _ <<<"$(mem_threads "$SPID")"
    fi
    WATCH_PIDS=() WATCH_NAMES=()
    stop "$CPID"
    stop "$SPID"
}
[[ " $QOS_LEVELS " == *" 0 "* ]] && keyed

# ------------------------------------------------------------------- report

fmt() { # number scale decimals: prints number/scale, or "-"
    awk -v v="$1" -v s="$2" -v d="$3" 'BEGIN {
        if (v == "-" || v == "") print "-"; else printf "%.*f", d, v / s }'
}
ratio() { # a b: a/b to 2 decimals, or "-"
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}
verdict() { # value op limit
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v == "-" || v == "") { print "n/a"; exit }
        ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
        print ok ? "ok" : "short" }'
}
# A throughput figure (median, with the range over repetitions), or the
# error that replaced it.
tput() {
    local e r
    e=$(get "$1|error")
    r=$(get "$1|range")
    if [[ $e != - ]]; then
        echo "ERR:$e"
    else
        echo "$(fmt "$(get "$1|mbps")" 1 1)$([[ $r != - && -n $r ]] && echo " ($r)")"
    fi
}

row() { printf '%-31s' "$1"; shift; printf ' %-19s' "$@"; printf '\n'; }

echo
echo "================================ results ================================"
echo "(figures: \"short\" marks a figure below its target on this run, not a failure;"
echo " the machine is shared and noisy, so compare ratios across runs)"
for qos in $QOS_LEVELS; do
    f="floor|q$qos"
    frtt=$(get "$f|rtt|p50_us")
    ftp=$(get "$f|tp|mbps")
    echo
    echo "QoS $qos   floor: raw MQTT round trip 64 B p50/p99 $(fmt "$frtt" 1 0)/$(fmt "$(get "$f|rtt|p99_us")" 1 0) us;" \
        "pub->sub ${FLOOR_SIZE} B $(tput "$f|tp") MB/s (messages lost: $(get "$f|tp|lost"));" \
        "two pub->sub streams at once $(tput "$f|tp2") MB/s in all"
    # The most a bulk echo can reach through this broker: it moves every
    # echoed byte twice, so half of what two concurrent streams reach.
    fecho=$(awk -v v="$(get "$f|tp2|mbps")" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.2f", v / 2 }')
    hdr=("metric")
    for impl in "${IMPLS[@]}"; do hdr+=("$impl" "$impl ratio"); done
    hdr+=("target")
    row "${hdr[@]}"
    row "-------------------------------" "${hdr[@]/*/-------------------}" | cut -c1-$((32 + 20 * (${#hdr[@]} - 1)))

    line=("setup p50/p99 ms")
    for impl in "${IMPLS[@]}"; do
        p="$impl|q$qos|setup"
        if [[ $(get "$p|error") != - ]]; then
            line+=("ERR:$(get "$p|error")" "-")
        else
            p50=$(fmt "$(get "$p|p50_us")" 1000 2)
            line+=("$p50 / $(fmt "$(get "$p|p99_us")" 1000 2)" "$(verdict "$p50" "<=" 5)")
        fi
    done
    row "${line[@]}" "p50 <= 5 ms"

    line=("echo RTT 64 B p50/p99 us")
    for impl in "${IMPLS[@]}"; do
        p="$impl|q$qos|rtt"
        if [[ $(get "$p|error") != - ]]; then
            line+=("ERR:$(get "$p|error")" "-")
        else
            r=$(ratio "$(get "$p|p50_us")" "$frtt")
            line+=("$(fmt "$(get "$p|p50_us")" 1 0) / $(fmt "$(get "$p|p99_us")" 1 0)" "$r $(verdict "$r" "<=" 2)")
        fi
    done
    row "${line[@]}" "p50 ratio <= 2"

    for m in "bulk:bulk echo 1x$((BULK_BYTES / MIB)) MiB MB/s:>=:0.7" \
        "up:one-way up $((ONEWAY_BYTES / MIB)) MiB MB/s:>=:0.5" \
        "down:one-way down $((ONEWAY_BYTES / MIB)) MiB MB/s:>=:0.5" \
        "multi:echo ${MULTI_SESSIONS}x$((MULTI_BYTES / MIB)) MiB MB/s:-:-"; do
        IFS=: read -r key label op lim <<<"$m"
        line=("$label")
        for impl in "${IMPLS[@]}"; do
            p="$impl|q$qos|$key"
            v=$(tput "$p")
            r=$(ratio "$(get "$p|mbps")" "$ftp")
            [[ $v == ERR:* ]] && r=-
            if [[ $op == - ]]; then line+=("$v" "$r"); else line+=("$v" "$r $(verdict "$r" "$op" "$lim")"); fi
        done
        if [[ $op == - ]]; then row "${line[@]}" "-"; else row "${line[@]}" "ratio $op $lim"; fi
        if [[ $key == bulk ]]; then
            line=("  bulk echo / echo ceiling")
            for impl in "${IMPLS[@]}"; do
                line+=("ceiling $(fmt "$fecho" 1 1)" "$(ratio "$(get "$impl|q$qos|bulk|mbps")" "$fecho")")
            done
            row "${line[@]}" "(2 streams / 2)"
        fi
    done

    echo
    hdr=("resources")
    for impl in "${IMPLS[@]}"; do hdr+=("$impl client" "$impl server"); done
    row "${hdr[@]}"
    for m in "rss_idle:VmRSS idle KiB" "hwm_idle:VmHWM idle KiB" "thr_idle:threads idle" \
        "rss_load:VmRSS after 16x KiB" "hwm_load:VmHWM after 16x KiB" "thr_load:threads after 16x" \
        "rss_end:VmRSS end of suite KiB" "hwm_end:VmHWM end of suite KiB" \
        "cpu:CPU s whole suite"; do
        IFS=: read -r key label <<<"$m"
        line=("$label")
        for impl in "${IMPLS[@]}"; do
            for side in client server; do
                v=$(get "$impl|q$qos|${key}_$side")
                [[ $key == cpu && $v != - ]] && v=$(secs "$v")
                line+=("$v")
            done
        done
        row "${line[@]}"
    done
    line=("broker CPU s whole suite")
    for impl in "${IMPLS[@]}"; do
        v=$(get "$impl|q$qos|cpu_broker")
        [[ $v != - ]] && v=$(secs "$v")
        line+=("$v" "")
    done
    row "${line[@]}"
    line=("suite wall s")
    for impl in "${IMPLS[@]}"; do line+=("$(get "$impl|q$qos|wall")" ""); done
    row "${line[@]}"
    for impl in "${IMPLS[@]}"; do
        echo
        printf '%-31s %8s %8s %8s %8s %8s %8s %6s\n' "CPU s per test ($impl, QoS $qos)" client server broker target loadgen wall cores
        for key in setup rtt bulk up down multi; do
            p="$impl|q$qos|$key"
            [[ $(get "$p|wall_ms") == - ]] && continue
            label=$key
            [[ $key != setup && $key != rtt && $REPS -gt 1 ]] && label="$key (${REPS} runs)"
            printf '%-31s' "$label"
            total=0
            for name in client server broker target loadgen; do
                v=$(get "$p|cpu_$name")
                [[ $v == - ]] && v=0
                total=$((total + v))
                printf ' %8s' "$(secs "$v")"
            done
            printf ' %8s %6s\n' "$(fmt "$(get "$p|wall_ms")" 1000 2)" \
                "$(awk -v c="$total" -v hz="$CLK_TCK" -v w="$(get "$p|wall_ms")" 'BEGIN { printf "%.2f", c / hz / (w / 1000) }')"
        done
    done
done

echo
echo "impaired links (main, QoS 0; both sides through a fault proxy)"
printf '%-38s %-14s %-34s %s\n' metric value "floor (same run)" ratio
wan_floor_us=$((4 * WAN_DELAY_MS * 1000))
rtt=$(get "imp|wan|rtt|p50_us")
printf '%-38s %-14s %-34s %s\n' "WAN ${WAN_DELAY_MS} ms/hop: echo RTT p50" "$(fmt "$rtt" 1000 1) ms" \
    "$((4 * WAN_DELAY_MS)) ms (4 delayed hops)" "$(awk -v a="$rtt" -v b="$wan_floor_us" 'BEGIN { if (a == "-") print "-"; else printf "%.2f", a / b }')"
# The link's rate is the floor of the second half of the transfer (the
# window grown to the path); target 0.85 of it.
link=$(fmt "$WAN_RATE" 1000000 1)
down=$(get "imp|wan|down|tail_mbps")
r=$(ratio "$down" "$link")
printf '%-38s %-14s %-34s %s\n' "WAN 10 MiB/s: one-way down, 2nd half" "$down MB/s" \
    "$link MB/s (the link)" "$r $(verdict "$r" ">=" 0.85) (>= 0.85)"
clean=$(get "main|q0|up|mbps")
[[ $clean == - ]] && clean=$(get "main|q0|up#1|mbps")
lossy=$(get "imp|loss1|up|mbps")
printf '%-38s %-14s %-34s %s\n' "1 % loss each way: one-way up" "$lossy MB/s" "$clean MB/s (clean link)" \
    "$(awk -v a="$lossy" -v b="$clean" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", a / b }')"
tail=$(get "long|down|tail_mbps")
ceiling=$(awk -v m="$LONG_BUDGET_MIB" 'BEGIN { printf "%.1f", m * 1048576 / 0.3 / 1e6 }')
printf '%-38s %-14s %-34s %s\n' "300 ms path: one-way down, 2nd half" "$tail MB/s" \
    "$ceiling MB/s ($LONG_BUDGET_MIB MiB share / 300 ms)" "$(ratio "$tail" "$ceiling")"
# 20 % of the QoS 0 publishes dropped on both links, each way: an 8 MiB
# echo within 30 s (the clean link's echo of as much is the floor).
heavy=$(get "imp|loss20|echo|secs")
clean_echo=$(get "main|q0|bulk|mbps")
[[ $clean_echo == - ]] && clean_echo=$(get "main|q0|bulk#1|mbps")
clean_secs=$(awk -v m="$clean_echo" -v b=$((8 * MIB)) 'BEGIN { if (m == "-" || m + 0 == 0) print "-"; else printf "%.2f", b / m / 1e6 }')
printf '%-38s %-14s %-34s %s\n' "20 % loss both links: 8 MiB echo" "$heavy s" \
    "30 s target (clean: $clean_secs s)" "$(ratio "$heavy" 30) of the target"
for name in wan loss1 loss20; do
    retx=$(sed -n 's/.* \([0-9][0-9]*\) retransmissions.*/\1/p' "$WORK/$name-client.log" "$WORK/$name-server.log" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    echo "  $name: retransmissions $retx"
done

echo
echo "publishing caps (main, QoS 1, both sides capped)"
printf '%-44s %-14s %-26s %s\n' metric value "target" ratio
up=$(get "quota|bandwidth|up|mbps")
printf '%-44s %-14s %-26s %s\n' "100/s, 512 KiB/s: one-way up" "$up MB/s" \
    "$(fmt "$QUOTA_BW" 1000000 3) MB/s (the cap)" "$(ratio "$up" "$(fmt "$QUOTA_BW" 1000000 6)")"
# Counted at the broker: the busiest second of each side against its cap.
capped() { # value cap: the ratio, and whether it exceeds the cap
    local r
    r=$(ratio "$1" "$2")
    echo "$r $(verdict "$r" "<=" 1 | sed 's/short/OVER/')"
}
for side in client server; do
    n=$(get "quota|bandwidth|sniff|${side}_peak_publishes")
    printf '%-44s %-14s %-26s %s\n' "100/s, 512 KiB/s: $side's busiest second" "$n publishes" \
        "100 publishes (the cap)" "$(capped "$n" 100)"
    b=$(get "quota|bandwidth|sniff|${side}_peak_bytes")
    printf '%-44s %-14s %-26s %s\n' "  the same in bytes" "$(fmt "$b" 1024 1) KiB" \
        "$((QUOTA_BW / 1024)) KiB (the cap)" "$(capped "$b" "$QUOTA_BW")"
done
idle_rtt=$(get "main|q1|rtt|p50_us")
capped=$(get "quota|rate10|rtt|p50_us")
limit=$(awk -v i="$idle_rtt" 'BEGIN { if (i == "-") print "-"; else printf "%.0f", 2 * i + 200000 }')
printf '%-44s %-14s %-26s %s\n' "10 publishes/s: 64-byte round trip p50" "$(fmt "$capped" 1000 1) ms" \
    "$(fmt "$limit" 1000 1) ms (2 x idle + 200)" "$(ratio "$capped" "$limit")"
loaded=$(get "quota|rate10|loaded|p50_us")
printf '%-44s %-14s %-26s %s\n' "10 publishes/s: the same beside an upload" "$(fmt "$loaded" 1000 1) ms" \
    "$(fmt "$limit" 1000 1) ms (2 x idle + 200)" "$(ratio "$loaded" "$limit")"
many=$(get "quota|rate10|many|secs")
one=$(get "quota|rate10|one|secs")
twenty=$(awk -v o="$one" 'BEGIN { if (o == "-") print "-"; else printf "%.2f", 20 * o }')
# The floor: twenty times one session's echo alone (the sessions share the
# 10 publishes/s; more means publishes wasted on repeats).
printf '%-44s %-14s %-26s %s\n' "10 publishes/s: 20 sessions echo 4 KiB each" "$many s" \
    "$twenty s (20 x one alone)" "$(ratio "$many" "$twenty")"
for side in client server; do
    n=$(get "quota|rate10|sniff|${side}_peak_publishes")
    printf '%-44s %-14s %-26s %s\n' "  $side's busiest second meanwhile" "$n publishes" \
        "10 publishes (the cap)" "$(capped "$n" 10)"
done

echo
echo "slow shared links (main, QoS 1; 25 ms per hop; a 64-byte round trip beside bulk sessions)"
printf '%-30s %-12s %-12s %-14s %-16s %s\n' link "idle p50" "loaded p50" "loaded/idle" "bulk share" verdict
for rate in $SLOW_RATES; do
    # Targets: within 1.5 x idle and 85 % of the link at 1 MiB/s; 2 x and
    # 80 % below.
    if ((rate >= 1048576)); then limit=1.5 least=0.85; else limit=2.0 least=0.80; fi
    idle=$(get "slow|$rate|idle|p50_us")
    for bulk in up down; do
        for n in 1 4; do
            p="slow|$rate|$bulk|$n"
            loaded=$(get "$p|p50_us")
            x=$(ratio "$loaded" "$idle")
            share=$(awk -v m="$(get "$p|bulk_mbps")" -v r="$rate" 'BEGIN { if (m == "-") print "-"; else printf "%.2f", m * 1e6 / r }')
            [[ $(get "$p|error") != - ]] && share="ERR:$(get "$p|error")"
            v1=$(verdict "$x" "<=" "$limit")
            v2=$(verdict "$share" ">=" "$least")
            printf '%-30s %-12s %-12s %-14s %-16s %s\n' "$((rate / 1024)) KiB/s, $n x $bulk" \
                "$(fmt "$idle" 1000 1) ms" "$(fmt "$loaded" 1000 1) ms" "$x (<= $limit)" "$share (>= $least)" "$v1/$v2"
        done
    done
done

if [[ " $QOS_LEVELS " == *" 0 "* ]]; then
    echo
    echo "with and without a key (main, QoS 0; --psk-file on both sides)"
    printf '%-34s %-16s %-16s %s\n' metric "without key" "with key" "with / without"
    for m in "setup:p50_us:setup p50 ms:1000" "rtt:p50_us:echo RTT 64 B p50 us:1" \
        "bulk:mbps:bulk echo MB/s:-" "up:mbps:one-way up MB/s:-"; do
        IFS=: read -r key field label scale <<<"$m"
        without=$(get "main|q0|$key|$field")
        with=$(get "key|$key|$field")
        if [[ $scale == - ]]; then
            a=$(tput "main|q0|$key") b=$(tput "key|$key")
        else
            a=$(fmt "$without" "$scale" 2) b=$(fmt "$with" "$scale" 2)
        fi
        printf '%-34s %-16s %-16s %s\n' "$label" "$a" "$b" "$(ratio "$with" "$without")"
    done
    printf '%-34s %-16s %-16s\n' "VmRSS client/server KiB after" "-" "$(get "key|rss_client")/$(get "key|rss_server")"
fi

echo
echo "================================ logs ==================================="
for qos in $QOS_LEVELS; do
    for impl in "${IMPLS[@]}"; do
        for side in client server; do
            log="$WORK/$impl-q$qos-$side.log"
            [[ -f $log ]] || continue
            warn=$(grep -ciE 'warn|error|panic' "$log" || true)
            closed=$(grep -c 'closed (' "$log" || true)
            retx=$(sed -n 's/.* \([0-9][0-9]*\) retransmissions.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
            maxretx=$(sed -n 's/.* \([0-9][0-9]*\) retransmissions.*/\1/p' "$log" | sort -n | tail -n1)
            reasons=$(sed -n 's/.*closed (\([^)]*\)).*/\1/p' "$log" | sort | uniq -c | awk '{ c = $1; $1 = ""; sub(/^ /, ""); printf "%s%s=%s", sep, $0, c; sep = ", " }')
            died=""
            [[ $(get "$impl|q$qos|died_$side") != - ]] && died=" DIED DURING THE RUN: $(get "$impl|q$qos|died_$side")"
            printf '%-6s QoS %s %-6s: %s warn/error lines, %s sessions closed (%s), retransmissions %s (max %s in one session)%s\n' \
                "$impl" "$qos" "$side" "$warn" "$closed" "${reasons:-none}" "$retx" "${maxretx:-0}" "$died"
            grep -iE 'warn|error|panic' "$log" | sed 's/^/         | /' | head -n 5 || true
        done
    done
done
if [[ -s $WORK/loadgen.err ]]; then
    echo "load generator stderr:"
    sed 's/^/         | /' "$WORK/loadgen.err" | head -n 10
fi
kill -0 "$BROKER_PID" 2>/dev/null || echo "mosquitto DIED during the run"
broker_warn=$(grep -ciE 'error|warn|drop|denied|exceed' "$WORK/mosquitto.log" || true)
echo "mosquitto: $broker_warn error/warning/drop lines"
grep -iE 'error|warn|drop|denied|exceed' "$WORK/mosquitto.log" | sed 's/^/         | /' | head -n 5 || true

echo
echo "benchmark runtime: $((SECONDS - START_SECS)) s (build $BUILD_SECS s)"
