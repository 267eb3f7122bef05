#!/usr/bin/env bash
# Builds the Debian package of ipvsc from this repository:
#     bash dist/deb/build.sh [OUTDIR]        (default OUTDIR: target/debian)
# Prints the path of the .deb on its last line. Needs cargo, dpkg-deb, dpkg-shlibdeps
# (dpkg-dev), strip (binutils) and gzip; tests/deb.sh installs whatever is missing.
#
# It compiles the release binary, assembles the package tree in OUTDIR/build/debian/ipvsc
# and calls dpkg-deb --build --root-owner-group. The man page and the shell completions are
# made by the built binary itself (`ipvsc man`, `ipvsc completions SHELL`).
set -euo pipefail
umask 022

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
outdir=${1:-$target_dir/debian}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
maintainer=${DEB_MAINTAINER:-ipvsc maintainers <maintainers@users.noreply.r-seed-f908afab.example>}

die() { echo "dist/deb/build.sh: $*" >&2; exit 1; }
for tool in cargo dpkg-deb dpkg-shlibdeps strip gzip; do
    command -v "$tool" >/dev/null || die "$tool not found (packages: cargo, dpkg, dpkg-dev, binutils, gzip)"
done

# The version is Cargo.toml's, e.g. "path+file:///src/ipvsc#ipvsc@0.1.0" -> 0.1.0.
pkgid=$(cargo pkgid --quiet)
version=${pkgid##*[#@]}
[[ $version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "cannot read the version from cargo pkgid: $pkgid"
arch=$(dpkg --print-architecture)

echo "== cargo build --release --locked --bin ipvsc" >&2
cargo build --release --locked --bin ipvsc >&2
bin=$target_dir/release/ipvsc
[ -x "$bin" ] || die "$bin was not built"

# The tree is laid out as debhelper would (build/debian/ipvsc), so that dpkg-shlibdeps finds
# the binary where it expects it, next to a throwaway debian/control that it requires.
build=$outdir/build
rm -rf "$build"
root=$build/debian/ipvsc
mkdir -p "$root/DEBIAN"
printf 'Source: ipvsc\n\nPackage: ipvsc\nArchitecture: any\n' > "$build/debian/control"

# The program, stripped the way dh_strip does it (the release profile keeps line tables).
install -D -m 0755 "$bin" "$root/usr/bin/ipvsc"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/ipvsc"

# Manual page and completions, from the binary's own clap definition.
install -d "$root/usr/share/man/man1"
"$root/usr/bin/ipvsc" man | gzip -9n > "$root/usr/share/man/man1/ipvsc.1.gz"
install -d "$root/usr/share/bash-completion/completions" \
    "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
"$root/usr/bin/ipvsc" completions bash > "$root/usr/share/bash-completion/completions/ipvsc"
"$root/usr/bin/ipvsc" completions zsh > "$root/usr/share/zsh/vendor-completions/_ipvsc"
"$root/usr/bin/ipvsc" completions fish > "$root/usr/share/fish/vendor_completions.d/ipvsc.fish"

# systemd units (Debian 12 keeps packaged units under /lib).
install -d "$root/lib/systemd/system"
install -m 0644 dist/systemd/ipvsc.service dist/systemd/ipvsc-drain.service \
    dist/systemd/ipvsc-drain.timer "$root/lib/systemd/system/"

# Configuration: the defaults file is a conffile; /etc/ipvsc is left empty on purpose
# (the admin writes ipvsc.ipvs, and without it ipvsc.service does nothing).
install -D -m 0644 dist/deb/default "$root/etc/default/ipvsc"
install -d -m 0755 "$root/etc/ipvsc"

# Documentation: README compressed as Debian policy asks of files over 4 kB, examples as
# they are (so that `ipvsc check` runs on them), copyright with the linked crates.
doc=$root/usr/share/doc/ipvsc
install -d "$doc/examples"
gzip -9n < README.md > "$doc/README.md.gz"
install -m 0644 dist/README.md "$doc/README.Debian"
install -m 0644 examples/*.ipvs examples/*.ipvsadm "$doc/examples/"
crates=$(cargo tree --locked --edges normal --prefix none --format ' {p} ({l})' \
    | sed 's/ (\*)$//; s/ v\([0-9]\)/ \1/' | grep -v '^ ipvsc ' | sort -u)
awk -v crates="$crates" '$0 == "@CRATES@" { print crates; next } { print }' \
    dist/deb/copyright > "$doc/copyright"
chmod 0644 "$doc/copyright"

# Control data. Depends comes from the shared libraries the binary links.
depends=$(cd "$build" && dpkg-shlibdeps -O debian/ipvsc/usr/bin/ipvsc | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies for usr/bin/ipvsc"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: ipvsc
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: kmod
Suggests: ipvsadm
Section: net
Priority: optional
Description: Linux IPVS (LVS) load-balancer table as code
 ipvsc manages the kernel's IPVS table from files in a configuration language
 that it checks before the kernel sees anything: every mistake is reported with
 its file, line and a hint. It talks to the kernel over generic netlink itself,
 without ipvsadm or libnl.
 .
 ipvsc apply makes the table what a file says, changing only what differs, as
 a transaction that is undone when the kernel refuses an operation; ipvsc plan
 shows the changes first. It also converts ipvsadm-save dumps, formats and
 checks files, and lists, saves and zeroes the live table.
 .
 The package ships ipvsc.service, which applies /etc/ipvsc/ipvsc.ipvs at boot
 and on reload and leaves the table alone at stop, and a timer that finishes
 the drains of removed real servers.
EOF
echo "/etc/default/ipvsc" > "$root/DEBIAN/conffiles"
install -m 0755 dist/deb/postinst dist/deb/prerm dist/deb/postrm "$root/DEBIAN/"

deb=$outdir/ipvsc_${version}_${arch}.deb
dpkg-deb --build --root-owner-group "$root" "$deb" >&2
echo "$deb"
