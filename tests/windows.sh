#!/usr/bin/env bash
# tests/windows.sh -- the tcltest suites (tests/all.tcl) with the Windows
# build (build/windows/tls, `make windows`) in the official Tcl 8.6.15 for
# Windows, under Wine. Prints all.tcl's output, ending in
# "N passed, M failed, K skipped"; exit status 1 if a test failed or none
# ran, 2 if Wine or the Windows Tcl is not there. With arguments
# (`bash tests/windows.sh socket.test ...`), runs only those files.
#
#   - Tcl: ../shared/windows/tcl8.6.15-win64 beside this repository (CI
#     lays shared/ beside its clone), or TLS_WINDOWS_TCL.
#   - Wine: its own 64-bit prefix under build/wine/ (ignored), made here on
#     the first run: no display driver (Tcl's sockets need Graphics=null
#     without one), and bcryptprimitives.dll in its system32, built here
#     from tests/windows/bcryptprimitives.c (Wine 8.0 lacks that DLL,
#     which Rust's std imports); test-only, never in the package.
#   - Peers the Linux suites exec (openssl, python3, curl, nginx) cannot be
#     exec'd from a Windows Tcl: those tests carry their tool's constraint
#     and are counted as skipped by name. The test PKI, which pki.tcl makes
#     with openssl, is made here on the Linux side (TLS_TEST_PKI).
set -u
cd "$(dirname "$0")/.."
repo=$PWD
tcl=${TLS_WINDOWS_TCL:-$(dirname "$repo")/shared/windows/tcl8.6.15-win64}
tclsh=$tcl/bin/tclsh86t.exe

for tool in wine wineboot wineserver winepath x86_64-w64-mingw32-gcc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "tests/windows.sh: $tool not found (tools/deps.sh installs it)"; exit 2; }
done
[ -f "$tclsh" ] || { echo "tests/windows.sh: no Windows Tcl at $tcl"; exit 2; }
[ -f build/windows/tls/tcltls.dll ] || { echo "tests/windows.sh: build/windows/tls/tcltls.dll missing (make windows)"; exit 2; }

scratch=$repo/build/wine
export WINEPREFIX=$scratch/prefix WINEARCH=win64 WINEDEBUG=-all
# No Mono or Gecko (their installers would be offered while the prefix is made).
export WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$scratch"
if [ ! -f "$WINEPREFIX/.tls-ready" ]; then
    rm -rf "$WINEPREFIX"
    echo "tests/windows.sh: making the Wine prefix $WINEPREFIX"
    wineboot -i >"$scratch/wineboot.log" 2>&1
    wine reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d null /f >>"$scratch/wineboot.log" 2>&1
    wineserver -w
    touch "$WINEPREFIX/.tls-ready"
fi
system32=$WINEPREFIX/drive_c/windows/system32
if [ ! -f "$system32/bcryptprimitives.dll" ] || [ tests/windows/bcryptprimitives.c -nt "$system32/bcryptprimitives.dll" ]; then
    x86_64-w64-mingw32-gcc -O2 -shared -o "$system32/bcryptprimitives.dll" tests/windows/bcryptprimitives.c -lbcrypt || exit 2
fi

# The test PKI and a temporary directory, made on the Linux side.
rm -rf "$scratch/pki" "$scratch/tmp"
mkdir -p "$scratch/tmp"
sh tests/certs/make-pki.sh "$scratch/pki" >/dev/null || { echo "tests/windows.sh: cannot make the test PKI"; exit 1; }

# A CA of its own in the prefix's Windows certificate store (the current
# user's ROOT store, as the registry keeps it: a Blob of serialized
# properties, the certificate as property 32, under its SHA-1 thumbprint),
# and a server certificate it signed, for the tests of the default trust
# store (socket.test, constraint winstore). The previous run's CA goes.
store='HKCU\Software\Microsoft\SystemCertificates\Root\Certificates'
if [ -f "$scratch/winstore-thumbprint" ]; then
    wine reg delete "$store\\$(cat "$scratch/winstore-thumbprint")" /f >/dev/null 2>&1
fi
(
    cd "$scratch/pki" || exit 1
    ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    ec winstore-ca.key && ec winstore-server.key || exit 1
    openssl req -x509 -new -key winstore-ca.key -subj "/O=Tcl TLS Tests/CN=Windows Store Test CA" -days 2 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -out winstore-ca.pem 2>/dev/null || exit 1
    openssl req -new -key winstore-server.key -subj /CN=localhost -out winstore-server.csr 2>/dev/null || exit 1
    printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > winstore-server.ext
    openssl x509 -req -in winstore-server.csr -CA winstore-ca.pem -CAkey winstore-ca.key -CAcreateserial \
        -days 2 -extfile winstore-server.ext -out winstore-server.pem 2>/dev/null || exit 1
) || { echo "tests/windows.sh: cannot make the Windows store CA"; exit 1; }
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
der=$(openssl x509 -in "$scratch/pki/winstore-ca.pem" -outform DER | od -An -v -tx1 | tr -d ' \n')
thumbprint=$(openssl x509 -in "$scratch/pki/winstore-ca.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
if wine reg add "$store\\$thumbprint" /v Blob /t REG_BINARY /d "$(le32 32)$(le32 1)$(le32 $((${#der} / 2)))$der" /f >/dev/null 2>&1; then
    echo "$thumbprint" > "$scratch/winstore-thumbprint"
else
    echo "tests/windows.sh: could not add the test CA to the Windows certificate store"
    rm -f "$scratch/pki/winstore-server.pem"
fi

# The Linux peers (openssl, python3, curl) through tests/windows/hostbridge.tcl:
# it runs while its stdin (fd 3 here) is open, and on loopback only, for
# requests that carry this run's token.
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
rm -f "$scratch/hostbridge.port" "$scratch/hostbridge.in"
mkfifo "$scratch/hostbridge.in"
tclsh tests/windows/hostbridge.tcl "$token" "$scratch/hostbridge.port" <"$scratch/hostbridge.in" >"$scratch/hostbridge.log" 2>&1 &
bridge=$!
exec 3>"$scratch/hostbridge.in"
trap 'exec 3>&-; wait $bridge 2>/dev/null' EXIT
for _ in $(seq 50); do
    [ -s "$scratch/hostbridge.port" ] && break
    sleep 0.1
done
[ -s "$scratch/hostbridge.port" ] || { echo "tests/windows.sh: the host bridge did not start"; exit 1; }
export TLS_TEST_HOSTBRIDGE="$(cat "$scratch/hostbridge.port"):$token"

win() { winepath -w "$1" 2>/dev/null; }
TLS_TEST_BUILD_DIR=$(win "$repo/build/windows")
TLS_TEST_PKI=$(win "$scratch/pki")
TLS_TEST_TMPDIR=$(win "$scratch/tmp")
export TLS_TEST_BUILD_DIR TLS_TEST_PKI TLS_TEST_TMPDIR
if [ $# -eq 0 ]; then
    set -- all.tcl
fi
status=0
for file in "$@"; do
    # -verbose bes: each skipped test is named with its constraint.
    wine "$tclsh" "$(win "$repo/tests/$file")" -verbose bes 2>&1 | tr -d '\r'
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
wineserver -w
exit "$status"
