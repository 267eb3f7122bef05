#!/usr/bin/env bash
# Builds the Debian package (dist/deb/build.sh) and checks it with dpkg-deb: control fields,
# the file list, the extracted binary, man page, completions, systemd units and maintainer
# scripts. Installs the Debian tools it needs when missing (runs as root in CI). Every
# failed check is printed; exits 1 when any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools, by the Debian package that provides them; apt-get update at most once.
need=()
for pair in dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev strip:binutils readelf:binutils gzip:gzip \
    man:man-db groff:groff-base systemd-analyze:systemd; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
    echo "installing ${need[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "deb.sh: FAIL: $*" >&2; failures=$((failures + 1)); }

deb=$(bash dist/deb/build.sh "$work/out" | tail -n 1)
[ -f "$deb" ] || { echo "deb.sh: FAIL: dist/deb/build.sh made no package ($deb)" >&2; exit 1; }
echo "built $deb ($(du -h "$deb" | cut -f1))"

# --- control fields (dpkg-deb -I) ---
version=$(awk -F'"' '/^\[/ { p = ($0 == "[package]") } p && /^version *=/ { print $2; exit }' Cargo.toml)
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = ipvsc ] || fail "Package is '$(field Package)', not ipvsc"
[ -n "$version" ] || fail "no version in Cargo.toml's [package]"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', Cargo.toml says '$version'"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
    fail "Architecture is '$(field Architecture)', not $(dpkg --print-architecture)"
depends=$(field Depends)
[ -n "$depends" ] || fail "Depends is empty"
[[ $depends == *libc6* ]] || fail "Depends has no libc6: '$depends'"
[ "$(field Section)" = net ] || fail "Section is '$(field Section)', not net"
[[ $(field Suggests) == *ipvsadm* ]] || fail "Suggests does not name ipvsadm"
[ -n "$(field Description)" ] || fail "no Description"
dpkg-deb -I "$deb" > "$work/info" || fail "dpkg-deb -I failed"
for script in postinst prerm postrm conffiles; do
    grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +(\* +)?$script\b" "$work/info" ||
        fail "control archive has no $script"
done

# --- file list (dpkg-deb -c) ---
dpkg-deb -c "$deb" | awk '{ print $1, $NF }' > "$work/list"
expect_file() { grep -qx -- "-[rwx-]* \./$1" "$work/list" || fail "package lacks the file /$1"; }
expect_dir() { grep -qx -- "d[rwx-]* \./$1/" "$work/list" || fail "package lacks the directory /$1/"; }
for f in usr/bin/ipvsc usr/share/man/man1/ipvsc.1.gz \
    usr/share/bash-completion/completions/ipvsc usr/share/zsh/vendor-completions/_ipvsc \
    usr/share/fish/vendor_completions.d/ipvsc.fish \
    lib/systemd/system/ipvsc.service lib/systemd/system/ipvsc-drain.service \
    lib/systemd/system/ipvsc-drain.timer etc/default/ipvsc \
    usr/share/doc/ipvsc/README.md.gz usr/share/doc/ipvsc/README.Debian \
    usr/share/doc/ipvsc/copyright; do
    expect_file "$f"
