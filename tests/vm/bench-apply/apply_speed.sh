#!/bin/sh
# Benchmark (bench/apply.sh runs it; not a test, CI does not): `ipvsc apply` against ipvsadm on
# one large table, timed with /proc/uptime inside the guest. Under TCG absolute times mean
# little: compare within one boot.
#
#  1. Load: the table into an empty kernel, `ipvsc apply FILE.ipvs` against `ipvsadm -R` of the
#     same table; also `ipvsc apply` of the ipvsadm dump itself. Every load runs in a fresh
#     network namespace (`unshare -n`, lo up, default routes), which is emptied again with
#     `ipvsadm -C` outside the timing, so that no namespace teardown runs during a measurement.
#  2. No-op: `ipvsc apply` of the table that is there, against `ipvsadm -Sn`.
#  3. One weight: a file that differs in one server's weight (exactly one operation, checked
#     with `ipvsc plan --format json`), against `ipvsadm -Sn`; the runs alternate two weights.
#     2 and 3 for the .ipvs file and for the same table as an ipvsadm dump.
#  4. Where the time goes: `ipvsc check` of each (parse and compile), `ipvsc save --format json`
#     (read the kernel, and print it), `ipvsc plan` (parse, read and diff), `ipvsc --version`
#     (start-up), and the write time apply reports for the load.
#
# Parameters in $DATA/data/extra/params (written by bench/apply.sh): SERVICES, SERVERS (per
# service), REPS. Service i is TCP 10.H.M.L:80 with L = i % 250 + 1, so that consecutive services
# differ in the last octet; its servers are 172.A.B.C:8080, NAT, each address used once.
# Prints `@@bench NAME ...` result lines, medians of REPS alternating runs.
set -eu
SERVICES=2000 SERVERS=10 REPS=5
[ -f "$DATA/data/extra/params" ] && . "$DATA/data/extra/params"
W=/tmp/bench-apply
mkdir -p "$W"
export IPVSC_STATE_DIR=$W/state

now() { cut -d ' ' -f 1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }

# The table, as an ipvsadm -R input and as .ipvs; WEIGHT is the first server's weight.
gen() { # $1 = ipvsadm | ipvs, $2 = the first server's weight
    awk -v n="$SERVICES" -v m="$SERVERS" -v f="$1" -v w0="$2" 'BEGIN {
        for (i = 0; i < n; i++) {
            vip = sprintf("10.%d.%d.%d:80", int(i / 62500), int(i / 250) % 250, i % 250 + 1)
            if (f == "ipvsadm") printf "-A -t %s -s wlc\n", vip
            else printf "service tcp %s {\n    scheduler wlc; forward nat\n", vip
            for (j = 0; j < m; j++) {
                k = i * m + j
                rip = sprintf("172.%d.%d.%d:8080", 16 + int(k / 62500), int(k / 250) % 250, k % 250 + 1)
                w = (k == 0) ? w0 : 1
                if (f == "ipvsadm") printf "-a -t %s -r %s -m -w %d\n", vip, rip, w
                else printf "    server %s weight %d\n", rip, w
            }
            if (f != "ipvsadm") print "}"
        }
    }'
}
gen ipvsadm 1 >"$W/table.ipvsadm"
gen ipvs 1 >"$W/table.ipvs"
cp "$W/table.ipvs" "$W/weight1.ipvs"
cp "$W/table.ipvsadm" "$W/weight1.ipvsadm"
gen ipvs 7 >"$W/weight7.ipvs"
gen ipvsadm 7 >"$W/weight7.ipvsadm"
echo "table: $SERVICES services x $SERVERS servers: $(wc -l <"$W/table.ipvsadm") ipvsadm -R lines, $(wc -l <"$W/table.ipvs") .ipvs lines"

# Runs the command line $1 in a fresh network namespace set up as the tests' are, checks that it
# loaded the whole table, and prints the seconds the command took.
fresh() {
    unshare -n sh -c '
        ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo || exit 99
        t0=$(cut -d " " -f 1 /proc/uptime)
        eval "$1" >"$W/fresh.out" 2>&1 || { echo "FAIL: $1" >&2; cat "$W/fresh.out" >&2; exit 1; }
        t1=$(cut -d " " -f 1 /proc/uptime)
        n=$("$IPVSADM" -S -n | wc -l)
        [ "$n" = "$EXPECT" ] || { echo "FAIL: $1 left $n lines of ipvsadm -Sn, not $EXPECT" >&2; exit 1; }
        "$IPVSADM" -C
        awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\n\", b - a }"' sh "$1"
}
export W EXPECT
EXPECT=$(wc -l <"$W/table.ipvsadm")

# 1. Loads.
: >"$W/load_ipvsadm"
: >"$W/load_ipvsc"
: >"$W/load_ipvsc_dump"
: >"$W/load_written"
r=1
while [ "$r" -le "$REPS" ]; do
    a=$(fresh '"$IPVSADM" -R <"$W/table.ipvsadm"')
    b=$(fresh '"$IPVSC" apply "$W/table.ipvs"')
    grep -q "^Applied: .* 0 changed, 0 removed" "$W/fresh.out" || { cat "$W/fresh.out"; exit 1; }
    written=$(sed -n 's/.* kernel operations in \([0-9.]*\) s).*/\1/p' "$W/fresh.out")
    c=$(fresh '"$IPVSC" apply "$W/table.ipvsadm"')
    echo "$a" >>"$W/load_ipvsadm"
    echo "$b" >>"$W/load_ipvsc"
    echo "$c" >>"$W/load_ipvsc_dump"
    echo "$written" >>"$W/load_written"
    echo "load run $r: ipvsadm -R $a s, ipvsc apply .ipvs $b s (writing $written s), ipvsc apply of the dump $c s"
    r=$((r + 1))
