# Build, test and install the Rust `tls` package for Tcl.
# `make` leaves a loadable package in build/tls/.

TCLSH     ?= tclsh
CARGO     ?= cargo
VERSION   := 2.0.0
prefix    ?= /usr/local
exec_prefix ?= $(prefix)
libdir    ?= $(exec_prefix)/lib
# Where `make install` puts the package, so that both Tcl 8.6 and Tcl 9.0
# find it. Debian's Tcls (8.6 and 9.0 alike) search $(libdir)/tcltk for
# /usr/local and /usr/lib/tcltk/<multiarch> for /usr; upstream Tcl searches
# $(libdir).
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null)
pkglibdir ?= $(shell if [ -d /usr/share/tcltk ]; then \
	  if [ "$(prefix)" = /usr ] && [ -n "$(MULTIARCH)" ]; then echo $(libdir)/tcltk/$(MULTIARCH); \
	  else echo $(libdir)/tcltk; fi; \
	else echo $(libdir); fi)/tls$(VERSION)
mandir    ?= $(prefix)/share/man
DESTDIR   ?=

LIBFILE   := libtcltls.so
LIBFILE9  := libtcl9tls.so
PKGDIR    := build/tls
SOURCES   := $(shell find src -name '*.rs') Cargo.toml
# OPENSSL=vendored: link OpenSSL 3.5 built from source (the cargo feature
# vendored, openssl-src pinned in Cargo.lock) instead of the system's.
OPENSSL   ?= system

.PHONY: all package deps test memcheck demo bench costs fuzz soak scan scan-quick sessions install uninstall clean certs tcl9 windows test-windows check-platforms

all: package

package: $(PKGDIR)/$(LIBFILE) $(PKGDIR)/$(LIBFILE9) $(PKGDIR)/tls.tcl $(PKGDIR)/pkgIndex.tcl

ifeq ($(OPENSSL),vendored)
# Both libraries from one target directory, so OpenSSL is built once.
LIB86 := target/vendored/$(LIBFILE)
LIB90 := target/vendored/$(LIBFILE9)
target/vendored/stamp: $(SOURCES) Cargo.lock
	$(CARGO) build --release --features vendored --target-dir target/vendored
	cp target/vendored/release/$(LIBFILE) $(LIB86)
	$(CARGO) build --release --features vendored,tcl9 --target-dir target/vendored
	cp target/vendored/release/$(LIBFILE) $(LIB90)
	touch $@
$(LIB86) $(LIB90): target/vendored/stamp ;
else ifeq ($(OPENSSL),system)
# One source, built twice: for Tcl 8.6 (default features) and for Tcl 9.0
# (feature tcl9, its own target directory so both stay cached).
LIB86 := target/release/$(LIBFILE)
LIB90 := target/tcl9/release/$(LIBFILE)
target/release/$(LIBFILE): $(SOURCES)
	$(CARGO) build --release

target/tcl9/release/$(LIBFILE): $(SOURCES)
	$(CARGO) build --release --features tcl9 --target-dir target/tcl9
else
$(error OPENSSL must be system or vendored, not $(OPENSSL))
endif

# Which OpenSSL build/tls holds: a change of OPENSSL= copies anew.
$(PKGDIR)/.openssl: FORCE
	@mkdir -p $(PKGDIR)
	@echo $(OPENSSL) | cmp -s - $@ || echo $(OPENSSL) > $@

$(PKGDIR)/$(LIBFILE): $(LIB86) $(PKGDIR)/.openssl
	@mkdir -p $(PKGDIR)
	cp $< $@

$(PKGDIR)/$(LIBFILE9): $(LIB90) $(PKGDIR)/.openssl
	@mkdir -p $(PKGDIR)
	cp $< $@

FORCE:

$(PKGDIR)/tls.tcl: library/tls.tcl
	@mkdir -p $(PKGDIR)
	cp $< $@

$(PKGDIR)/pkgIndex.tcl: library/pkgIndex.tcl.in Makefile
	@mkdir -p $(PKGDIR)
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@LIBFILE@/$(LIBFILE)/g' -e 's/@LIBFILE9@/$(LIBFILE9)/g' $< > $@

# --- Windows: cross-built with mingw-w64 (README, "Windows") ---------------
# build/windows/tls/ holds tcltls.dll (Tcl 8.6) and tcl9tls.dll (Tcl 9),
# each with OpenSSL 3.5 linked in (feature vendored), stripped, beside
# pkgIndex.tcl, tls.tcl and the manual as HTML; plus a zip of that folder
# to unpack into a Windows Tcl's lib/. Both DLLs come from one target
# directory, so OpenSSL is built once (about 5 minutes on 2 cores).
WINTARGET := x86_64-pc-windows-gnu
WINCARGO  := target/windows
WINOUT    := $(WINCARGO)/$(WINTARGET)/release/tcltls.dll
WINDIR    := build/windows/tls
WINZIP    := build/windows/tls$(VERSION)-windows-x64.zip
WINSTRIP  ?= x86_64-w64-mingw32-strip
MANHTML   := $(WINDIR)/tls.html

windows: $(WINZIP)

