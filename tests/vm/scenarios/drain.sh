#!/bin/sh
# Graceful drain with real connections (issue 9): a client, a director (this namespace) and two
# backends, a NAT echo service and a DR web service applied by ipvsc.
#  - a server removed from the file while a connection is open: after `apply --no-wait` it is at
#    weight 0, the connection still carries data both ways, new connections go to the other
#    server; once the connection is closed, the next apply deletes it;
#  - a connection that outlives its deadline: the waiting apply deletes the server at the
#    deadline;
#  - the server put back while draining: its weight is edited, its connection and counters stay;
#  - SIGKILL during the wait: the recorded drain is finished by `ipvsc drain`;
#  - UDP with default settings: deleted at once;
#  - overrides: disable keeps weight 0 across applies, enable gives back the file's weight, weight
#    N sticks, an unknown server is refused and changes nothing.
set -eu
. "$DATA/lib/topo.sh"
W=/tmp/drain
rm -rf "$W"
mkdir -p "$W"
export IPVSC_STATE_DIR="$W/state"
fail() {
    echo "FAIL: $1"
    if [ -n "${2:-}" ] && [ -f "$2" ]; then sed 's/^/    /' "$2"; fi
    "$IPVSADM" -Ln --stats
    "$IPVSADM" -Lnc
    exit 1
}

VIP=10.0.0.100
S1=10.200.1.2
S2=10.200.2.2
topo_director "$VIP"
topo_client client 1
topo_backend web1 1
topo_backend web2 2
topo_dr web1 "$VIP"
topo_dr web2 "$VIP"
for b in web1 web2; do
    topo_echo "$b" 7
    topo_httpd "$b" 80
done

# The file: $1 and $2 are the echo servers kept, $3 the UDP ones, $4 extra lines at the top.
write() {
    {
        printf '%s\n' "${4:-}"
        echo "service tcp $VIP:7 { scheduler rr; forward nat; drain 10m"
        for s in $1; do echo "    server $s:7"; done
        echo "}"
        echo "service tcp $VIP:80 { scheduler rr; forward dr"
        for s in $2; do echo "    server $s"; done
        echo "}"
        echo "service udp $VIP:53 { forward nat"
        for s in $3; do echo "    server $s:53"; done
        echo "}"
    } >"$W/file.ipvs"
}
apply() { # ARGS...: ipvsc apply of the file, output in $W/out
    "$IPVSC" apply "$W/file.ipvs" "$@" >"$W/out" 2>&1 || fail "ipvsc apply $* exited with $?" "$W/out"
}
weight() { # SERVICE SERVER: its weight, or nothing when the kernel has no such server
    "$IPVSADM" -Ln $1 | awk -v s="$2" '$2 == s { print $4 }'
}
stat() { # SERVICE SERVER COLUMN: a counter of ipvsadm -Ln --stats --exact (3 Conns, 4 InPkts)
    "$IPVSADM" -Ln --stats --exact $1 | awk -v s="$2" -v c="$3" '$2 == s { print $c }'
}
until_true() { # SECONDS CMD...: polls CMD every 0.2 s
    _n=$(($1 * 5))
    shift
    while ! "$@"; do
        _n=$((_n - 1))
        [ $_n -gt 0 ] || return 1
        sleep 0.2
    done
}

