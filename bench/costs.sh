#!/bin/bash
# costs.sh -- instructions per echoed message and per handshake, counted
# with valgrind's callgrind in the server process (counts repeat from run
# to run, unlike times on a shared machine).  See bench/README.md.
#
#   make costs                 or   TCLLIBPATH=build bash bench/costs.sh
#   TCLSH=... COSTS_CONNS=100 COSTS_MSGS=100 COSTS_HANDSHAKES=100 (defaults)
#
# Each figure is the difference of two runs, the second with twice the
# work of the first, divided by the extra work: start-up, listening and
# the echo connections' handshakes drop out, and what is left is the cost
# of one more message (or one more handshake).  Prints figures only; exits
# non-zero only if a run could not be made.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tclsh=${TCLSH:-tclsh}
conns=${COSTS_CONNS:-100}
msgs=${COSTS_MSGS:-100}
handshakes=${COSTS_HANDSHAKES:-100}
export TCLLIBPATH=${TCLLIBPATH:-$root/build}

for tool in valgrind callgrind_annotate python3 openssl; do
    command -v $tool >/dev/null || { echo "costs.sh: $tool is needed" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sh "$root/demo/gencerts.sh" "$work/certs" >/dev/null

# run OUT IMPL CLIENT-ARGS...: the server (IMPL) under callgrind and one
# client, whose arguments say PORT where the server's port goes.
run() {
    local out=$1 impl=$2
    shift 2
    coproc SERVER { exec valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$tclsh" "$here/costs.tcl" server "$impl" "$work/certs" 2>"$out.log"; }
    local port args=()
    if ! read -r -t 120 port <&"${SERVER[0]}"; then
        echo "costs.sh: the server did not start; its log:" >&2
        cat "$out.log" >&2
        exit 1
    fi
    for a in "$@"; do
        if [ "$a" = PORT ]; then args+=("$port"); else args+=("$a"); fi
    done
    echo "running: costs.tcl ${args[*]}" >&2
    if ! timeout 600 "$tclsh" "$here/costs.tcl" "${args[@]}" >"$out.client" 2>&1; then
        echo "costs.sh: the client failed:" >&2
        cat "$out.client" >&2
        exit 1
    fi
    # Closing the server's stdin ends it; callgrind then writes its counts.
    local fd=${SERVER[1]}
    exec {fd}>&-
    wait "$SERVER_PID" || true
}

for impl in plain tls; do
    run "$work/echo-$impl-1" $impl echo $impl "$work/certs" PORT "$conns" "$msgs"
    run "$work/echo-$impl-2" $impl echo $impl "$work/certs" PORT "$conns" $((2 * msgs))
done
for mode in full resumed; do
    run "$work/hs-$mode-1" tls handshakes "$work/certs" PORT "$handshakes" $mode
    run "$work/hs-$mode-2" tls handshakes "$work/certs" PORT $((2 * handshakes)) $mode
done

echo "callgrind, server process: $("$tclsh" <<<'puts "Tcl [info patchlevel]"'), $(openssl version | cut -d' ' -f1-2)"
echo "echo: $conns connections x $msgs / $((2 * msgs)) messages; handshakes: $handshakes / $((2 * handshakes)) in a row"
echo "handshake runs: $(cat "$work/hs-full-2.client") (full), $(cat "$work/hs-resumed-2.client") (resumed)"

python3 - "$work" "$((conns * msgs))" "$handshakes" <<'EOF'
import re, subprocess, sys

work, extra_msgs, extra_hs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def inclusive(path):
    """Inclusive instruction counts by function name (largest entry)."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                          capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(\S.*)$", line)
        if m:
            name = re.sub(r"\s*\[.*\]$", "", m.group(2)).strip()
            name = name.split(":")[-1] if name != "PROGRAM TOTALS" else name
            counts[name] = max(counts.get(name, 0), int(m.group(1).replace(",", "")))
    return counts

def marginal(prefix, per):
    a, b = inclusive(f"{work}/{prefix}-1"), inclusive(f"{work}/{prefix}-2")
    return lambda name: (b.get(name, 0) - a.get(name, 0)) / per

def row(label, value):
    print(f"  {label:<58} {value:>9,.0f}")

plain = marginal("echo-plain", extra_msgs)
tls = marginal("echo-tls", extra_msgs)
print("\ninstructions per echoed message (one line of 48 bytes in, one out):")
row("plain Tcl sockets, whole process", plain("PROGRAM TOTALS"))
row("tls, whole process", tls("PROGRAM TOTALS"))
openssl = tls("SSL_write_ex") + tls("SSL_read_ex") + tls("SSL_peek_ex")
row("  of which OpenSSL: SSL_write_ex (one record out)", tls("SSL_write_ex"))
row("  of which OpenSSL: SSL_peek_ex + SSL_read_ex (one record in)", tls("SSL_peek_ex") + tls("SSL_read_ex"))
ours = sum(tls(f) for f in ("handler_proc", "input_proc", "output_proc", "watch_proc", "timer_proc")) - openssl
row("  of which this package's driver, OpenSSL excluded", ours)
row("  the rest: Tcl (notifier, gets, puts, the script)", tls("PROGRAM TOTALS") - openssl - ours)

for mode in ("full", "resumed"):
    hs = marginal(f"hs-{mode}", extra_hs)
    print(f"\ninstructions per {mode} handshake (connect, handshake, one echo, close):")
    row("whole server process", hs("PROGRAM TOTALS"))
    row("  of which SSL_do_handshake", hs("SSL_do_handshake"))
    row("    key share: EVP_PKEY_keygen + EVP_PKEY_derive", hs("EVP_PKEY_keygen") + hs("EVP_PKEY_derive"))
    row("    key schedule: EVP_KDF_derive", hs("EVP_KDF_derive"))
    row("    signature: EVP_DigestSign", hs("EVP_DigestSign"))
    row("  of which outside SSL_do_handshake (Tcl, this package)", hs("PROGRAM TOTALS") - hs("SSL_do_handshake"))
EOF
