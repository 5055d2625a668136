#!/usr/bin/env bash
# The test command of `make memcheck`: every tests/*.test file, each in its
# own Tcl process run under valgrind memcheck, against the package in
# build/, under each interpreter: Tcl 8.6 (`tclsh`) and Tcl 9.0 (from
# tools/tcl9.sh), or only the one named by TCLSH. Helper processes the
# tests start (openssl, python3, curl, nginx, child tclsh) run natively.
#
# A file fails if valgrind reports any error (invalid read or write, use of
# uninitialised memory, bad free, a definite leak) not matched by
# tests/valgrind.supp, if its tcltest summary counts a failure, or if it
# ends without one. Prints per file its status, valgrind error count and
# time, and last "N passed, M failed" (files); exits non-zero on a failure.
#
# Environment:
#   TCLSH                  one interpreter only (default: 8.6 and 9.0)
#   MEMCHECK_FILES         the test files to run (names like channel.test,
#                          space-separated; default: all)
#   MEMCHECK_TRACK_ORIGINS 1 adds --track-origins=yes (slower)
#   MEMCHECK_FILE_TIMEOUT  seconds one file may take before it is killed
#                          and counted as failed (default 3600)
#   MEMCHECK_LOGS          where valgrind's logs go (default build/memcheck)
#   TLS_TEST_TIMEOUT_SCALE factor for the tests' time limits (default 4
#                          here; the tests honour it, see tests/pki.tcl)
#   TLS_TEST_SMALL         set: skip the 2 GiB test of tclversions.test
set -u
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null 2>&1 || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
export TLS_TEST_TIMEOUT_SCALE=${TLS_TEST_TIMEOUT_SCALE:-4}
file_timeout=${MEMCHECK_FILE_TIMEOUT:-3600}
logroot=${MEMCHECK_LOGS:-$PWD/build/memcheck}
mkdir -p "$logroot"

files=()
if [ -n "${MEMCHECK_FILES:-}" ]; then
    for f in $MEMCHECK_FILES; do
        files+=("tests/$(basename "$f")")
    done
else
    files=(tests/*.test)
fi

. tests/interpreters.sh
if [ "$tcl9_missing" = 1 ]; then
    interpreters+=("")
fi

vgopts=(
    --tool=memcheck
    --error-exitcode=99
    --leak-check=full
    --show-leak-kinds=definite
    --errors-for-leak-kinds=definite
    --num-callers=40
    --suppressions="$PWD/tests/valgrind.supp"
    --gen-suppressions=all
)
[ "${MEMCHECK_TRACK_ORIGINS:-0}" = 1 ] && vgopts+=(--track-origins=yes)

passed=0
failed=0
failures=()
start_all=$SECONDS

for tclsh in "${interpreters[@]}"; do
    if [ -z "$tclsh" ]; then
        failed=$((failed + 1))
        failures+=("Tcl 9.0: not run")
        continue
    fi
    # The interpreter's own binary and the environment it runs with: a
    # wrapper script (Tcl 9's .tcl9/bin/tclsh9.0) sets TCL_LIBRARY and
    # friends and execs the binary, and valgrind must start the binary.
    # [info nameofexecutable] follows argv[0], so the tests' child tclsh
    # processes run the same binary, natively.
    probe=$(TCLLIBPATH="$PWD/build${TCLLIBPATH:+ $TCLLIBPATH}" "$tclsh" <<'EOF'
puts [info patchlevel]
puts [info nameofexecutable]
foreach name [lsort [array names ::env TCL*]] {
    puts [list $name $::env($name)]
}
EOF
)
    version=$(echo "$probe" | sed -n 1p)
    exe=$(echo "$probe" | sed -n 2p)
    if [ -z "$version" ] || [ ! -x "$exe" ]; then
        echo "== $tclsh: cannot run it"
        failed=$((failed + 1))
        failures+=("$tclsh: cannot run it")
        continue
    fi
    envs=()
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        name=${line%% *}
        value=${line#* }
        # Tcl list element: braced when it holds spaces.
        case $value in "{"*"}") value=${value#\{}; value=${value%\}} ;; esac
        envs+=("$name=$value")
    done < <(echo "$probe" | sed -n '3,$p')
    logdir=$logroot/$version
    rm -rf "$logdir"
    mkdir -p "$logdir"
    echo "== memcheck under $exe (Tcl $version), logs in $logdir"
    start_interp=$SECONDS
    for file in "${files[@]}"; do
        name=$(basename "$file")
        if [ ! -f "$file" ]; then
            echo "$name: no such test file"
            failed=$((failed + 1))
            failures+=("Tcl $version $name: no such file")
            continue
        fi
        t0=$SECONDS
        timeout --kill-after=30 "$file_timeout" \
            env "${envs[@]}" valgrind "${vgopts[@]}" --log-file="$logdir/$name.%p.vg" \
            "$exe" "$file" </dev/null >"$logdir/$name.out" 2>&1
        status=$?
        elapsed=$((SECONDS - t0))
        # The Tcl process's log is the one with an ERROR SUMMARY; each
        # forked helper leaves a header only (it execs its program, which
        # then runs natively).
        main=""
        for vg in "$logdir/$name".*.vg; do
            [ -e "$vg" ] || continue
            if grep -q 'ERROR SUMMARY' "$vg"; then
                main=$vg
            else
                rm -f "$vg"
            fi
        done
        errors=?
        if [ -n "$main" ]; then
            mv "$main" "$logdir/$name.vg"
            main=$logdir/$name.vg
            errors=$(sed -nE 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' "$main" | tail -n 1)
        fi
        summary=$(grep -E '^\S+\.test:\s+Total\s+[0-9]+' "$logdir/$name.out" | tail -n 1)
        tfailed=$(echo "$summary" | sed -nE 's/.*Failed\s+([0-9]+).*/\1/p')
        tpassed=$(echo "$summary" | sed -nE 's/.*Passed\s+([0-9]+).*/\1/p')
        why=()
        [ "$errors" = 0 ] || why+=("valgrind errors: $errors")
        if [ -z "$summary" ]; then
            why+=("no tcltest summary (exit status $status)")
        elif [ "${tfailed:-1}" -ne 0 ]; then
            why+=("tcltest: $tfailed failed")
        fi
        [ "$status" -eq 124 ] || [ "$status" -eq 137 ] && why+=("killed after ${file_timeout}s")
        [ "$status" -eq 99 ] && [ "$errors" = 0 ] && why+=("valgrind exit status 99")
        if [ ${#why[@]} -eq 0 ]; then
            printf '%-18s ok    valgrind errors 0  tests %s passed  %4ds\n' "$name" "$tpassed" "$elapsed"
            passed=$((passed + 1))
        else
            printf '%-18s FAIL  valgrind errors %s  tests %s passed, %s failed  %4ds  (%s)\n' \
                "$name" "$errors" "${tpassed:-?}" "${tfailed:-?}" "$elapsed" "$(IFS=';'; echo "${why[*]}")"
            failed=$((failed + 1))
            failures+=("Tcl $version $name")
            # Show what went wrong: the failed tests and valgrind's reports.
            awk '/^==== .* FAILED$/ {p = !p; print; next} p {print}' "$logdir/$name.out" | head -n 80
            if [ -n "$main" ] && [ "$errors" != 0 ]; then
                sed -nE '/^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in [0-9,]+ blocks are definitely)/,/^==[0-9]+== $/p' "$main" | head -n 200
            fi
            echo "   (log: $main, output: $logdir/$name.out)"
        fi
    done
    echo "Tcl $version: $((SECONDS - start_interp))s"
done

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "total time: $((SECONDS - start_all))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