# A client connection to the echo service, held open: say WORD sends a line and waits for it
# to come back; hangup closes it.
hold() {
    rm -f "$W/in" "$W/echoed"
    mkfifo "$W/in"
    sleep 100000 >"$W/in" &
    HOLDER=$!
    topo_in client nc "$VIP" 7 <"$W/in" >"$W/echoed" &
    NC=$!
    say "hello-$1"
    # The server it landed on.
    HELD=$("$IPVSADM" -Lnc | awk -v v="$VIP:7" '$3 == "ESTABLISHED" && $5 == v { sub(/:7$/, "", $6); print $6; exit }')
    [ -n "$HELD" ] || fail "no established connection to $VIP:7"
    case $HELD in $S1) OTHER=$S2 ;; *) OTHER=$S1 ;; esac
}
say() {
    echo "$1" >"$W/in"
    until_true 5 grep -q "^$1\$" "$W/echoed" || fail "'$1' did not come back through the held connection" "$W/echoed"
}
hangup() { # [cut]: after a deadline the server is gone, and the connection cannot close cleanly
    kill "$HOLDER" 2>/dev/null || true
    until_true 5 sh -c "! kill -0 $NC 2>/dev/null" || kill "$NC" 2>/dev/null || true
    wait "$NC" 2>/dev/null || true
    [ "${1:-}" = cut ] && return 0
    # Closed: the kernel keeps the entry in TIME_WAIT (or CLOSE) for a while.
    until_true 10 sh -c "! '$IPVSADM' -Lnc | awk -v v='$VIP:7' '\$5 == v && \$3 != \"TIME_WAIT\" && \$3 != \"CLOSE\"' | grep -q ." ||
        fail "the held connection did not close"
}
new_connections() { # N short connections to the echo service, each echoing a line
    _i=0
    while [ $_i -lt "$1" ]; do
        _got=$( (echo "x$_i"; sleep 0.5) | topo_in client timeout 5 nc "$VIP" 7 2>&1) || true
        [ "$_got" = "x$_i" ] || fail "new connection $_i through $VIP:7 got '$_got'"
        _i=$((_i + 1))
    done
}

T7="-t $VIP:7"
T80="-t $VIP:80"

# ---- 1. drain on removal, --no-wait, then the next apply deletes it --------------------------
write "$S1 $S2" "$S1 $S2" "$S1 $S2"
apply
[ "$(weight "$T7" "$S1:7")" = 1 ] && [ "$(weight "$T7" "$S2:7")" = 1 ] || fail "the table was not applied"
[ "$(topo_in client timeout 5 wget -q -O - "http://$VIP/")" != "" ] || fail "no answer through the DR service"
hold 1
echo "held connection on $HELD"
write "$OTHER" "$S1 $S2" "$S1 $S2"
"$IPVSC" plan "$W/file.ipvs" >"$W/plan" 2>&1 || fail "plan failed" "$W/plan"
grep -q "~- server $HELD:7 of service tcp $VIP:7" "$W/plan" || fail "plan does not show the drain" "$W/plan"
grep -q "removed when its connections are gone (1 now), 10m at the most" "$W/plan" ||
    fail "plan does not show the connection left" "$W/plan"
apply --no-wait
grep -q "1 server draining" "$W/out" || fail "apply --no-wait did not say what drains" "$W/out"
[ "$(weight "$T7" "$HELD:7")" = 0 ] || fail "the removed server is not at weight 0"
say "data-after-drain"
new_connections 6
# The connection table, not the counters (the kernel folds those in every 2 s): the held
# connection is the draining server's only one, and the 6 new ones went to the other.
entries() { "$IPVSADM" -Lnc | awk -v v="$VIP:7" -v d="$1:7" '$5 == v && $6 == d' | wc -l; }
[ "$(entries "$HELD")" = 1 ] || fail "a new connection went to the draining server"
[ "$(entries "$OTHER")" -ge 6 ] || fail "the new connections did not all go to $OTHER"
"$IPVSC" plan "$W/file.ipvs" >"$W/plan" 2>&1 || fail "plan failed" "$W/plan"
grep -q "Still draining" "$W/plan" && grep -q "server $HELD:7 of service tcp $VIP:7: 1 connection left" "$W/plan" ||
    fail "plan does not show the server still draining" "$W/plan"
"$IPVSC" drain >"$W/drain" 2>&1 || fail "ipvsc drain failed" "$W/drain"
grep -q "1 connection left" "$W/drain" || fail "ipvsc drain does not list the drain" "$W/drain"
apply --no-wait
[ "$(weight "$T7" "$HELD:7")" = 0 ] || fail "apply deleted a server that still has a connection" "$W/out"
hangup
apply --no-wait
[ -z "$(weight "$T7" "$HELD:7")" ] || fail "the drained server was not deleted once its connection closed" "$W/out"
[ ! -e "$IPVSC_STATE_DIR/state.json" ] || fail "a finished drain stayed recorded" "$IPVSC_STATE_DIR/state.json"
echo "ok: drain on removal, data both ways on the draining server, 6 new connections on the other, deleted once closed"

# ---- 2. the deadline -------------------------------------------------------------------------
write "$S1 $S2" "$S1 $S2" "$S1 $S2"
apply
hold 2
write "$OTHER" "$S1 $S2" "$S1 $S2"
sed -i 's/drain 10m/drain 3s/' "$W/file.ipvs"
start=$(cut -d' ' -f1 /proc/uptime)
apply
end=$(cut -d' ' -f1 /proc/uptime)
[ -z "$(weight "$T7" "$HELD:7")" ] || fail "the waiting apply did not delete the server at its deadline" "$W/out"
awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s >= 3) }' || fail "deleted before its deadline ($start -> $end)" "$W/out"
grep -q "Drained" "$W/out" || fail "the waiting apply did not say it finished" "$W/out"
hangup cut
echo "ok: the deadline deleted a server with a live connection ($start -> $end s)"

