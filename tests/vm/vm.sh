#!/usr/bin/env bash
# VM test harness: runs scenario scripts against a real kernel IPVS inside a QEMU guest.
#
#   tests/vm/vm.sh prepare                    install the tools, fetch and cache a Debian cloud kernel
#   tests/vm/vm.sh run SCENARIO_DIR OUT_LOG   boot once, run every SCENARIO_DIR/*.sh, log the console
#
# One boot runs all scenarios, each in a fresh network namespace (IPVS state is per namespace).
# The console log has machine-readable markers, each alone on its line:
#   @@@ BEGIN NAME / the scenario's output / @@@ END NAME rc=N / @@@ TIME NAME secs=S
#   and at the very end @@@ DONE
# Scenarios get IPVSC=/bin/ipvsc, IPVSADM=/sbin/ipvsadm, IP=/usr/sbin/ip.iproute2 (iproute2's ip:
# veth pairs, tunnels, netns by pid), DATA=/scenarios (a copy of SCENARIO_DIR;
# the repository's examples/*.ipvs, examples/*.ipvsadm, tests/convert/*.ipvsadm and
# tests/legacy-corpus/*.ipvsadm are under $DATA/data/examples, $DATA/data/convert and
# $DATA/data/legacy-corpus).
#
# Environment:
#   IPVSC_VM_CACHE        kernel cache, outside the work tree (default /var/cache/ipvsc-vm)
#   IPVSC_VM_KERNEL_PKG   Debian kernel package (default linux-image-cloud-amd64; a versioned
#                         linux-image-X package is used as it is)
#   IPVSC_BIN             the ipvsc binary to test (default: cargo build --release --features
#                         test-hooks, target/release/ipvsc; the scenarios need the hooks)
#   IPVSC_VM_TIMEOUT      seconds for the whole boot (default 600)
#   IPVSC_VM_SCENARIO_TIMEOUT  seconds for one scenario inside the guest (default 300)
#   IPVSC_VM_MEM          guest memory (default 512M)
#   IPVSC_VM_CPUS         guest vCPUs, qemu's -smp (default 1)
#   IPVSC_VM_DATA         a directory copied into the guest as $DATA/data/extra
#
# Exit status of run: 0 all scenarios passed, 1 a scenario failed, 2 the harness or the boot failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${IPVSC_VM_CACHE:-/var/cache/ipvsc-vm}
KERNEL_PKG=${IPVSC_VM_KERNEL_PKG:-linux-image-cloud-amd64}
BOOT_TIMEOUT=${IPVSC_VM_TIMEOUT:-600}
SCENARIO_TIMEOUT=${IPVSC_VM_SCENARIO_TIMEOUT:-300}
MEM=${IPVSC_VM_MEM:-512M}
CPUS=${IPVSC_VM_CPUS:-1}
PACKAGES=(qemu-system-x86 busybox-static ipvsadm kmod cpio iproute2 netbase)
APT_UPDATED=

die() {
    echo "vm.sh: error: $*" >&2
    exit 2
}
note() { echo "vm.sh: $*" >&2; }

