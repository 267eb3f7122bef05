#!/usr/bin/env bash
# Benchmark of `ipvsc apply` against ipvsadm on a table of SERVICES TCP services with SERVERS NAT
# servers each, inside the QEMU guest of tests/vm (one boot; release build; times from the
# guest's /proc/uptime, medians of REPS alternating runs; tests/vm/bench-apply/apply_speed.sh
# says what is measured):
#   load      ipvsc apply FILE.ipvs into an empty kernel vs ipvsadm -R of the same table
#             (target: ipvsc at least 5x faster)
#   noop      ipvsc apply of the table already there vs ipvsadm -Sn (target: at most 0.75x)
#   one_weight ipvsc apply changing one server's weight, one operation, vs ipvsadm -Sn
#             (target: at most 0.8x)
#   parts     where ipvsc's time goes: check (parse), save --format json (read), plan
# Under TCG absolute times are slow and vary between boots: only the ratios mean anything.
# Usage: bench/apply.sh [SERVICES [SERVERS [REPS]]]   (default 2000 10 5; needs what
# `bash tests/vm/vm.sh prepare` installs, as root on Debian). The console log stays in
# target/bench-apply.log (BENCH_LOG to move it).
set -euo pipefail
cd "$(dirname "$0")/.."
services=${1:-2000} servers=${2:-10} reps=${3:-5}
cargo build --release --quiet --bin ipvsc
data=$(mktemp -d)
log=${BENCH_LOG:-target/bench-apply.log}
trap 'rm -rf "$data"' EXIT
printf 'SERVICES=%d SERVERS=%d REPS=%d\n' "$services" "$servers" "$reps" >"$data/params"
rc=0
IPVSC_BIN=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/ipvsc IPVSC_VM_DATA=$data \
    IPVSC_VM_SCENARIO_TIMEOUT=${IPVSC_VM_SCENARIO_TIMEOUT:-3000} IPVSC_VM_TIMEOUT=${IPVSC_VM_TIMEOUT:-3300} \
    IPVSC_VM_MEM=${IPVSC_VM_MEM:-1G} \
    bash tests/vm/vm.sh run tests/vm/bench-apply "$log" || rc=$?
sed -n '/^@@@ BEGIN/,/^@@@ TIME/p' "$log"
result=$(grep '^@@bench ' "$log" || true)
[ -n "$result" ] || {
    echo "bench/apply.sh: no result in $log" >&2
    exit 1
}
exit "$rc"
