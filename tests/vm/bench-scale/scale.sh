#!/bin/sh
# Scale benchmark (bench/scale.sh runs it; not a test, CI does not): `ipvsc apply` at several
# table sizes against ipvsadm and against a floor client, timed with /proc/uptime inside the
# guest. Under TCG absolute times mean little: compare within one boot.
#
# For each size SERVICESxSERVERS (TCP services, SERVERS NAT servers of weight 1 each, scheduler
# wlc; service i at 10.A.B.C:80 where (A.B, C) is a bijection of i scattered over 10.0.0.0/8
# (multiplied by 7368787 modulo 65536 * 254, last octet 1..254), server k of the table at
# 172.(16 + k / 62500).(k / 250 % 250).(k % 250 + 1):8080, each address used once):
#  1. Load into an empty kernel, each run in a fresh network namespace (`unshare -n`, lo up,
#     default routes; the whole table checked in /proc/net/ip_vs and emptied with `ipvsadm -C`
#     outside the timing): `ipvsc apply FILE.ipvs`, `ipvsc apply FILE.ipvsadm` (the same table
#     as an `ipvsadm -R` dump), the floor client `ipvsc-floor` replaying the write requests of a
#     capture of such a load (bench/floor.rs; captured once per size, in a fresh namespace,
#     outside the timing), and `ipvsadm -R`. One warm-up run of each first, not counted; then
#     REPS runs that alternate the four. Above IPVSADM_CAP servers `ipvsadm -R` runs once, with
#     no warm-up, and its time is that one run (the output says so).
#     After each run the kernel is given time to free the namespace's table (it does so in the
#     background when the namespace goes): until Slab and Percpu stop moving (`settle`).
#  2. No-op: `ipvsc apply` of the table that is there, of each input, against `ipvsadm -Sn`.
#  3. One weight: a file that differs from the kernel in one server's weight (exactly one
#     operation, checked with `ipvsc plan --format json`; the runs alternate two weights), of
#     each input, against `ipvsadm -Sn`. 2 and 3: a warm-up round, then REPS rounds, in a fresh
#     namespace of their own (this script run again as `scale.sh noop`), whose end frees
#     the table at once (`ipvsadm -C` alone leaves deleted servers for the kernel's trash timer
#     to free minutes later, in the middle of other measurements).
#  4. ipvsc's peak memory (maximum resident set size, from GNU time's `-f %M`, $TIME: busybox
#     1.35's `time` reports four times the real figure, as it takes ru_maxrss, which Linux gives
#     in KiB, for a count of pages), measured in
#     the warm-up runs only, so that the timed runs carry no wrapper: the loads (and the
#     floor's), the no-op and the one-weight applies, of each input.
#  5. The kernel's memory for the table: /proc/meminfo's Slab (SReclaimable + SUnreclaim;
#     SUnreclaim shown too) and Percpu, in a fresh namespace, empty and then holding the table
#     loaded by `ipvsc apply`, each read after dropping the caches and a settle, with nothing
#     else loaded anywhere. Measured first at each size: the percpu allocator keeps the pages
#     it populated after their objects are freed, so after a load of the same size the table's
#     Percpu would not show again (a smaller size before it still hides its own share).
#  6. At the largest size only: the rollback of a refused last operation. The namespace has a
#     dummy link d0 with 192.0.2.1/24 and its broadcast 192.0.2.255, and the file's very last
#     server (last in the file and in ipvsc's order: the last server of the service with the
#     highest address) is 192.0.2.255:8080, which the kernel refuses (EINVAL, not unicast) and
#     no check can foresee. `ipvsc apply` of it (a) into an empty namespace (the rollback
#     deletes everything loaded) and (b) into a namespace holding the table, the file changing
#     every server's weight to 2 (the rollback undoes every edit). Each must exit 5 with
#     `ipvsadm -Sn` afterwards byte for byte what it was before; its time, the operations the
#     rollback reports and its peak memory (one run, under `time -f %M`: a fork more in
#     seconds). ipvsc prints no time of its own when it refuses (printed_secs=none).
#
# Parameters in $DATA/data/extra/params (written by bench/scale.sh): SIZES (e.g. "2000x10
# 10000x10"), REPS, IPVSADM_CAP, ASLR; the floor client is $DATA/data/extra/ipvsc-floor.
# Prints `@@bench WHAT size=SxN ...` result lines (medians of REPS), and lines for people.
set -eu
SIZES="2000x10 10000x10 10000x100" REPS=5 IPVSADM_CAP=100000 ASLR=0
[ -f "$DATA/data/extra/params" ] && . "$DATA/data/extra/params"
# Above IPVSADM_CAP servers the timed rounds are REPS_LARGE (default REPS): at 1,000,000
# servers a round of loads takes minutes under TCG.
REPS_ALL=$REPS REPS_LARGE=${REPS_LARGE:-$REPS}
FLOOR=$DATA/data/extra/ipvsc-floor
# GNU time, copied in by bench/scale.sh (not busybox's: see 4. above).
TIME=$DATA/data/extra/time
W=/tmp/bench-scale
export IPVSC_STATE_DIR=$W/state

