# Builds and installs recsync.
#
#   make                      release build
#   make recsync              the recsync binary alone (SCRATCH=DIR: swift build's --scratch-path)
#   make install              into /usr/local (PREFIX=/usr, DESTDIR=/tmp/stage honoured)
#   make uninstall            removes what install put there (same PREFIX and DESTDIR)
#
# Installs the binary, the man pages (generated from the command tree), bash, zsh and fish
# completions, the mount helper mount.fuse.recsync (a link in MOUNT_HELPER_DIR, default /sbin),
# the systemd units (system and user) with ExecStart pointing at the binary, and the
# file-manager extension for Nautilus, Nemo and Caja (docs/FILE-MANAGER.md).
# CONFIGURATION=debug installs a debug build instead.

PREFIX ?= /usr/local
DESTDIR ?=
CONFIGURATION ?= release
SWIFT ?= swift
# The Swift runtime and Foundation linked into the binary: it runs on machines without a Swift
# toolchain, and the daemon keeps 4 to 5 MiB less resident (docs/PERFORMANCE.md, Memory).
# LINK= builds against the toolchain's shared libraries instead.
LINK ?= --static-swift-stdlib

# How the code is laid out (docs/PERFORMANCE.md, Memory): every function in a section of its own,
# linked by lld with the functions recsync runs in ordinary use first (scripts/hot-code), and the
# relative relocations packed (-z pack-relative-relocs, when this machine's glibc is 2.36 or later:
# the binary then needs glibc 2.36 where it runs). The daemon keeps about 3 MiB less of its code
# resident. LAYOUT= links as swiftc does by default.
HOT_CODE = $(CURDIR)/scripts/hot-code/functions.order
ORDERING := $(shell [ -f '$(HOT_CODE)' ] && echo "-Xlinker '--symbol-ordering-file=$(HOT_CODE)' -Xlinker --no-warn-symbol-ordering")
RELR := $(shell getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ split($$2, v, "."); if (v[1] > 2 || (v[1] == 2 && v[2] >= 36)) print "-Xlinker -z -Xlinker pack-relative-relocs" }')
LAYOUT ?= -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld $(ORDERING) $(RELR)
# More flags for the recsync build alone (scripts/hot-code/generate.sh asks for a link map).
SWIFTFLAGS ?=
# Where swift build keeps its work (--scratch-path); bench/run builds into its own.
SCRATCH ?= .build

BINDIR = $(DESTDIR)$(PREFIX)/bin
# mount(8) looks for mount.fuse.recsync in /sbin, whatever PREFIX is.
MOUNT_HELPER_DIR ?= /sbin
HELPERDIR = $(DESTDIR)$(MOUNT_HELPER_DIR)
MANDIR = $(DESTDIR)$(PREFIX)/share/man/man1
BASHDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
SYSTEMDDIR = $(DESTDIR)$(PREFIX)/lib/systemd/system
USERDIR = $(DESTDIR)$(PREFIX)/lib/systemd/user
# The same Python extension for each file manager's Python loader.
FILEMANAGER = mount-helpers/file-manager/recsync_file_manager.py
NAUTILUSDIR = $(DESTDIR)$(PREFIX)/share/nautilus-python/extensions
NEMODIR = $(DESTDIR)$(PREFIX)/share/nemo-python/extensions
CAJADIR = $(DESTDIR)$(PREFIX)/share/caja-python/extensions
# SWIFT=: BUILT=DIR installs binaries built elsewhere (the test suite does) without building.
BUILT ?= $(SCRATCH)/$(CONFIGURATION)
STAGE = .build/install-stage

.PHONY: all build recsync man completions install uninstall

all: build

build: recsync
	$(SWIFT) build --scratch-path '$(SCRATCH)' -c $(CONFIGURATION) $(LINK) $(LAYOUT) --product generate-manual

