#!/bin/sh
# tools/tcl9.sh -- obtain a Tcl 9.0 interpreter without touching the system.
#
# Debian 12 ships no Tcl 9, and Debian 13's tclsh9.0 / libtcl9.0.so need
# glibc 2.38.  So this script downloads the Debian 13 (trixie) binary
# packages with a private apt configuration (nothing is installed, nothing
# under /etc or /var is written), unpacks them with `dpkg -x` into
# $repo/.tcl9/root, and links tclAppInit.c against the static libtcl9.0.a
# and libtommath.a, which do work on Debian 12's glibc.
#
# Output: the absolute path of a wrapper script, $repo/.tcl9/bin/tclsh9.0,
# on stdout (last and only line).  Progress goes to stderr.  A second run
# reuses the cache (no network).  Any failure exits non-zero.
#
# Cache layout ($repo/.tcl9):
#   root/        dpkg -x of libtcl9.0 tcl9.0 tcl9.0-dev libtommath1
#                libtommath-dev tcl9.0-thread  (root/usr/include/tcl9.0/tclDecls.h)
#                and tcllib (2.x, pure Tcl: Debian 12's tcllib 1.21 does
#                not load in Tcl 9), under root/usr/share/tcltk/tcllib*
#   bin/tclsh9   the compiled interpreter (static libtcl, static libtommath)
#   bin/tclsh9.0 wrapper: sets TCL_LIBRARY, TCL9_0_TM_PATH, appends the
#                Thread and tcllib package folders to TCLLIBPATH, execs
#                bin/tclsh9
#   debs/        the downloaded .deb files
#   apt/         private apt sources list, lists and caches
#   stamp        written last; its presence marks a complete cache
#
# Environment:
#   TCL9_REFRESH=1        discard the cache and rebuild
#   TCL9_DEBIAN_MIRROR=U  Debian mirror URL (default: the one in /etc/apt)
#   CC                    C compiler (default: cc)

set -eu

die() { echo "tcl9.sh: error: $*" >&2; exit 1; }
say() { echo "tcl9.sh: $*" >&2; }

here=$(cd "$(dirname "$0")" && pwd) || die "cannot locate script directory"
repo=$(cd "$here/.." && pwd) || die "cannot locate repository"
cache=$repo/.tcl9
wrapper=$cache/bin/tclsh9.0
stampkey="tcl9.sh v2"
pkgs="libtcl9.0 tcl9.0 tcl9.0-dev libtommath1 libtommath-dev tcl9.0-thread tcllib"

# The wrapper must start, report 9.x and load its bundled packages.
check() {
    [ -x "$wrapper" ] || return 1
    out=$(echo 'puts [info patchlevel]; package require Thread; package require http; package require tcltest; package require smtpd; puts ok' \
        | "$wrapper" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
    case $out in
        9.*ok) return 0 ;;
        *) printf '%s\n' "$out" >&2; return 1 ;;
    esac
}

cached() {
    [ "${TCL9_REFRESH:-}" != 1 ] && [ -f "$cache/stamp" ] &&
        [ "$(cat "$cache/stamp")" = "$stampkey" ] && check
}

mkdir -p "$cache" || die "cannot create $cache"

# Serialize concurrent runs in the same checkout.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/lock"
    flock 9 || die "cannot lock $cache/lock"
fi

if cached; then
    echo "$wrapper"
    exit 0
fi

# ---------------------------------------------------------------- build --
for tool in apt-get dpkg dpkg-architecture; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (Debian/apt host required)"
done
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || die "C compiler '$cc' not found (apt-get install gcc)"

say "building Tcl 9.0 in $cache (cold run, needs network)"
rm -rf "$cache/root" "$cache/bin" "$cache/debs" "$cache/apt" "$cache/stamp"
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" \
    "$cache/debs" "$cache/root" "$cache/bin"