usage() {
    sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

apt_update_once() {
    [ -n "$APT_UPDATED" ] && return 0
    [ "$(id -u)" = 0 ] || die "apt's package lists need an update: run as root, or run 'apt-get update' as root first"
    note "apt-get update"
    if ! apt-get update -q >&2; then
        die "apt-get update failed: Debian's package mirrors must be reachable (check the network and /etc/apt/sources.list*)"
    fi
    APT_UPDATED=1
}

ensure_packages() {
    command -v dpkg-query >/dev/null ||
        die "this harness needs a Debian (or derived) machine with dpkg and apt-get"
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$(id -u)" = 0 ] ||
            die "missing packages: ${missing[*]}; install them as root: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
        apt_update_once
        note "apt-get install ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
            die "apt-get install ${missing[*]} failed; fix apt and run: apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    local cmd
    for cmd in qemu-system-x86_64 busybox ipvsadm depmod cpio ldd timeout flock dpkg apt-get ip; do
        command -v "$cmd" >/dev/null || die "'$cmd' not found even though ${PACKAGES[*]} are installed; is PATH missing /usr/sbin? (PATH=$PATH)"
    done
    if ldd "$(command -v busybox)" >/dev/null 2>&1; then
        die "$(command -v busybox) is dynamically linked; the guest needs the static one: apt-get install -y busybox-static"
    fi
}

# Sets KPKG to the versioned kernel package (linux-image-KVER) that KERNEL_PKG stands for.
kernel_package() {
    if [[ $KERNEL_PKG =~ ^linux-image-[0-9] ]]; then
        KPKG=$KERNEL_PKG
        return
    fi
    local dep
    dep=$(apt-cache depends "$KERNEL_PKG" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' || true)
    if [ -z "$dep" ]; then
        apt_update_once
        dep=$(apt-cache depends "$KERNEL_PKG" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' || true)
    fi
    [ -n "$dep" ] || die "apt-cache depends $KERNEL_PKG names no linux-image-VERSION package; is $KERNEL_PKG in the apt sources? (set IPVSC_VM_KERNEL_PKG to another kernel package)"
    KPKG=$dep
}

# Builds KDIR (CACHE/KVER) from KPKG: vmlinuz and root/lib/modules/KVER with only the modules
# IPVS and the scenarios' topologies need (veth pairs, ipip tunnels).
build_kernel_cache() {
    local tmp
    tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
    chmod 0755 "$tmp" # lets apt-get download write as _apt
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    note "downloading $KPKG"
    if ! (cd "$tmp" && apt-get download -q "$KPKG" >&2); then
        # Stale package lists name a kernel the mirror no longer has: update, look again.
        [ -z "$APT_UPDATED" ] || die "apt-get download $KPKG failed (apt says why above): Debian's mirrors must be reachable and have $KPKG"
        apt_update_once
        kernel_package
        KVER=${KPKG#linux-image-}
        KDIR=$CACHE/$KVER
        if [ -f "$KDIR/package" ]; then
            rm -rf "$tmp"
            trap - EXIT
            return
        fi
        note "downloading $KPKG"
        (cd "$tmp" && apt-get download -q "$KPKG" >&2) ||
            die "apt-get download $KPKG failed (apt says why above): Debian's mirrors must be reachable and have $KPKG"
    fi
    local kpkg=$KPKG kver=$KVER dest=$KDIR
    local deb
    deb=$(ls "$tmp"/*.deb)
    dpkg -x "$deb" "$tmp/x"
    rm -f "$deb"

    [ -f "$tmp/x/boot/vmlinuz-$kver" ] || die "$kpkg has no boot/vmlinuz-$kver"
    local src
    src=$(find "$tmp/x" -maxdepth 4 -type d -path "*/modules/$kver" | head -n 1)
    if [ -z "$src" ] || [ ! -d "$src/kernel" ]; then die "$kpkg has no lib/modules/$kver/kernel"; fi
    mkdir -p "$tmp/full/lib/modules"
    mv "$src" "$tmp/full/lib/modules/$kver"
    depmod -b "$tmp/full" "$kver"
    local full="$tmp/full/lib/modules/$kver"

    # The modules wanted, then everything modules.dep says they need (it lists the whole closure,
    # but iterate anyway in case a depmod writes only direct dependencies).
    local want
    want=$(cd "$full" && find kernel/net/netfilter/ipvs kernel/drivers/net kernel/net/ipv4 \( -name 'ip_vs*.ko*' -o -name 'dummy.ko*' -o -name 'veth.ko*' -o -name 'ipip.ko*' \) | sort)
    grep -q '/ip_vs\.ko' <<<"$want" || die "$kpkg has no ip_vs module (CONFIG_IP_VS=m is needed)"
    # Built into the kernel (=y) they need no file; missing altogether, scenarios would fail later.
    for m in veth ipip; do
        grep -q "/$m\.ko" <<<"$want" || grep -q "/$m\.ko" "$full/modules.builtin" ||
            die "$kpkg has no $m module (the scenarios' topologies need CONFIG_VETH and CONFIG_NET_IPIP)"
    done
    local prev=""
    while [ "$want" != "$prev" ]; do
        prev=$want
        want=$( (
            echo "$prev"
            awk -v list="$prev" '
                BEGIN { n = split(list, a, "\n"); for (i = 1; i <= n; i++) w[a[i]] = 1 }
                { m = $1; sub(/:$/, "", m); if (m in w) for (i = 2; i <= NF; i++) print $i }
            ' "$full/modules.dep"
        ) | sed '/^$/d' | sort -u)
    done

    local root="$tmp/root/lib/modules/$kver" m
    mkdir -p "$root"
    for m in $want; do
        mkdir -p "$root/$(dirname "$m")"
        case $m in
            *.ko) cp "$full/$m" "$root/$m" ;;
            *.ko.xz) xz -dc "$full/$m" >"$root/${m%.xz}" ;;
            *.ko.gz) gzip -dc "$full/$m" >"$root/${m%.gz}" ;;
            *.ko.zst)
                command -v zstd >/dev/null || die "$m is zstd-compressed: apt-get install -y zstd"
                zstd -qdc "$full/$m" >"$root/${m%.zst}"
                ;;
            *) die "unexpected module file $m" ;;
        esac
    done
    for m in modules.order modules.builtin modules.builtin.modinfo; do
        [ -f "$full/$m" ] && sed 's/\.ko\.\(xz\|gz\|zst\)$/.ko/' "$full/$m" >"$root/$m"
    done
    depmod -b "$tmp/root" "$kver"
    grep -q '^kernel/net/netfilter/ipvs/ip_vs\.ko:' "$root/modules.dep" || die "depmod produced no entry for ip_vs"

    cp "$tmp/x/boot/vmlinuz-$kver" "$tmp/vmlinuz"
    cp "$tmp/x/boot/config-$kver" "$tmp/config" 2>/dev/null || true
    rm -rf "$tmp/x" "$tmp/full"
    echo "$kpkg" >"$tmp/package"
    echo "veth ipip" >"$tmp/topology" # marks a cache with the topology modules
    (cd "$tmp/root/lib/modules/$kver" && find kernel -name '*.ko' | sort) >"$tmp/modules.list"
    # Swap by renames: a run that is reading the old cache meanwhile loses it only for an instant.
    [ -e "$dest" ] && mv "$dest" "$dest.old.$$"
    mv "$tmp" "$dest"
    rm -rf "$dest.old.$$"
    trap - EXIT
    note "cached $kver in $dest ($(wc -l <"$dest/modules.list") modules)"
}

