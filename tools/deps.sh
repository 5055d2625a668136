#!/usr/bin/env bash
# tools/deps.sh -- install what the build and the test suites need.
#
# One list, used by `make test` (through tests/run.sh) and by `.ci/run`:
# each entry pairs a Debian package with the check that shows it is there.
# Run as root on Debian, the missing packages are installed with apt-get
# (non-interactively; debconf questions are pre-answered where a package
# asks any). Otherwise, if something is missing, one line names the
# packages and the command that installs them, and the exit status is 1,
# so that the suites never run with tools quietly absent.
#
#   DEPS_CHECK_ONLY=1   only report, never install
set -u

missing=()
# need PACKAGE CHECK...: PACKAGE is missing unless the command CHECK succeeds.
need() {
    local package=$1
    shift
    "$@" >/dev/null 2>&1 || missing+=("$package")
}
has() { command -v "$1"; }
file() { [ -e "$1" ]; }

need tcl has tclsh
need tcl-dev sh -c '[ -f /usr/include/tcl8.6/tclDecls.h ] || [ -f /usr/include/tcl/tclDecls.h ]'
need pkg-config has pkg-config
need libssl-dev file /usr/include/openssl/ssl.h
need openssl has openssl
need python3 has python3
need curl has curl
need nginx sh -c 'command -v nginx || [ -x /usr/sbin/nginx ]'
need tcllib sh -c 'ls -d /usr/share/tcltk/tcllib*'
need make has make
# (tclsh reading a script from stdin exits 0 after an error: ask for 1.)
need tcl-thread sh -c "echo 'exit [catch {package require Thread}]' | tclsh"
# tests/features.test: certificates in a tclvfs zip mount (Tcl 8.6).
need tcl-vfs sh -c "echo 'exit [catch {package require vfs::zip}]' | tclsh"
need gcc has cc
# libfuzzer-sys (tools/fuzz.sh) compiles libFuzzer's C++ sources.
need g++ has g++
need valgrind has valgrind
# tools/tcl9.sh: apt-get download + dpkg -x of Debian 13's Tcl 9, linked
# statically against zlib.
# make scan (tools/scan.py): testssl.sh, and a venv for tlsfuzzer's
# tlslite-ng (python3 -m venv needs ensurepip, which Debian ships apart).
need testssl.sh has testssl
need python3-venv python3 -c 'import ensurepip, venv'
need debian-archive-keyring file /usr/share/keyrings/debian-archive-keyring.gpg
need zlib1g-dev file /usr/include/zlib.h
# tests/servers.test: real mail and directory servers, each started by the
# test from a private configuration (never the system's services).
need dovecot-imapd file /usr/lib/dovecot/imap
need dovecot-pop3d file /usr/lib/dovecot/pop3
need slapd file /usr/sbin/slapd
need ldap-utils has ldapsearch
need postfix file /usr/sbin/postfix
# The Windows build (make windows: mingw-w64, zip, the manual as HTML by
# mandoc) and its test run under Wine (tests/windows.sh; wine64 is the
# 64-bit loader, wine its command).
need gcc-mingw-w64-x86-64 has x86_64-w64-mingw32-gcc
need zip has zip
need mandoc has mandoc
need wine has wine
need wine64 sh -c 'command -v wine64 || [ -x /usr/lib/wine/wine64 ]'

# Rust's Windows target (for make windows), through rustup when it is
# there; otherwise named as missing.
rust_windows() {
    command -v rustup >/dev/null 2>&1 || { [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"; }
    command -v rustup >/dev/null 2>&1 || return 1
    rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu && return 0
    [ "${DEPS_CHECK_ONLY:-}" = 1 ] && return 1
    echo "tools/deps.sh: rustup target add x86_64-pc-windows-gnu"
    rustup target add x86_64-pc-windows-gnu >/dev/null 2>&1
}
rust_target() {
    rust_windows && return 0
    echo "missing: Rust's x86_64-pc-windows-gnu target; add it with: rustup target add x86_64-pc-windows-gnu" >&2
    return 1
}

if [ ${#missing[@]} -eq 0 ]; then
    rust_target
    exit
fi
if [ "${DEPS_CHECK_ONLY:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tools/deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || { echo "tools/deps.sh: apt-get update failed" >&2; exit 1; }
    # slapd and postfix ask questions: no configuration for either (the
    # tests bring their own), so nothing is set up system-wide.
    printf '%s\n' "slapd slapd/no_configuration boolean true" \
        "postfix postfix/main_mailer_type select No configuration" \
        "postfix postfix/mailname string localhost" | debconf-set-selections
    # Installing a daemon starts it where no policy forbids it; the tests
    # run their own instances, so the system's (dovecot on ports 110, 143,
    # 993, 995) stay stopped: a policy-rc.d that denies every start, for
    # the time of this install, unless the machine already has one.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# tools/deps.sh: no service starts while installing\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" || {
        echo "tools/deps.sh: apt-get install failed" >&2
        exit 1
    }
    rust_target
    exit
fi
echo "missing packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
exit 1
