#!/usr/bin/env bash
# The test command of `make test`: the Rust tests (cargo) once, then the
# tcltest suites (tests/all.tcl) against the package in build/ under each
# interpreter: Tcl 8.6 (`tclsh`) and Tcl 9.0 (from tools/tcl9.sh), or only
# the one named by TCLSH; without TCLSH also the Windows build
# (`make windows`) in Tcl 8.6.15 for Windows under Wine (tests/windows.sh).
# Prints each part's totals and, last, the combined "N passed, M failed".
# Fails if anything failed, if a part ran no test, or if an interpreter
# could not be had.
set -u
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
summary=()

# tally LABEL PASSED FAILED STATUS: adds one part's counts to the totals. A
# non-zero exit status with no failure counted (a build failure, a crash)
# counts as one failure, and so does a part that ran no test.
tally() {
    local label=$1 p=$2 f=$3 status=$4
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    if [ "$p" -eq 0 ]; then
        echo "$label ran no test"
        f=$((f + 1))
    fi
    summary+=("$label: $p passed, $f failed")
    passed=$((passed + p))
    failed=$((failed + f))
}

# tally_tcltest LABEL LOG STATUS: tallies a tcltest run (tests/all.tcl)
# from its last "N passed, M failed[, K skipped]" line; the skips are
# shown per run (each names its constraint above).
tally_tcltest() {
    local label=$1 log=$2 status=$3 line p f k
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(echo "$line" | sed -nE 's/^([0-9]+) passed.*/\1/p')
    f=$(echo "$line" | sed -nE 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/p')
    tally "$label" "${p:-0}" "${f:-1}" "$status"
    k=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
    [ -n "$k" ] && summary[${#summary[@]}-1]+=", $k skipped"
    return 0
}

# The interpreters: TCLSH if given, else Tcl 8.6 and Tcl 9.0.
. tests/interpreters.sh
if [ "$tcl9_missing" = 1 ]; then
    summary+=("tcltest 9.0: not run, 1 failed")
    failed=$((failed + 1))
fi

echo "== cargo test"
"$CARGO" test --release 2>&1 | tee "$logs/cargo"
cargo_status=${PIPESTATUS[0]}
cargo_passed=$(grep -E '^test result:' "$logs/cargo" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
cargo_failed=$(grep -E '^test result:' "$logs/cargo" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | awk '{s+=$1} END {print s+0}')
tally "cargo" "$cargo_passed" "$cargo_failed" "$cargo_status"

for tclsh in "${interpreters[@]}"; do
    version=$(echo 'puts [info patchlevel]' | "$tclsh" 2>/dev/null)
    echo "== tcltest under $tclsh (Tcl ${version:-?})"
    TCLLIBPATH="$PWD/build${TCLLIBPATH:+ $TCLLIBPATH}" "$tclsh" tests/all.tcl 2>&1 | tee "$logs/tcl"
    tally_tcltest "tcltest ${version:-?}" "$logs/tcl" "${PIPESTATUS[0]}"
done

# The Windows build under Wine, unless TCLSH named one interpreter.
if [ -z "${TCLSH:-}" ]; then
    echo "== tcltest under Wine (Tcl 8.6.15 for Windows, build/windows/tls)"
    ${MAKE:-make} -s windows 2>&1 | tee "$logs/windows-build"
    if [ "${PIPESTATUS[0]}" -ne 0 ]; then
        tally "tcltest windows 8.6.15 (make windows failed)" 0 1 1
    else
        bash tests/windows.sh 2>&1 | tee "$logs/windows"
        tally_tcltest "tcltest windows 8.6.15" "$logs/windows" "${PIPESTATUS[0]}"
    fi
fi

echo
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
