#!/usr/bin/env bash
# Benchmark of `ipvsc check` on generated files of 1k, 10k and 100k services with 10 servers
# each: wall time (best of 3) and peak memory, against the file's size.
# Usage: bench/check.sh [SIZES...]   (needs python3 and GNU time: apt-get install time)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%-9s %-9s %-10s %-9s %-10s %s\n' services servers "file MB" "time s" "peak MB" "peak/file"
for n in "${@:-1000 10000 100000}"; do
    for size in $n; do
        f="$dir/$size.ipvs"
        python3 bench/gen.py "$size" > "$f"
        best=""; peak=0
        for _ in 1 2 3; do
            out=$(/usr/bin/time -f '%e %M' target/release/ipvsc check -q "$f" 2>&1 >/dev/null | tail -1)
            t=${out% *}; m=${out#* }
            if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
            [ "$m" -gt "$peak" ] && peak=$m
        done
        bytes=$(stat -c %s "$f")
        awk -v n="$size" -v b="$bytes" -v t="$best" -v m="$peak" 'BEGIN {
            printf "%-9d %-9d %-10.1f %-9.2f %-10.1f %.1fx\n", n, n*10, b/1e6, t, m/1024, m*1024/b }'
    done
done