recsync:
ifneq ($(SWIFT),:)
	@# SwiftPM does not know the list of hot functions: link again when it is newer than the binary.
	@if [ -f '$(SCRATCH)/$(CONFIGURATION)/recsync' ] && [ '$(HOT_CODE)' -nt '$(SCRATCH)/$(CONFIGURATION)/recsync' ]; then \
		rm -f '$(SCRATCH)/$(CONFIGURATION)/recsync'; fi
endif
	$(SWIFT) build --scratch-path '$(SCRATCH)' -c $(CONFIGURATION) $(LINK) $(LAYOUT) $(SWIFTFLAGS) --product recsync

man: build
	rm -rf $(STAGE)/man && mkdir -p $(STAGE)/man
	$(BUILT)/generate-manual $(BUILT)/recsync --multi-page --output-directory $(STAGE)/man
	rm -f $(STAGE)/man/recsync.help.1

completions: build
	mkdir -p $(STAGE)/completions
	$(BUILT)/recsync --generate-completion-script bash > $(STAGE)/completions/recsync
	$(BUILT)/recsync --generate-completion-script zsh > $(STAGE)/completions/_recsync
	$(BUILT)/recsync --generate-completion-script fish > $(STAGE)/completions/recsync.fish

install: build man completions
	install -d $(BINDIR) $(MANDIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR) $(SYSTEMDDIR) $(USERDIR)
	install -d $(NAUTILUSDIR) $(NEMODIR) $(CAJADIR)
	install -m 755 $(BUILT)/recsync $(BINDIR)/recsync
	@if install -d $(HELPERDIR) 2>/dev/null && [ -w $(HELPERDIR) ]; then \
		ln -sfn $(PREFIX)/bin/recsync $(HELPERDIR)/mount.fuse.recsync; \
	else \
		echo "note: $(HELPERDIR) is not writable, so mount.fuse.recsync is not installed (mount -t fuse.recsync and fstab need it: install as root, or set MOUNT_HELPER_DIR)"; \
	fi
	install -m 644 $(STAGE)/man/*.1 $(MANDIR)/
	install -m 644 $(STAGE)/completions/recsync $(BASHDIR)/recsync
	install -m 644 $(STAGE)/completions/_recsync $(ZSHDIR)/_recsync
	install -m 644 $(STAGE)/completions/recsync.fish $(FISHDIR)/recsync.fish
	sed 's|/usr/local/bin/recsync|$(PREFIX)/bin/recsync|g' mount-helpers/recsync@.service > $(SYSTEMDDIR)/recsync@.service
	sed 's|/usr/local/bin/recsync|$(PREFIX)/bin/recsync|g' mount-helpers/user/recsync@.service > $(USERDIR)/recsync@.service
	chmod 644 $(SYSTEMDDIR)/recsync@.service $(USERDIR)/recsync@.service
	install -m 644 $(FILEMANAGER) $(NAUTILUSDIR)/recsync_file_manager.py
	install -m 644 $(FILEMANAGER) $(NEMODIR)/recsync_file_manager.py
	install -m 644 $(FILEMANAGER) $(CAJADIR)/recsync_file_manager.py

uninstall:
	rm -f $(BINDIR)/recsync $(MANDIR)/recsync.1 $(MANDIR)/recsync.*.1
	if [ "$$(readlink $(HELPERDIR)/mount.fuse.recsync)" = "$(PREFIX)/bin/recsync" ]; then rm -f $(HELPERDIR)/mount.fuse.recsync; fi
	rm -f $(BASHDIR)/recsync $(ZSHDIR)/_recsync $(FISHDIR)/recsync.fish
	rm -f $(SYSTEMDDIR)/recsync@.service $(USERDIR)/recsync@.service
	for dir in $(NAUTILUSDIR) $(NEMODIR) $(CAJADIR); do \
		rm -f $$dir/recsync_file_manager.py $$dir/__pycache__/recsync_file_manager.*.pyc; \
	done