# ---- 3. back in the file while draining: weight edited, connection and counters kept ---------
write "$S1 $S2" "$S1 $S2" "$S1 $S2"
apply
hold 3
say "before-drain"
write "$OTHER" "$S1 $S2" "$S1 $S2"
apply --no-wait
[ "$(weight "$T7" "$HELD:7")" = 0 ] || fail "not draining"
sleep 3 # the kernel folds per-CPU counters into what it reports every 2 s
conns=$(stat "$T7" "$HELD:7" 3)
pkts=$(stat "$T7" "$HELD:7" 4)
write "$S1 $S2" "$S1 $S2" "$S1 $S2"
apply -v
grep -q "~ server $HELD:7 of service tcp $VIP:7" "$W/out" || fail "the return is not an edit" "$W/out"
grep -q "back in the file while draining" "$W/out" || fail "no note about the return" "$W/out"
[ "$(weight "$T7" "$HELD:7")" = 1 ] || fail "the weight was not restored"
sleep 3
[ "$(stat "$T7" "$HELD:7" 3)" -ge "$conns" ] && [ "$(stat "$T7" "$HELD:7" 4)" -ge "$pkts" ] ||
    fail "the counters did not survive the return (conns $conns, inpkts $pkts before)"
[ "$conns" -ge 1 ] && [ "$pkts" -ge 1 ] || fail "no counters before the return (conns $conns, inpkts $pkts)"
say "after-return"
[ ! -e "$IPVSC_STATE_DIR/state.json" ] || fail "the drain stayed recorded after the return" "$IPVSC_STATE_DIR/state.json"
hangup
echo "ok: the returning server kept its connection and counters (conns $conns, inpkts $pkts)"

# ---- 4. Ctrl-C, then SIGKILL during the wait -------------------------------------------------
hold 4
write "$OTHER" "$S1 $S2" "$S1 $S2"
"$IPVSC" apply "$W/file.ipvs" >"$W/waiting" 2>&1 &
waiter=$!
until_true 20 grep -q "draining" "$W/waiting" || fail "the apply does not wait" "$W/waiting"
kill -INT "$waiter"
rc=0
wait "$waiter" || rc=$?
[ "$rc" = 9 ] || fail "Ctrl-C during the wait: exit $rc, want 9" "$W/waiting"
grep -q "ipvsc drain --wait" "$W/waiting" || fail "Ctrl-C: the message does not say how to finish" "$W/waiting"
[ "$(weight "$T7" "$HELD:7")" = 0 ] || fail "Ctrl-C during the wait rolled the drain back"
say "after-ctrl-c"
"$IPVSC" apply "$W/file.ipvs" >"$W/waiting" 2>&1 &
waiter=$!
until_true 20 grep -q "draining" "$W/waiting" || fail "the apply does not wait" "$W/waiting"
kill -9 "$waiter"
wait "$waiter" 2>/dev/null || true
grep -q '"drains"' "$IPVSC_STATE_DIR/state.json" || fail "the drain is not recorded after SIGKILL"
[ "$(weight "$T7" "$HELD:7")" = 0 ] || fail "not at weight 0 after SIGKILL"
hangup
"$IPVSC" drain >"$W/drain" 2>&1 || fail "ipvsc drain failed" "$W/drain"
grep -q "drained: server $HELD:7" "$W/drain" || fail "ipvsc drain did not finish the recorded drain" "$W/drain"
[ -z "$(weight "$T7" "$HELD:7")" ] || fail "the recorded drain was not finished"
echo "ok: a drain recorded by a killed apply was finished by ipvsc drain"

