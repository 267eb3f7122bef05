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
echo "== cargo clippy --all-targets -- -D warnings (with and without the test hooks)"
cargo clippy --all-targets --quiet -- -D warnings
cargo clippy --all-targets --features test-hooks --quiet -- -D warnings
echo "== kernel test VM: packages and kernel (tests/vm.rs boots it)"
bash tests/vm/vm.sh prepare
echo "== cargo test (the kernel tests need the test hooks: IPVSC_TEST_FAIL_AT, IPVSC_TEST_FAULT, IPVSC_TEST_READERS, ops)"
# The guest runs a release build of this tree with the hooks (copied aside: the package's
# release build, without them, comes later): about twice as fast under the emulator as the
# debug build.
cargo build --release --features test-hooks --quiet --bin ipvsc
cp target/release/ipvsc target/ipvsc-vm
IPVSC_VM_BIN=$PWD/target/ipvsc-vm cargo test --all-targets --features test-hooks --no-fail-fast
echo "== fuzzing: libFuzzer on the stable toolchain, each target for 25 s (FUZZING.md)"
bash fuzz/run.sh
echo "== Debian package: dist/deb/build.sh, checked with dpkg-deb and systemd-analyze"
bash tests/deb.sh
echo "== editors: Vim, Neovim, Emacs and VS Code support, with their own tooling"
bash editors/test.sh
