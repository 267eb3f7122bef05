#!/bin/sh
# Benchmark scenario (not run by CI; bench/trace.sh runs it): where the time of `ipvsc apply`
# goes, stage by stage and thread by thread, at one table size, against the floor client and
# `ipvsadm -Sn` in the same boot. Each round, in fresh network namespaces: the floor's replay
# of a captured load; the floor's replay of the same load with its read-back (`--with-reads`:
# the kernel's share of a load that confirms what it wrote); then a load, a no-op apply (both under IPVSC_TRACE=1, which prints each
# stage's time and the CPU time, user and system, of the thread that ran it), `ipvsadm -Sn`,
# `ipvsc check` and `ipvsc --version` (the process's start). Round 0 warms up and is not
# counted. Prints the trace lines of each run, then `@@trace` lines with the medians.
#
# Address-space randomisation: QEMU's TCG (7.2 here) keys the code it has translated by virtual
# address, so a program loaded at a random address is translated anew on every run, and no run
# of a position-independent program is ever warm: in one boot `ipvsc --version` took 75 ms with
# randomisation and 20 ms without, `ipvsadm -v` 57 and 20 ms, a busybox applet (static, not
# position-independent) 6 ms either way. A CPU has no such cost, so the rounds run with
# randomisation off (kernel.randomize_va_space=0) unless ASLR_MODES says otherwise; with
# ASLR_MODES="0 2" the rounds alternate between off and on and each mode gets its medians.
#
# Parameters in $DATA/data/extra/params (written by bench/trace.sh): SERVICES, SERVERS, REPS,
# ASLR_MODES; the floor client is $DATA/data/extra/ipvsc-floor, the table's generator
# $DATA/data/extra/table.awk.
set -eu
SERVICES=2000 SERVERS=10 REPS=5 ASLR_MODES=0
[ -f "$DATA/data/extra/params" ] && . "$DATA/data/extra/params"
FLOOR=$DATA/data/extra/ipvsc-floor
W=/tmp/bench-trace
rm -rf "$W"
mkdir -p "$W"
export IPVSC_STATE_DIR=$W/state
fail() {
    echo "FAIL: $*"
    exit 1
}
[ -x "$FLOOR" ] || fail "no floor client at $FLOOR"

# The table of bench/table.awk (that of bench-scale): $SERVICES services of $SERVERS NAT
# servers, service addresses spread over 10.0.0.0/8, server addresses unique; as t1.ipvs.
awk -v n="$SERVICES" -v m="$SERVERS" -v out="$W/t1.ipvs" -f "$DATA/data/extra/table.awk"
echo "table: $SERVICES services x $SERVERS servers, $(wc -c <"$W/t1.ipvs") bytes"
export W FLOOR IPVSC IPVSADM

# The floor's capture: the write requests of one load. The received datagrams (a file each: at
# 100,000 services half a million, more than the guest's tmpfs holds) are not needed and are
# deleted as they come.
mkdir "$W/cap"
(while [ ! -e "$W/cap.stop" ]; do
    find "$W/cap" -name '*-recv.bin' -exec rm -f {} +
    sleep 1
done) &
sweeper=$!
unshare -n sh -c 'ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo &&
    IPVSC_CAPTURE="$W/cap" "$IPVSC" apply "$W/t1.ipvs" >/dev/null' || fail "the capture"
touch "$W/cap.stop"
wait "$sweeper"
find "$W/cap" -name '*-recv.bin' -exec rm -f {} +

