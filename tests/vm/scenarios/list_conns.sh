#!/bin/sh
# `ipvsc list --connections`, `ipvsc list SERVICE` and ipvsadm's order, with real connections: a
# client namespace, this namespace as a NAT director, two backends running httpd and an echo
# server (lib/topo.sh). One connection stays open (ESTABLISHED), a few are closed (TIME_WAIT).
# The order of services and servers is checked here for the text listing and in tests/vm.rs for
# the JSON one (sections `@@ NAME`).
set -eu
. "$DATA/lib/topo.sh"
fail() {
    echo "FAIL: $*"
    exit 1
}
adm() {
    "$IPVSADM" "$@" || fail "ipvsadm $* failed"
}

VIP=10.0.0.100
topo_director $VIP
topo_client client 1
topo_backend web1 1
topo_backend web2 2
for b in web1 web2; do
    topo_httpd $b 80
    topo_echo $b 7
done
adm -A -t $VIP:80 -s rr
adm -a -t $VIP:80 -r 10.200.1.2:80 -m
adm -a -t $VIP:80 -r 10.200.2.2:80 -m
adm -A -t $VIP:7 -s rr
adm -a -t $VIP:7 -r 10.200.1.2:7 -m
adm -a -t $VIP:7 -r 10.200.2.2:7 -m

# Closed connections: each wget leaves one in TIME_WAIT for two minutes.
seen=""
for i in 1 2 3 4; do
    body=$(topo_in client timeout 5 wget -q -O - http://$VIP/) || fail "wget $i through the NAT service failed"
    case $body in
        web1 | web2) seen="$seen $body" ;;
        *) fail "wget $i through the NAT service answered '$body'" ;;
    esac
done
case $seen in
    *web1*web2* | *web2*web1*) ;;
    *) fail "rr sent every request to one backend:$seen" ;;
esac

# An open connection: nc reads a fifo that this shell holds open.
mkfifo /tmp/hold
exec 3<>/tmp/hold
topo_in client nc $VIP 7 </tmp/hold >/tmp/echo.out &
TOPO_PIDS="$TOPO_PIDS $!"
echo hello >&3
i=0
until grep -q hello /tmp/echo.out 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "the echo server never answered through $VIP:7"
    sleep 0.05
done
echo "ok: traffic through the director:$seen, and an open echo connection"

# --- the connection table, as ipvsadm -Lnc prints it
"$IPVSADM" -Lnc >/tmp/theirs || fail "ipvsadm -Lnc failed"
"$IPVSC" list --connections >/tmp/ours || fail "ipvsc list --connections failed (rc=$?)"
"$IPVSADM" -Lnc >/tmp/theirs2 || fail "ipvsadm -Lnc failed"
echo "@@ ipvsadm-conns"
cat /tmp/theirs
echo "@@ ipvsc-conns"
cat /tmp/ours
[ "$(head -n 2 /tmp/ours)" = "$(head -n 2 /tmp/theirs)" ] || fail "the headers differ"
# The lines without the expiry (columns 5-10, `%-6s ` after the protocol) are the same lines.
strip() { tail -n +3 "$1" | cut -c1-4,11- | sort; }
[ "$(strip /tmp/ours)" = "$(strip /tmp/theirs)" ] || fail "ipvsc and ipvsadm list other entries:
$(strip /tmp/ours)
---
$(strip /tmp/theirs)"
# And each expiry is within ipvsadm's before and after ours, give or take a second.
expiry() { tail -n +3 "$1" | awk '{ split($2, t, ":"); print $1, $3, $4, $5, $6, t[1] * 60 + t[2] }' | sort; }
expiry /tmp/theirs >/tmp/e1
expiry /tmp/ours >/tmp/e2
expiry /tmp/theirs2 >/tmp/e3
paste -d ' ' /tmp/e1 /tmp/e2 /tmp/e3 | awk '
    $1 != $7 || $4 != $10 || $1 != $13 || $4 != $16 { print "entries differ: " $0; bad = 1 }
    $12 > $6 + 1 || $12 < $18 - 1 { print "expiry out of range: " $0; bad = 1 }
    END { exit bad }' || fail "expiries differ"
established=$(grep -c " ESTABLISHED .* $VIP:7 " /tmp/ours || true)
closed=$(grep -c " TIME_WAIT .* $VIP:80 " /tmp/ours || true)
[ "$established" = 1 ] || fail "expected 1 ESTABLISHED connection to $VIP:7, ipvsc lists $established"
[ "$closed" -ge 4 ] || fail "expected 4 TIME_WAIT connections to $VIP:80, ipvsc lists $closed"
echo "ok: list --connections equals ipvsadm -Lnc ($established established, $closed closed)"

# --- as JSON
"$IPVSC" list --connections --format json >/tmp/ours.json || fail "ipvsc list --connections --format json failed"
echo "@@ ipvsc-conns-json"
cat /tmp/ours.json
grep -q '"format_version": 1' /tmp/ours.json || fail "no format_version 1 in the JSON"
n=$(grep -c '"protocol":"TCP"' /tmp/ours.json || true)
[ "$n" = "$(tail -n +3 /tmp/ours | wc -l)" ] || fail "the JSON has $n entries, the text $(tail -n +3 /tmp/ours | wc -l)"
grep -q "\"virtual\":\"$VIP:7\",\"server\":\"10.200.[12].2:7\",\"state\":\"ESTABLISHED\"" /tmp/ours.json ||
    fail "the JSON lacks the open connection"
echo "ok: list --connections --format json has the $n entries"

