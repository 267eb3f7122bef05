#!/usr/bin/env python3
"""Writes a .ipvs file with N services of 10 servers each (for bench/check.sh)."""
import sys

n = int(sys.argv[1])
out = sys.stdout
out.write("timeouts { tcp 15m; tcpfin 2m; udp 5m }\n\n")
for i in range(n):
    a, b = divmod(i, 250)
    out.write(f"service tcp 10.{a // 250}.{a % 250}.{b + 1}:80 {{\n    scheduler wlc\n    forward nat\n")
    for j in range(10):
        out.write(f"    server 172.{16 + j}.{a % 250}.{b + 1}:8080 weight {j + 1}\n")
    out.write("}\n")
