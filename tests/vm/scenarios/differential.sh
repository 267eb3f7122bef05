#!/bin/sh
# The differential test's guest half: each operation stream in $DATA/data/extra/ops-*.json runs
# on the real kernel, from a reset table, through `ipvsc ops`; tests/vm.rs compares each
# transcript with the in-memory kernel's. Prints `@@ transcript NAME` before each.
set -u
rc=0
found=0
for f in "$DATA"/data/extra/ops-*.json; do
    [ -e "$f" ] || continue
    found=1
    "$IPVSADM" -C
    "$IPVSADM" --stop-daemon master 2>/dev/null
    "$IPVSADM" --stop-daemon backup 2>/dev/null
    "$IPVSADM" --set 900 120 300
    echo "@@ transcript $(basename "$f" .json)"
    "$IPVSC" ops "$f" || rc=1
done
if [ "$found" = 0 ]; then
    echo "FAIL: no operation streams in $DATA/data/extra (tests/vm.rs writes them)"
    exit 1
fi
exit $rc