# One round: prints "floor S ACKS", "load S" + its trace, "noop S" + its trace, "Sn S",
# "check S", "version S".
round() {
    unshare -n sh -c '
        now() { cut -d " " -f 1 /proc/uptime; }
        el() { awk -v a="$1" -v b="$2" "BEGIN { printf \"%.3f\", b - a }"; }
        ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo || exit 99
        t0=$(now); "$FLOOR" "$W/cap" >"$W/f.out" || exit 1; t1=$(now)
        echo "floor $(el "$t0" "$t1") $(sed -n "s/.* acknowledged in \([0-9.]*\) s$/\1/p" "$W/f.out")"' || fail "the floor"
    unshare -n sh -c '
        now() { cut -d " " -f 1 /proc/uptime; }
        el() { awk -v a="$1" -v b="$2" "BEGIN { printf \"%.3f\", b - a }"; }
        ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo || exit 99
        t0=$(now); "$FLOOR" --with-reads "$W/cap" >"$W/f.out" || exit 1; t1=$(now)
        echo "floor_reads $(el "$t0" "$t1")"' || fail "the floor with reads"
    unshare -n sh -c '
        now() { cut -d " " -f 1 /proc/uptime; }
        el() { awk -v a="$1" -v b="$2" "BEGIN { printf \"%.3f\", b - a }"; }
        ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo || exit 99
        t0=$(now); IPVSC_TRACE=1 "$IPVSC" apply "$W/t1.ipvs" >"$W/o" 2>"$W/e" || exit 1; t1=$(now)
        grep -q "^Applied: .* 0 changed, 0 removed" "$W/o" || exit 1
        echo "load $(el "$t0" "$t1")"; cat "$W/e"
        t0=$(now); IPVSC_TRACE=1 "$IPVSC" apply "$W/t1.ipvs" >"$W/o" 2>"$W/e" || exit 1; t1=$(now)
        grep -q "^No changes" "$W/o" || exit 1
        echo "noop $(el "$t0" "$t1")"; cat "$W/e"
        t0=$(now); "$IPVSADM" -Sn >/dev/null; t1=$(now)
        echo "Sn $(el "$t0" "$t1")"
        t0=$(now); "$IPVSC" check "$W/t1.ipvs" >/dev/null 2>&1; t1=$(now)
        echo "check $(el "$t0" "$t1")"
        t0=$(now); "$IPVSC" --version >/dev/null; t1=$(now)
        echo "version $(el "$t0" "$t1")"' || fail "a round of apply"
}

aslr() { echo "$1" >/proc/sys/kernel/randomize_va_space || fail "cannot set kernel.randomize_va_space"; }
for m in $ASLR_MODES; do
    aslr "$m"
    round >/dev/null
done
echo "warm-up done"
r=1
while [ "$r" -le "$REPS" ]; do
    for m in $ASLR_MODES; do
        aslr "$m"
        echo "== round $r, randomize_va_space=$m"
        round | tee -a "$W/rounds.$m"
    done
    r=$((r + 1))
done
aslr 2

# Medians over the rounds of each mode. A trace line: "trace: STAGE: T s, resident R MiB,
# peak P MiB; this thread's CPU: user U s, system S s".
for m in $ASLR_MODES; do
awk -v aslr="$m" '
function med(a, n,    i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^floor / { fl[++nf] = $2; fa[nf] = $3 }
/^floor_reads / { fr[++nr] = $2 }
/^load / { mode = "load"; lo[++nl] = $2 }
/^noop / { mode = "noop"; no[++nn] = $2 }
/^Sn / { sn[++ns] = $2 }
/^check / { ch[++nc] = $2 }
/^version / { ve[++nv] = $2 }
/^trace: / {
    line = $0; gsub(/,/, "", line); k = split(line, f, " ")
    stage = line; sub(/^trace: /, "", stage); sub(/: [0-9.]+ s .*/, "", stage); gsub(/ /, "_", stage)
    for (i = 1; i <= k; i++) if (f[i] == "s" && f[i - 1] ~ /^[0-9.]+$/) { t = f[i - 1]; break }
    key = mode "/" stage; n = ++cnt[key]; T[key, n] = t; U[key, n] = f[k - 4]; S[key, n] = f[k - 1]
    if (!(key in seen)) { seen[key] = 1; order[++no_keys] = key }
}
END {
    printf "@@trace whole aslr=%s floor=%.3f floor_acks=%.3f floor_with_reads=%.3f load=%.3f noop=%.3f ipvsadm_Sn=%.3f check=%.3f version=%.3f load_vs_floor=%.2f floor_with_reads_vs_floor=%.2f load_vs_floor_with_reads=%.2f noop_vs_Sn=%.2f\n", aslr, med(fl, nf), med(fa, nf), med(fr, nr), med(lo, nl), med(no, nn), med(sn, ns), med(ch, nc), med(ve, nv), med(lo, nl) / med(fl, nf), med(fr, nr) / med(fl, nf), med(lo, nl) / med(fr, nr), med(no, nn) / med(sn, ns)
    for (i = 1; i <= no_keys; i++) {
        key = order[i]; n = cnt[key]
        for (j = 1; j <= n; j++) { a[j] = T[key, j]; b[j] = U[key, j]; c[j] = S[key, j] }
        printf "@@trace aslr=%s stage=%s runs=%d at=%.3f user=%.2f system=%.2f\n", aslr, key, n, med(a, n), med(b, n), med(c, n)
    }
}' "$W/rounds.$m"
done
