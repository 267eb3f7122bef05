#!/usr/bin/env bash
# Two or three ipvsc builds against each other (A/B) in one boot of the QEMU guest of tests/vm,
# 2 vCPUs: no-op applies and loads, alternating, against `ipvsadm -Sn`; medians of REPS rounds
# after a warm-up (tests/vm/bench-ab/ab.sh says what is measured and how).
#
# Usage: bench/ab.sh BIN_A BIN_B [BIN_C]   (release builds of ipvsc, e.g. from git worktrees)
# Environment: SPECS (default "2000x10:0,2 20000x1:0": sizes with the randomisation modes to
# run them under), REPS (default 7), LOADS (default 5; 0 for none), IPVSC_VM_CPUS (default 2),
# BENCH_LOG (default target/bench-ab.log). Needs what `bash tests/vm/vm.sh prepare` installs, as
# root on Debian. Prints the guest's output, ending with `@@ab` lines of medians.
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || {
    sed -n '5p' "$0" | sed 's/^# //' >&2
    exit 2
}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
bins=""
for x in a b c; do
    [ $# -gt 0 ] || break
    [ -x "$1" ] || {
        echo "bench/ab.sh: $1 is not an executable" >&2
        exit 2
    }
    # Copied before the cd below, so that a path relative to the caller's directory works.
    cp "$1" "$data/ipvsc-$x"
    bins="$bins ${x^^}"
    shift
done
cd "$(dirname "$0")/.."
cp bench/table.awk "$data/table.awk"
specs=${SPECS:-2000x10:0,2 20000x1:0}
printf 'SPECS="%s"\nREPS=%d\nLOADS=%d\nBINS="%s"\n' "$specs" "${REPS:-7}" "${LOADS:-5}" "${bins# }" >"$data/params"
target=$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo target)
log=${BENCH_LOG:-$target/bench-ab.log}
mkdir -p "$(dirname "$log")"
rc=0
IPVSC_BIN="$data/ipvsc-a" IPVSC_VM_DATA=$data IPVSC_VM_SCENARIO_TIMEOUT=${IPVSC_VM_SCENARIO_TIMEOUT:-3000} \
    IPVSC_VM_TIMEOUT=${IPVSC_VM_TIMEOUT:-3300} IPVSC_VM_MEM=${IPVSC_VM_MEM:-2G} \
    IPVSC_VM_CPUS=${IPVSC_VM_CPUS:-2} bash tests/vm/vm.sh run tests/vm/bench-ab "$log" || rc=$?
sed -n '/^@@@ BEGIN/,/^@@@ TIME/p' "$log"
grep -q '^@@ab ' "$log" || {
    echo "bench/ab.sh: no result in $log" >&2
    exit 1
}
exit "$rc"
