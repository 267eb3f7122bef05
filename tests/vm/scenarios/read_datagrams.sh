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
# Then the servers' dumps on two threads (IPVSC_TEST_READERS=2; by default only a machine of
# more than one CPU reads on two, and this guest has one): `save --strict` is still `ipvsadm
# -Sn`, the second reader's socket (its capture files are named `-r2-`) took some of the dumps
# in one-page datagrams too, an apply of the same file changes nothing, and one of a changed
# weight reads back the table it made.
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

mkdir "$W/cap2"
IPVSC_TEST_READERS=2 IPVSC_CAPTURE="$W/cap2" "$IPVSC" save --format ipvsadm --strict >"$W/ipvsc2" ||
    fail "save on two readers"
diff "$W/ipvsadm" "$W/ipvsc2" >/dev/null || fail "save --strict on two readers differs from ipvsadm -Sn"
second=0 second_max=0
for f in $(ls "$W/cap2" | grep -e '-r2-'); do
    case $f in
    *-send.bin) second=$((second + 1)) ;;
    *-recv.bin)
        size=$(wc -c <"$W/cap2/$f")
        [ "$size" -gt "$second_max" ] && second_max=$size
        ;;
    esac
done
total=$(ls "$W/cap2" | grep -c -e '-send.bin$')
echo "two readers: the second sent $second of $total requests, its longest datagram $second_max bytes"
[ "$second" -gt 0 ] || fail "the second reader sent no request"
[ "$second" -lt 601 ] || fail "the first reader read no server at all"
[ "$second_max" -le 4096 ] || fail "a datagram of the second reader is longer than a page"
out=$(IPVSC_TEST_READERS=2 "$IPVSC" apply "$W/t.ipvs") || fail "the no-op apply on two readers"
echo "$out" | grep -q "^No changes" || fail "the no-op apply on two readers changed something: $out"
sed 's/^    server 172.16.0.1:8080$/    server 172.16.0.1:8080 weight 7/' "$W/t.ipvs" >"$W/t2.ipvs"
cmp -s "$W/t.ipvs" "$W/t2.ipvs" && fail "the weight edit did not apply to the file"
out=$(IPVSC_TEST_READERS=2 "$IPVSC" apply "$W/t2.ipvs") || fail "the weight change on two readers"
echo "$out" | grep -q "^Applied: .*1 changed" || fail "the weight change: $out"
"$IPVSADM" -Sn | grep -q -e "-r 172.16.0.1:8080 -m -w 7" || fail "the weight is not 7 in the kernel"
echo "ok: two readers: save, a no-op and a weight change"
"$IPVSADM" -C
echo ok read_datagrams
