#!/bin/sh
# Benchmark (bench/kernel.sh runs it; not a test, CI does not): `ipvsadm -Sn` against
# `ipvsc save --format ipvsadm --strict` (and `--format json`) on one large table, timed with
# /proc/uptime inside the guest. Under TCG absolute times mean little: compare the commands
# within one boot.
#
# Parameters in $DATA/data/extra/params (written by bench/kernel.sh): SERVICES, SERVERS (per
# service), REPS. Service i is TCP 10.0.H.L:80 with L = i % 250 + 1, so that consecutive services
# differ in the last octet (which is most of what the kernel's service hash sees); its servers
# are 172.16.A.B:8080, NAT, each address used once.
set -eu
SERVICES=2000 SERVERS=10 REPS=7
# shellcheck source=/dev/null
[ -f "$DATA/data/extra/params" ] && . "$DATA/data/extra/params"
W=/tmp/bench
mkdir -p "$W"

now() { cut -d ' ' -f 1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

awk -v n="$SERVICES" -v m="$SERVERS" 'BEGIN {
    for (i = 0; i < n; i++) {
        vip = sprintf("10.%d.%d.%d:80", int(i / 62500), int(i / 250) % 250, i % 250 + 1)
        printf "-A -t %s -s wlc\n", vip
        for (j = 0; j < m; j++) {
            k = i * m + j
            printf "-a -t %s -r 172.%d.%d.%d:8080 -m -w 1\n", vip, 16 + int(k / 62500), int(k / 250) % 250, k % 250 + 1
        }
    }
}' >"$W/table"
t0=$(now)
"$IPVSADM" -R <"$W/table"
t1=$(now)
echo "table: $SERVICES services x $SERVERS servers ($(wc -l <"$W/table") ipvsadm -R lines) loaded in $(elapsed "$t0" "$t1") s"

"$IPVSADM" -Sn >"$W/ipvsadm.out"
"$IPVSC" save --format ipvsadm --strict >"$W/ipvsc.out"
if ! cmp "$W/ipvsadm.out" "$W/ipvsc.out"; then
    echo "FAIL: ipvsc save --format ipvsadm --strict differs from ipvsadm -Sn"
    diff "$W/ipvsadm.out" "$W/ipvsc.out" | head -n 20
    exit 1
fi
echo "identical: ipvsadm -Sn and ipvsc save --strict, $(wc -l <"$W/ipvsc.out") lines, $(wc -c <"$W/ipvsc.out") bytes"

# Alternating runs, so that any drift of the emulator hits both alike.
: >"$W/a"
: >"$W/b"
: >"$W/j"
r=1
while [ "$r" -le "$REPS" ]; do
    t0=$(now)
    "$IPVSADM" -Sn >/dev/null
    t1=$(now)
    "$IPVSC" save --format ipvsadm --strict >/dev/null
    t2=$(now)
    "$IPVSC" save --format json >/dev/null
    t3=$(now)
    a=$(elapsed "$t0" "$t1") b=$(elapsed "$t1" "$t2") j=$(elapsed "$t2" "$t3")
    echo "$a" >>"$W/a"
    echo "$b" >>"$W/b"
    echo "$j" >>"$W/j"
    echo "run $r: ipvsadm -Sn $a s, ipvsc save --strict $b s, ipvsc save --format json $j s"
    r=$((r + 1))
done
ma=$(median <"$W/a")
mb=$(median <"$W/b")
mj=$(median <"$W/j")
echo "@@bench services=$SERVICES servers=$SERVERS reps=$REPS ipvsadm=$ma ipvsc=$mb ipvsc_json=$mj ratio=$(awk -v a="$ma" -v b="$mb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')"
