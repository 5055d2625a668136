# interpreters.sh -- sourced by tests/run.sh and tests/memcheck.sh.
#
# Sets the array `interpreters` to the Tcl shells to test under: TCLSH if
# given, else Tcl 8.6's tclsh and Tcl 9.0's (from tools/tcl9.sh). Sets
# `tcl9_missing` to 1 when Tcl 9.0 was wanted but could not be had; the
# caller counts that as a failure in its own way.
interpreters=()
tcl9_missing=0
if [ -n "${TCLSH:-}" ]; then
    interpreters=("$TCLSH")
else
    interpreters=(tclsh)
    if tcl9=$(bash tools/tcl9.sh | tail -n 1) && [ -x "$tcl9" ]; then
        interpreters+=("$tcl9")
    else
        echo "Tcl 9.0 could not be had (tools/tcl9.sh failed): counted as a failure"
        tcl9_missing=1
    fi
fi