now() { cut -d ' ' -f 1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
fail() {
    echo "FAIL: $*"
    exit 1
}
[ -x "$TIME" ] || fail "no GNU time at $TIME (bench/scale.sh copies /usr/bin/time there)"
netsetup() { ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo; }

# Slab plus Percpu of /proc/meminfo, KiB.
kernel_kb() { awk '/^(Slab|Percpu):/ { t += $2 } END { print t }' /proc/meminfo; }
# Waits until the kernel has freed what ended namespaces held: until Slab plus Percpu moves by
# less than 512 KiB in half a second (at least 0.5 s, at most 120 s). Adds the half seconds to
# $W/settled.
settle() {
    s0=$(kernel_kb) i=1
    sleep 0.5
    while [ "$i" -lt 240 ]; do
        s1=$(kernel_kb)
        [ $((s1 - s0)) -lt 512 ] && [ $((s0 - s1)) -lt 512 ] && break
        s0=$s1 i=$((i + 1))
        sleep 0.5
    done
    echo "$i" >>"$W/settled"
}
# The peak memory `time -f %M -o FILE` wrote (after its line on a failed command's status).
peak() { tail -n 1 "$1"; }

# 2. and 3.: run as `scale.sh noop` by the main part below, in a fresh namespace. Loads the
# table, then: a warm-up round under `time -f %M` (the peak memory), REPS timed rounds; writes
# the medians to $W/noop.res.
noop_rounds() {
    netsetup || exit 99
    "$IPVSC" apply "$W/t1.ipvs" >/dev/null
    "$IPVSC" plan "$W/t1.ipvs" --detailed-exitcode >/dev/null || fail "the loaded table is not t1.ipvs"
    "$IPVSC" plan "$W/t7.ipvs" --format json >"$W/plan.json"
    ops=$(sed -n 's/^ *"operations": \([0-9]*\),$/\1/p' "$W/plan.json")
    [ "$ops" = 1 ] || fail "one weight changed plans $ops operations, not 1"
    grep -q '"edit_server"' "$W/plan.json" || { cat "$W/plan.json"; fail "the one operation is not a server edit"; }
    for f in sn noop one noop_dump one_dump; do : >"$W/$f"; done
    # The kernel holds t$cur. Each round: ipvsadm -Sn; a no-op apply, then one weight changed,
    # of the .ipvs file; then the same of the dump (back to t$cur). Round 0 is the warm-up.
    cur=1
    r=0
    while [ "$r" -le "$REPS" ]; do
        other=$((8 - cur))
        t0=$(now)
        "$IPVSADM" -S -n >/dev/null
        t1=$(now)
        warm noop_ipvs "$IPVSC" apply "$W/t$cur.ipvs" >"$W/out"
        t2=$(now)
        grep -q '^No changes' "$W/out" || { cat "$W/out"; fail "the no-op apply changed something"; }
        warm one_ipvs "$IPVSC" apply "$W/t$other.ipvs" >"$W/out"
        t3=$(now)
        grep -q '(1 kernel operation' "$W/out" || { cat "$W/out"; fail "the weight change was not one operation"; }
        warm noop_dump "$IPVSC" apply "$W/t$other.ipvsadm" >"$W/out"
        t4=$(now)
        grep -q '^No changes' "$W/out" || { cat "$W/out"; fail "the no-op apply of the dump changed something"; }
        warm one_dump "$IPVSC" apply "$W/t$cur.ipvsadm" >"$W/out"
        t5=$(now)
        grep -q '(1 kernel operation' "$W/out" || { cat "$W/out"; fail "the weight change of the dump was not one operation"; }
        sn=$(elapsed "$t0" "$t1") noop=$(elapsed "$t1" "$t2") one=$(elapsed "$t2" "$t3")
        noop_dump=$(elapsed "$t3" "$t4") one_dump=$(elapsed "$t4" "$t5")
        if [ "$r" = 0 ]; then
            echo "warm-up (under time -f %M): ipvsadm -Sn $sn s; .ipvs: no-op $noop s, one weight $one s; dump: no-op $noop_dump s, one weight $one_dump s"
        else
            for f in sn noop one noop_dump one_dump; do
                eval "echo \$$f" >>"$W/$f"
            done
            echo "run $r: ipvsadm -Sn $sn s; .ipvs: no-op apply $noop s, one-weight apply $one s; dump: no-op apply $noop_dump s, one-weight apply $one_dump s"
        fi
        r=$((r + 1))
    done
    "$IPVSADM" -C
    for f in sn noop one noop_dump one_dump; do
        median <"$W/$f"
    done | tr '\n' ' ' >"$W/noop.res"
}

# Runs a command, under `time -f %M -o $W/mem_$1` in the warm-up round ($r = 0).
warm() {
    f=$1
    shift
    if [ "$r" = 0 ]; then "$TIME" -f %M -o "$W/mem_$f" "$@"; else "$@"; fi
}

if [ "${1:-}" = noop ]; then
    REPS=${2:-$REPS}
    noop_rounds
    exit 0
fi

rm -rf "$W"
mkdir -p "$W"
# Minutes this run is expected to take, from "SERVICES SERVERS" lines: measured per size and
# per server at small sizes (the loads, the no-op and one-weight rounds, REPS + 1 of each; and
# the kernel's memory, the capture and the rollback at the largest), on the project's 2-core
# machine under TCG with 2 vCPUs. bench/scale.sh prints the same.
expected_minutes() {
    awk -v reps="$REPS" '{ n++; s += $1 * $2; if ($1 * $2 > top) top = $1 * $2 }
        END { printf "%.0f", 1 + n + s * (reps + 1) * 0.000018 + top * 0.000025 }'
}
# The seconds since the start (guest time), for the progress lines.
T0=$(now)
since() { elapsed "$T0" "$(now)"; }

[ -x "$FLOOR" ] || fail "no floor client at $FLOOR"
modprobe dummy || fail "modprobe dummy"
# The guest's address-space randomisation (ASLR, from bench/scale.sh: 0 off by default). Under
# TCG translated code is found by virtual address: with randomisation on, a position-independent
# program (ipvsc, ipvsadm) is translated again at every run, and no warm-up warms it.
echo "$ASLR" >/proc/sys/kernel/randomize_va_space || fail "cannot set kernel.randomize_va_space"

# The sizes as "SERVICES SERVERS" lines; the largest (most servers) gets the rollback.
sizes=$(for s in $SIZES; do
    echo "$s" | awk -F x 'NF == 2 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $1 > 0 && $2 > 0 { print $1, $2; ok = 1 } END { exit !ok }' ||
        { echo "FAIL: a size is SERVICESxSERVERS, like 2000x10: $s" >&2; exit 1; }
done)
largest=$(echo "$sizes" | awk '{ t = $1 * $2; if (t > best) { best = t; s = $1 "x" $2 } } END { print s }')
echo "sizes: $SIZES; expect about $(echo "$sizes" | expected_minutes) minutes on the project's machine under TCG (2 vCPUs), most of it at the largest size"
# What the guest's memory must hold at the largest size (measured between 10,000 and 50,000
# servers, see bench/scale.sh): the kernel's table, the files, ipvsc rolling back every weight.
echo "$largest" | awk -F x -v kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" '{
    need = $1 * $2 * (0.65 + 5.5) / 1024 + 600
    printf "guest memory %.0f MiB; the largest size, %s, may need about %.0f MiB%s\n", kb / 1024, $0, need, kb / 1024 < need ? " (set IPVSC_VM_MEM higher)" : ""
}'
echo "@@bench params sizes=$(echo "$SIZES" | tr ' ' ,) reps=$REPS reps_large=$REPS_LARGE ipvsadm_cap=$IPVSADM_CAP cpus=$(nproc) mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) rollback_size=$largest aslr=$ASLR"
# Writes the table of $1 services of $2 servers each to $W: t1.ipvs and t1.ipvsadm (every weight
# 1), t7.ipvs and t7.ipvsadm (the first server's weight 7); with $3 = rollback, also rb_add.ipvs
# (t1 plus the refused server) and rb_edit.ipvs (every weight 2, plus the refused server).
gen() {
    awk -v n="$1" -v m="$2" -v rb="${3:-}" -v dir="$W" '
        function block(i, last,    j, k, rip) {
            printf "service tcp %s {\n    scheduler wlc; forward nat\n", vip[i] >ipvs1
            printf "service tcp %s {\n    scheduler wlc; forward nat\n", vip[i] >ipvs7
            printf "-A -t %s -s wlc\n", vip[i] >adm1
            printf "-A -t %s -s wlc\n", vip[i] >adm7
            if (rb) {
                printf "service tcp %s {\n    scheduler wlc; forward nat\n", vip[i] >rbadd
                printf "service tcp %s {\n    scheduler wlc; forward nat\n", vip[i] >rbedit
            }
            for (j = 0; j < m; j++) {
                k = i * m + j
                rip = sprintf("172.%d.%d.%d:8080", 16 + int(k / 62500), int(k / 250) % 250, k % 250 + 1)
                printf "    server %s weight 1\n", rip >ipvs1
                printf "    server %s weight %d\n", rip, k ? 1 : 7 >ipvs7
                printf "-a -t %s -r %s -m -w 1\n", vip[i], rip >adm1
                printf "-a -t %s -r %s -m -w %d\n", vip[i], rip, k ? 1 : 7 >adm7
                if (rb) {
                    printf "    server %s weight 1\n", rip >rbadd
                    printf "    server %s weight 2\n", rip >rbedit
                }
            }
            if (last) {
                print "    server 192.0.2.255:8080 weight 1" >rbadd
                print "    server 192.0.2.255:8080 weight 1" >rbedit
            }
            print "}" >ipvs1
            print "}" >ipvs7
            if (rb) {
                print "}" >rbadd
                print "}" >rbedit
            }
        }
        BEGIN {
            ipvs1 = dir "/t1.ipvs"; ipvs7 = dir "/t7.ipvs"
            adm1 = dir "/t1.ipvsadm"; adm7 = dir "/t7.ipvsadm"
            rbadd = dir "/rb_add.ipvs"; rbedit = dir "/rb_edit.ipvs"
            # 7368787 is odd and no multiple of 127: a bijection modulo 2^17 * 127.
            mod = 65536 * 254
            best = -1
            for (i = 0; i < n; i++) {
                j = (i * 7368787) % mod
                x = int(j / 254)
                vip[i] = sprintf("10.%d.%d.%d:80", int(x / 256), x % 256, j % 254 + 1)
                if (x * 256 + j % 254 > best) { best = x * 256 + j % 254; top = i }
            }
            for (i = 0; i < n; i++)
                if (!rb || i != top) block(i, 0)
            if (rb) block(top, 1)
        }'
}

