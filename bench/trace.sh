#!/usr/bin/env bash
# Where the time of `ipvsc apply` goes (issue 12): at one table size, each stage of a load and
# of a no-op apply under IPVSC_TRACE=1 (its time, and the CPU time of the thread that ran it,
# user and system), against the floor client (bench/floor.rs) and `ipvsadm -Sn`, inside the
# QEMU guest of tests/vm with 2 vCPUs, in one boot (release build; medians of REPS rounds after
# a warm-up; tests/vm/bench-trace/trace.sh says what is measured and how).
#
# Usage: bench/trace.sh [SERVICESxSERVERS]   (default 2000x10, about 2 minutes with REPS=5)
# Environment: REPS (default 5), ASLR_MODES (default 0: the guest's address-space randomisation
# off, so that warm runs are warm under TCG; "0 2" alternates off and on, the scenario says why),
# IPVSC_VM_CPUS (default 2), BENCH_LOG (default
# target/bench-trace.log, the console log). Needs what `bash tests/vm/vm.sh prepare` installs,
# as root on Debian. Prints the guest's output, ending with `@@trace` lines of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-2000x10}
reps=${REPS:-5}
aslr_modes=${ASLR_MODES:-0}
[[ $size =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]] || {
    echo "bench/trace.sh: a size is SERVICESxSERVERS, like 2000x10: $size" >&2
    exit 2
}
services=${BASH_REMATCH[1]} servers=${BASH_REMATCH[2]}
[[ $aslr_modes =~ ^[02]( [02])*$ ]] || {
    echo "bench/trace.sh: ASLR_MODES is a list of 0 (off) and 2 (on): $aslr_modes" >&2
    exit 2
}
[[ $reps =~ ^[1-9][0-9]*$ ]] || {
    echo "bench/trace.sh: REPS must be a positive number: $reps" >&2
    exit 2
}
cargo build --release --quiet --bin ipvsc
cargo build --release --quiet --features bench-floor --bin ipvsc-floor
target=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
log=${BENCH_LOG:-$target/bench-trace.log}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
cp "$target/release/ipvsc-floor" "$data/ipvsc-floor"
cp bench/table.awk "$data/table.awk"
printf 'SERVICES=%d\nSERVERS=%d\nREPS=%d\nASLR_MODES="%s"\n' "$services" "$servers" "$reps" "$aslr_modes" >"$data/params"
# Under TCG a round at 2,000 x 10 takes about 12 s; the timeout allows three times the rounds
# at this size, plus the boot.
timeout=$((600 + (reps + 2) * $(echo $aslr_modes | wc -w) * (services * servers / 20000 + 1) * 36))
rc=0
IPVSC_BIN=$target/release/ipvsc IPVSC_VM_DATA=$data \
    IPVSC_VM_SCENARIO_TIMEOUT=$((timeout - 120)) IPVSC_VM_TIMEOUT=$timeout \
    IPVSC_VM_MEM=${IPVSC_VM_MEM:-4G} IPVSC_VM_CPUS=${IPVSC_VM_CPUS:-2} \
    bash tests/vm/vm.sh run tests/vm/bench-trace "$log" || rc=$?
sed -n '/^@@@ BEGIN/,/^@@@ TIME/p' "$log"
grep -q '^@@trace whole ' "$log" || {
    echo "bench/trace.sh: no result in $log" >&2
    exit 1
}
exit "$rc"
