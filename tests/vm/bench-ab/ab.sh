#!/bin/sh
# Benchmark scenario (not run by CI; bench/ab.sh runs it): two or three ipvsc builds against
# each other in one boot. For each size, in one network namespace loaded once, rounds of a
# no-op apply by each build in turn and `ipvsadm -Sn`; then, if LOADS > 0, loads by each build,
# each into a fresh namespace. Round 0 warms up and is not counted. Each size runs under the
# address-space randomisation modes it names (0 off, 2 on: see tests/vm/bench-trace/trace.sh).
# Prints one line per timed run, then `@@ab KIND SIZE aslr=M BUILD n=N median=S` lines.
#
# Parameters in $DATA/data/extra/params (written by bench/ab.sh): SPECS (e.g. "2000x10:0,2
# 20000x1:0"), REPS, LOADS, BINS (e.g. "A B C"); the builds are $DATA/data/extra/ipvsc-a, -b
# and -c. The tables are bench/table.awk's, copied to $DATA/data/extra/table.awk (those of
# bench-scale: service addresses spread, server addresses unique, NAT, weight 1).
set -eu
A=$DATA/data/extra/ipvsc-a B=$DATA/data/extra/ipvsc-b C=$DATA/data/extra/ipvsc-c
. "$DATA/data/extra/params"
W=/tmp/bench-ab
rm -rf "$W"
mkdir -p "$W"
export IPVSC_STATE_DIR=$W/state W A B C
for spec in $SPECS; do
    size=${spec%:*} modes=$(echo "${spec#*:}" | tr , ' ')
    awk -v n="${size%x*}" -v m="${size#*x}" -v out="$W/t.ipvs" -f "$DATA/data/extra/table.awk"
    for mode in $modes; do
        echo "$mode" >/proc/sys/kernel/randomize_va_space
        unshare -n sh -c '
            now() { cut -d " " -f 1 /proc/uptime; }
            el() { awk -v a="$1" -v b="$2" "BEGIN { printf \"%.3f\", b - a }"; }
            ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo || exit 99
            "$B" apply "$W/t.ipvs" >/dev/null || exit 1
            r=0
            while [ "$r" -le '"$REPS"' ]; do
                for x in '"$BINS"'; do
                    eval bin=\$$x
                    t0=$(now); "$bin" apply "$W/t.ipvs" >"$W/o" || exit 1; t1=$(now)
                    grep -q "^No changes" "$W/o" || { echo "FAIL: $x changed something"; exit 1; }
                    [ "$r" -gt 0 ] && echo "noop '"$size"' aslr='"$mode"' $x $(el "$t0" "$t1")"
                done
                t0=$(now); /sbin/ipvsadm -Sn >/dev/null; t1=$(now)
                [ "$r" -gt 0 ] && echo "noop '"$size"' aslr='"$mode"' Sn $(el "$t0" "$t1")"
                r=$((r + 1))
            done' || { echo "FAIL: the no-op rounds"; exit 1; }
        r=0
        while [ "$LOADS" -gt 0 ] && [ "$r" -le "$LOADS" ]; do
            for x in $BINS; do
                eval bin=\$$x
                unshare -n sh -c '
                    now() { cut -d " " -f 1 /proc/uptime; }
                    el() { awk -v a="$1" -v b="$2" "BEGIN { printf \"%.3f\", b - a }"; }
                    ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo || exit 99
                    t0=$(now); "'"$bin"'" apply "$W/t.ipvs" >"$W/o" || exit 1; t1=$(now)
                    grep -q "^Applied" "$W/o" || exit 1
                    [ '"$r"' -gt 0 ] && echo "load '"$size"' aslr='"$mode"' '"$x"' $(el "$t0" "$t1")"; true' ||
                    { echo "FAIL: a load"; exit 1; }
            done
            r=$((r + 1))
        done
    done
done | tee "$W/res"
echo 2 >/proc/sys/kernel/randomize_va_space
grep -q '^FAIL' "$W/res" && exit 1
awk '{ k = $1 " " $2 " " $3 " " $4; v[k, ++n[k]] = $5; if (!(k in seen)) { seen[k] = 1; ord[++no] = k } }
END {
    for (i = 1; i <= no; i++) {
        k = ord[i]; c = n[k]
        for (a = 1; a <= c; a++) x[a] = v[k, a]
        for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
        printf "@@ab %s n=%d median=%.3f\n", k, c, (c % 2 ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2)
    }
}' "$W/res"