done
for f in examples/*.ipvs examples/*.ipvsadm; do
    expect_file "usr/share/doc/ipvsc/$f"
done
expect_dir etc/ipvsc
grep -q '\./etc/ipvsc/.' "$work/list" && fail "/etc/ipvsc/ is not empty: $(grep '\./etc/ipvsc/.' "$work/list")"
grep -q -- '^-rwxr-xr-x \./usr/bin/ipvsc$' "$work/list" || fail "/usr/bin/ipvsc is not mode 0755"
dpkg-deb -c "$deb" | awk '$2 != "root/root" { print }' | grep -q . && fail "files not owned by root/root"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles 2>/dev/null | grep -qx /etc/default/ipvsc ||
    fail "/etc/default/ipvsc is not a conffile"

# --- extracted contents (dpkg-deb -x) ---
root=$work/root
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x failed"
bin=$root/usr/bin/ipvsc
if out=$("$bin" --version 2>&1); then
    [ "$out" = "ipvsc $version" ] || fail "ipvsc --version says '$out', not 'ipvsc $version'"
else
    fail "extracted ipvsc --version failed: $out"
fi
readelf -S -W "$bin" | grep -qE '\.debug_(info|line|abbrev|str) ' && fail "/usr/bin/ipvsc still has debug info"
# The test hooks (the `test-hooks` feature) stay out of what is shipped.
"$bin" ops /dev/null >/dev/null 2>&1 && fail "the packaged ipvsc has the hidden ops command (a test hook)"
grep -qaE 'IPVSC_TEST_FAIL_AT|IPVSC_TEST_FAULT|IPVSC_TEST_READERS' "$bin" && fail "the packaged ipvsc reads a test hook's variable"
if ! out=$("$bin" check "$root"/usr/share/doc/ipvsc/examples/*.ipvs \
    "$root"/usr/share/doc/ipvsc/examples/*.ipvsadm 2>&1); then
    fail "ipvsc check on the extracted examples failed: $out"
fi

man1=$root/usr/share/man/man1/ipvsc.1.gz
if gzip -t "$man1" 2>/dev/null; then
    warnings=$(gzip -dc "$man1" | groff -man -Tutf8 -ww -z 2>&1) || fail "groff failed on ipvsc.1"
    [ -z "$warnings" ] || fail "groff warns about ipvsc.1: $warnings"
    warnings=$(MANWIDTH=80 man --warnings -l "$man1" 2>&1 >"$work/man.txt") || fail "man -l failed: $warnings"
    [ -z "$warnings" ] || fail "man -l warns about ipvsc.1: $warnings"
    grep -q '^NAME' "$work/man.txt" && grep -q 'ipvsc' "$work/man.txt" ||
        fail "man -l rendered no NAME section naming ipvsc"
else
    fail "ipvsc.1.gz does not decompress"
fi

for f in usr/share/bash-completion/completions/ipvsc usr/share/zsh/vendor-completions/_ipvsc \
    usr/share/fish/vendor_completions.d/ipvsc.fish; do
    [ -s "$root/$f" ] || fail "/$f is empty"
    grep -q ipvsc "$root/$f" || fail "/$f does not mention ipvsc"
done
bash -n "$root/usr/share/bash-completion/completions/ipvsc" || fail "bash completion has a syntax error"

# --- systemd units ---
units=$root/lib/systemd/system
has() { grep -qxE "$2" "$units/$1" || fail "$1 lacks a line matching: $2"; }
grep -qE '^[[:space:]]*ExecStop' "$units/ipvsc.service" &&
    fail "ipvsc.service has ExecStop: stopping it must never touch the table"
has ipvsc.service 'ConditionPathExists=/etc/ipvsc/ipvsc.ipvs'
has ipvsc.service 'Type=oneshot'
has ipvsc.service 'RemainAfterExit=yes'
has ipvsc.service 'ExecStart=/usr/bin/ipvsc apply --no-wait /etc/ipvsc/ipvsc\.ipvs( .*)?'
has ipvsc.service 'ExecReload=/usr/bin/ipvsc apply --no-wait /etc/ipvsc/ipvsc\.ipvs( .*)?'
has ipvsc.service 'Wants=network-online\.target'
has ipvsc.service 'After=network-online\.target'
has ipvsc.service 'Before=.*keepalived\.service.*'
has ipvsc.service 'WantedBy=multi-user\.target'
has ipvsc.service 'Documentation=man:ipvsc\(1\)'
has ipvsc.service 'EnvironmentFile=-/etc/default/ipvsc'
has ipvsc-drain.service 'ConditionPathExists=/var/lib/ipvsc'
has ipvsc-drain.service 'ExecStart=/usr/bin/ipvsc drain'
has ipvsc-drain.timer 'Unit=ipvsc-drain\.service'
has ipvsc-drain.timer 'WantedBy=timers\.target'
grep -q IPVSC_ARGS "$root/etc/default/ipvsc" || fail "/etc/default/ipvsc does not document IPVSC_ARGS"

# systemd-analyze verify, in a root made of the package and the system's own units (for
# targets such as multi-user.target); its warnings, e.g. an unknown key, count as failures.
vroot=$work/vroot
cp -a "$root" "$vroot"
cp -rn /lib/systemd/system/. "$vroot/lib/systemd/system/"
if ! out=$(MANPATH=$root/usr/share/man systemd-analyze verify --root="$vroot" \
    /lib/systemd/system/ipvsc.service /lib/systemd/system/ipvsc-drain.service \
    /lib/systemd/system/ipvsc-drain.timer 2>&1) || [ -n "$out" ]; then
    fail "systemd-analyze verify: $out"
fi

# --- maintainer scripts ---
ctrl=$work/ctrl
dpkg-deb -e "$deb" "$ctrl"
for s in postinst prerm postrm; do
    sh -n "$ctrl/$s" || fail "$s has a syntax error"
    grep -qE 'ipvsc +clear|ipvsadm +-C|ipvsadm +--clear' "$ctrl/$s" && fail "$s clears the table"
done
# Run them with logging stand-ins for the systemd helpers: postinst must enable both units
# and must not start, restart or reload ipvsc.service.
shims=$work/shims
mkdir -p "$shims"
for tool in deb-systemd-helper deb-systemd-invoke systemctl; do
    printf '#!/bin/sh\necho "%s $*" >> "%s"\nexit 0\n' "$tool" "$work/calls" > "$shims/$tool"
    chmod +x "$shims/$tool"
done
: > "$work/calls"
PATH=$shims:$PATH sh "$ctrl/postinst" configure || fail "postinst configure failed"
PATH=$shims:$PATH sh "$ctrl/postinst" configure "$version" || fail "postinst configure (upgrade) failed"
PATH=$shims:$PATH sh "$ctrl/prerm" remove || fail "prerm remove failed"
PATH=$shims:$PATH sh "$ctrl/postrm" remove || fail "postrm remove failed"
grep -qx 'deb-systemd-helper enable ipvsc.service' "$work/calls" || fail "postinst does not enable ipvsc.service"
grep -qx 'deb-systemd-helper enable ipvsc-drain.timer' "$work/calls" || fail "postinst does not enable ipvsc-drain.timer"
grep -E '(start|restart|reload).*ipvsc\.service' "$work/calls" | grep -v drain &&
    fail "the maintainer scripts start or reload ipvsc.service"
# The same with systemd running must start only the timer. /run/systemd/system is where the
# scripts look; the check is skipped when this machine does not run systemd.
if [ -d /run/systemd/system ]; then
    : > "$work/calls"
    PATH=$shims:$PATH sh "$ctrl/postinst" configure || fail "postinst configure failed"
    grep -qx 'deb-systemd-invoke restart ipvsc-drain.timer' "$work/calls" || fail "postinst does not start the timer"
    grep -E 'invoke .*ipvsc\.service' "$work/calls" && fail "postinst starts ipvsc.service"
fi

if [ "$failures" -gt 0 ]; then
    echo "deb.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "deb.sh: the package passed every check"
