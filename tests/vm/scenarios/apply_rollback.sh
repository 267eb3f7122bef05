#!/bin/sh
# Rollback on the real kernel, at every step of a plan of more than 100 operations (timeouts,
# sysctls, daemons stopped and started, services and servers removed, edited in place and
# added): from table A, `IPVSC_TEST_FAIL_AT=K ipvsc apply B` must exit 5 and leave A exactly as
# it was, for every K. A snapshot is `ipvsadm -Sn`, `ipvsc save --format ipvsadm` (thresholds,
# timeouts and daemons, which ipvsadm -S loses) and every /proc/sys/net/ipv4/vs/ value. To save
# guest time the snapshot is taken after every few K (each apply must also plan from A's plan,
# which catches most leftovers at once); when one differs, A is put back with ipvsadm and the
# batch runs again with a snapshot after each K, to name it.
# Then two refusals by the kernel itself, each must exit 5, name the refused operation and its
# line, and leave the table as it was:
#  - a real server at the broadcast address of eth0's subnet, in the middle of the same plan
#    (inet_addr_type says RTN_BROADCAST: "address not unicast");
#  - any IPv4 real server in a namespace whose loopback never came up (no routing table at all,
#    which inet_addr_type also reports as broadcast). Removing the default routes is not enough
#    on this kernel: with a routing table, an address no route leads to is still RTN_UNICAST.
set -u
W=/tmp/apply_rollback
mkdir -p "$W"
export IPVSC_STATE_DIR="$W/state"
. ./lib/apply.sh # fail, snapshot, watchdog
# An apply here takes a second or two; one that hangs is shown where it stands and killed.
# This scenario used to stall until the harness's timeout in a run out of a few: a rollback
# stopping the backup daemon the failed apply had just started got no ACK from the kernel
# (EINTR: the daemon's thread had not run yet), and ipvsc waited for it without limit. It
# now gives up after a few seconds and reads the table back (scenario no_answer).
watchdog 60
trap 'kill "$WATCHDOG" 2>/dev/null' EXIT
# What ipvsc said, on one line: diagnostics wrap long messages, and mark the lines they wrap with │.
said() { sed 's/[│╰╭─·┬]//g' "$1" | tr '\n' ' ' | tr -s ' '; }
now() { cut -d ' ' -f 1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

ip link add eth0 type dummy && ip addr add 198.18.1.1/24 brd + dev eth0 && ip link set eth0 up &&
    ip link add eth1 type dummy && ip addr add 198.18.2.1/32 dev eth1 && ip link set eth1 up ||
    fail "cannot make the dummy interfaces eth0 and eth1"

# Services 1-24 of A: 1-4 go, 5-8 change settings, 9-16 change every server's weight, 17-20
# lose a server and gain one, 21-24 stay. 25-35 are new in B. Plus a UDP and a fwmark service
# that change in place, and a new IPv6 service. One line per service: the debug build that
# `cargo test` puts in the guest parses .ipvs slowly under TCG, and this file is parsed 100+ times.
table() { # $1 = a | b
    awk -v t="$1" -v bad="${2:-}" 'BEGIN {
        if (t == "a") {
            print "timeouts { tcp 10m; tcpfin 1m; udp 4m }"
            print "sync master { interface eth0; syncid 1 }"
        } else {
            print "timeouts { tcp 20m; udp 2m }"
            print "sysctl { expire_nodest_conn on; expire_quiescent_template on; sync_threshold 4 60 }"
            print "sync master { interface eth0; syncid 2 }"
            print "sync backup { interface eth1; syncid 3 }"
        }
        for (n = 1; n <= 35; n++) {
            if (t == "a" && n > 24 || t == "b" && n <= 4) continue
            sched = "wlc"; extra = ""
            if (t == "b" && n == 5) sched = "rr"
            if (t == "b" && n == 6) sched = "sh"
            if (t == "b" && (n == 7 || n == 8)) extra = "; persistent 5m"
            w = (t == "b" && n >= 9 && n <= 16) ? 5 : 1
            lo = (t == "b" && n >= 17 && n <= 20) ? 2 : 1
            printf "service tcp 10.1.0.%d:80 { scheduler %s; forward nat%s; server 172.16.%d.%d-172.16.%d.%d:8080 weight %d", n, sched, extra, n, lo, n, lo + 2, w
            if (t == "b" && n == 30 && bad) printf "\n    server 198.18.1.255:8080\n"
            print " }"
        }
        if (t == "a") {
            print "service udp 10.2.0.1:53 { scheduler rr; server 172.17.0.1-172.17.0.4 }"
            print "service fwmark 7 { scheduler sh; persistent 5m; server 172.18.0.1-172.18.0.3 }"
        } else {
            print "service udp 10.2.0.1:53 {\n    scheduler rr\n    server 172.17.0.1-172.17.0.2 upper 100 lower 10\n    server 172.17.0.5-172.17.0.6\n}"
            print "service fwmark 7 { scheduler sh; persistent 10m netmask /24; server 172.18.0.1-172.18.0.3 forward tunnel }"
            print "service tcp [2001:db8::1]:443 { server [2001:db8:1::1]-[2001:db8:1::4]:443 }"
        }
    }'
}
table a >"$W/a.ipvs"
table b >"$W/b.ipvs"
table b bad >"$W/bad.ipvs"

