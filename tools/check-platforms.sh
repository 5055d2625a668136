#!/usr/bin/env bash
# tools/check-platforms.sh -- `make check-platforms`: the library compiled
# for the platforms this machine cannot run, macOS (Intel and Apple
# silicon) and FreeBSD, with clippy (-D warnings) for both interpreters'
# builds, so their OS calls (src/os/unix.rs: no MSG_NOSIGNAL on macOS, and
# so on) are checked here. Nothing is linked or run. Windows is linted
# too (src/os/windows.rs), in make windows' target directory, whose
# OpenSSL it reuses (built there first if need be).
#
# openssl-sys only needs OpenSSL's headers for a check: this machine's
# (OPENSSL_NO_VENDOR, OPENSSL_INCLUDE_DIR, OPENSSL_LIB_DIR; its build
# script preprocesses one file with the host's cc, whose macOS flags
# CRATE_CC_NO_DEFAULTS leaves out). The Rust targets are added with rustup
# when missing. Prints one line per target; exit status 1 if any failed.
set -u
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
targets=(x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd)

export OPENSSL_NO_VENDOR=1 CRATE_CC_NO_DEFAULTS=1
export OPENSSL_INCLUDE_DIR=${OPENSSL_INCLUDE_DIR:-/usr/include}
export OPENSSL_LIB_DIR=${OPENSSL_LIB_DIR:-/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)}

installed=$(rustup target list --installed 2>/dev/null)
failed=0
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        rustup target add "$target" >/dev/null 2>&1 || { echo "$target: rustup target add failed"; failed=1; continue; }
    fi
    ok=1
    for features in "" tcl9; do
        "$CARGO" clippy --quiet --all-targets --target "$target" --target-dir target/platforms \
            ${features:+--features $features} -- -D warnings || ok=0
    done
    if [ $ok = 1 ]; then
        echo "$target: compiles (clippy clean, Tcl 8.6 and Tcl 9 builds)"
    else
        echo "$target: FAILED"
        failed=1
    fi
done
ok=1
for features in vendored vendored,tcl9; do
    # Without the header settings above: they would make openssl-sys skip
    # the vendored OpenSSL (and rebuild it after).
    env -u OPENSSL_NO_VENDOR -u CRATE_CC_NO_DEFAULTS -u OPENSSL_INCLUDE_DIR -u OPENSSL_LIB_DIR "$CARGO" clippy --quiet --release --all-targets --target x86_64-pc-windows-gnu --target-dir target/windows \
        --features $features -- -D warnings || ok=0
done
if [ $ok = 1 ]; then
    echo "x86_64-pc-windows-gnu: clippy clean (Tcl 8.6 and Tcl 9 builds)"
else
    echo "x86_64-pc-windows-gnu: FAILED"
    failed=1
fi
exit $failed