# Runs the command line $1 in a fresh network namespace set up as the tests' are, checks that
# it loaded the whole table ($EXPECT services and servers in /proc/net/ip_vs), empties it, and
# prints the seconds the command took. With MEM set, the command runs under `time -f %M` and
# its peak memory (KiB) goes to the file $MEM.
fresh() {
    unshare -n sh -c '
        ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo || exit 99
        if [ -n "$MEM" ]; then run="\"\$TIME\" -f %M -o \"\$MEM\" $1"; else run=$1; fi
        t0=$(cut -d " " -f 1 /proc/uptime)
        eval "$run" >"$W/fresh.out" 2>&1 || { echo "FAIL: $1" >&2; tail -n 20 "$W/fresh.out" >&2; exit 1; }
        t1=$(cut -d " " -f 1 /proc/uptime)
        n=$(($(wc -l </proc/net/ip_vs) - 3))
        [ "$n" = "$EXPECT" ] || { echo "FAIL: $1 left $n services and servers, not $EXPECT" >&2; exit 1; }
        "$IPVSADM" -C
        awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\n\", b - a }"' sh "$1" || exit 1
    settle
}
export W EXPECT MEM FLOOR TIME

# The seconds apply reports for its kernel operations, and the floor for its ACKs.
written() { sed -n 's/.* kernel operations in \([0-9.]*\) s).*/\1/p' "$W/fresh.out"; }
floor_written() { sed -n 's/.* acknowledged in \([0-9.]*\) s$/\1/p' "$W/fresh.out"; }