"$IPVSC" save --format ipvsadm "$W/a.ipvs" >"$W/a.ipvsadm" 2>"$W/err" || fail "ipvsc save of A failed" "$W/err"
"$IPVSADM" -R <"$W/a.ipvsadm" >"$W/err" 2>&1 && [ ! -s "$W/err" ] || fail "ipvsadm -R of A failed" "$W/err" "$W/a.ipvsadm"

snapshot "$W/a.snap"
grep -q -- '--start-daemon master --mcast-interface eth0 --syncid 1' "$W/a.snap" || fail "A has no master daemon" "$W/a.snap"
grep -q -- '^--set 600 60 240$' "$W/a.snap" || fail "A's timeouts are not set" "$W/a.snap"

"$IPVSC" plan "$W/b.ipvs" --format json >"$W/plan.json" 2>"$W/err" || fail "ipvsc plan failed" "$W/err"
N=$(sed -n 's/^ *"operations": \([0-9]*\),$/\1/p' "$W/plan.json")
[ "${N:-0}" -ge 100 ] || fail "the plan has ${N:-no} operations, not 100 or more" "$W/plan.json"
"$IPVSC" plan "$W/b.ipvs" >"$W/plan.txt" 2>&1
PLAN=$(tail -n 1 "$W/plan.txt")
echo "$PLAN"

# Back to A without ipvsc: only when a batch went wrong, to find the operation.
reset_to_a() {
    "$IPVSADM" -C
    "$IPVSADM" --stop-daemon master 2>/dev/null
    "$IPVSADM" --stop-daemon backup 2>/dev/null
    "$IPVSADM" -R <"$W/a.ipvsadm"
    sed -n '/^@@ sysctls$/,$p' "$W/a.snap" | sed 1d | while IFS=: read -r f v; do echo "$v" >"$f"; done
    snapshot "$W/reset.snap"
    diff -u "$W/a.snap" "$W/reset.snap" >"$W/diff" || fail "cannot put A back with ipvsadm" "$W/diff"
}

# One apply that fails at operation $1: exit 5, the plan from A (so it starts from A), the
# injected failure reported, and a rollback.
fail_at() {
    IPVSC_TEST_FAIL_AT=$1 "$IPVSC" apply "$W/b.ipvs" >"$W/out" 2>&1
    rc=$?
    [ "$rc" = 5 ] || fail "failure injected at operation $1: exit $rc, want 5" "$W/out"
    [ "$(head -n 1 "$W/out")" = "$PLAN" ] || fail "failure at $1: the apply did not start from A's plan" "$W/out"
    said "$W/out" | grep -q 'failure injected for a test' || fail "failure at $1: no word of the injected failure" "$W/out"
    grep -q "^ipvsc: rolled back: " "$W/out" || fail "failure at $1: no rollback reported" "$W/out"
}

# Every K, in batches of BATCH with a snapshot after each batch (and after each K whenever a
# batch's snapshot differs, to name the K). A rollback that leaves anything changed leaves it
# for the rest of the batch too: every later rollback restores the table it found.
BATCH=5
t0=$(now)
K=0
while [ "$K" -lt "$N" ]; do
    end=$((K + BATCH))
    [ "$end" -le "$N" ] || end=$N
    k=$K
    while [ "$k" -lt "$end" ]; do
        fail_at "$k"
        k=$((k + 1))
    done
    snapshot "$W/after.snap"
    if ! cmp -s "$W/a.snap" "$W/after.snap"; then
        reset_to_a
        k=$K
        while [ "$k" -lt "$end" ]; do
            fail_at "$k"
            snapshot "$W/after.snap"
            diff -u "$W/a.snap" "$W/after.snap" >"$W/diff" ||
                fail "failure injected at operation $k of $N: the table is not as it was (- before, + after)" "$W/out" "$W/diff"
            k=$((k + 1))
        done
        fail "failures injected at operations $K to $((end - 1)) changed the table, but none of them alone did"
    fi
    K=$end
done
t1=$(now)
echo "ok: a failure at each of the $N operations left the table exactly as it was ($(elapsed "$t0" "$t1") s)"

