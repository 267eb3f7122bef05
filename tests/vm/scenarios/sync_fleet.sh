#!/bin/sh
# One file, two directors (issue 9): the same .ipvs applied with `--define` as the sync master
# here and as the sync backup in another namespace; a connection made through the master shows
# up in the backup's connection table (ipvsadm -Lnc), as the kernel's sync daemon copies it.
set -eu
. "$DATA/lib/topo.sh"
W=/tmp/sync_fleet
rm -rf "$W"
mkdir -p "$W"
fail() {
    echo "FAIL: $1"
    if [ -n "${2:-}" ] && [ -f "$2" ]; then sed 's/^/    /' "$2"; fi
    exit 1
}

VIP=10.0.0.100
topo_director "$VIP"
topo_client client 1
topo_backend web1 1
topo_httpd web1 80
# The standby director, with a link to this one for the sync traffic (multicast 224.0.0.81).
topo_ns standby
topo_link standby 10.50.0.1/24 10.50.0.2/24
topo_in standby "$IP" route add default dev lo 2>/dev/null || true

cat >"$W/fleet.ipvs" <<EOT
# Every director of the fleet runs this file; each says who it is on the command line.
define role = master
define iface = eth0
define vip = 10.0.0.1
sync \$role { interface \$iface; syncid 7 }
service tcp \$vip:80 { scheduler rr; forward nat; server 10.200.1.2:80 }
EOT

"$IPVSC" check "$W/fleet.ipvs" --define vip="$VIP" --define iface=to-standby >"$W/out" 2>&1 ||
    fail "check with --define failed" "$W/out"
"$IPVSC" plan "$W/fleet.ipvs" --define vip="$VIP" --define iface=to-standby >"$W/out" 2>&1 ||
    fail "plan with --define failed" "$W/out"
grep -q "+ service tcp $VIP:80" "$W/out" || fail "plan does not use the command line's VIP" "$W/out"
IPVSC_STATE_DIR="$W/master" "$IPVSC" apply "$W/fleet.ipvs" --define vip="$VIP" --define iface=to-standby \
    >"$W/out" 2>&1 || fail "apply on the master failed" "$W/out"
topo_in standby env IPVSC_STATE_DIR="$W/backup" "$IPVSC" apply "$W/fleet.ipvs" \
    --define vip="$VIP" --define role=backup >"$W/out" 2>&1 || fail "apply on the backup failed" "$W/out"

"$IPVSADM" -L --daemon | grep -q "master sync daemon (mcast=to-standby, syncid=7" ||
    fail "no master daemon here: $("$IPVSADM" -L --daemon)"
topo_in standby "$IPVSADM" -L --daemon | grep -q "backup sync daemon (mcast=eth0, syncid=7" ||
    fail "no backup daemon on the standby: $(topo_in standby "$IPVSADM" -L --daemon)"
topo_in standby "$IPVSADM" -Ln | grep -q "TCP  $VIP:80" || fail "the standby has no service"

# Traffic through the master, then its connection in the standby's table.
i=0
while [ $i -lt 3 ]; do
    [ "$(topo_in client timeout 5 wget -q -O - "http://$VIP/")" = web1 ] || fail "no answer through the master"
    i=$((i + 1))
done
n=0
until topo_in standby "$IPVSADM" -Lnc | grep -q "$VIP:80 *10.200.1.2:80"; do
    n=$((n + 1))
    [ $n -lt 50 ] || {
        "$IPVSADM" -Lnc
        fail "the standby never saw the master's connections: $(topo_in standby "$IPVSADM" -Lnc)"
    }
    sleep 0.2
done
topo_in standby "$IPVSADM" -Lnc
echo "ok: one file with --define made a master and a backup; the backup has the master's connections"
# Leave nothing running in the standby for later scenarios (unusable unloads ip_vs).
topo_in standby "$IPVSADM" --stop-daemon backup
topo_in standby "$IPVSADM" -C
"$IPVSADM" --stop-daemon master
"$IPVSADM" -C
