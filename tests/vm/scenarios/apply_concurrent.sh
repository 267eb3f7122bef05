#!/bin/sh
# Two `ipvsc apply` at once, of different tables X and Y, on the real kernel. Each round starts
# from a third table Z, so that both have work to do: Z's own services to remove, shared
# services to change (schedulers, so that each apply takes a while, weights, servers), services
# of their own to add, the timeouts, a sysctl and the sync daemon. The two are started at the
# same instant. The lock makes one wait for the other, and the one that waits plans against the
# table the other left: afterwards both have exited 0 and the table is exactly X or exactly Y
# (`ipvsadm -Sn`, `ipvsc save --format ipvsadm` and every /proc/sys/net/ipv4/vs/ value), never
# a mix. Without the lock both would plan against Z and their changes would interleave.
set -u
W=/tmp/apply_concurrent
mkdir -p "$W"
export IPVSC_STATE_DIR="$W/state"
ROUNDS=4
. ./lib/apply.sh # fail, snapshot

ip link add eth0 type dummy && ip addr add 198.18.1.1/32 dev eth0 && ip link set eth0 up ||
    fail "cannot make the dummy interface eth0"

table() { # $1 = x | y | z
    awk -v t="$1" 'BEGIN {
        v = (t == "x") ? 1 : (t == "y") ? 2 : 3
        printf "timeouts { tcp %dm }\n", 10 + v
        printf "sysctl { conn_reuse_mode %d }\n", v
        printf "sync master { interface eth0; syncid %d }\n", v
        for (i = 0; i < 100; i++) {
            sched = (v == 3 || i % 3) ? "wlc" : (v == 1) ? "rr" : "sh"
            printf "service tcp 10.3.%d.%d:80 {\n    scheduler %s; forward nat\n", int(i / 250), i % 250 + 1, sched
            for (j = 0; j < 3; j++) printf "    server 172.20.%d.%d:8080 weight %d\n", i, j + v, 2 * v
            print "}"
        }
        for (i = 0; i < 20; i++)
            printf "service udp 10.4.%d.%d:53 { server 172.21.%d.1 }\n", v, i + 1, i
    }'
}
table x >"$W/x.ipvs"
table y >"$W/y.ipvs"
table z >"$W/z.ipvs"

# The two tables, one after the other.
"$IPVSC" apply "$W/x.ipvs" >"$W/out" 2>&1 || fail "ipvsc apply of X failed" "$W/out"
snapshot "$W/x.snap"
"$IPVSC" apply "$W/y.ipvs" >"$W/out" 2>&1 || fail "ipvsc apply of Y failed" "$W/out"
cat "$W/out"
snapshot "$W/y.snap"
! cmp -s "$W/x.snap" "$W/y.snap" || fail "X and Y are the same table"

round=1
seen=""
while [ "$round" -le "$ROUNDS" ]; do
    if [ $((round % 2)) = 1 ]; then first=x second=y; else first=y second=x; fi
    "$IPVSC" apply "$W/z.ipvs" >"$W/out" 2>&1 || fail "round $round: ipvsc apply of Z failed" "$W/out"
    # Both wait for the same signal, then exec ipvsc.
    rm -f "$W/go"
    (while [ ! -e "$W/go" ]; do usleep 1000; done; exec "$IPVSC" apply "$W/$first.ipvs") >"$W/$first.out" 2>&1 &
    p1=$!
    (while [ ! -e "$W/go" ]; do usleep 1000; done; exec "$IPVSC" apply "$W/$second.ipvs") >"$W/$second.out" 2>&1 &
    p2=$!
    usleep 100000
    touch "$W/go"
    wait "$p1"
    r1=$?
    wait "$p2"
    r2=$?
    [ "$r1" = 0 ] || fail "round $round: ipvsc apply of $first exited with $r1" "$W/$first.out"
    [ "$r2" = 0 ] || fail "round $round: ipvsc apply of $second exited with $r2" "$W/$second.out"
    snapshot "$W/now.snap"
    if cmp -s "$W/now.snap" "$W/x.snap"; then
        got=x
    elif cmp -s "$W/now.snap" "$W/y.snap"; then
        got=y
    else
        diff -u "$W/x.snap" "$W/now.snap" >"$W/diff-x"
        diff -u "$W/y.snap" "$W/now.snap" >"$W/diff-y"
        fail "round $round: the table is neither X nor Y (diffs against X, then Y)" "$W/diff-x" "$W/diff-y" "$W/x.out" "$W/y.out"
    fi
    echo "round $round: from Z, $first and $second started together; the table is $got (x: $(tail -n 1 "$W/x.out"); y: $(tail -n 1 "$W/y.out"))"
    seen="$seen $got"
    round=$((round + 1))
done
echo "ok: after every round the table was exactly one of the two:$seen"