# Faults at the netlink transport (IPVSC_TEST_FAULT, the test-hooks build): ACKs lost after the
# kernel performed the requests, a send() failing part way with ENOBUFS, a batch performed whose
# answers fail to arrive, a truncated ACK; at every write request of the plan. ipvsc cannot know
# what was done: it must say so, read the table back and put back A (exit 5), or keep the
# journal (exit 6) so that `ipvsc recover` does.
W_OPS=$((N - $(grep -c '"set_sysctl"' "$W/plan.json")))
fault_at() { # KIND K
    IPVSC_TEST_FAULT=$1:$2 "$IPVSC" apply "$W/b.ipvs" >"$W/out" 2>&1
    rc=$?
    case $rc in
        5)
            grep -q "^ipvsc: rolled back: .* the table read back is as it was found" "$W/out" ||
                fail "$1 at $2: exit 5 without a read-back that matched" "$W/out"
            [ ! -e "$IPVSC_STATE_DIR/journal.json" ] || fail "$1 at $2: exit 5 but the journal stayed" "$W/out"
            ;;
        6)
            [ -e "$IPVSC_STATE_DIR/journal.json" ] || fail "$1 at $2: exit 6 without the journal" "$W/out"
            "$IPVSC" recover >"$W/recover" 2>&1 || fail "$1 at $2: recover exited with $?" "$W/out" "$W/recover"
            RECOVERED=$((RECOVERED + 1))
            ;;
        *) fail "$1 at $2: exit $rc, want 5 or 6" "$W/out" ;;
    esac
    said "$W/out" | grep -q "cannot tell whether the kernel did" || fail "$1 at $2: the unknown outcome is not said" "$W/out"
}
t0=$(now)
RECOVERED=0
for kind in drop-acks enobufs exec-then-fail truncate; do
    K=0
    while [ "$K" -lt "$W_OPS" ]; do
        fault_at "$kind" "$K"
        # A snapshot after every few K, as above; one after each K when it differs.
        if [ $((K % BATCH)) = $((BATCH - 1)) ] || [ $((K + 1)) = "$W_OPS" ]; then
            snapshot "$W/after.snap"
            diff -u "$W/a.snap" "$W/after.snap" >"$W/diff" ||
                fail "$kind up to request $K of $W_OPS: the table is not as it was (- before, + after)" "$W/out" "$W/diff"
        fi
        K=$((K + 1))
    done
done
t1=$(now)
echo "ok: lost ACKs, ENOBUFS, answers failing after the kernel acted and truncated ACKs, at each of the $W_OPS write requests: the table read back is A every time ($RECOVERED needed recover; $(elapsed "$t0" "$t1") s)"

# A refusal by the kernel itself: the server at eth0's broadcast address, in the middle.
line=$(grep -n '198.18.1.255' "$W/bad.ipvs" | cut -d : -f 1)
"$IPVSC" apply "$W/bad.ipvs" >"$W/out" 2>&1
rc=$?
[ "$rc" = 5 ] || fail "a server the kernel refuses: exit $rc, want 5" "$W/out"
said "$W/out" | grep -q "the kernel refused to add server 198.18.1.255:8080 to service tcp 10.1.0.30:80" ||
    fail "the refusal does not name the refused operation" "$W/out"
grep -q "bad.ipvs:$line:" "$W/out" || fail "the refusal does not point at line $line of bad.ipvs" "$W/out"
grep -q "EINVAL" "$W/out" || fail "the refusal does not say EINVAL" "$W/out"
grep -q "^ipvsc: rolled back: " "$W/out" || fail "no rollback reported after the refusal" "$W/out"
snapshot "$W/after.snap"
diff -u "$W/a.snap" "$W/after.snap" >"$W/diff" || fail "after the kernel's refusal the table is not as it was" "$W/out" "$W/diff"
sed 's/^/    /' "$W/out"
echo "ok: the kernel's refusal of line $line rolled back everything before and after it"

# The plan itself goes through.
"$IPVSC" apply "$W/b.ipvs" >"$W/out" 2>&1 || fail "ipvsc apply of B failed" "$W/out"
"$IPVSC" plan "$W/b.ipvs" --detailed-exitcode >"$W/out" 2>&1 || fail "B is not fully applied" "$W/out"
echo "ok: B applies"

# No routing table at all: every IPv4 real server is refused.
cat >"$W/noroute.ipvs" <<'EOF'
service tcp 10.9.0.1:80 {
    server 10.9.1.1:80
}
EOF
unshare -n sh -c '
    export IPVSC_STATE_DIR=$0/state-noroute
    "$IPVSC" apply "$0/noroute.ipvs" >"$0/out" 2>&1
    echo "rc=$?" >>"$0/out"
    "$IPVSADM" -S -n >"$0/after" 2>&1' "$W"
grep -q '^rc=5$' "$W/out" || fail "without a routing table: want exit 5" "$W/out"
said "$W/out" | grep -q "the kernel refused to add server 10.9.1.1:80 to service tcp 10.9.0.1:80" || fail "without a routing table: the refusal is not named" "$W/out"
grep -q "noroute.ipvs:2:" "$W/out" || fail "without a routing table: the refusal does not point at line 2" "$W/out"
[ ! -s "$W/after" ] || fail "without a routing table: the table is not empty after the rollback" "$W/after"
echo "ok: without a routing table the server is refused and the service rolled back"
