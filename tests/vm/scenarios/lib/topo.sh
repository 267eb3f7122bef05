# Network topologies for scenarios with real traffic: namespaces for clients and backends, veth
# links to the director, addresses, routes and servers. Source it from a scenario:
#
#   . "$DATA/lib/topo.sh"
#
# The scenario's own network namespace is the director (it holds the IPVS table, and netsetup
# already put lo up with default routes through it). Every other namespace is held open by a
# `sleep` started with `unshare -n`; commands run in it through `nsenter -t PID -n` (the guest
# has no `ip netns` mounts). Needs $IP, iproute2's ip (busybox's cannot make veth pairs).
# Every function fails loudly (message on stdout, exit 1): a scenario never runs on half a
# topology. An EXIT trap stops what the functions started.
#
#   topo_ns NAME                  a new namespace NAME with lo up
#   topo_in NAME CMD [ARG...]     runs CMD inside NAME
#   topo_link NAME DIRECTOR_ADDR/LEN NAME_ADDR/LEN
#                                 a veth pair: `to-NAME` in the director, `eth0` in NAME, with
#                                 those addresses (IPv4 or IPv6; call again on the same NAME to
#                                 add addresses of the other family to the same link)
#   topo_route NAME VIA           NAME's default route (IPv4 or IPv6 by VIA) through the
#                                 director's address VIA
#   topo_director [VIP...]        the director forwards (ip_forward, IPv6 forwarding) and accepts
#                                 replies from its own VIPs (accept_local, no rp_filter: DR and
#                                 tunnel replies come back through it); each VIP goes on its lo
#   topo_client NAME N            namespace NAME linked to the director as 10.100.N.2/24 and
#                                 fd00:100:N::2/64 (director .1 and ::1), routed through it
#   topo_backend NAME N           namespace NAME linked as 10.200.N.2/24 and fd00:200:N::2/64
#                                 (director .1 and ::1), routed through it: a NAT real server
#   topo_dr NAME VIP...           makes backend NAME accept VIP itself (on its lo, no ARP for
#                                 it): a direct routing real server
#   topo_tunnel NAME VIP...       makes backend NAME decapsulate IPIP (tunl0) and accept VIP: a
#                                 tunnel (`forward tunnel`, ipvsadm -i) real server; IPv4 only
#   topo_httpd NAME PORT          busybox httpd on PORT in NAME; GET / answers NAME
#   topo_echo NAME PORT           a TCP echo server (`nc -ll -e cat`) on PORT in NAME
#   topo_get URL                  `timeout 5 wget` of URL from the director's namespace, body on
#                                 stdout (busybox wget -T crashed through IPVS)
#   topo_stop                     stops everything started (the EXIT trap calls it)
#
# A typical NAT setup:
#
#   topo_director 10.0.0.100
#   topo_client client 1
#   topo_backend web1 1; topo_httpd web1 80
#   topo_backend web2 2; topo_httpd web2 80
#   "$IPVSADM" -A -t 10.0.0.100:80 -s rr
#   "$IPVSADM" -a -t 10.0.0.100:80 -r 10.200.1.2:80 -m
#   "$IPVSADM" -a -t 10.0.0.100:80 -r 10.200.2.2:80 -m
#   topo_in client timeout 5 wget -q -O - http://10.0.0.100/      # prints web1 or web2

TOPO_PIDS=""
TOPO_NAMES=""

topo_fail() {
    echo "FAIL: topo: $*"
    exit 1
}

[ -n "${IP:-}" ] && [ -x "$IP" ] || topo_fail "IP must name iproute2's ip (vm.sh sets IP=/usr/sbin/ip.iproute2)"

topo_stop() {
    for p in $TOPO_PIDS; do
        kill "$p" 2>/dev/null
    done
    TOPO_PIDS=""
}
trap topo_stop EXIT

# The pid holding namespace $1 open.
topo_pid() {
    eval "_p=\${topo_pid_$1:-}"
    [ -n "$_p" ] || topo_fail "no namespace $1 (call topo_ns $1 first)"
    echo "$_p"
}

topo_ns() {
    case $1 in
        *[!a-z0-9_]* | "") topo_fail "namespace name '$1': use a-z, 0-9 and _" ;;
    esac
    unshare -n sleep 100000 >/dev/null 2>&1 &
    _pid=$!
    TOPO_PIDS="$TOPO_PIDS $_pid"
    # unshare execs sleep once the namespace exists: wait for the pid to be in another one.
    _i=0
    while [ "$(readlink /proc/$_pid/ns/net 2>/dev/null)" = "$(readlink /proc/self/ns/net)" ] ||
        [ -z "$(readlink /proc/$_pid/ns/net 2>/dev/null)" ]; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || topo_fail "unshare -n sleep did not make a namespace for $1"
        sleep 0.05
    done
    eval "topo_pid_$1=$_pid"
    TOPO_NAMES="$TOPO_NAMES $1"
    topo_in "$1" "$IP" link set lo up || topo_fail "lo up in $1"
}

topo_in() {
    _ns=$1
    shift
    nsenter -t "$(topo_pid "$_ns")" -n "$@"
}

