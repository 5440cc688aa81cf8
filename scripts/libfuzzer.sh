#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of outside input with libFuzzer (the same targets and
# promises as the test suite's mutation fuzzer: Sources/RecsyncFuzzTargets/FuzzTarget.swift).
#
#   scripts/libfuzzer.sh [SECONDS_PER_TARGET] [TARGET...]     default 60 s, every target
#   MERGE=1 scripts/libfuzzer.sh ...   also merge inputs that reach new code into Tests/fuzz/corpus/
#
# It builds `recsync-fuzz` in .build/libfuzzer with AddressSanitizer and coverage
# instrumentation (a release build of the modules it needs: minutes the first time), then runs
# each target seeded from Tests/fuzz/corpus/TARGET. The working corpus grows in
# .build/libfuzzer/corpus/TARGET; a crash or a broken promise leaves its input in
# .build/libfuzzer/crashes/. Replay one with the normal build:
#   swift run recsync-fuzz TARGET FILE
# and, once the parser is fixed, add it to Tests/fuzz/corpus/TARGET/ as a regression.
# Prints, per target: executions, executions per second, edges covered (cov), coverage
# features (ft) and the corpus size. Exits non-zero if any target crashed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d /opt/swift/usr/bin ]] && export PATH="/opt/swift/usr/bin:$PATH"

seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
targets=("$@")

runtime=""
for candidate in "$(dirname "$(command -v swiftc)")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-"$(uname -m)".a; do
    [[ -f $candidate ]] && runtime="$candidate"
done
if [[ -z $runtime ]]; then
    echo "libfuzzer.sh: this Swift toolchain has no libclang_rt.fuzzer_no_main library; use a toolchain from swift.org" >&2
    exit 1
fi

build=.build/libfuzzer
# libFuzzer's own main() is left out (fuzzer_no_main): recsync-fuzz starts its driver itself.
swift build -c release --product recsync-fuzz --build-path "$build" \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
    -Xswiftc -DRECSYNC_LIBFUZZER -Xlinker "$runtime" -Xlinker -lstdc++ 2>&1 | grep -v "Cannot export local symbol" | tail -3
binary="$build/release/recsync-fuzz"
if [[ ${#targets[@]} -eq 0 ]]; then
    # Every target, as FuzzTarget lists them (the binary's usage line names them).
    read -r -a targets <<<"$("$binary" 2>&1 | sed -n 's/^targets: //p' | tr -d ',' || true)"
fi
[[ ${#targets[@]} -gt 0 ]] || { echo "libfuzzer.sh: recsync-fuzz named no targets" >&2; exit 1; }

# A broken promise is a fatalError: libFuzzer reports it; Swift's own backtracer would only
# trip AddressSanitizer while it runs.
export SWIFT_BACKTRACE=enable=no
failed=0
printf '%-12s %12s %10s %8s %8s %8s\n' target executions exec/s cov ft corpus
for target in "${targets[@]}"; do
    work="$build/corpus/$target"
    mkdir -p "$work" "$build/crashes"
    log="$build/$target.log"
    status=0
    "$binary" "$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/crashes/$target-" "$work" "Tests/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -1 || true)
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done_line")
    printf '%-12s %12s %10s %8s %8s %8s\n' "$target" "${executions:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}"
    if [[ $status -ne 0 ]]; then
        failed=1
        echo "  $target crashed or broke a promise (exit $status): see $log" >&2
        grep -E "Fatal error|ERROR:|SUMMARY|Test unit written" "$log" | head -5 >&2 || true
    fi
    if [[ ${MERGE:-0} == 1 ]]; then
        "$binary" "$target" -merge=1 "Tests/fuzz/corpus/$target" "$work" >"$build/$target.merge.log" 2>&1
    fi
done
exit $failed
