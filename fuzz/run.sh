#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer on the stable toolchain and runs each for a bounded
# time (FUZZ_SECONDS, 25 by default). A crash or a failed check fails the run, with the
# reproducer's path and the command that reruns it.
#   bash fuzz/run.sh                 every target
#   bash fuzz/run.sh ipvs lsp        some of them
#   FUZZ_BUILD_ONLY=1 bash fuzz/run.sh
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-25}
targets=(ipvs legacy fast_reader lsp netlink)
if [ $# -gt 0 ]; then
    targets=("$@")
fi

# libfuzzer-sys compiles libFuzzer's C++ sources.
if ! command -v c++ >/dev/null; then
    apt-get update && apt-get install -y --no-install-recommends g++
fi

# What `cargo fuzz build --sanitizer none` asks of rustc, all of it stable: SanitizerCoverage
# with inline 8-bit counters, a PC table and comparison tracing, which is what libFuzzer reads.
# An explicit --target keeps these flags off build scripts and proc macros.
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions -Coverflow-checks"
start=$(date +%s)
cargo build --release --locked --quiet --target "$triple" --bins
echo "fuzz targets built in $(($(date +%s) - start)) s"
if [ -n "${FUZZ_BUILD_ONLY:-}" ]; then
    exit 0
fi

bin=target/$triple/release
failed=0
for target in "${targets[@]}"; do
    # New inputs go to a scratch corpus; the committed seeds are only read.
    mkdir -p "target/corpus/$target" "artifacts/$target"
    log=target/$target.log
    if "$bin/$target" "target/corpus/$target" "corpus/$target" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=4096 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"$log" 2>&1; then
        done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
        echo "fuzz $target: ${seconds} s, no finding: ${done_line:-?}"
    else
        failed=1
        tail -n 40 "$log"
        for artifact in "artifacts/$target"/*; do
            [ -e "$artifact" ] || continue
            echo "fuzz $target: FINDING fuzz/$artifact"
            echo "  rerun: fuzz/$bin/$target fuzz/$artifact"
            echo "  keep it: cp fuzz/$artifact tests/fuzz/$target/NAME, fix, cargo test --test fuzz_findings"
        done
    fi
done
exit "$failed"
