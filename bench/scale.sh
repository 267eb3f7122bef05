#!/usr/bin/env bash
# Scale benchmark of `ipvsc apply` (issue 12): loads, no-op applies and one-weight changes at
# several table sizes, for `.ipvs` and for ipvsadm dump input, against `ipvsadm -R` / `-Sn` and
# a floor client (bench/floor.rs: only the write requests, replayed over one socket), with
# ipvsc's peak memory, the kernel's memory for the table, and at the largest size the rollback
# of a refused last operation; inside the QEMU guest of tests/vm, with 2 vCPUs, in one boot
# (release build; times from the guest's /proc/uptime, medians of REPS alternating runs;
# tests/vm/bench-scale/scale.sh says what is measured and how). Under TCG absolute times are
# slow and vary between boots: only the ratios within a boot mean anything.
#
# Usage: bench/scale.sh [SIZE...]   SIZE is SERVICESxSERVERS (servers per service); default
#        2000x10 10000x10 10000x100. A quick try: REPS=2 bench/scale.sh 200x10 1000x10
# Environment: REPS (default 5); IPVSADM_CAP (default 100000: above that many servers
# `ipvsadm -R` runs once, not REPS times, and the timed rounds are REPS_LARGE, default REPS);
# IPVSADM_SKIP (unset: above that many servers `ipvsadm -R` does not run at all);
# IPVSC_VM_MEM (default 10G: at 1,000,000 servers the kernel's table takes about 0.65 GB, the
# generated files 0.4 GB, the capture 0.1 GB and ipvsc under 1 GB), IPVSC_VM_CPUS (default 2),
# IPVSC_VM_SCENARIO_TIMEOUT and IPVSC_VM_TIMEOUT (default: from the sizes, about three times the
# expected duration); BENCH_LOG (default target/bench-scale.log, the console log); ASLR (default
# 0: the guest's address-space randomisation off, so that a warm-up warms: QEMU's TCG looks its
# translated code up by virtual address, and a position-independent program loaded at a new
# address each run is translated again each run; 2 measures with it on, as a default Debian
# guest runs).
# Needs what `bash tests/vm/vm.sh prepare` installs, as root on Debian. At the end it writes
# bench/scale.tsv and bench/scale.png from the log (bench/plot.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${*:-2000x10 10000x10 10000x100}
reps=${REPS:-5}
cap=${IPVSADM_CAP:-100000}
aslr=${ASLR:-0}
[[ $aslr =~ ^[02]$ ]] || {
    echo "bench/scale.sh: ASLR is 0 (randomisation off) or 2 (on): $aslr" >&2
    exit 2
}
for s in $sizes; do
    [[ $s =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || {
        echo "bench/scale.sh: a size is SERVICESxSERVERS, like 2000x10: $s" >&2
        exit 2
    }
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || {
    echo "bench/scale.sh: REPS must be a positive number: $reps" >&2
    exit 2
}

# Guest minutes expected on the project's 2-core machine under TCG: measured per server and
# round (REPS + 1 of each measurement) at small sizes, a fixed cost per size, and the kernel's
# memory, capture and rollback at the largest size (the scenario's expected_minutes).
minutes=$(for s in $sizes; do echo "${s%x*} ${s#*x}"; done | awk -v reps="$reps" '
    { n++; s += $1 * $2; if ($1 * $2 > top) top = $1 * $2 }
    END { printf "%.0f", 1 + n + s * (reps + 1) * 0.000018 + top * 0.000025 }')
timeout=$((minutes * 180 + 1200))
echo "bench/scale.sh: sizes $sizes, REPS=$reps: expect about $minutes minutes (boot timeout ${IPVSC_VM_TIMEOUT:-$timeout} s)"

cargo build --release --quiet --bin ipvsc
cargo build --release --quiet --features bench-floor --bin ipvsc-floor
target=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
log=${BENCH_LOG:-$target/bench-scale.log}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
cp "$target/release/ipvsc-floor" "$data/ipvsc-floor"
if command -v strip >/dev/null; then strip --strip-debug "$data/ipvsc-floor"; fi
# The guest has the libraries ipvsc needs (vm.sh copies them); the floor and time need no other.
# Peak memory is GNU time's: busybox 1.35's `time` reports four times the real maximum resident
# set size (it takes ru_maxrss, which Linux gives in KiB, for a count of pages).
if [ ! -x /usr/bin/time ]; then
    apt-get update && apt-get install -y time
fi
cp /usr/bin/time "$data/time"
for bin in "$data/ipvsc-floor" "$data/time"; do
    if ldd "$bin" >/dev/null 2>&1; then
        extra=$(comm -23 <(ldd "$bin" | awk '/=>/ { print $1 }' | sort) \
            <(ldd "$target/release/ipvsc" | awk '/=>/ { print $1 }' | sort))
        [ -z "$extra" ] || {
            echo "bench/scale.sh: $bin needs libraries ipvsc does not, which the guest lacks: $extra" >&2
            exit 2
        }
    fi
done
printf 'SIZES="%s"\nREPS=%d\nREPS_LARGE=%d\nIPVSADM_CAP=%d\nIPVSADM_SKIP=%s\nASLR=%d\n' "$sizes" "$reps" \
    "${REPS_LARGE:-$reps}" "$cap" "${IPVSADM_SKIP:-}" "$aslr" >"$data/params"
rc=0
started=$(date +%s)
IPVSC_BIN=$target/release/ipvsc IPVSC_VM_DATA=$data \
    IPVSC_VM_SCENARIO_TIMEOUT=${IPVSC_VM_SCENARIO_TIMEOUT:-$((timeout - 300))} \
    IPVSC_VM_TIMEOUT=${IPVSC_VM_TIMEOUT:-$timeout} \
    IPVSC_VM_MEM=${IPVSC_VM_MEM:-10G} IPVSC_VM_CPUS=${IPVSC_VM_CPUS:-2} \
    bash tests/vm/vm.sh run tests/vm/bench-scale "$log" || rc=$?
echo "bench/scale.sh: the boot took $(($(date +%s) - started)) s; console log: $log"
sed -n '/^@@@ BEGIN/,/^@@@ TIME/p' "$log"
grep -q '^@@bench load ' "$log" || {
    echo "bench/scale.sh: no result in $log" >&2
    exit 1
}
bash bench/plot.sh "$log" || rc=$?
exit "$rc"
