#!/usr/bin/env bash
# Benchmark of reading the kernel's table: `ipvsadm -Sn` against
# `ipvsc save --format ipvsadm --strict` (and `--format json`) on a table of SERVICES TCP
# services with SERVERS NAT servers each, loaded with `ipvsadm -R`, inside the QEMU guest of
# tests/vm (one boot; times from the guest's /proc/uptime, median of REPS alternating runs).
# Under TCG absolute times are slow and vary between boots: only the ratio means anything.
# Usage: bench/kernel.sh [SERVICES [SERVERS [REPS]]]   (default 2000 10 7; needs what
# `bash tests/vm/vm.sh prepare` installs, as root on Debian). The console log is left in
# target/bench-kernel.log (BENCH_LOG to move it).
set -euo pipefail
cd "$(dirname "$0")/.."
services=${1:-2000} servers=${2:-10} reps=${3:-7}
cargo build --release --quiet --bin ipvsc
target=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
log=${BENCH_LOG:-$target/bench-kernel.log}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
printf 'SERVICES=%d SERVERS=%d REPS=%d\n' "$services" "$servers" "$reps" >"$data/params"
rc=0
IPVSC_BIN=$target/release/ipvsc IPVSC_VM_DATA=$data \
    IPVSC_VM_SCENARIO_TIMEOUT=${IPVSC_VM_SCENARIO_TIMEOUT:-3000} IPVSC_VM_TIMEOUT=${IPVSC_VM_TIMEOUT:-3300} \
    IPVSC_VM_MEM=${IPVSC_VM_MEM:-1G} \
    bash tests/vm/vm.sh run tests/vm/bench "$log" || rc=$?
sed -n '/^@@@ BEGIN/,/^@@@ TIME/p' "$log"
grep -q '^@@bench ' "$log" || { echo "bench/kernel.sh: no result in $log" >&2; exit 1; }
exit "$rc"
