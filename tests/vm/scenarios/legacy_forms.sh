#!/bin/sh
# The two legacy forms ipvsc reads differently from plain numbers, against ipvsadm and the kernel:
#  - port names: ipvsadm looks them up with getservbyname in the guest's /etc/services (the
#    host's, Debian's netbase, copied by vm.sh); ipvsc has its own copy of that table
#    (src/legacy/services.rs). Every name and alias of every tcp, udp and sctp entry of
#    /etc/services is the port of its own service in one file, loaded with `ipvsadm -R`:
#    `ipvsadm -Sn` must equal `ipvsc save --format ipvsadm --strict` of that file.
#  - IPv4 addresses in inet_aton's forms (octal and hex parts, fewer than four parts, one 32-bit
#    number): tests/legacy-corpus/synthetic-forms.ipvsadm, whose refused lines and table
#    legacy_corpus.sh compares with ipvsadm's, must get an `address-form` warning from `ipvsc
#    check` on every line with such an address, and no error on those lines.
set -u
W=/tmp/legacy_forms
mkdir -p "$W"
failed=0

if [ ! -s /etc/services ]; then
    echo "FAIL /etc/services is missing in the guest: ipvsadm cannot look up port names (vm.sh copies the host's, from Debian's netbase package)"
    exit 1
fi

# One service per name: 10.0.X.Y:NAME with the entry's protocol.
awk '{ sub(/#.*/, "") }
     NF >= 2 {
         split($2, pp, "/")
         opt = pp[2] == "tcp" ? "-t" : pp[2] == "udp" ? "-u" : pp[2] == "sctp" ? "--sctp-service" : ""
         if (opt == "") next
         for (i = 1; i <= NF; i++) {
             if (i == 2) continue
             printf "-A %s 10.0.%d.%d:%s -s rr\n", opt, int(n / 250), n % 250 + 1, $i
             n++
         }
     }' /etc/services >"$W/names.ipvsadm"
count=$(wc -l <"$W/names.ipvsadm")
tcp=$(grep -c -- '-A -t ' "$W/names.ipvsadm")
udp=$(grep -c -- '-A -u ' "$W/names.ipvsadm")
sctp=$(grep -c -- '--sctp-service' "$W/names.ipvsadm")
if ! "$IPVSADM" -R <"$W/names.ipvsadm" >"$W/restore.out" 2>&1; then
    echo "FAIL ipvsadm -R refused a port name of /etc/services"
    cat "$W/restore.out"
    failed=1
fi
"$IPVSADM" -Sn >"$W/kernel"
loaded=$(grep -c '^-A' "$W/kernel")
if [ "$loaded" != "$count" ]; then
    echo "FAIL the kernel has $loaded services of the $count names"
    failed=1
fi
if ! "$IPVSC" save --format ipvsadm --strict "$W/names.ipvsadm" >"$W/ipvsc" 2>"$W/err"; then
    echo "FAIL ipvsc refuses port names that ipvsadm reads"
    grep 'error' "$W/err" | head -n 20
    failed=1
elif ! cmp -s "$W/kernel" "$W/ipvsc"; then
    echo "FAIL ipvsc reads port names otherwise than ipvsadm (< kernel, > ipvsc):"
    diff "$W/kernel" "$W/ipvsc" | head -n 40
    failed=1
else
    echo "ok $count port names of /etc/services (tcp $tcp, udp $udp, sctp $sctp) read alike"
fi
"$IPVSADM" -C

# The lines of synthetic-forms.ipvsadm with an address in an inet_aton form: an address word
# (after -t, -u, --sctp-service or -r; `:port` removed) that is not four plain decimal parts,
# and not all digits without a port (ipvsadm refuses those before inet_aton).
f=$DATA/data/legacy-corpus/synthetic-forms.ipvsadm
want=$(awk '{ sub(/#.*/, "") }
            {
                for (i = 1; i < NF; i++) {
                    if ($i != "-t" && $i != "-u" && $i != "--sctp-service" && $i != "-r") continue
                    a = $(i + 1)
                    if (a ~ /^[0-9]+$/) continue
                    sub(/:[^:]*$/, "", a)
                    if (a ~ /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/) continue
                    if (a ~ /^[0-9a-fA-FxX.]+$/) { print NR; break }
                }
            }' "$f" | tr '\n' ' ')
"$IPVSC" check --format short "$f" >"$W/check" 2>&1
warned=$(sed -n 's/^[^:]*:\([0-9]*\):[0-9]*: warning\[address-form\].*/\1/p' "$W/check" | sort -n | uniq | tr '\n' ' ')
erred=$(sed -n 's/^[^:]*:\([0-9]*\):[0-9]*: error.*/\1/p' "$W/check" | sort -n | uniq | tr '\n' ' ')
want=$(echo $want)
warned=$(echo $warned)
if [ -z "$want" ]; then
    echo "FAIL $f has no line with an inet_aton form"
    failed=1
elif [ "$warned" != "$want" ]; then
    echo "FAIL inet_aton forms on lines [$want], ipvsc check warned on [$warned]"
    cat "$W/check"
    failed=1
else
    both=""
    for n in $want; do
        for e in $erred; do [ "$n" = "$e" ] && both="$both $n"; done
    done
    if [ -n "$both" ]; then
        echo "FAIL ipvsc check has errors on inet_aton lines:$both"
        cat "$W/check"
        failed=1
    else
        echo "ok inet_aton forms warned, not refused, on lines $want"
    fi
fi
exit $failed
