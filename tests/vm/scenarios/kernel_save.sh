#!/bin/sh
# `ipvsc save` reading the real kernel's table over netlink, against ipvsadm: a table built by
# ipvsadm with every option (tests/convert/every-option.ipvsadm; the twos scheduler is left out,
# this 6.1 kernel has no ip_vs_twos), then:
#  - `save --format ipvsadm --strict` is byte for byte `ipvsadm -Sn`;
#  - `save --format ipvsadm` is that plus the thresholds, timeouts and daemons, and restoring it
#    with ipvsadm -R into an empty kernel gives the same save again (nothing lost);
#  - `save --format ipvs`, compiled offline, describes the same table.
set -eu
W=/tmp/kernel_save
mkdir -p "$W"
for i in 0 1; do
    ip link show "eth$i" >/dev/null 2>&1 || {
        ip link add "eth$i" type dummy
        ip addr add "198.18.1.$((i + 1))/32" dev "eth$i"
        ip link set "eth$i" up
    }
done

fail() {
    echo "FAIL: $*"
    exit 1
}

# ipvsadm -R knows no comments.
grep -v -e '-s twos' -e '^#' "$DATA/data/convert/every-option.ipvsadm" >"$W/input"
"$IPVSADM" -R <"$W/input" 2>"$W/err" || fail "ipvsadm -R failed: $(cat "$W/err")"
[ ! -s "$W/err" ] || fail "ipvsadm -R refused lines: $(cat "$W/err")"

"$IPVSADM" -Sn >"$W/ipvsadm"
"$IPVSC" save --format ipvsadm --strict >"$W/strict"
diff "$W/ipvsadm" "$W/strict" || fail "save --strict differs from ipvsadm -Sn"
echo "ok: save --format ipvsadm --strict is ipvsadm -Sn ($(wc -l <"$W/strict") lines)"

"$IPVSC" save --format ipvsadm >"$W/full"
grep -q -- '-x 100 -y 10' "$W/full" || fail "thresholds missing from save"
grep -q -- '^--start-daemon master --mcast-interface eth0 --syncid 1' "$W/full" || fail "master daemon missing"
grep -q -- '^--start-daemon backup --mcast-interface eth1 --syncid 2' "$W/full" || fail "backup daemon missing"
cat "$W/full"

"$IPVSC" save --format ipvs >"$W/table.ipvs"
"$IPVSC" check -q "$W/table.ipvs" || fail "save --format ipvs does not check clean"
"$IPVSC" save --format json >"$W/kernel.json"
"$IPVSC" save --format json "$W/table.ipvs" >"$W/offline.json"

# Back into an empty kernel from the full save: the same save again.
"$IPVSADM" -C
"$IPVSADM" --stop-daemon master
"$IPVSADM" --stop-daemon backup
"$IPVSADM" --set 900 120 300
"$IPVSADM" -R <"$W/full" 2>"$W/err" || fail "ipvsadm -R of ipvsc's save failed: $(cat "$W/err")"
[ ! -s "$W/err" ] || fail "ipvsadm -R of ipvsc's save refused lines: $(cat "$W/err")"
"$IPVSC" save --format ipvsadm >"$W/again"
diff "$W/full" "$W/again" || fail "restoring ipvsc's save lost something"
echo "ok: the full save restores to the same table"

# The .ipvs save describes the kernel's services, servers and daemons (its sysctls and
# timeouts at their defaults are left out on purpose).
"$IPVSC" save --format ipvsadm "$W/table.ipvs" | grep -v '^--set' >"$W/offline"
grep -v '^--set' "$W/full" >"$W/full-noset"
diff "$W/full-noset" "$W/offline" || fail "save --format ipvs describes another table"
echo "ok: save --format ipvs compiles back to the kernel's table"
