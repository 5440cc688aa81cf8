# Builds and installs recsync.
#
#   make                      release build
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
BUILT ?= .build/$(CONFIGURATION)
STAGE = .build/install-stage

.PHONY: all build man completions install uninstall

all: build

build:
	$(SWIFT) build -c $(CONFIGURATION) $(LINK) --product recsync
	$(SWIFT) build -c $(CONFIGURATION) $(LINK) --product generate-manual

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
