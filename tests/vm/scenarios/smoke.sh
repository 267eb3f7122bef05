#!/bin/sh
# The guest works: ipvsadm talks to the kernel, on-demand scheduler loading works, ipvsc runs.
set -eu
"$IPVSC" --version
"$IPVSADM" -A -t 10.0.0.1:80 -s rr
"$IPVSADM" -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m
"$IPVSADM" -Sn >/tmp/smoke
cat /tmp/smoke
grep -qx -- '-A -t 10.0.0.1:80 -s rr' /tmp/smoke
grep -qx -- '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1' /tmp/smoke
cat /proc/net/ip_vs
grep -q '^TCP  0A000001:0050 rr' /proc/net/ip_vs
"$IPVSADM" -C
echo ok smoke
