#!/bin/sh
# Convergence on the real kernel. tests/vm.rs writes pairs of random tables into
# $DATA/data/extra/converge/: NAME-a.ipvsadm (table A as an ipvsadm dump with its thresholds,
# timeouts and daemons) and NAME-b.ipvs (table B). For each pair, in a fresh network namespace
# (default timeouts and sysctls, no daemons) with a dummy eth0 for the sync daemons:
# `ipvsadm -R` loads A, then the guest prints
#   @@ pair NAME
#   @@ load rc=N       and what ipvsadm -R said (it must say nothing)
#   @@ plan rc=N       and `ipvsc plan B --format json` on one line
#   @@ apply rc=N      and what `ipvsc apply B` said
#   @@ table rc=N      and `ipvsc save --format json` on one line
#   @@ end
# tests/vm.rs checks that the plan is the one the host computes against the in-memory kernel
# holding A, that the apply succeeded, and that the kernel's final table is B.
set -u
D=$DATA/data/extra/converge

# JSON on one line: leading blanks and newlines go (no JSON string here holds a newline).
oneline() { sed 's/^ *//' | tr -d '\n'; }

if [ "${1:-}" = one ]; then
    name=$2
    W=/tmp/apply_converge/$name
    mkdir -p "$W"
    export IPVSC_STATE_DIR="$W/state"
    ip link add eth0 type dummy && ip addr add 198.18.1.1/32 dev eth0 && ip link set eth0 up ||
        echo "cannot make the dummy interface eth0"
    echo "@@ pair $name"
    "$IPVSADM" -R <"$D/$name-a.ipvsadm" >"$W/out" 2>&1
    echo "@@ load rc=$?"
    cat "$W/out"
    "$IPVSC" plan "$D/$name-b.ipvs" --format json >"$W/out" 2>"$W/err"
    echo "@@ plan rc=$?"
    oneline <"$W/out"
    echo
    cat "$W/err"
    "$IPVSC" apply "$D/$name-b.ipvs" >"$W/out" 2>&1
    echo "@@ apply rc=$?"
    cat "$W/out"
    "$IPVSC" save --format json >"$W/out" 2>"$W/err"
    echo "@@ table rc=$?"
    oneline <"$W/out"
    echo
    cat "$W/err"
    echo "@@ end"
    exit 0
fi

n=0
for a in "$D"/*-a.ipvsadm; do
    [ -e "$a" ] || continue
    n=$((n + 1))
    name=$(basename "$a" -a.ipvsadm)
    unshare -n /bin/netsetup sh "$0" one "$name"
done
echo "$n pairs"
if [ "$n" = 0 ]; then
    echo "FAIL: no table pairs in $D (tests/vm.rs writes them)"
    exit 1
fi
