#!/bin/sh
# A request the kernel never answers. Generic netlink sends no ACK for a request whose handler
# returns EINTR, and IPVS's stop of a sync daemon returns it when the daemon's thread has not
# started running yet: a start and a stop of the same daemon in one datagram do that every time
# on the one-CPU test guest (the new thread runs only once the stop waits for it). The request
# is performed all the same (the daemon is gone). ipvsc must not wait for that ACK forever, as
# it did (an `apply` whose rollback stopped a daemon it had just started hung with the lock
# held): once a send() has returned, every ACK the kernel will send is queued, so after a
# short wait the missing one is reported as an unknown outcome.
set -u
. ./lib/apply.sh # fail
ip link add eth0 type dummy && ip addr add 198.18.1.1/24 dev eth0 && ip link set eth0 up ||
    fail "cannot make the dummy interface eth0"
W=/tmp/no_answer
mkdir -p "$W"
cat >"$W/ops.json" <<'OPS'
[{"start_daemon":{"state":"backup","interface":"eth0","syncid":3,"maxlen":null,"group":null,"port":null,"ttl":null}},{"stop_daemon":"backup"}]
OPS
t0=$(cut -d ' ' -f 1 /proc/uptime)
timeout 60 "$IPVSC" ops --batch "$W/ops.json" >"$W/out" 2>&1
rc=$?
t1=$(cut -d ' ' -f 1 /proc/uptime)
[ "$rc" = 0 ] || fail "ipvsc ops --batch: exit $rc (124: it waited for an answer that never comes)" "$W/out"
[ "$(sed -n 1p "$W/out")" = ok ] || fail "the start of the backup daemon was not acknowledged" "$W/out"
[ "$(sed -n 2p "$W/out")" = "E?" ] ||
    fail "the stop was answered: this kernel did not skip its ACK, so nothing here was tested" "$W/out"
"$IPVSADM" -L --daemon >"$W/daemons" 2>&1
[ ! -s "$W/daemons" ] || fail "the unanswered stop did not stop the daemon" "$W/daemons"
echo "ok: the start and stop of a daemon in one batch: the stop unanswered (the daemon stopped), reported as unknown after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