# --- one service's connections
"$IPVSC" list -c tcp $VIP:7 >/tmp/one || fail "ipvsc list -c tcp $VIP:7 failed"
[ "$(tail -n +3 /tmp/one | wc -l)" = 1 ] && grep -q ESTABLISHED /tmp/one ||
    fail "list -c tcp $VIP:7 should list the open connection alone:
$(cat /tmp/one)"

# --- one service, in every view, with ipvsadm -Ln -t as the oracle
servers() { # ipvsadm's or ipvsc's server lines: address active inactive
    awk '$1 == "->" && $2 ~ /:[0-9]+$/ { print $2, $5, $6 }' "$1"
}
for svc in $VIP:80 $VIP:7; do
    "$IPVSADM" -Ln -t $svc >/tmp/theirs || fail "ipvsadm -Ln -t $svc failed"
    "$IPVSC" list tcp $svc >/tmp/ours || fail "ipvsc list tcp $svc failed"
    echo "@@ ipvsc-one $svc"
    cat /tmp/ours
    [ "$(grep -c '^tcp ' /tmp/ours)" = 1 ] && grep -q "^tcp $svc " /tmp/ours ||
        fail "ipvsc list tcp $svc lists other services"
    [ "$(servers /tmp/ours)" = "$(servers /tmp/theirs)" ] || fail "ActiveConn/InActConn of $svc differ:
$(servers /tmp/ours)
---
$(servers /tmp/theirs)"
    for view in --stats --rate --thresholds --persistent-conns --all; do
        "$IPVSC" list tcp $svc $view >/tmp/view || fail "ipvsc list tcp $svc $view failed"
        [ "$(grep -c '^tcp ' /tmp/view)" = 1 ] && grep -q "^tcp $svc " /tmp/view ||
            fail "ipvsc list tcp $svc $view does not show that service alone:
$(cat /tmp/view)"
    done
    "$IPVSC" list tcp $svc --format json >/tmp/view || fail "ipvsc list tcp $svc --format json failed"
    [ "$(grep -c '"scheduler"' /tmp/view)" = 1 ] && grep -q "\"port\": ${svc##*:}$" /tmp/view ||
        fail "ipvsc list tcp $svc --format json does not show that service alone:
$(cat /tmp/view)"
done
"$IPVSC" list tcp 10.0.0.99:80 >/dev/null 2>/tmp/err && fail "list of a missing service succeeded"
rc=0
"$IPVSC" list tcp 10.0.0.99:80 >/dev/null 2>/tmp/err || rc=$?
[ "$rc" = 1 ] && grep -q "no such service tcp 10.0.0.99:80" /tmp/err ||
    fail "list of a missing service: rc=$rc, $(cat /tmp/err)"
echo "ok: list SERVICE shows that service with ipvsadm -Ln -t's ActiveConn/InActConn"

exec 3>&-

# --- ipvsadm's order: services and servers spread over the address space, added in an order
# that is neither sorted nor reversed (the kernel lists a service's servers newest first, and
# its services by hash).
for a in 200.1.1.1 10.1.1.1 150.1.1.1 60.1.1.1 250.1.1.1 100.1.1.1 30.1.1.1 220.1.1.1; do
    adm -A -t $a:80 -s rr
    adm -A -u $a:53 -s rr
done
adm -A -f 7 -s rr
adm -A -f 3 -s rr
for r in 140.2.2.2 20.2.2.2 210.2.2.2 90.2.2.2 180.2.2.2 5.2.2.2 120.2.2.2; do
    adm -a -t 150.1.1.1:80 -r $r:80 -g
    adm -a -t 10.1.1.1:80 -r $r:8080 -g
    adm -a -f 7 -r $r:0 -g
done
adm -a -t 150.1.1.1:80 -r 140.2.2.2:81 -m
sequence() { # ipvsadm -Ln or ipvsc list text: `tcp A:P`, `udp A:P`, `fwmark N`, `-> A:P`
    awk '$1 == "TCP" || $1 == "UDP" { print tolower($1), $2; next }
         $1 == "FWM" { print "fwmark", $2; next }
         $1 == "tcp" || $1 == "udp" || $1 == "fwmark" { print $1, $2; next }
         $1 == "->" && $2 ~ /:[0-9]+$/ { print "->", $2 }'
}
"$IPVSADM" -Ln >/tmp/theirs
"$IPVSC" list >/tmp/ours || fail "ipvsc list failed"
"$IPVSADM" -Ln --nosort >/tmp/theirs-nosort
"$IPVSC" list --nosort >/tmp/ours-nosort || fail "ipvsc list --nosort failed"
theirs=$(sequence </tmp/theirs)
[ "$(sequence </tmp/ours)" = "$theirs" ] || fail "ipvsc list orders otherwise than ipvsadm -Ln:
$(sequence </tmp/ours)
---
$theirs"
[ "$(sequence </tmp/ours-nosort)" = "$(sequence </tmp/theirs-nosort)" ] ||
    fail "ipvsc list --nosort orders otherwise than ipvsadm -Ln --nosort"
[ "$(sequence </tmp/theirs-nosort)" != "$theirs" ] ||
    fail "the kernel's order equals ipvsadm's sorted one: this table proves nothing about the sort"
echo "ok: list orders $(echo "$theirs" | grep -vc '^->') services and $(echo "$theirs" | grep -c '^->') servers as ipvsadm -Ln, --nosort as --nosort"
echo "@@ ipvsadm-order"
cat /tmp/theirs
echo "@@ ipvsadm-nosort"
cat /tmp/theirs-nosort
echo "@@ ipvsc-order-json"
"$IPVSC" list --format json || fail "ipvsc list --format json failed"
echo "@@ ipvsc-nosort-json"
"$IPVSC" list --nosort --format json || fail "ipvsc list --nosort --format json failed"
echo "@@ end"
