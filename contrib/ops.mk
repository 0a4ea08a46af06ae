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