done
la=$(median <"$W/load_ipvsadm")
lb=$(median <"$W/load_ipvsc")
lc=$(median <"$W/load_ipvsc_dump")
lw=$(median <"$W/load_written")
echo "@@bench load services=$SERVICES servers=$SERVERS reps=$REPS ipvsadm_R=$la ipvsc_apply=$lb ipvsc_apply_dump=$lc ipvsc_write=$lw speedup=$(ratio "$la" "$lb") speedup_dump=$(ratio "$la" "$lc")"

# 2. and 3. in one namespace holding the table.
"$IPVSADM" -C
"$IPVSADM" -R <"$W/table.ipvsadm"
"$IPVSC" plan "$W/table.ipvs" --detailed-exitcode >/dev/null || { echo "FAIL: the loaded table is not table.ipvs"; exit 1; }
"$IPVSC" plan "$W/weight7.ipvs" --format json >"$W/plan.json"
ops=$(sed -n 's/^ *"operations": \([0-9]*\),$/\1/p' "$W/plan.json")
[ "$ops" = 1 ] || { echo "FAIL: one weight changed plans $ops operations, not 1"; exit 1; }
grep -q '"edit_server"' "$W/plan.json" || { echo "FAIL: the one operation is not a server edit"; cat "$W/plan.json"; exit 1; }
echo "one weight changed: exactly 1 operation ($(grep -o '"subject": "[^"]*"' "$W/plan.json"))"

: >"$W/sn"
for f in noop one noop_dump one_dump check check_dump read plan start; do : >"$W/$f"; done
# The kernel holds weight$cur. Each run: a no-op apply, then one weight changed, of the .ipvs
# file, then the same of the ipvsadm dump (back to weight$cur); then the parts.
cur=1
r=1
while [ "$r" -le "$REPS" ]; do
    other=$((8 - cur))
    t0=$(now)
    "$IPVSADM" -S -n >/dev/null
    t1=$(now)
    "$IPVSC" apply "$W/weight$cur.ipvs" >"$W/out"
    t2=$(now)
    grep -q '^No changes' "$W/out" || { echo "FAIL: the no-op apply changed something"; cat "$W/out"; exit 1; }
    "$IPVSC" apply "$W/weight$other.ipvs" >"$W/out"
    t3=$(now)
    grep -q '(1 kernel operation' "$W/out" || { echo "FAIL: the weight change was not one operation"; cat "$W/out"; exit 1; }
    "$IPVSC" apply "$W/weight$other.ipvsadm" >"$W/out"
    t4=$(now)
    grep -q '^No changes' "$W/out" || { echo "FAIL: the no-op apply of the dump changed something"; cat "$W/out"; exit 1; }
    "$IPVSC" apply "$W/weight$cur.ipvsadm" >"$W/out"
    t5=$(now)
    grep -q '(1 kernel operation' "$W/out" || { echo "FAIL: the weight change of the dump was not one operation"; cat "$W/out"; exit 1; }
    "$IPVSC" check -q "$W/weight$cur.ipvs"
    t6=$(now)
    "$IPVSC" check -q "$W/weight$cur.ipvsadm"
    t7=$(now)
    "$IPVSC" save --format json >/dev/null
    t8=$(now)
    "$IPVSC" plan "$W/weight$cur.ipvs" >/dev/null
    t9=$(now)
    "$IPVSC" --version >/dev/null
    t10=$(now)
    sn=$(elapsed "$t0" "$t1") noop=$(elapsed "$t1" "$t2") one=$(elapsed "$t2" "$t3")
    noop_dump=$(elapsed "$t3" "$t4") one_dump=$(elapsed "$t4" "$t5")
    check=$(elapsed "$t5" "$t6") check_dump=$(elapsed "$t6" "$t7") read=$(elapsed "$t7" "$t8")
    plan=$(elapsed "$t8" "$t9") start=$(elapsed "$t9" "$t10")
    for f in sn noop one noop_dump one_dump check check_dump read plan start; do
        eval "echo \$$f" >>"$W/$f"
    done
    echo "run $r: ipvsadm -Sn $sn s; .ipvs: no-op apply $noop s, one-weight apply $one s; dump: no-op apply $noop_dump s, one-weight apply $one_dump s; parts: check $check s (dump $check_dump s), save --format json $read s, plan $plan s, ipvsc --version $start s"
    r=$((r + 1))
done
sn=$(median <"$W/sn")
for f in noop one noop_dump one_dump; do
    m=$(median <"$W/$f")
    eval "$f=\$m"
done
echo "@@bench noop services=$SERVICES servers=$SERVERS reps=$REPS ipvsadm_Sn=$sn ipvsc_apply=$noop ratio=$(ratio "$noop" "$sn") ipvsc_apply_dump=$noop_dump ratio_dump=$(ratio "$noop_dump" "$sn")"
echo "@@bench one_weight services=$SERVICES servers=$SERVERS reps=$REPS ipvsadm_Sn=$sn ipvsc_apply=$one ratio=$(ratio "$one" "$sn") ipvsc_apply_dump=$one_dump ratio_dump=$(ratio "$one_dump" "$sn")"
echo "@@bench parts check=$(median <"$W/check") check_dump=$(median <"$W/check_dump") save_json=$(median <"$W/read") plan=$(median <"$W/plan") version=$(median <"$W/start")"
