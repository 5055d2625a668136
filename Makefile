# Build, test and install the Rust `tls` package for Tcl.
# `make` leaves a loadable package in build/tls/.

TCLSH     ?= tclsh
CARGO     ?= cargo
VERSION   := 2.0.0
prefix    ?= /usr/local
exec_prefix ?= $(prefix)
libdir    ?= $(exec_prefix)/lib
# TEA extensions install into $(libdir)/tcltk when Tcl's package path has it
# (Debian), else into $(libdir) (upstream Tcl).
pkglibdir ?= $(shell if [ -d /usr/share/tcltk ]; then echo $(libdir)/tcltk; else echo $(libdir); fi)/tls$(VERSION)
DESTDIR   ?=

LIBFILE   := libtcltls.so
PKGDIR    := build/tls
SOURCES   := $(shell find src -name '*.rs') Cargo.toml

.PHONY: all package test demo bench install uninstall clean certs

all: package

package: $(PKGDIR)/$(LIBFILE) $(PKGDIR)/tls.tcl $(PKGDIR)/pkgIndex.tcl

target/release/$(LIBFILE): $(SOURCES)
	$(CARGO) build --release

$(PKGDIR)/$(LIBFILE): target/release/$(LIBFILE)
	@mkdir -p $(PKGDIR)
	cp $< $@

$(PKGDIR)/tls.tcl: library/tls.tcl
	@mkdir -p $(PKGDIR)
	cp $< $@

$(PKGDIR)/pkgIndex.tcl: library/pkgIndex.tcl.in Makefile
	@mkdir -p $(PKGDIR)
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@LIBFILE@/$(LIBFILE)/g' $< > $@

test: package
	@TCLSH=$(TCLSH) CARGO=$(CARGO) sh tests/run.sh

demo: package
	TCLLIBPATH=$(CURDIR)/build $(TCLSH) demo/demo.tcl

bench: package
	TCLLIBPATH=$(CURDIR)/build $(TCLSH) bench/bench.tcl

install: package
	mkdir -p $(DESTDIR)$(pkglibdir)
	cp $(PKGDIR)/$(LIBFILE) $(PKGDIR)/tls.tcl $(PKGDIR)/pkgIndex.tcl $(DESTDIR)$(pkglibdir)/

uninstall:
	rm -rf $(DESTDIR)$(pkglibdir)

clean:
	$(CARGO) clean
	rm -rf build tests/certs/out