topo_addr() { # NAME|"" DEV ADDR/LEN
    case $3 in
        *:*) _flags=nodad ;;
        *) _flags="" ;;
    esac
    if [ -z "$1" ]; then
        "$IP" addr add "$3" dev "$2" $_flags || topo_fail "address $3 on $2 in the director"
    else
        topo_in "$1" "$IP" addr add "$3" dev "$2" $_flags || topo_fail "address $3 on $2 in $1"
    fi
}

topo_link() {
    _name=$1
    if ! "$IP" link show "to-$_name" >/dev/null 2>&1; then
        modprobe veth 2>/dev/null
        "$IP" link add "to-$_name" type veth peer name "tmp-$_name" ||
            topo_fail "veth pair for $_name (is veth.ko in the guest?)"
        "$IP" link set "tmp-$_name" netns "$(topo_pid "$_name")" || topo_fail "moving the veth into $_name"
        topo_in "$_name" "$IP" link set "tmp-$_name" name eth0 || topo_fail "renaming eth0 in $_name"
        "$IP" link set "to-$_name" up || topo_fail "to-$_name up"
        topo_in "$_name" "$IP" link set eth0 up || topo_fail "eth0 up in $_name"
    fi
    topo_addr "" "to-$_name" "$2"
    topo_addr "$_name" eth0 "$3"
}

topo_route() {
    case $2 in
        *:*) topo_in "$1" "$IP" -6 route add default via "$2" || topo_fail "IPv6 default route via $2 in $1" ;;
        *) topo_in "$1" "$IP" route add default via "$2" || topo_fail "default route via $2 in $1" ;;
    esac
}

topo_director() {
    echo 1 >/proc/sys/net/ipv4/ip_forward || topo_fail "ip_forward"
    echo 1 >/proc/sys/net/ipv6/conf/all/forwarding || topo_fail "IPv6 forwarding"
    echo 1 >/proc/sys/net/ipv4/conf/all/accept_local || topo_fail "accept_local"
    echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter || topo_fail "rp_filter"
    echo 0 >/proc/sys/net/ipv4/conf/default/rp_filter || topo_fail "rp_filter"
    for _vip in "$@"; do
        case $_vip in
            *:*) topo_addr "" lo "$_vip/128" ;;
            *) topo_addr "" lo "$_vip/32" ;;
        esac
    done
}

topo_client() {
    topo_ns "$1"
    topo_link "$1" "10.100.$2.1/24" "10.100.$2.2/24"
    topo_link "$1" "fd00:100:$2::1/64" "fd00:100:$2::2/64"
    topo_route "$1" "10.100.$2.1"
    topo_route "$1" "fd00:100:$2::1"
}

topo_backend() {
    topo_ns "$1"
    topo_link "$1" "10.200.$2.1/24" "10.200.$2.2/24"
    topo_link "$1" "fd00:200:$2::1/64" "fd00:200:$2::2/64"
    topo_route "$1" "10.200.$2.1"
    topo_route "$1" "fd00:200:$2::1"
}

topo_dr() {
    _name=$1
    shift
    for _k in arp_ignore:1 arp_announce:2; do
        topo_in "$_name" sh -c "echo ${_k#*:} >/proc/sys/net/ipv4/conf/all/${_k%:*}" ||
            topo_fail "${_k%:*} in $_name"
    done
    for _vip in "$@"; do
        case $_vip in
            *:*) topo_addr "$_name" lo "$_vip/128" ;;
            *) topo_addr "$_name" lo "$_vip/32" ;;
        esac
    done
}

topo_tunnel() {
    _name=$1
    shift
    modprobe ipip 2>/dev/null
    topo_in "$_name" "$IP" link set tunl0 up || topo_fail "tunl0 up in $_name (is ipip.ko in the guest?)"
    for _k in all/rp_filter default/rp_filter tunl0/rp_filter; do
        topo_in "$_name" sh -c "echo 0 >/proc/sys/net/ipv4/conf/$_k" || topo_fail "$_k in $_name"
    done
    topo_dr "$_name" "$@"
}

topo_httpd() {
    _dir=/tmp/topo-www-$1
    mkdir -p "$_dir" && echo "$1" >"$_dir/index.html" || topo_fail "web root $_dir"
    topo_in "$1" httpd -f -p "$2" -h "$_dir" &
    TOPO_PIDS="$TOPO_PIDS $!"
    topo_wait_listen "$1" "$2"
}

topo_echo() {
    topo_in "$1" nc -ll -p "$2" -e cat &
    TOPO_PIDS="$TOPO_PIDS $!"
    topo_wait_listen "$1" "$2"
}

# Waits until something in namespace $1 listens on TCP port $2 (/proc/net/tcp{,6}: state 0A).
topo_wait_listen() {
    _hex=$(printf '%04X' "$2")
    _i=0
    until topo_in "$1" cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v p=":$_hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || topo_fail "nothing listens on port $2 in $1"
        sleep 0.05
    done
}

topo_get() {
    timeout 5 wget -q -O - "$1"
}
