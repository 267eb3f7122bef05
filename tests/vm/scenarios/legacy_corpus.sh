#!/bin/sh
# ipvsadm and the kernel are the oracle for ipvsc's reading of real ipvsadm input: for every file
# of tests/legacy-corpus ($DATA/data/legacy-corpus), in a fresh network namespace, each line is
# run through ipvsadm on its own as a shell would run the script's line (words `ipvsadm`
# dropped, comment lines skipped, and a trailing comment, from a word that starts with `#` to the
# end of the line, dropped) and the lines that ipvsadm or the kernel refuse are recorded. Then:
#  - `ipvsc check` must report an error at exactly those lines, and at no other;
#  - `ipvsc save --format ipvsadm --strict FILE` must be what `ipvsadm -Sn` prints after the
#    run (ipvsc, like the kernel, skips a refused line and goes on).
# Each file's refused lines are printed as `@@ refused FILE: N N ...` (tests/legacy-corpus/*.expect
# are these lines; tests/convert.rs holds ipvsc to them without a kernel).
# Also: in a fresh namespace, sync_qlen_max is what the kernel computed from this host's memory,
# and `ipvsc save --format ipvs` leaves it out.
set -u
W=/tmp/legacy_corpus
mkdir -p "$W"
failed=0

# Runs FILE's lines one at a time in the current (fresh) namespace; prints the refused numbers.
cat >"$W/run_lines.sh" <<'RUN'
n=0
refused=""
while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    set -f
    set -- $line
    set +f
    case "${1:-}" in '' | '#'*) continue ;; esac
    words=""
    for w in "$@"; do
        case "$w" in '#'*) break ;; ipvsadm) ;; *) words="$words $w" ;; esac
    done
    set -f
    if ! "$IPVSADM" $words >/dev/null 2>>"$W/ipvsadm.err"; then
        refused="$refused $n"
    fi
    set +f
done <"$1"
echo "$refused" >"$W/refused"
"$IPVSADM" -Sn >"$W/kernel"
RUN

for f in "$DATA"/data/legacy-corpus/*.ipvsadm; do
    name=$(basename "$f")
    : >"$W/ipvsadm.err"
    W="$W" IPVSADM="$IPVSADM" unshare -n /bin/netsetup sh "$W/run_lines.sh" "$f"
    refused=$(cat "$W/refused")
    echo "@@ refused $name:$refused"
    "$IPVSC" check --format short "$f" >"$W/check" 2>&1
    flagged=$(sed -n 's/^[^:]*:\([0-9]*\):[0-9]*: error.*/\1/p' "$W/check" | sort -n | uniq | tr '\n' ' ')
    want=$(echo $refused)
    got=$(echo $flagged)
    "$IPVSC" save --format ipvsadm --strict "$f" >"$W/ipvsc" 2>/dev/null
    # save refuses a file with errors; a table is compared where ipvsc gives one.
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: the kernel refused lines [$want], ipvsc flagged [$got]"
        cat "$W/check" "$W/ipvsadm.err"
        failed=1
    elif [ -z "$want" ] && ! cmp -s "$W/ipvsc" "$W/kernel"; then
        echo "FAIL $name: ipvsc save differs from ipvsadm -Sn"
        diff "$W/kernel" "$W/ipvsc"
        failed=1
    else
        echo "ok $name"
    fi
done

# The table of a file with refused lines: convert it after dropping those lines (what the
# kernel kept), and compare with the kernel's.
for f in "$DATA"/data/legacy-corpus/*.ipvsadm; do
    name=$(basename "$f")
    : >"$W/ipvsadm.err"
    W="$W" IPVSADM="$IPVSADM" unshare -n /bin/netsetup sh "$W/run_lines.sh" "$f"
    refused=$(cat "$W/refused")
    [ -n "$refused" ] || continue
    awk -v drop="$refused" 'BEGIN { n = split(drop, d, " "); for (i = 1; i <= n; i++) skip[d[i]] = 1 }
                            !(NR in skip)' "$f" >"$W/kept.ipvsadm"
    if ! "$IPVSC" save --format ipvsadm --strict "$W/kept.ipvsadm" >"$W/ipvsc" 2>"$W/err"; then
        echo "FAIL $name: ipvsc refuses the lines the kernel kept"
        cat "$W/err"
        failed=1
    elif ! cmp -s "$W/ipvsc" "$W/kernel"; then
        echo "FAIL $name: the table of the kept lines differs from ipvsadm -Sn"
        diff "$W/kernel" "$W/ipvsc"
        failed=1
    else
        echo "ok $name (kept lines)"
    fi
done

# sync_qlen_max: the kernel's default is nr_free_buffer_pages()/32, from /proc/zoneinfo.
modprobe ip_vs 2>/dev/null
"$IPVSADM" -Ln >/dev/null
kernel_qlen=$(cat /proc/sys/net/ipv4/vs/sync_qlen_max)
computed=$(awk '$1 == "Node" { z = $4 } $1 == "high" && NF == 2 && !(z in h) { h[z] = $2 }
                $1 == "managed" { m[z] = $2 }
                END { for (z in m) if (z == "DMA" || z == "DMA32" || z == "Normal")
                          if (m[z] > h[z]) s += m[z] - h[z]; print int(s / 32) }' /proc/zoneinfo)
echo "note: sync_qlen_max $kernel_qlen here, computed from /proc/zoneinfo $computed"
[ "$kernel_qlen" = "$computed" ] || { echo "FAIL sync_qlen_max: kernel $kernel_qlen, computed $computed"; failed=1; }
"$IPVSC" save --format ipvs >"$W/save.ipvs" 2>&1
if grep -q sync_qlen_max "$W/save.ipvs"; then
    echo "FAIL ipvsc save prints the host-computed sync_qlen_max"
    cat "$W/save.ipvs"
    failed=1
fi
echo 4096 >/proc/sys/net/ipv4/vs/sync_qlen_max
"$IPVSC" save --format ipvs >"$W/save.ipvs" 2>&1
grep -q 'sync_qlen_max 4096' "$W/save.ipvs" || { echo "FAIL a set sync_qlen_max is not saved"; cat "$W/save.ipvs"; failed=1; }
echo "$kernel_qlen" >/proc/sys/net/ipv4/vs/sync_qlen_max
exit $failed
