#!/bin/sh
# How ipvsc reads a large table (src/kernel/socket.rs): the dump of the services on a socket of
# its own in large reads, so that the kernel fills large datagrams (IPVS walks its service table
# from the start for each one), and every service's dump of its servers on the main socket in
# one-page datagrams (a larger one would be a high-order allocation for each). With
# IPVSC_CAPTURE, over 600 services of two servers and one of 40:
#  - `save --strict` is byte for byte `ipvsadm -Sn`;
#  - the datagrams that answer GET_SERVICE (those before the first GET_DEST request) include
#    ones longer than a page;
#  - those that answer GET_DEST are none longer than a page, though one service's servers take
#    several.
set -eu
W=/tmp/read_datagrams
rm -rf "$W"
mkdir -p "$W/cap"
export IPVSC_STATE_DIR="$W/state"
fail() {
    echo "FAIL: $*"
    exit 1
}

awk -v out="$W/t.ipvs" 'BEGIN {
    for (i = 0; i < 600; i++) {
        printf "service tcp 10.1.%d.%d:80 {\n    scheduler wlc; forward nat\n", int(i / 250), i % 250 + 1 >out
        for (s = 0; s < 2; s++)
            printf "    server 172.16.%d.%d:8080\n", int((2 * i + s) / 250), (2 * i + s) % 250 + 1 >out
        print "}" >out
    }
    printf "service tcp 10.2.0.1:443 {\n    scheduler rr; forward nat\n" >out
    for (s = 0; s < 40; s++)
        printf "    server 172.17.0.%d:8443\n", s + 1 >out
    print "}" >out
}'
"$IPVSC" apply "$W/t.ipvs" >/dev/null || fail "the load"

IPVSC_CAPTURE="$W/cap" "$IPVSC" save --format ipvsadm --strict >"$W/ipvsc" ||
    fail "save under capture"
"$IPVSADM" -Sn >"$W/ipvsadm"
diff "$W/ipvsadm" "$W/ipvsc" >/dev/null || fail "save --strict differs from ipvsadm -Sn"
echo "ok: save --strict is ipvsadm -Sn ($(wc -l <"$W/ipvsc") lines)"

# Each capture file is one datagram; a request's genl command is its 17th byte (GET_SERVICE 4,
# GET_DEST 8). Sizes of the answers, by the last request sent before them.
cmd=none service_max=0 service_n=0 dest_max=0 dest_n=0 dests=0
for f in $(ls "$W/cap" | sort); do
    size=$(wc -c <"$W/cap/$f")
    case $f in
    *-send.bin)
        c=$(od -An -tu1 -j16 -N1 "$W/cap/$f" | tr -d ' ')
        case $c in
        4) cmd=service ;;
        8) cmd=dest dests=$((dests + 1)) ;;
        *) cmd=other ;;
        esac
        ;;
    *-recv.bin)
        case $cmd in
        service)
            service_n=$((service_n + 1))
            [ "$size" -gt "$service_max" ] && service_max=$size
            ;;
        dest)
            dest_n=$((dest_n + 1))
            [ "$size" -gt "$dest_max" ] && dest_max=$size
            ;;
        esac
        ;;
    esac
done
echo "GET_SERVICE: $service_n datagrams, the longest $service_max bytes"
echo "GET_DEST: $dests requests, $dest_n datagrams, the longest $dest_max bytes"
[ "$dests" = 601 ] || fail "601 GET_DEST dumps expected, $dests sent"
[ "$service_max" -gt 8192 ] ||
    fail "the services' dump came in datagrams of a page or less: large reads did not reach it"
[ "$dest_max" -le 4096 ] ||
    fail "a GET_DEST datagram is longer than a page: the main socket's reads grew"
# One datagram a service and one NLMSG_DONE, and more for the service of 40 servers.
[ "$dest_n" -gt 1202 ] || fail "the 40 servers came in one datagram: $dest_n for 601 dumps"
"$IPVSADM" -C
echo ok read_datagrams
