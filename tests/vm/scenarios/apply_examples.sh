#!/bin/sh
# `ipvsc apply` against ipvsadm as the oracle. For every example and conversion golden (the
# .ipvs and .ipvsadm files under $DATA/data), each in a fresh network namespace with dummy eth0
# and eth1 for the sync daemons:
#  1. ipvsadm -R loads the same table: for a .ipvs file `ipvsc save --format ipvsadm --strict FILE`,
#     for an ipvsadm file the file itself (without its `#` comment lines); `ipvsadm -Sn` is kept.
#     Then the full `ipvsc save --format ipvsadm FILE` (thresholds, --set, --start-daemon) is
#     loaded the same way, and ipvsadm's own views of the timeouts, daemons and thresholds are
#     kept.
#  2. From an empty table, `ipvsc apply FILE` exits 0 and leaves exactly that: the same
#     `ipvsadm -Sn`, and the same `ipvsadm -L --timeout`, `-L --daemon` and `-Ln --thresholds`.
#  3. Nothing is left to do: `ipvsc plan FILE --detailed-exitcode` exits 0, and a second
#     `ipvsc apply FILE` says "No changes".
# A service whose scheduler this kernel lacks (ip_vs_twos came with Linux 6.2) is left out of both
# sides with a `note:`, as save_oracle.sh does; the file applied is then the file without it.
set -u
W=/tmp/apply_examples

reset_kernel() {
    "$IPVSADM" -C
    "$IPVSADM" --stop-daemon master 2>/dev/null
    "$IPVSADM" --stop-daemon backup 2>/dev/null
    "$IPVSADM" --set 900 120 300
}

# The oracle's view of everything the table holds besides `ipvsadm -Sn`.
extras() {
    "$IPVSADM" -L --timeout
    "$IPVSADM" -L --daemon
    "$IPVSADM" -L -n --thresholds
}

KNOWN_SCHEDULERS="rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos"

# Prints the schedulers named by -A/-E lines of ipvsadm text $1 that the kernel cannot load.
missing_schedulers() {
    for s in $(awk '{ for (i = 1; i < NF; i++) if ($i == "-s" || $i == "--scheduler") print $(i + 1) }' "$1" | sort -u); do
        case " $KNOWN_SCHEDULERS " in *" $s "*) ;; *) continue ;; esac
        modprobe "ip_vs_$s" 2>/dev/null || echo "$s"
    done
}

