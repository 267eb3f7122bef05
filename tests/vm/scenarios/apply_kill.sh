#!/bin/sh
# SIGKILL in the middle of `ipvsc apply`, on the real kernel. Tables A and B are large (SERVICES
# TCP services with 4 servers each, written as ipvsadm dumps) and differ a lot: services removed
# and added, servers reweighted, moved and given thresholds, a fifth of the services with
# another scheduler (the kernel waits for an RCU grace period on each, which is what makes an
# apply take a while), the timeouts and a sync daemon.
#
# Each run starts from one of the two tables, X, and applies the other, Y, in the background;
# once its transaction has begun (its journal is there), a random delay later (uniform over the
# first 90% of how long the calibration apply's changes took, so that the kills land all over
# the plan; an apply can run faster than the calibration one) it is killed with SIGKILL. Then:
#   - `ipvsc apply Y` must refuse with exit 7 (an interrupted apply must be recovered first);
#   - `ipvsc recover` must put back exactly X (`ipvsadm -Sn`, `ipvsc save --format ipvsadm`
#     and every /proc/sys/net/ipv4/vs/ value), and remove the journal;
#   - `ipvsc apply Y` then works, and leaves exactly Y (`ipvsadm -Sn`).
# The next run starts from Y and applies X: runs alternate A -> B and B -> A, each from a table
# checked by the run before. A kill that lands after the apply finished is counted apart (the
# second apply must then find nothing to do); at least 15 of the 20 runs must interrupt an
# apply for real.
set -u
W=/tmp/apply_kill
mkdir -p "$W"
export IPVSC_STATE_DIR=/tmp/state
RUNS=20
SERVICES=200
. ./lib/apply.sh # fail, snapshot
now() { cut -d ' ' -f 1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

ip link add eth0 type dummy && ip addr add 198.18.1.1/32 dev eth0 && ip link set eth0 up ||
    fail "cannot make the dummy interface eth0"

# As ipvsadm dumps, which ipvsc reads too (and parses faster than .ipvs).
table() { # $1 = a | b
    awk -v t="$1" -v n="$SERVICES" 'BEGIN {
        for (i = 0; i < n + n / 10; i++) {
            # The last tenth are only in B; every tenth of the others only in A.
            if (t == "a" && i >= n || t == "b" && i < n && i % 10 == 0) continue
            vip = sprintf("10.%d.%d.%d:80", 100 + int(i / 62500), int(i / 250) % 250, i % 250 + 1)
            printf "-A -t %s -s %s\n", vip, (t == "b" && i % 5 == 1) ? "rr" : "wlc"
            for (j = 0; j < 4; j++) {
                k = i * 5 + j
                if (t == "b" && i % 10 == 6) k++
                w = 1; x = ""
                if (t == "b" && i % 10 >= 2 && i % 10 <= 5) w = 2 + j
                if (t == "b" && i % 10 == 7) x = " -x 100 -y 50"
                printf "-a -t %s -r 172.%d.%d.%d:8080 -m -w %d%s\n", vip, 16 + int(k / 62500), int(k / 250) % 250, k % 250 + 1, w, x
            }
        }
        if (t == "a") {
            print "--set 900 120 300"
        } else {
            print "--set 1800 60 60"
            print "--start-daemon master --mcast-interface eth0 --syncid 9"
        }
    }'
}
table a >"$W/a.ipvsadm"
table b >"$W/b.ipvsadm"

J=$IPVSC_STATE_DIR/journal.json
# Starts `ipvsc apply $1` in the background (pid in $pid) and waits until its transaction has
# begun (the journal is there); fails when it ends before.
start_apply() {
    "$IPVSC" apply "$1" >"$W/killed" 2>&1 &
    pid=$!
    while [ ! -e "$J" ]; do
        kill -0 "$pid" 2>/dev/null || {
            wait "$pid"
            fail "ipvsc apply $1 ended (exit $?) before it began its changes" "$W/killed"
        }
        usleep 5000
    done
}