$(WINCARGO)/stamp: $(SOURCES) Cargo.lock
	@mkdir -p $(WINDIR)
	$(CARGO) build --release --target $(WINTARGET) --features vendored --target-dir $(WINCARGO)
	cp $(WINOUT) $(WINDIR)/tcltls.dll
	$(CARGO) build --release --target $(WINTARGET) --features vendored,tcl9 --target-dir $(WINCARGO)
	cp $(WINOUT) $(WINDIR)/tcl9tls.dll
	$(WINSTRIP) $(WINDIR)/tcltls.dll $(WINDIR)/tcl9tls.dll
	touch $@

$(WINDIR)/tls.tcl: library/tls.tcl
	@mkdir -p $(WINDIR)
	cp $< $@

$(WINDIR)/pkgIndex.tcl: library/pkgIndex.tcl.in Makefile
	@mkdir -p $(WINDIR)
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@LIBFILE@/$(LIBFILE)/g' -e 's/@LIBFILE9@/$(LIBFILE9)/g' $< > $@

$(MANHTML): doc/tls.n
	@mkdir -p $(WINDIR)
	mandoc -T html $< > $@

$(WINZIP): $(WINCARGO)/stamp $(WINDIR)/tls.tcl $(WINDIR)/pkgIndex.tcl $(MANHTML)
	rm -f $@
	cd build/windows && zip -q -r -X $(notdir $@) tls

# The tcltest suites with tcltls.dll in the official Tcl 8.6.15 for
# Windows under Wine (tests/windows.sh says how).
test-windows: windows
	@bash tests/windows.sh

# macOS and FreeBSD: compiled (clippy, both interpreters' builds) against
# this machine's OpenSSL headers, not linked or run.
check-platforms:
	@bash tools/check-platforms.sh

# Installs what the suites need (as root on Debian), or stops naming it.
deps:
	@bash tools/deps.sh

# Without TCLSH on the command line (or in the environment), the tcltest
# suites run under both Tcl 8.6 and Tcl 9.0 (tools/tcl9.sh fetches it).
test: deps package
	@TCLSH=$(if $(filter command line environment,$(origin TCLSH)),$(TCLSH),) CARGO=$(CARGO) bash tests/run.sh

# Every tcltest file with the Tcl process under valgrind memcheck (under
# both interpreters, or TCLSH's); see tests/memcheck.sh for its knobs.
memcheck: package
	@TCLSH=$(if $(filter command line environment,$(origin TCLSH)),$(TCLSH),) bash tests/memcheck.sh

demo: package
	TCLLIBPATH=$(CURDIR)/build $(TCLSH) demo/demo.tcl

bench: package
	TCLLIBPATH=$(CURDIR)/build $(TCLSH) bench/bench.tcl

# Instructions per echoed message and per handshake, counted with
# callgrind in the server (bench/README.md says what it prints).
costs: package
	TCLLIBPATH=$(CURDIR)/build TCLSH=$(TCLSH) bash bench/costs.sh

# Coverage-guided fuzzing (libFuzzer): each target for FUZZ_SECONDS
# (default 300); see fuzz/README.md.
fuzz:
	bash tools/fuzz.sh

# One server through 50,000 connections of mixed kinds (SOAK_CONNS=2000
# SOAK_IDLE=100 for a quick run); bench/README.md says what it prints.
soak: package
	TCLLIBPATH=$(CURDIR)/build $(TCLSH) bench/soak.tcl

# testssl.sh and tlsfuzzer (../shared/tlsfuzzer) against our server beside
# openssl s_server (tools/scan.py; README.md has the figures). scan-quick
# is the selection CI runs. TCLSH=... picks the interpreter.
scan: package
	python3 tools/scan.py --tclsh $(TCLSH)

scan-quick: package
	python3 tools/scan.py --quick --tclsh $(TCLSH)

# RSS with a ticket-storming server and TLS 1.2 session-id clients.
sessions: package
	TCLLIBPATH=$(CURDIR)/build $(TCLSH) bench/sessions.tcl

install: package
	install -d $(DESTDIR)$(pkglibdir) $(DESTDIR)$(mandir)/mann
	install -m 755 $(PKGDIR)/$(LIBFILE) $(PKGDIR)/$(LIBFILE9) $(DESTDIR)$(pkglibdir)/
	install -m 644 $(PKGDIR)/tls.tcl $(PKGDIR)/pkgIndex.tcl $(DESTDIR)$(pkglibdir)/
	install -m 644 doc/tls.n $(DESTDIR)$(mandir)/mann/tls.n

uninstall:
	rm -f $(DESTDIR)$(pkglibdir)/$(LIBFILE) $(DESTDIR)$(pkglibdir)/$(LIBFILE9) \
	  $(DESTDIR)$(pkglibdir)/tls.tcl $(DESTDIR)$(pkglibdir)/pkgIndex.tcl $(DESTDIR)$(mandir)/mann/tls.n
	-rmdir $(DESTDIR)$(pkglibdir)

# Fetch Tcl 9.0 (Debian 13's packages, unpacked under .tcl9/) and print
# its tclsh; `make test` does this by itself.
tcl9:
	bash tools/tcl9.sh

clean:
	$(CARGO) clean
	rm -rf build tests/certs/out