# Removes from ipvsadm text $1 the services (their -A line and -a lines) with scheduler $2.
drop_scheduler() {
    keys=$(awk -v s="$2" '{ o = ($1 == "ipvsadm") ? 2 : 1 }
        $o == "-A" { k = ""; for (i = o + 1; i < NF && $i != "-s"; i++) k = k " " $i
                     for (; i < NF; i++) if ($i == "-s" && $(i + 1) == s) print k }' "$1")
    echo "$keys" | while read -r key; do
        [ -n "$key" ] || continue
        echo "note: $name: kernel $(uname -r) has no scheduler $2 (ip_vs_$2): service $key left out"
        awk -v k=" $key " '{ line = $0; sub(/^ipvsadm /, "", line) }
            !((line ~ /^-[Aa] /) && index(" " line " ", " " substr(line, 1, 2) k) == 1)' "$1" >"$W/filtered"
        cat "$W/filtered" >"$1"
    done
}

# One file, in a namespace of its own (this script runs itself under unshare -n).
one() {
    f=$1
    name=${f#"$DATA"/data/}
    W=$W/$(echo "$name" | tr / _)
    mkdir -p "$W"
    fail() {
        echo "FAIL $name: $1"
        shift
        for e in "$@"; do sed 's/^/    /' "$e"; done
        exit 1
    }
    i=0
    for ifc in eth0 eth1; do
        i=$((i + 1))
        ip link add "$ifc" type dummy && ip addr add "198.18.1.$i/32" dev "$ifc" && ip link set "$ifc" up ||
            fail "cannot make the dummy interface $ifc"
    done
    export IPVSC_STATE_DIR="$W/state"

    # What ipvsadm -R loads, and the file ipvsc applies.
    case $f in
        *.ipvs)
            "$IPVSC" save --format ipvsadm --strict "$f" >"$W/strict" 2>"$W/err" || fail "ipvsc save --strict failed" "$W/err"
            "$IPVSC" save --format ipvsadm "$f" >"$W/full" 2>"$W/err" || fail "ipvsc save failed" "$W/err"
            ;;
        *)
            grep -v '^#' "$f" >"$W/strict"
            cp "$W/strict" "$W/full"
            ;;
    esac
    input=$f
    for s in $(missing_schedulers "$W/full"); do
        drop_scheduler "$W/strict" "$s"
        drop_scheduler "$W/full" "$s" >/dev/null
        case $f in
            *.ipvs) input=$W/full ;; # the file's table as an ipvsadm dump, without the service
            *)
                [ "$input" = "$f" ] && cp "$f" "$W/input"
                input=$W/input
                drop_scheduler "$input" "$s" >/dev/null
                ;;
        esac
    done

    # 1. The oracle.
    reset_kernel
    if ! "$IPVSADM" -R <"$W/strict" >"$W/err" 2>&1 || [ -s "$W/err" ]; then
        fail "ipvsadm -R refused the table" "$W/err" "$W/strict"
    fi
    "$IPVSADM" -S -n >"$W/want"
    if ! cmp -s "$W/strict" "$W/full"; then
        reset_kernel
        if ! "$IPVSADM" -R <"$W/full" >"$W/err" 2>&1 || [ -s "$W/err" ]; then
            fail "ipvsadm -R refused the full table" "$W/err" "$W/full"
        fi
        "$IPVSADM" -S -n >"$W/got"
        diff -u "$W/want" "$W/got" >"$W/diff" || fail "the strict and the full dump load differently" "$W/diff"
    fi
    extras >"$W/want_extras" 2>&1
    reset_kernel
    [ -z "$("$IPVSADM" -S -n)" ] || fail "the table is not empty after a reset"

    # 2. ipvsc apply from the empty table.
    "$IPVSC" apply "$input" >"$W/out" 2>&1 || fail "ipvsc apply exited with $?" "$W/out"
    grep -q '^Applied: ' "$W/out" || fail "ipvsc apply did not say what it applied" "$W/out"
    "$IPVSADM" -S -n >"$W/got"
    diff -u "$W/want" "$W/got" >"$W/diff" || fail "ipvsadm -Sn after ipvsc apply differs from after ipvsadm -R (- ipvsadm -R, + ipvsc apply)" "$W/diff"
    extras >"$W/got_extras" 2>&1
    diff -u "$W/want_extras" "$W/got_extras" >"$W/diff" ||
        fail "timeouts, daemons or thresholds after ipvsc apply differ from after ipvsadm -R (- ipvsadm -R, + ipvsc apply)" "$W/diff"

    # 3. Idempotent.
    "$IPVSC" plan "$input" --detailed-exitcode >"$W/out" 2>&1
    rc=$?
    [ $rc = 0 ] || fail "ipvsc plan --detailed-exitcode after apply exited with $rc" "$W/out"
    "$IPVSC" apply "$input" >"$W/out" 2>&1 || fail "the second ipvsc apply exited with $?" "$W/out"
    grep -q '^No changes' "$W/out" || fail "the second ipvsc apply changed something" "$W/out"
    [ -z "$(ls "$IPVSC_STATE_DIR")" ] || [ "$(ls "$IPVSC_STATE_DIR")" = lock ] ||
        fail "apply left files behind: $(ls "$IPVSC_STATE_DIR")"
    echo "ok $name ($(grep -c '^-a' "$W/want") servers, $(grep -c '^-A' "$W/want") services)"
}

if [ "${1:-}" = one ]; then
    one "$2"
    exit 0
fi

mkdir -p "$W"
n=0
failed=0
for f in "$DATA"/data/examples/*.ipvs "$DATA"/data/examples/*.ipvsadm "$DATA"/data/convert/*.ipvsadm; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    unshare -n /bin/netsetup sh "$0" one "$f" || failed=$((failed + 1))
done
echo "$n files, $failed failed"
[ "$n" -gt 0 ] || {
    echo "FAIL: no data files under $DATA/data"
    exit 1
}
[ "$failed" = 0 ]
