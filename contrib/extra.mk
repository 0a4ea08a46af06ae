# contrib/ and CI files owned by the integration: quick start, demo, unit,
# guides.
EXTRA_DIST += contrib/quickstart.sh contrib/demo.py contrib/moatd.service \
	contrib/postfix.md contrib/exchange.md .ci/run
dist_man_MANS += doc/moatd.8

# make install: the example config (never over an existing one) and the
# spool directory for messages larger than message_memory_max.
install-data-local:
	$(MKDIR_P) $(DESTDIR)$(sysconfdir)/moat $(DESTDIR)$(localstatedir)/spool/moat
	chmod 700 $(DESTDIR)$(localstatedir)/spool/moat
	test -f $(DESTDIR)$(sysconfdir)/moat/moat.conf || { \
	  sed -e 's|/usr/local/share/moat/|$(pkgdatadir)/|' \
	    $(srcdir)/contrib/moat.conf > moat.conf.inst && \
	  $(INSTALL_DATA) moat.conf.inst $(DESTDIR)$(sysconfdir)/moat/moat.conf && \
	  rm -f moat.conf.inst; }
	@: "The example runs as nobody: a spool it cannot write stops moatd;"
	@: "only a real install as root can chown it (not a staged DESTDIR one)."
	if test -z "$(DESTDIR)" && test "`id -u`" = 0 && id nobody >/dev/null 2>&1; then \
	  chown nobody $(localstatedir)/spool/moat; fi
	$(MKDIR_P) $(DESTDIR)$(docdir)
	$(INSTALL_DATA) $(srcdir)/contrib/moatd.service $(srcdir)/contrib/postfix.md \
	  $(srcdir)/contrib/exchange.md $(DESTDIR)$(docdir)/

uninstall-local:
	rm -f $(DESTDIR)$(sysconfdir)/moat/moat.conf
	rm -f $(DESTDIR)$(docdir)/moatd.service $(DESTDIR)$(docdir)/postfix.md \
	  $(DESTDIR)$(docdir)/exchange.md
	-rmdir $(DESTDIR)$(sysconfdir)/moat $(DESTDIR)$(localstatedir)/spool/moat \
	  $(DESTDIR)$(localstatedir)/spool 2>/dev/null