# ---- 5. UDP with default settings: deleted at once -------------------------------------------
write "$S1 $S2" "$S1 $S2" "$S1 $S2"
apply
i=0
while [ $i -lt 4 ]; do
    topo_in client timeout 2 nslookup "q$i.example" "$VIP" >/dev/null 2>&1 || true # UDP to port 53
    i=$((i + 1))
done
"$IPVSADM" -Lnc | grep -q "^UDP" || fail "no UDP entries"
udp_busy=$("$IPVSADM" -Ln -u "$VIP:53" | awk '$1 == "->" && $6 > 0 { sub(/:53$/, "", $2); print $2; exit }')
[ -n "$udp_busy" ] || fail "no UDP server with connections"
case $udp_busy in $S1) udp_keep=$S2 ;; *) udp_keep=$S1 ;; esac
write "$S1 $S2" "$S1 $S2" "$udp_keep"
apply --no-wait
[ -z "$(weight "-u $VIP:53" "$udp_busy:53")" ] || fail "the UDP server was not deleted at once" "$W/out"
[ ! -e "$IPVSC_STATE_DIR/state.json" ] || fail "a UDP removal was recorded as a drain" "$IPVSC_STATE_DIR/state.json"
echo "ok: a UDP server with connections was deleted at once"

# ---- 6. overrides ----------------------------------------------------------------------------
write "$S1 $S2" "$S1 $S2" "$S1 $S2"
apply
"$IPVSC" disable tcp "$VIP:80" "$S1" >"$W/out" 2>&1 || fail "disable failed" "$W/out"
[ "$(weight "$T80" "$S1:80")" = 0 ] || fail "disable did not set weight 0"
apply -v
grep -q "stays disabled" "$W/out" || fail "plan does not show the override" "$W/out"
[ "$(weight "$T80" "$S1:80")" = 0 ] || fail "an apply of the unchanged file undid the override" "$W/out"
"$IPVSC" overrides >"$W/out" 2>&1 && grep -q "server $S1:80: disabled" "$W/out" || fail "overrides does not list it" "$W/out"
"$IPVSC" weight tcp "$VIP:80" "$S2:80" 5 >"$W/out" 2>&1 || fail "weight failed" "$W/out"
apply
[ "$(weight "$T80" "$S2:80")" = 5 ] || fail "an apply undid the weight override"
"$IPVSC" enable tcp "$VIP:80" "$S1" >"$W/out" 2>&1 || fail "enable failed" "$W/out"
[ "$(weight "$T80" "$S1:80")" = 1 ] || fail "enable did not give back the file's weight"
"$IPVSC" enable tcp "$VIP:80" "$S2:80" >"$W/out" 2>&1 || fail "enable failed" "$W/out"
[ "$(weight "$T80" "$S2:80")" = 1 ] || fail "enable did not give back the file's weight after weight"
"$IPVSADM" -Sn >"$W/before"
rc=0
"$IPVSC" disable tcp "$VIP:80" 10.200.9.9 >"$W/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "disable of an unknown server: exit $rc, want 1" "$W/out"
grep -q "has no real server" "$W/out" || fail "disable of an unknown server: unclear message" "$W/out"
rc=0
"$IPVSC" disable tcp 10.0.0.99:80 "$S1" >"$W/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "disable in an unknown service: exit $rc, want 1" "$W/out"
"$IPVSADM" -Sn >"$W/after"
cmp -s "$W/before" "$W/after" || fail "a refused override changed the table"
[ ! -e "$IPVSC_STATE_DIR/state.json" ] || fail "overrides left behind" "$IPVSC_STATE_DIR/state.json"
echo "ok: disable, weight and enable across applies; unknown servers refused"