# A fresh network namespace held by a sleeping process, set up as the tests' are: NS is its pid,
# `inns CMD...` runs a command in it.
ns_new() {
    unshare -n sleep 1000000 &
    NS=$!
    while [ "$(readlink /proc/$NS/ns/net)" = "$(readlink /proc/$$/ns/net)" ]; do sleep 0.1; done
    inns sh -c 'ip link set lo up && ip route add default dev lo && ip -6 route add default dev lo' ||
        fail "cannot set up the namespace"
}
inns() { nsenter -t "$NS" -n "$@"; }
ns_end() {
    inns "$IPVSADM" -C
    kill "$NS"
    wait "$NS" 2>/dev/null || true
}
# The services and servers of the namespace's table.
ns_count() { inns cat /proc/net/ip_vs | awk 'END { print NR - 3 }'; }

# /proc/meminfo's Slab, SUnreclaim and Percpu (KiB), after dropping the caches and a settle.
meminfo() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
    settle
    awk '/^Slab:/ { s = $2 } /^SUnreclaim:/ { u = $2 } /^Percpu:/ { p = $2 } END { print s, u, p }' /proc/meminfo
}

for size in $SIZES; do
    services=${size%x*} per=${size#*x}
    servers=$((services * per))
    EXPECT=$((services + servers))
    REPS=$REPS_ALL
    [ "$servers" -gt "$IPVSADM_CAP" ] && REPS=$REPS_LARGE
    rb=
    [ "$size" = "$largest" ] && rb=rollback
    rm -f "$W"/*.ipvs "$W"/*.ipvsadm
    gen "$services" "$per" "$rb"
    echo "== $size: $services services x $per servers = $servers servers ($(wc -c <"$W/t1.ipvs") bytes of .ipvs, $(wc -c <"$W/t1.ipvsadm") of dump; generated at $(since) s)"
    at="size=$size services=$services servers=$servers"

    # 5. The kernel's memory for the table, in a namespace alone, before any other load of
    # this size.
    ns_new
    set -- $(meminfo)
    inns "$IPVSC" apply "$W/t1.ipvs" >/dev/null
    [ "$(ns_count)" = "$EXPECT" ] || fail "the table for the kernel's memory is not all there"
    set -- "$@" $(meminfo)
    ns_end
    echo "$@" | awk -v at="$at" -v servers="$servers" '{
        slab = $4 - $1; unrecl = $5 - $2; percpu = $6 - $3
        printf "kernel memory for the table: Slab %+d KiB (SUnreclaim %+d KiB), Percpu %+d KiB: %.0f bytes a server\n", slab, unrecl, percpu, (slab + percpu) * 1024 / servers
        printf "@@bench kernel_memory %s slab_kb=%d sunreclaim_kb=%d percpu_kb=%d total_kb=%d bytes_per_server=%.0f\n", at, slab, unrecl, percpu, slab + percpu, (slab + percpu) * 1024 / servers
    }'

    # The floor's capture: the write requests of a load. Its ACKs are written one file each
    # (a million files at 1,000,000 servers, 4 KiB of memory each): they are deleted as they
    # come, the floor needs only what was sent.
    rm -rf "$W/cap" "$W/cap.stop"
    mkdir "$W/cap"
    (while [ ! -e "$W/cap.stop" ]; do
        find "$W/cap" -name '*-recv.bin' -exec rm -f {} +
        sleep 1
    done) &
    sweeper=$!
    MEM=
    fresh 'IPVSC_CAPTURE="$W/cap" "$IPVSC" apply "$W/t1.ipvs"' >/dev/null
    touch "$W/cap.stop"
    wait "$sweeper"
    find "$W/cap" -name '*-recv.bin' -exec rm -f {} +
    echo "captured a load: $(ls "$W/cap" | wc -l) datagrams sent (reads included), $(du -sk "$W/cap" | cut -f 1) KiB (at $(since) s)"

    # 1. Loads: a warm-up run of each, which measures the peak memory, then REPS alternating.
    capped= skipped=
    [ "$servers" -gt "$IPVSADM_CAP" ] && capped=1
    # Above IPVSADM_SKIP servers (unset: never) `ipvsadm -R` does not run at all.
    [ -n "${IPVSADM_SKIP:-}" ] && [ "$servers" -gt "$IPVSADM_SKIP" ] && skipped=1
    : >"$W/load_adm"
    MEM=$W/mem_load_ipvs
    fresh '"$IPVSC" apply "$W/t1.ipvs"' >/dev/null
    MEM=$W/mem_load_dump
    fresh '"$IPVSC" apply "$W/t1.ipvsadm"' >/dev/null
    MEM=$W/mem_floor
    fresh '"$FLOOR" "$W/cap"' >/dev/null
    MEM=
    requests=$(sed -n 's/^ipvsc-floor: \([0-9]*\) requests .*/\1/p' "$W/fresh.out")
    [ "$requests" = "$EXPECT" ] || fail "the floor replayed $requests requests, not $EXPECT"
    cat "$W/fresh.out"
    [ -n "$capped" ] || [ -n "$skipped" ] || fresh '"$IPVSADM" -R <"$W/t1.ipvsadm"' >/dev/null
    echo "load warm-up done at $(since) s"
    for f in ipvsc ipvsc_dump floor adm w_ipvsc w_dump w_floor; do : >"$W/load_$f"; done
    r=1
    while [ "$r" -le "$REPS" ]; do
        a=$(fresh '"$IPVSC" apply "$W/t1.ipvs"')
        grep -q "^Applied: .* 0 changed, 0 removed" "$W/fresh.out" || { cat "$W/fresh.out"; fail "the load did more than add"; }
        wa=$(written)
        b=$(fresh '"$IPVSC" apply "$W/t1.ipvsadm"')
        wb=$(written)
        c=$(fresh '"$FLOOR" "$W/cap"')
        wc=$(floor_written)
        d=-
        if [ -z "$skipped" ] && { [ -z "$capped" ] || [ "$r" = 1 ]; }; then
            d=$(fresh '"$IPVSADM" -R <"$W/t1.ipvsadm"')
            echo "$d" >>"$W/load_adm"
        fi
        echo "$a" >>"$W/load_ipvsc"
        echo "$b" >>"$W/load_ipvsc_dump"
        echo "$c" >>"$W/load_floor"
        echo "$wa" >>"$W/load_w_ipvsc"
        echo "$wb" >>"$W/load_w_dump"
        echo "$wc" >>"$W/load_w_floor"
        echo "load run $r: ipvsc .ipvs $a s (writing $wa s), ipvsc dump $b s (writing $wb s), floor $c s (ACKs $wc s), ipvsadm -R $d s (at $(since) s)"
        r=$((r + 1))
    done
    la=$(median <"$W/load_ipvsc") lb=$(median <"$W/load_ipvsc_dump") lc=$(median <"$W/load_floor")
    ld=$(median <"$W/load_adm") runs=$(wc -l <"$W/load_adm")
    sp=$(ratio "$ld" "$la") spd=$(ratio "$ld" "$lb")
    if [ -n "$skipped" ]; then
        ld=- sp=- spd=-
        echo "ipvsadm -R: not run (skipped: above IPVSADM_SKIP=$IPVSADM_SKIP servers)"
    fi
    [ -z "$capped" ] || [ -n "$skipped" ] || echo "ipvsadm -R: one run, no warm-up (capped: above IPVSADM_CAP=$IPVSADM_CAP servers it runs once), not a median"
    echo "@@bench load $at reps=$REPS ipvsc=$la ipvsc_dump=$lb floor=$lc ipvsadm_R=$ld ipvsadm_R_runs=$runs ipvsc_write=$(median <"$W/load_w_ipvsc") ipvsc_dump_write=$(median <"$W/load_w_dump") floor_write=$(median <"$W/load_w_floor") vs_floor=$(ratio "$la" "$lc") vs_floor_dump=$(ratio "$lb" "$lc") speedup=$sp speedup_dump=$spd"

    # 2. and 3. in a namespace of their own.
    unshare -n sh "$0" noop "$REPS"
    set -- $(cat "$W/noop.res")
    sn=$1 noop=$2 one=$3 noop_dump=$4 one_dump=$5
    settle
    echo "@@bench noop $at reps=$REPS ipvsadm_Sn=$sn ipvsc=$noop ratio=$(ratio "$noop" "$sn") ipvsc_dump=$noop_dump ratio_dump=$(ratio "$noop_dump" "$sn")"
    echo "@@bench one_weight $at reps=$REPS ipvsadm_Sn=$sn ipvsc=$one ratio=$(ratio "$one" "$sn") ipvsc_dump=$one_dump ratio_dump=$(ratio "$one_dump" "$sn")"
    echo "@@bench memory $at load_ipvs_kb=$(peak "$W/mem_load_ipvs") load_dump_kb=$(peak "$W/mem_load_dump") noop_ipvs_kb=$(peak "$W/mem_noop_ipvs") noop_dump_kb=$(peak "$W/mem_noop_dump") one_ipvs_kb=$(peak "$W/mem_one_ipvs") one_dump_kb=$(peak "$W/mem_one_dump") floor_kb=$(peak "$W/mem_floor")"
    echo "$size $servers $la $lb $lc $noop $noop_dump $one $one_dump" >>"$W/growth"

    rm -rf "$W/cap"

    # 6. Rollback of a refused last operation, at the largest size.
    if [ -n "$rb" ]; then
        for case in load weights; do
            ns_new
            inns "$IP" link add d0 type dummy
            inns "$IP" addr add 192.0.2.1/24 brd + dev d0
            inns "$IP" link set d0 up
            file=$W/rb_add.ipvs
            if [ "$case" = weights ]; then
                file=$W/rb_edit.ipvs
                inns "$IPVSC" apply "$W/t1.ipvs" >/dev/null
            fi
            inns "$IPVSADM" -S -n >"$W/before"
            set -- $(inns sh -c '
                t0=$(cut -d " " -f 1 /proc/uptime)
                "$TIME" -f %M -o "$W/mem_rb" "$IPVSC" apply "$1" >"$W/rb.out" 2>"$W/rb.err"
                rc=$?
                t1=$(cut -d " " -f 1 /proc/uptime)
                awk -v rc="$rc" -v a="$t0" -v b="$t1" "BEGIN { printf \"%d %.3f\n\", rc, b - a }"' sh "$file")
            rc=$1 secs=$2
            inns "$IPVSADM" -S -n >"$W/after"
            same=no
            cmp -s "$W/before" "$W/after" && same=yes
            ns_end
            ops=$(sed -n 's/.*rolled back: \([0-9]*\) operations.*/\1/p' "$W/rb.err")
            printed=$(cat "$W/rb.out" "$W/rb.err" | grep -o '[0-9][0-9.]* s[).,]' | head -n 1 | sed 's/ s.*//')
            echo "rollback ($case): ipvsc apply exit $rc in $secs s; stdout and stderr:"
            sed 's/^/    /' "$W/rb.out" "$W/rb.err" | cut -c 1-300 | head -n 20
            echo "@@bench rollback $at case=$case rc=$rc secs=$secs rolled_back_ops=${ops:--} printed_secs=${printed:-none} same_table=$same peak_kb=$(peak "$W/mem_rb")"
            [ "$rc" = 5 ] || fail "the refused apply ($case) exited $rc, not 5"
            [ "$same" = yes ] || fail "after the rollback ($case) ipvsadm -Sn differs from before"
        done
    fi
done

# Growth from one size to the next, for each measurement of ipvsc and the floor.
awk '{
    if (NR > 1) printf "@@bench growth from=%s to=%s servers_x=%.2f load=%.2f load_dump=%.2f floor=%.2f noop=%.2f noop_dump=%.2f one_weight=%.2f one_weight_dump=%.2f\n",
        p[1], $1, $2 / p[2], $3 / p[3], $4 / p[4], $5 / p[5], $6 / p[6], $7 / p[7], $8 / p[8], $9 / p[9]
    for (i = 1; i <= NF; i++) p[i] = $i
}' "$W/growth"
echo "done in $(since) s, of which $(awk '{ t += $1 } END { print t / 2 }' "$W/settled") s waiting for the kernel to free tables (settle)"
