#!/bin/sh
# When IPVS cannot be used at all, ipvsc says why and exits with its own status: 4 without the
# privilege, 3 without the ip_vs module. Runs last (scenarios run in name order): it unloads
# ip_vs.
set -u
fail() {
    echo "FAIL: $*"
    exit 1
}
grep -q '^nobody:' /etc/passwd 2>/dev/null || echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
grep -q '^nogroup:' /etc/group 2>/dev/null || echo 'nogroup:x:65534:' >>/etc/group
su -s /bin/sh nobody -c "$IPVSC list" 2>/tmp/err
rc=$?
[ $rc -eq 4 ] || fail "as nobody: exit $rc, want 4: $(cat /tmp/err)"
grep -q "CAP_NET_ADMIN" /tmp/err || fail "as nobody: $(cat /tmp/err)"
echo "ok: without privilege: $(cat /tmp/err)"

# Stop the kernel from loading ip_vs again on demand, then unload it and its schedulers.
echo /bin/false >/proc/sys/kernel/modprobe
# The namespaces of earlier scenarios are torn down by the kernel's deferred work (a sync
# daemon's thread has to stop first), so their services may hold the modules for a moment.
unload() {
    for m in $(awk '$1 ~ /^ip_vs_/ { print $1 }' /proc/modules); do rmmod "$m" 2>/dev/null; done
    rmmod ip_vs 2>/dev/null
}
i=0
until unload; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "cannot unload ip_vs in 20 s: $(cat /proc/modules)"
    sleep 0.2
done
"$IPVSC" save 2>/tmp/err
rc=$?
[ $rc -eq 3 ] || fail "without ip_vs: exit $rc, want 3: $(cat /tmp/err)"
grep -q "modprobe ip_vs" /tmp/err || fail "without ip_vs: $(cat /tmp/err)"
echo "ok: without ip_vs: $(cat /tmp/err)"
