#!/usr/bin/env bash
# The test command of `make test`: the Rust tests (cargo) once, then the
# tcltest suites (tests/all.tcl) against the package in build/ under each
# interpreter: Tcl 8.6 (`tclsh`) and Tcl 9.0 (from tools/tcl9.sh), or only
# the one named by TCLSH. Prints each part's totals and, last, the combined
# "N passed, M failed". Fails if anything failed, if a part ran no test,
# or if an interpreter could not be had.
set -u
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
summary=()

# The interpreters: TCLSH if given, else Tcl 8.6 and Tcl 9.0.
interpreters=()
if [ -n "${TCLSH:-}" ]; then
    interpreters=("$TCLSH")
else
    interpreters=(tclsh)
    if tcl9=$(bash tools/tcl9.sh | tail -n 1) && [ -x "$tcl9" ]; then
        interpreters+=("$tcl9")
    else
        echo "Tcl 9.0 could not be had (tools/tcl9.sh failed): counted as a failure"
        summary+=("tcltest 9.0: not run, 1 failed")
        failed=$((failed + 1))
    fi
fi

echo "== cargo test"
"$CARGO" test --release 2>&1 | tee "$logs/cargo"
cargo_status=${PIPESTATUS[0]}
cargo_passed=$(grep -E '^test result:' "$logs/cargo" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
cargo_failed=$(grep -E '^test result:' "$logs/cargo" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | awk '{s+=$1} END {print s+0}')
if [ "$cargo_status" -ne 0 ] && [ "$cargo_failed" -eq 0 ]; then
    cargo_failed=1   # a build failure or a crashed test binary: count it
fi
if [ "$cargo_passed" -eq 0 ]; then
    echo "cargo ran no test"
    cargo_failed=$((cargo_failed + 1))
fi
summary+=("cargo:        $cargo_passed passed, $cargo_failed failed")
passed=$((passed + cargo_passed))
failed=$((failed + cargo_failed))

for tclsh in "${interpreters[@]}"; do
    version=$(echo 'puts [info patchlevel]' | "$tclsh" 2>/dev/null)
    echo "== tcltest under $tclsh (Tcl ${version:-?})"
    TCLLIBPATH="$PWD/build${TCLLIBPATH:+ $TCLLIBPATH}" "$tclsh" tests/all.tcl 2>&1 | tee "$logs/tcl"
    status=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/tcl" | tail -n 1)
    tcl_passed=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    tcl_failed=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    tcl_passed=${tcl_passed:-0}
    tcl_failed=${tcl_failed:-1}
    if [ "$status" -ne 0 ] && [ "$tcl_failed" -eq 0 ]; then
        tcl_failed=1
    fi
    if [ "$tcl_passed" -eq 0 ]; then
        echo "tcltest under $tclsh ran no test"
        tcl_failed=$((tcl_failed + 1))
    fi
    summary+=("tcltest ${version:-?}: $tcl_passed passed, $tcl_failed failed")
    passed=$((passed + tcl_passed))
    failed=$((failed + tcl_failed))
done

echo
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
