#!/usr/bin/env bash
# Builds the libFuzzer targets (release, with AddressSanitizer) and runs each from the committed
# seed corpus. Usage:
#   Fuzz/run.sh                      every target, 1,000,000 executions each
#   Fuzz/run.sh suite 100000         one target, a given number of executions
#   FUZZ_SECONDS=60 Fuzz/run.sh      every target for 60 s each (the CI smoke)
# Findings (crash-*, leak-*, timeout-*) are written to the working folder, .fuzz/TARGET/; the
# committed corpus is never changed (new inputs go to .fuzz/TARGET/corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${1:-"safetensors config vocab suite datafile gguf"}
runs=${2:-1000000}
build=$(realpath -m "${FUZZ_BUILD:-.build-fuzz}")
root=$PWD
for target in $targets; do
    EVALHARNESS_FUZZ=1 swift build -c release --scratch-path "$build" -Xswiftc -sanitize=fuzzer,address \
        --product "fuzz-$target" 2>&1 | grep -E "error|complete" || true
done
status=0
for target in $targets; do
    work=.fuzz/$target
    mkdir -p "$work/corpus"
    limit=(-runs="$runs")
    [[ -n "${FUZZ_SECONDS:-}" ]] && limit=(-max_total_time="$FUZZ_SECONDS")
    echo "== fuzz-$target (${limit[*]})"
    if ! (cd "$work" && "$build/release/fuzz-$target" "${limit[@]}" -max_len=65536 -timeout=10 \
            -rss_limit_mb=4096 -print_final_stats=1 corpus "$root/Fuzz/Corpus/$target" 2>&1 | tail -n 14); then
        status=1
    fi
    if compgen -G "$work/crash-*" >/dev/null || compgen -G "$work/leak-*" >/dev/null || compgen -G "$work/timeout-*" >/dev/null; then
        echo "fuzz-$target: FINDINGS in $work"; status=1
    fi
done
exit $status
