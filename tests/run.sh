#!/bin/sh
# The test command of `make test`: the Rust tests (cargo), then the tcltest
# suites (tests/all.tcl) against the package in build/. Prints both
# summaries and, last, the combined "N passed, M failed". Fails if anything
# failed or if either part ran no test.
set -u
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
TCLSH=${TCLSH:-tclsh}

cargo_log=$(mktemp)
tcl_log=$(mktemp)
trap 'rm -f "$cargo_log" "$tcl_log"' EXIT

echo "== cargo test"
"$CARGO" test --release 2>&1 | tee "$cargo_log"
cargo_status=$?
cargo_passed=$(grep -E '^test result:' "$cargo_log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
cargo_failed=$(grep -E '^test result:' "$cargo_log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | awk '{s+=$1} END {print s+0}')
if [ "$cargo_status" -ne 0 ] && [ "$cargo_failed" -eq 0 ]; then
    cargo_failed=1   # build failure or crash: count it
fi

echo "== tcltest"
TCLLIBPATH="$PWD/build" "$TCLSH" tests/all.tcl 2>&1 | tee "$tcl_log"
tcl_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tcl_log" | tail -n 1)
tcl_passed=$(echo "$tcl_line" | sed -E 's/^([0-9]+) passed.*/\1/')
tcl_failed=$(echo "$tcl_line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
tcl_passed=${tcl_passed:-0}
tcl_failed=${tcl_failed:-1}

echo
echo "cargo:   $cargo_passed passed, $cargo_failed failed"
echo "tcltest: $tcl_passed passed, $tcl_failed failed"
passed=$((cargo_passed + tcl_passed))
failed=$((cargo_failed + tcl_failed))
if [ "$cargo_passed" -eq 0 ] || [ "$tcl_passed" -eq 0 ]; then
    echo "a test runner ran no test"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