# The cache in KDIR is there and has every module build_kernel_cache takes (a cache built before
# the topologies needed veth and ipip is rebuilt).
cache_complete() {
    [ -f "$KDIR/package" ] && [ -f "$KDIR/topology" ]
}

# Sets KDIR and KVER.
prepare() {
    ensure_packages
    kernel_package
    KVER=${KPKG#linux-image-}
    KDIR=$CACHE/$KVER
    if ! cache_complete; then
        mkdir -p "$CACHE" 2>/dev/null || true
        [ -w "$CACHE" ] ||
            die "cannot write the kernel cache $CACHE; run as root or set IPVSC_VM_CACHE to a writable directory outside the work tree"
        exec 9>"$CACHE/.lock"
        flock 9
        cache_complete || build_kernel_cache
        flock -u 9
        exec 9>&-
    fi
}

# Copies an ELF binary to ROOT/DEST and every shared library it needs to the same path in ROOT.
copy_elf() {
    local bin=$1 root=$2 dest=$3 lib out
    install -D -m 0755 "$bin" "$root/$dest"
    if out=$(ldd "$bin" 2>&1); then
        for lib in $(awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' <<<"$out"); do
            [ -e "$root/$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root/$lib"
        done
    elif ! grep -q 'not a dynamic executable\|statically linked' <<<"$out"; then
        die "ldd $bin failed: $out"
    fi
}

ipvsc_binary() {
    if [ -n "${IPVSC_BIN:-}" ]; then
        [ -x "$IPVSC_BIN" ] || die "IPVSC_BIN=$IPVSC_BIN is not an executable"
        echo "$IPVSC_BIN"
        return
    fi
    command -v cargo >/dev/null || die "cargo not found; install Rust or set IPVSC_BIN to an ipvsc binary"
    note "cargo build --release --features test-hooks"
    (cd "$REPO" && cargo build --release --features test-hooks --quiet --bin ipvsc >&2) ||
        die "cargo build --release --features test-hooks failed"
    echo "${CARGO_TARGET_DIR:-$REPO/target}/release/ipvsc"
}

write_init() {
    cat >"$1" <<'EOF'
#!/bin/sh
# /init of the ipvsc VM test guest (written by tests/vm/vm.sh).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
if ! mount -t devtmpfs dev /dev 2>/dev/null; then
    mount -t tmpfs dev /dev
    mknod -m 666 /dev/null c 1 3
    mknod -m 666 /dev/zero c 1 5
    mknod -m 600 /dev/console c 5 1
fi
mount -t tmpfs tmp /tmp
# Kernel messages on the console would break the markers; scenarios read dmesg instead.
dmesg -n 1
echo /sbin/modprobe >/proc/sys/kernel/modprobe
echo "@@@ KERNEL $(uname -r)"
if ! modprobe ip_vs; then
    echo "@@@ FATAL modprobe ip_vs failed"
    dmesg | tail -n 20
fi
export IPVSC=/bin/ipvsc IPVSADM=/sbin/ipvsadm DATA=/scenarios IP=/usr/sbin/ip.iproute2
T=$(cat /etc/scenario-timeout)
if unshare -n true 2>/dev/null; then
    ns="unshare -n"
else
    ns=""
    echo "@@@ NOTE unshare -n unavailable: scenarios share one network namespace, ipvsadm -C between them"
    /bin/netsetup true || echo "@@@ FATAL network setup failed"
fi
for s in /scenarios/*.sh; do
    [ -e "$s" ] || continue
    name=$(basename "$s" .sh)
    [ -z "$ns" ] && { ipvsadm -C; ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup; } >/dev/null 2>&1
    dmesg -c >/dev/null # the kernel messages shown on failure are this scenario's own
    echo "@@@ BEGIN $name"
    t0=$(cut -d ' ' -f 1 /proc/uptime)
    cd /scenarios
    if [ -n "$ns" ]; then
        $ns /bin/netsetup timeout -s KILL "$T" sh "$s" </dev/null >/tmp/out 2>&1
    else
        timeout -s KILL "$T" sh "$s" </dev/null >/tmp/out 2>&1
    fi
    rc=$?
    t1=$(cut -d ' ' -f 1 /proc/uptime)
    cd /
    cat /tmp/out
    [ -s /tmp/out ] && [ -n "$(tail -c 1 /tmp/out)" ] && echo
    if [ "$rc" != 0 ]; then
        echo "--- last kernel messages:"
        dmesg | tail -n 15
    fi
    echo "@@@ END $name rc=$rc"
    echo "@@@ TIME $name secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
done
echo "@@@ UPTIME $(cut -d ' ' -f 1 /proc/uptime)"
echo "@@@ DONE"
sync
poweroff -f
EOF
    chmod 0755 "$1"
}

write_netsetup() {
    cat >"$1" <<'EOF'
#!/bin/sh
# Sets up the current network namespace for IPVS, then runs "$@". Real servers are refused
# ("address not unicast") unless a route leads to them.
ip link set lo up &&
    ip route add default dev lo &&
    ip -6 route add default dev lo || {
    echo "netsetup: setting up lo and the default routes failed" >&2
    exit 99
}
exec "$@"
EOF
    chmod 0755 "$1"
}

# build_initramfs SCENARIO_DIR IPVSC_BIN WORK_DIR: writes WORK_DIR/initramfs.cpio.
build_initramfs() {
    local scen=$1 ipvsc=$2 root=$3/root out=$3/initramfs.cpio
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,scenarios/data/examples,scenarios/data/convert}
    cp "$(command -v busybox)" "$root/bin/busybox"
    local a
    for a in $(busybox --list-full); do
        [ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
    done
    [ -e "$root/sbin/modprobe" ] || ln -s /bin/busybox "$root/sbin/modprobe"
    rm -f "$root/sbin/ipvsadm" "$root/bin/ipvsc"
    copy_elf "$(command -v ipvsadm)" "$root" /sbin/ipvsadm
    copy_elf "$ipvsc" "$root" /bin/ipvsc
    # iproute2's ip, beside busybox's (which cannot create veth pairs or tunnels): $IP.
    copy_elf "$(command -v ip)" "$root" /usr/sbin/ip.iproute2
    if command -v strip >/dev/null; then strip --strip-debug "$root/bin/ipvsc"; fi
    mkdir -p "$root/lib/modules"
    cp -a "$KDIR/root/lib/modules/$KVER" "$root/lib/modules/"
    cp -a "$scen/." "$root/scenarios/"
    local f
    for f in "$REPO"/examples/*.ipvs "$REPO"/examples/*.ipvsadm; do
        [ -e "$f" ] && cp "$f" "$root/scenarios/data/examples/"
    done
    for f in "$REPO"/tests/convert/*.ipvsadm; do
        [ -e "$f" ] && cp "$f" "$root/scenarios/data/convert/"
    done
    mkdir -p "$root/scenarios/data/legacy-corpus"
    for f in "$REPO"/tests/legacy-corpus/*.ipvsadm; do
        [ -e "$f" ] && cp "$f" "$root/scenarios/data/legacy-corpus/"
    done
    # ipvsadm resolves port names with getservbyname: give it this host's (Debian's netbase)
    # table, the one ipvsc's built-in table was made from. Without it every port name would be
    # refused by ipvsadm alone, and the scenarios comparing names would test nothing.
    [ -s /etc/services ] ||
        die "/etc/services is missing or empty: the guest's ipvsadm needs it for port names; install Debian's netbase package (apt-get install -y netbase, or run 'vm.sh prepare' as root)"
    cp /etc/services "$root/etc/services"
    # Files the test generated for this boot (the differential test's operation streams).
    if [ -n "${IPVSC_VM_DATA:-}" ]; then
        mkdir -p "$root/scenarios/data/extra"
        cp -a "$IPVSC_VM_DATA/." "$root/scenarios/data/extra/"
    fi
    write_init "$root/init"
    write_netsetup "$root/bin/netsetup"
    echo "$SCENARIO_TIMEOUT" >"$root/etc/scenario-timeout"
    # Uncompressed: the guest unpacks it faster than it could decompress it under TCG.
    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$out"
    rm -rf "$root"
}

run() {
    [ $# -eq 2 ] || usage
    local scen=$1 log=$2
    [ -d "$scen" ] || die "no scenario directory $scen"
    ls "$scen"/*.sh >/dev/null 2>&1 || die "no *.sh scenario in $scen"
    : >"$log" || die "cannot write the console log $log"
    prepare
    local ipvsc work
    ipvsc=$(ipvsc_binary)
    work=$(mktemp -d "${TMPDIR:-/tmp}/ipvsc-vm.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    build_initramfs "$scen" "$ipvsc" "$work"
    local count
    count=$(find "$scen" -maxdepth 1 -name '*.sh' | wc -l)
    note "booting $KVER with $count scenario(s); console log: $log"
    local t0 rc=0
    t0=$(date +%s.%N)
    # -nic none: the guest has no network at all. panic=-1 and -no-reboot turn a guest panic
    # into a qemu exit; timeout bounds a hung guest.
    set +e
    timeout -k 10 "$BOOT_TIMEOUT" qemu-system-x86_64 \
        -accel tcg -cpu max -smp "$CPUS" -m "$MEM" \
        -nographic -no-reboot -nic none \
        -kernel "$KDIR/vmlinuz" -initrd "$work/initramfs.cpio" \
        -append "console=ttyS0 panic=-1 quiet" \
        </dev/null 2>&1 | tr -d '\r' >"$log"
    rc=${PIPESTATUS[0]}
    set -e
    note "qemu exited with $rc after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
    if ! grep -qx '@@@ DONE' "$log"; then
        echo "---- last 40 lines of $log" >&2
        tail -n 40 "$log" >&2
        [ "$rc" = 124 ] && die "the VM timed out after ${BOOT_TIMEOUT}s without reaching @@@ DONE"
        die "the VM stopped without reaching @@@ DONE (qemu exit status $rc)"
    fi
    local failed ended
    ended=$(grep -c '^@@@ END ' "$log" || true)
    [ "$ended" = "$count" ] || die "$count scenario(s) in $scen but $ended ended in the log $log"
    failed=$(sed -n 's/^@@@ END \(.*\) rc=\([0-9]*\)$/\1 \2/p' "$log" | awk '$2 != 0 { print $1 }')
    sed -n 's/^@@@ END \(.*\) rc=\([0-9]*\)$/vm.sh: scenario \1: rc=\2/p' "$log" >&2
    if [ -n "$failed" ]; then
        note "failed: ${failed//$'\n'/ }"
        exit 1
    fi
}

case ${1:-} in
    prepare)
        [ $# -eq 1 ] || usage
        prepare
        note "ready: kernel $KVER in $KDIR"
        ;;
    run)
        shift
        run "$@"
        ;;
    *) usage ;;
esac
