#!/usr/bin/env bash
# Keeps the size table of docs/router-builds.rst true to the builds.
#
# Usage: cross/size-table.sh [--check | --update] [--tolerance PCT] [SIZES]
#
# SIZES is what cross/build.sh measured in its last run (default:
# target/cross-sizes.txt, or CROSS_SIZES_FILE), one line "TARGET SET BYTES"
# per binary it built.
#   --check (the default) fails when a documented figure is more than PCT
#           percent (default 3) away from the measured one, or missing; the
#           table's other cells (targets or sets that run did not build)
#           are not checked. The test suite runs it after its cross builds.
#   --update rewrites the measured cells of the table in place, for a
#           developer after a change that moved the sizes.
# The table lies between the ".. size-table begin" and ".. size-table end"
# comments; its rows are "TARGET  FULL  ROUTER  FOR", figures in bytes
# with thousands separators.

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DOC=docs/router-builds.rst
MODE=check
TOLERANCE=3
SIZES=${CROSS_SIZES_FILE:-$ROOT/target/cross-sizes.txt}
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while (($#)); do
    case $1 in
    --check) MODE=check ;;
    --update) MODE=update ;;
    --tolerance) TOLERANCE=${2:?--tolerance needs a percentage}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "cross/size-table.sh: unknown option $1" >&2; exit 2 ;;
    *) SIZES=$1 ;;
    esac
    shift
done
if [[ ! -s $SIZES ]]; then
    echo "cross/size-table.sh: no sizes in $SIZES: run cross/build.sh first" >&2
    exit 1
fi
if ! grep -q '^\.\. size-table begin$' "$DOC" || ! grep -q '^\.\. size-table end$' "$DOC"; then
    echo "cross/size-table.sh: $DOC has no '.. size-table begin/end' markers" >&2
    exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Pass 1 reads the measured sizes; pass 2 copies the document, checking or
# rewriting the rows of the marked table (those after its second "====" rule
# and before its third).
status=0
awk -v mode="$MODE" -v tol="$TOLERANCE" -v doc="$DOC" '
function commas(n,   s) {
    s = n ""
    while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]([,]|$)/, ",&", s)
    return s
}
function cell(target, set, documented,   bytes, shown, diff) {
    if (!((target, set) in measured)) return documented
    bytes = measured[target, set]
    seen[target, set] = 1
    shown = documented
    gsub(/,/, "", shown)
    if (mode == "update") {
        if (shown != bytes) printf "%s %s: %s -> %s\n", target, set, documented, commas(bytes) > "/dev/stderr"
        return commas(bytes)
    }
    if (shown !~ /^[0-9]+$/) {
        printf "%s: %s %s: no figure, this build measured %s bytes\n", doc, target, set, bytes > "/dev/stderr"
        bad = 1
        return documented
    }
    diff = (shown - bytes) * 100 / bytes
    if (diff > tol || -diff > tol) {
        printf "%s: %s %s documents %s bytes, this build measured %s (%+.1f %%, more than %s %%)\n", doc, target, set, documented, commas(bytes), diff, tol > "/dev/stderr"
        bad = 1
    } else {
        printf "%-32s %-7s documented %10s, measured %10s (%+.1f %%)\n", target, set, documented, commas(bytes), diff > "/dev/stderr"
    }
    return documented
}
FNR == NR { if (NF >= 3) measured[$1, $2] = $3; next }
/^\.\. size-table begin$/ { intable = 1; rules = 0 }
/^\.\. size-table end$/ { intable = 0 }
intable && /^=+ / { rules++; print; next }
intable && rules == 2 && NF >= 3 {
    full = cell($1, "full", $2)
    router = cell($1, "router", $3)
    line = sprintf("%-34s  %9s   %9s   %s", $1, full, router, substr($0, 61))
    sub(/ +$/, "", line)
    print line
    next
}
{ print }
END {
    for (k in measured) if (!(k in seen)) {
        split(k, p, SUBSEP)
        printf "%s: no row for %s (%s), which this build measured\n", doc, p[1], p[2] > "/dev/stderr"
        bad = 1
    }
    exit bad
}' "$SIZES" "$DOC" >"$out" || status=$?

if [[ $MODE == update ]]; then
    if ((status)); then
        echo "cross/size-table.sh: $DOC not rewritten" >&2
        exit 1
    fi
    if cmp -s "$out" "$DOC"; then
        echo "cross/size-table.sh: $DOC already shows these sizes"
    else
        cat "$out" >"$DOC"
        echo "cross/size-table.sh: $DOC rewritten from $SIZES"
    fi
    exit 0
fi
if ((status)); then
    echo "cross/size-table.sh: the size table of $DOC is off; after cross/build.sh, run cross/size-table.sh --update" >&2
    exit 1
fi
