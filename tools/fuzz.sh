#!/usr/bin/env bash
# `make fuzz`: builds the coverage-guided fuzz targets of fuzz/ (libFuzzer,
# through the libfuzzer-sys crate, on the stable toolchain) and runs each
# for FUZZ_SECONDS (default 300). New inputs go to fuzz/work/TARGET (not
# checked in), seeds come from fuzz/corpus/TARGET, and a crash, a hang
# (an input taking over 10 s) or running out of memory (2 GiB) leaves its
# input in fuzz/artifacts/TARGET/ and fails the run. Prints each target's
# executions per second and coverage, then "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-300}
targets=${FUZZ_TARGETS:-engine options certstatus session_alpn_sni}
host=$(rustc -vV | sed -n 's/^host: //p')

# What `cargo fuzz build --sanitizer none` passes: libFuzzer's coverage
# instrumentation (8-bit edge counters, the PC table, comparison tracing)
# needs no nightly flag. With --target, build scripts and proc macros are
# built without it.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
echo "== building fuzz targets ($host)"
if ! cargo build --release --manifest-path fuzz/Cargo.toml --target "$host"; then
    echo "fuzz targets did not build"
    echo "0 passed, 1 failed"
    exit 1
fi
bin=fuzz/target/$host/release

passed=0
failed=0
report=()
for target in $targets; do
    mkdir -p "fuzz/work/$target" "fuzz/artifacts/$target"
    log=fuzz/work/$target.log
    echo "== fuzzing $target for ${seconds}s"
    before=$(ls "fuzz/artifacts/$target" | wc -l)
    "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" "fuzz/work/$target" "fuzz/corpus/$target" >"$log" 2>&1
    status=$?
    after=$(ls "fuzz/artifacts/$target" | wc -l)
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    total=$(sed -n 's/^INFO: Loaded 1 modules *(\([0-9]*\) inline 8-bit counters.*/\1/p' "$log" | head -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    corpus=$(ls "fuzz/work/$target" | wc -l)
    line=$(printf '%-17s %9s runs %7s exec/s  cov %5s of %5s edges  corpus %5s' "$target" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${total:-?}" "$corpus")
    if [ "$status" -eq 0 ] && [ "$after" -eq "$before" ]; then
        passed=$((passed + 1))
        report+=("ok    $line")
    else
        failed=$((failed + 1))
        report+=("FAIL  $line")
        echo "$target failed (exit $status); its log:"
        grep -E -A12 'panicked|ERROR|SUMMARY|deadly|Test unit written' "$log" | head -n 60
        echo "new artifacts: $(ls -t "fuzz/artifacts/$target" | head -n $((after - before)) | tr '\n' ' ')"
        echo "(copy each to fuzz/regressions/$target/ once fixed: cargo test replays them)"
    fi
done
echo "== fuzz summary (${seconds}s each)"
printf '%s\n' "${report[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
