#!/bin/sh
# The kernel is the oracle for ipvsc's offline ipvsadm printer. For every .ipvs and .ipvsadm file
# under $DATA/data (the repository's examples/ and tests/convert/):
#  1. `ipvsc save --format ipvsadm --strict FILE` must be exactly what `ipvsadm -S -n` prints once
#     ipvsadm -R has loaded it into an empty table.
#  2. The full `ipvsc save --format ipvsadm FILE` (with the --set, --start-daemon and -x/-y that
#     ipvsadm -S loses) must load with ipvsadm -R as well, leave the same table, and its extra
#     settings must show in `ipvsadm -L --timeout`, `--daemon` and `--thresholds`.
# Prints `ok FILE` or `FAIL FILE: why` and the evidence, one file after the other.
# A service whose scheduler is a real IPVS scheduler that this kernel does not have (ip_vs_twos
# came with Linux 6.2) cannot be loaded at all: it is left out of both sides of the comparison,
# loudly, with a `note:` line. An unknown scheduler name is not excused: the kernel refuses it.
set -u
W=/tmp/save_oracle
mkdir -p "$W"

if "$IPVSC" save --help 2>&1 | grep -q -- '--strict'; then
    STRICT=1
else
    STRICT=0
    echo "note: this ipvsc has no 'save --strict'; the expected dump is 'save --format ipvsadm'" \
        "without its --set and --start-daemon lines and -x/-y options"
fi

reset_kernel() {
    "$IPVSADM" -C
    "$IPVSADM" --stop-daemon master 2>/dev/null
    "$IPVSADM" --stop-daemon backup 2>/dev/null
    "$IPVSADM" --set 900 120 300 # the kernel's defaults
}

# Sync daemons need their multicast interface, with an IPv4 address for a master: make a dummy one.
nif=0
ensure_interface() {
    ip link show "$1" >/dev/null 2>&1 && return 0
    nif=$((nif + 1))
    ip link add "$1" type dummy &&
        ip addr add "198.18.0.$nif/32" dev "$1" &&
        ip link set "$1" up
}

KNOWN_SCHEDULERS="rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos"

# Leaves out of dump $1 the services (-A and their -a lines) whose scheduler the kernel lacks;
# prints a note for each.
drop_missing_schedulers() {
    for s in $(awk '$1 == "-A" { for (i = 2; i < NF; i++) if ($i == "-s") print $(i + 1) }' "$1" | sort -u); do
        case " $KNOWN_SCHEDULERS " in *" $s "*) ;; *) continue ;; esac
        modprobe "ip_vs_$s" 2>/dev/null && continue
        keys=$(awk -v s="$s" '$1 == "-A" { k = ""; for (i = 2; i < NF && $i != "-s"; i++) k = k " " $i
                                           for (; i < NF; i++) if ($i == "-s" && $(i + 1) == s) print k }' "$1")
        echo "$keys" | while read -r key; do
            [ -n "$key" ] || continue
            echo "note: $name: kernel $(uname -r) has no scheduler $s (ip_vs_$s): service $key left out"
            for g in "$1" "$W/full"; do
                awk -v k=" $key " '!(($1 == "-A" || $1 == "-a") && index(" " $0 " ", " " $1 k) == 1)' "$g" >"$W/filtered"
                cat "$W/filtered" >"$g"
            done
        done
    done
}

# What `ipvsadm -L --timeout` must print after `--set` lines on the defaults (0 keeps a value).
expected_timeouts() {
    awk 'BEGIN { t[1] = 900; t[2] = 120; t[3] = 300 }
         $1 == "--set" { for (i = 1; i <= 3; i++) if ($(i + 1) != 0) t[i] = $(i + 1) }
         END { printf "Timeout (tcp tcpfin udp): %d %d %d\n", t[1], t[2], t[3] }' "$1"
}

# "SERVER UPPER LOWER" for every -a line of a dump, sorted.
expected_thresholds() {
    awk '$1 == "-a" { d = ""; x = 0; y = 0
            for (i = 2; i <= NF; i++) { if ($i == "-r") d = $(i + 1); if ($i == "-x") x = $(i + 1); if ($i == "-y") y = $(i + 1) }
            print d, x, y }' "$1" | sort
}
kernel_thresholds() {
    "$IPVSADM" -L -n --thresholds | awk '$1 == "->" && $2 != "RemoteAddress:Port" { print $2, $3, $4 }' | sort
}

