# tools: moatctl (tools/moatctl.c): the offline scanner and rule checker,
# and `moatctl greylist`, which reads moatd's config and administers the
# greylist state in Redis through the same store code (libstore.a).
bin_PROGRAMS += moatctl
moatctl_SOURCES = tools/moatctl.c tools/ctl_bayes.c tools/ctl_bayes.h
moatctl_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(LIBEVENT_CFLAGS)
# scan runs the engine's DATA stage with the null io (engine.h), with
# moatd's own rule set and thresholds (engine/policy.c).
moatctl_LDADD = $(ENGINE_LIBS) $(RULES_LIBS) $(LMDB_LIBS) $(MATH_LIBS) \
	$(HIREDIS_LIBS) $(LIBEVENT_LIBS) $(PTHREAD_LIBS)

# moatctl report (tools/ctl_report.c): the log summary; zlib reads
# gzip'd rotated logs.
moatctl_SOURCES += tools/ctl_report.c tools/ctl_report.h
moatctl_CFLAGS += $(ZLIB_CFLAGS)
moatctl_LDADD += $(ZLIB_LIBS)

# moatctl stats (tools/ctl_stats.c): moatd's counters from metrics_listen.
moatctl_SOURCES += tools/ctl_stats.c tools/ctl_stats.h

# moatctl authcheck (tools/ctl_auth.c): sender authentication (issue 16)
# through engine/sauth_check.c.
moatctl_SOURCES += tools/ctl_auth.c
moatctl_CFLAGS += $(OPENDKIM_CFLAGS)
moatctl_LDADD += libengine.a $(SAUTH_LIBS) libcommon.a

# Calibration (doc/rules.md, "Calibration"): tools/moat-fit fits the scores
# of the default configuration (stock SpamAssassin rules, default.rules,
# Bayes when moatctl learns) on a corpus with ham/ and spam/ folders.
# Neither target is part of `make check`, and nothing else needs a corpus.
#   make quality CORPUS=DIR     5-fold cross-validated figures, beside
#                               SpamAssassin's verdicts (DIR/sa_hits.tsv)
#   make calibrate CORPUS=DIR   refit on all of DIR, rewrite
#                               rules/calibrated.cf and
#                               rules/calibrated-nobayes.cf (the shipped
#                               scores, with and without Bayes)
dist_pkgdata_DATA += rules/calibrated.cf rules/calibrated-nobayes.cf
EXTRA_DIST += tools/moat-fit tests/unit/test_moat_fit.py
TESTS += tests/unit/test_moat_fit.py

MOAT_FIT = $(PYTHON3) $(top_srcdir)/tools/moat-fit
MOAT_FIT_ARGS = --moatctl ./moatctl$(EXEEXT) --corpus $(CORPUS) \
	--sa-stock -r $(top_srcdir)/rules/default.rules

quality: moatctl$(EXEEXT)
	@test -n "$(CORPUS)" || { echo "make quality CORPUS=DIR" >&2; exit 2; }
	$(MOAT_FIT) quality $(MOAT_FIT_ARGS)

calibrate: moatctl$(EXEEXT)
	@test -n "$(CORPUS)" || { echo "make calibrate CORPUS=DIR" >&2; exit 2; }
	$(MOAT_FIT) calibrate $(MOAT_FIT_ARGS) \
	    -o $(top_srcdir)/rules/calibrated.cf
.PHONY: quality calibrate
