#!/usr/bin/env bash
# Runs every test of ipvsc: formatting, lints, unit, golden, property and no-panic tests.
# Works on a fresh Debian machine with a Rust toolchain (rustup's default profile).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install Rust (https://rustup.rs) or: apt-get update && apt-get install -y cargo" >&2
    exit 2
fi
if ! command -v cc >/dev/null; then
    # pest's dependencies build C code.
    apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev
fi
echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
echo "== kernel test VM: packages and kernel (tests/vm.rs boots it)"
bash tests/vm/vm.sh prepare
echo "== cargo test"
cargo test --all-targets --no-fail-fast
echo "== fuzzing: libFuzzer on the stable toolchain, each target for 25 s (FUZZING.md)"
bash fuzz/run.sh
echo "== Debian package: dist/deb/build.sh, checked with dpkg-deb and systemd-analyze"
bash tests/deb.sh
echo "== editors: Vim, Neovim, Emacs and VS Code support, with their own tooling"
bash editors/test.sh
