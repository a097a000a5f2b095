# Installation: `make install DESTDIR=... PREFIX=/usr` puts the programs, the host's
# service for autostarting domains, the manual pages and bash completion where a
# Debian host has them (debian/rules does exactly this).
PREFIX          ?= /usr
SYSCONFDIR      ?= /etc
SYSTEMDUNITDIR  ?= /lib/systemd/system
DESTDIR         ?=

.PHONY: man install
man: $(BUILD)/man/xenkvm.1
$(BUILD)/man/xenkvm.1: $(BUILD)/xenkvm $(BUILD)/xenkvmd docs/CONFIG.md scripts/man/gen-man.sh scripts/man/md2man.py
	$(Q)scripts/man/gen-man.sh $(BUILD) $(BUILD)/man

install: all man
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/xenkvm \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSCONFDIR)/xenkvm/auto
	install -m 755 $(BUILD)/xenkvmd $(BUILD)/xenkvm $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 dist/xenkvm-domains $(DESTDIR)$(PREFIX)/lib/xenkvm/
	install -m 644 $(BUILD)/man/xenkvm.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(BUILD)/man/xenkvm.cfg.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 $(BUILD)/man/xenkvmd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 dist/bash-completion/xenkvm $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	install -m 644 dist/xenkvm-domains.service $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 644 dist/xenkvm.default $(DESTDIR)$(SYSCONFDIR)/default/xenkvm

# The Debian packages build from a copy of the checkout and pass lintian; the .debs
# stay in $(BUILD)/deb for tests/system/test_package.sh.
.PHONY: check-package
check-package:
	$(Q)rm -rf $(BUILD)/deb; scripts/check-package.sh $(BUILD)/deb