# Every --start-daemon line of $1 must show in `ipvsadm -L --daemon` with each setting it gives:
# that prints `master sync daemon (mcast=eth0, syncid=1, maxlen=1472, group=..., port=..., ttl=...)`.
check_daemons() {
    "$IPVSADM" -L --daemon >"$W/daemon" 2>&1 || return 1
    grep -- '^--start-daemon ' "$1" | while read -r _ state rest; do
        sed -n "s/^$state sync daemon (\(.*\))\$/\1/p" "$W/daemon" | tr -d ' ' | tr ',' '\n' >"$W/daemon_kv"
        echo "$rest" | awk '{ for (i = 1; i < NF; i += 2) {
                k = $i; sub(/^--/, "", k)
                m["mcast-interface"] = "mcast"; m["syncid"] = "syncid"; m["sync-maxlen"] = "maxlen"
                m["mcast-group"] = "group"; m["mcast-port"] = "port"; m["mcast-ttl"] = "ttl"
                print ((k in m) ? m[k] : k) "=" $(i + 1) } }' |
            while read -r kv; do
                grep -qx -- "$kv" "$W/daemon_kv" || {
                    echo "--start-daemon $state $rest: no $kv in ipvsadm -L --daemon:"
                    cat "$W/daemon"
                    exit 1
                }
            done || return 1
    done
}

n=0
failed=0
for f in "$DATA"/data/*/*.ipvs "$DATA"/data/*/*.ipvsadm; do
    # The legacy corpus has lines the kernel refuses on purpose: legacy_corpus.sh checks it.
    case $f in "$DATA"/data/legacy-corpus/*) continue ;; esac
    [ -e "$f" ] || continue
    n=$((n + 1))
    name=${f#"$DATA"/data/}
    fail() {
        echo "FAIL $name: $1"
        shift
        for e in "$@"; do sed 's/^/    /' "$e"; done
        failed=$((failed + 1))
    }
    reset_kernel
    if ! "$IPVSC" save --format ipvsadm "$f" >"$W/full" 2>"$W/err"; then
        fail "ipvsc save --format ipvsadm failed" "$W/err"
        continue
    fi
    if [ "$STRICT" = 1 ]; then
        if ! "$IPVSC" save --format ipvsadm --strict "$f" >"$W/want" 2>"$W/err"; then
            fail "ipvsc save --format ipvsadm --strict failed" "$W/err"
            continue
        fi
    else
        sed -e '/^--set /d' -e '/^--start-daemon /d' -e 's/ -x [0-9]*//' -e 's/ -y [0-9]*//' "$W/full" >"$W/want"
    fi

    drop_missing_schedulers "$W/want"

    # 1. The strict dump against the kernel's. ipvsadm -R reports a refused line on stderr but
    # may still exit 0.
    if ! "$IPVSADM" -R <"$W/want" >"$W/err" 2>&1 || [ -s "$W/err" ]; then
        fail "ipvsadm -R refused the strict dump" "$W/err" "$W/want"
        continue
    fi
    "$IPVSADM" -S -n >"$W/got"
    if ! diff -u "$W/want" "$W/got" >"$W/diff"; then
        fail "ipvsadm -S -n differs from the strict dump (- ipvsc, + kernel)" "$W/diff"
        continue
    fi

    # 2. The full dump: loads, same table, the extra settings took effect.
    reset_kernel
    for ifc in $(sed -n 's/.* --mcast-interface \([^ ]*\).*/\1/p' "$W/full"); do
        ensure_interface "$ifc" >"$W/err" 2>&1 || {
            fail "cannot make interface $ifc for the sync daemon" "$W/err"
            continue 2
        }
    done
    if ! "$IPVSADM" -R <"$W/full" >"$W/err" 2>&1 || [ -s "$W/err" ]; then
        fail "ipvsadm -R refused the full dump" "$W/err" "$W/full"
        continue
    fi
    "$IPVSADM" -S -n >"$W/got"
    if ! diff -u "$W/want" "$W/got" >"$W/diff"; then
        fail "after ipvsadm -R of the full dump, ipvsadm -S -n differs from the strict dump" "$W/diff"
        continue
    fi
    expected_timeouts "$W/full" >"$W/want_t"
    "$IPVSADM" -L --timeout >"$W/got_t" 2>&1
    if ! diff -u "$W/want_t" "$W/got_t" >"$W/diff"; then
        fail "the --set timeouts did not take effect" "$W/diff"
        continue
    fi
    expected_thresholds "$W/full" >"$W/want_x"
    kernel_thresholds >"$W/got_x"
    if ! diff -u "$W/want_x" "$W/got_x" >"$W/diff"; then
        fail "the -x/-y thresholds differ (SERVER UPPER LOWER; - ipvsc, + kernel)" "$W/diff"
        continue
    fi
    if ! check_daemons "$W/full" >"$W/err" 2>&1; then
        fail "the --start-daemon lines did not take effect" "$W/err"
        continue
    fi
    echo "ok $name"
done
reset_kernel
echo "$n files, $failed failed"
[ "$n" -gt 0 ] || { echo "FAIL: no data files under $DATA/data"; exit 1; }
[ "$failed" = 0 ]