# Mirror: reuse the Debian archive URL this machine is configured with.
mirror=${TCL9_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        mirror=$(sed -e 's/#.*//' "$f" \
            | grep -oE '(https?|file)://[^] ]+/debian/?( |$)' \
            | sed -e 's/ *$//' -e 's,/$,,' | head -n 1) || true
        [ -n "$mirror" ] && break
    done
fi
mirror=${mirror:-http://deb.debian.org/debian}
say "mirror: $mirror (suite trixie)"

opts=
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] && opts="signed-by=$keyring "
echo "deb [${opts}target=Packages] $mirror trixie main" > "$cache/apt/sources.list"
# Drop the host's post-update hooks (PackageKit, appstream) so nothing
# outside the cache is touched.
cat > "$cache/apt/apt.conf" <<'EOF'
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Post-Invoke;
#clear DPkg::Pre-Invoke;
EOF

set -- -c "$cache/apt/apt.conf" \
    -o "Dir::Etc::SourceList=$cache/apt/sources.list" \
    -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State::Lists=$cache/apt/lists" \
    -o "Dir::Cache=$cache/apt/cache" \
    -o Dir::State::status=/dev/null \
    -o Acquire::Languages=none
[ "$(id -u)" = 0 ] && set -- "$@" -o APT::Sandbox::User=root

say "apt-get update (trixie index, private)"
apt-get -q "$@" --error-on=any update >&2 || die "apt-get update for trixie failed (network? mirror $mirror?)"

say "apt-get download $pkgs"
(cd "$cache/debs" && apt-get -q "$@" download $pkgs) >&2 || die "apt-get download failed"

for deb in "$cache"/debs/*.deb; do
    [ -f "$deb" ] || die "no .deb files were downloaded"
    say "dpkg -x $(basename "$deb")"
    dpkg -x "$deb" "$cache/root" || die "dpkg -x $deb failed"
done

r=$cache/root
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || multiarch=x86_64-linux-gnu
lib=$r/usr/lib/$multiarch
tcllib=$r/usr/lib/tcl9.0
appinit=$tcllib/tclAppInit.c
inc=$r/usr/include/tcl9.0
[ -f "$appinit" ] || appinit=$(find "$r" -name tclAppInit.c | head -n 1)
[ -f "$inc/tcl.h" ] || inc=$(dirname "$(find "$r/usr/include" -name tcl.h | head -n 1)")
[ -f "$tcllib/init.tcl" ] || tcllib=$(dirname "$(find "$r" -name init.tcl | head -n 1)")
for f in "$appinit" "$inc/tcl.h" "$inc/tclDecls.h" "$tcllib/init.tcl" \
         "$lib/libtcl9.0.a" "$lib/libtommath.a"; do
    [ -f "$f" ] || die "expected file missing after extraction: $f"
done
thread_pkg=$(find "$r/usr/lib" -path '*thread3*' -name pkgIndex.tcl | head -n 1)
[ -n "$thread_pkg" ] || die "Thread package (tcl9.0-thread) pkgIndex.tcl not found"
threaddir=$(dirname "$(dirname "$thread_pkg")")
tmdir=$tcllib/tcl9
[ -d "$tmdir" ] || die "Tcl module folder $tmdir missing"
tcllibdir=$(find "$r/usr/share/tcltk" -maxdepth 1 -name 'tcllib*' -type d | head -n 1)
[ -n "$tcllibdir" ] || die "tcllib folder not found under $r/usr/share/tcltk"

# libz: the -dev symlink may be absent; fall back to the runtime library.
zlib=-lz
if [ "$("$cc" -print-file-name=libz.so)" = libz.so ]; then
    for z in /lib/$multiarch/libz.so.1 /usr/lib/$multiarch/libz.so.1; do
        [ -f "$z" ] && { zlib=$z; break; }
    done
fi

say "compiling tclAppInit.c against libtcl9.0.a"
"$cc" -O2 -o "$cache/bin/tclsh9" -I"$inc" "$appinit" \
    "$lib/libtcl9.0.a" "$lib/libtommath.a" $zlib -lm -ldl -lpthread -rdynamic >&2 \
    || die "linking tclsh9 failed"

# Paths in the wrapper are relative to the cache, found from the wrapper.
rel() { printf '%s' "${1#"$cache"/}"; }
cat > "$wrapper" <<EOF
#!/bin/sh
# Generated by tools/tcl9.sh -- Tcl 9.0 from Debian trixie, static libtcl.
d=\$(cd "\$(dirname "\$0")/.." && pwd) || exit 1
TCL_LIBRARY=\$d/$(rel "$tcllib")
TCL9_0_TM_PATH=\$d/$(rel "$tmdir")
TCLLIBPATH="\${TCLLIBPATH:+\$TCLLIBPATH }{\$d/$(rel "$threaddir")} {\$d/$(rel "$tcllibdir")}"
export TCL_LIBRARY TCL9_0_TM_PATH TCLLIBPATH
exec "\$d/bin/tclsh9" "\$@"
EOF
chmod +x "$wrapper"

check || die "built interpreter $wrapper does not work (see output above)"
echo "$stampkey" > "$cache/stamp"
say "ok: $(echo 'puts [info patchlevel]' | "$wrapper")"
echo "$wrapper"
