#!/bin/sh
# `ipvsc list`, `zero` and `clear` on a table with real traffic. The guest prints ipvsadm's and
# ipvsc's views in sections (`@@ NAME`); tests/vm.rs compares their numbers. Here: traffic
# makes counters non-zero, `ipvsc zero` makes them zero again, `ipvsc clear` empties the table.
set -eu
fail() {
    echo "FAIL: $*"
    exit 1
}
ip addr add 10.9.9.9/32 dev lo
mkdir -p /tmp/www
echo hello >/tmp/www/index.html
httpd -p 80 -h /tmp/www
httpd -p 8080 -h /tmp/www

"$IPVSADM" -A -t 10.9.9.9:80 -s rr
"$IPVSADM" -a -t 10.9.9.9:80 -r 127.0.0.1:80 -g -w 2 -x 100 -y 10
"$IPVSADM" -A -t 10.9.9.9:8080 -s wrr
"$IPVSADM" -a -t 10.9.9.9:8080 -r 127.0.0.1:8080 -g -w 1
"$IPVSADM" -A -u 10.9.9.9:53 -s wlc -p 60
"$IPVSADM" -a -u 10.9.9.9:53 -r 10.0.0.8:53 -m -w 3
"$IPVSADM" -A -f 5 -s sh -b sh-port
"$IPVSADM" -a -f 5 -r 10.0.0.9:0 -i -w 1

i=0
while [ $i -lt 20 ]; do
    wget -q -O /dev/null http://10.9.9.9/ || fail "wget through IPVS failed"
    wget -q -O /dev/null http://10.9.9.9:8080/ || fail "wget through IPVS failed"
    i=$((i + 1))
done
sleep 3 # the rate estimator runs every 2 s

section() {
    echo "@@ $1"
    shift
    "$@"
}
section ipvsadm-list "$IPVSADM" -Ln
section ipvsadm-stats "$IPVSADM" -Ln --stats --exact
section ipvsadm-rate "$IPVSADM" -Ln --rate --exact
section ipvsadm-thresholds "$IPVSADM" -Ln --thresholds
section ipvsadm-persistent "$IPVSADM" -Ln --persistent-conn
section ipvsc-json "$IPVSC" list --format json
section ipvsadm-rate-after "$IPVSADM" -Ln --rate --exact
echo "@@ end"
"$IPVSC" list --all

conns=$("$IPVSADM" -Ln --stats --exact | awk '$2 == "10.9.9.9:80" { print $3 }')
[ "${conns:-0}" -gt 0 ] || fail "no connections counted before zero"

"$IPVSC" zero tcp 10.9.9.9:80
"$IPVSADM" -Ln --stats --exact | awk '$2 == "10.9.9.9:80" && $3 != 0 { exit 1 }' || fail "zero of one service left counters"
"$IPVSADM" -Ln --stats --exact | awk '$2 == "10.9.9.9:8080" && $3 == 0 { exit 1 }' || fail "zero of one service zeroed another"
"$IPVSC" zero
"$IPVSADM" -Ln --stats --exact | awk '$1 ~ /^(TCP|UDP|FWM)$/ && $3 != 0 { exit 1 }' || fail "zero left counters"
echo "ok: zero resets the counters ($conns TCP connections before)"

"$IPVSC" zero tcp 10.9.9.99:80 2>/tmp/err && fail "zero of a missing service succeeded"
grep -q "no such service" /tmp/err || fail "zero of a missing service: $(cat /tmp/err)"

"$IPVSC" clear
[ -z "$("$IPVSADM" -Sn)" ] || fail "clear left: $("$IPVSADM" -Sn)"
echo "ok: clear empties the table"