# A, loaded by ipvsadm.
t0=$(now)
"$IPVSADM" -R <"$W/a.ipvsadm" >"$W/err" 2>&1 && [ ! -s "$W/err" ] || fail "ipvsadm -R of A failed" "$W/err"
t1=$(now)
snapshot "$W/a.snap"
echo "A: $(grep -c '^-A' "$W/a.ipvsadm") services, $(grep -c '^-a' "$W/a.ipvsadm") servers (ipvsadm -R: $(elapsed "$t0" "$t1") s)"

# Calibration: how long the changes of A -> B take, from the journal's appearance to the end;
# then back to A.
t0=$(now)
start_apply "$W/b.ipvsadm"
t1=$(now)
wait "$pid" || fail "ipvsc apply of B failed" "$W/killed"
t2=$(now)
[ ! -e "$J" ] || fail "a finished apply left its journal"
cat "$W/killed"
snapshot "$W/b.snap"
"$IPVSC" apply "$W/a.ipvsadm" >"$W/out" 2>&1 || fail "ipvsc apply of A after B failed" "$W/out"
cat "$W/out"
snapshot "$W/now.snap"
diff -u "$W/a.snap" "$W/now.snap" >"$W/diff" || fail "ipvsc apply of A after B does not give A back" "$W/diff"
span=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%d", (b - a) * 1000 }')
echo "calibration: the apply began its changes after $(elapsed "$t0" "$t1") s; they took $span ms; kills land uniformly within the first $((span * 9 / 10)) ms of them"

X=a
Y=b
interrupted=0
missed=0
run=1
while [ "$run" -le "$RUNS" ]; do
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    delay=$((r * span * 9 / 10 / 65536))
    start_apply "$W/$Y.ipvsadm"
    usleep $((delay * 1000))
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
    krc=$?
    "$IPVSC" apply "$W/$Y.ipvsadm" >"$W/out" 2>&1
    rc=$?
    what="run $run: $X -> $Y killed $delay ms into its changes"
    case $rc in
        7)
            interrupted=$((interrupted + 1))
            grep -q 'run `ipvsc recover`' "$W/out" || fail "$what: the refusal does not say to recover" "$W/out"
            "$IPVSC" recover >"$W/recover" 2>&1 || fail "$what: ipvsc recover exited with $?" "$W/recover"
            [ ! -e "$IPVSC_STATE_DIR/journal.json" ] || fail "$what: recover left the journal" "$W/recover"
            snapshot "$W/now.snap"
            diff -u "$W/$X.snap" "$W/now.snap" >"$W/diff" || fail "$what: recover did not restore $X (- $X, + now)" "$W/recover" "$W/diff"
            echo "$what: interrupted; recover undid it: $(sed -n 's/^Plan: //p' "$W/recover")"
            "$IPVSC" apply "$W/$Y.ipvsadm" >"$W/out" 2>&1 || fail "$what: ipvsc apply after recover exited with $?" "$W/out"
            ;;
        0)
            missed=$((missed + 1))
            grep -q '^No changes' "$W/out" || fail "$what: the apply had finished (exit $krc) but left changes to make" "$W/killed" "$W/out"
            echo "$what: the apply had made all its changes and closed its journal (exit $krc); nothing to recover"
            ;;
        *) fail "$what: ipvsc apply after the kill exited with $rc, want 7" "$W/killed" "$W/out" ;;
    esac
    "$IPVSADM" -S -n >"$W/now.sn"
    sed -n '/^@@ ipvsadm -Sn$/,/^@@ ipvsc save/p' "$W/$Y.snap" | sed '1d;$d' >"$W/want.sn"
    diff -u "$W/want.sn" "$W/now.sn" >"$W/diff" || fail "$what: the table after the apply is not $Y" "$W/out" "$W/diff"
    t=$X
    X=$Y
    Y=$t
    run=$((run + 1))
done
echo "$RUNS runs: $interrupted interrupted an apply, $missed landed outside its changes"
[ "$interrupted" -ge 15 ] || fail "only $interrupted of $RUNS kills interrupted an apply (at least 15 must)"
