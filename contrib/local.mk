# contrib: see ../Makefile.am
EXTRA_DIST += contrib/moat.conf

# contrib: what a postmaster installs beside moatd (issue 17): the fail2ban
# filter and jail, installed as examples under $(docdir)/fail2ban, and
# the moatctl(1) man page.
f2bfilterdir = $(docdir)/fail2ban/filter.d
dist_f2bfilter_DATA = contrib/fail2ban/filter.d/moat.conf
f2bjaildir = $(docdir)/fail2ban/jail.d
dist_f2bjail_DATA = contrib/fail2ban/jail.d/moat.local
dist_man_MANS += doc/moatctl.1

# make install puts every document the README links to under $(docdir).
dist_doc_DATA += README.md doc/rules.md doc/greylisting.md doc/tls-auth.md

# A Grafana dashboard for metrics_listen (shipped in the tarball).
EXTRA_DIST += contrib/grafana-moat.json

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
