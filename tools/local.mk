# tools: moatctl (tools/moatctl.c): the offline scanner and rule checker,
# and `moatctl greylist`, which reads moatd's config and administers the
# greylist state in Redis through the same store code (libstore.a).
bin_PROGRAMS += moatctl
moatctl_SOURCES = tools/moatctl.c tools/ctl_bayes.c tools/ctl_bayes.h
# scan -c builds its rules and thresholds with moatd's own policy.c.
moatctl_SOURCES += proxy/policy.c proxy/policy.h
moatctl_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(LIBEVENT_CFLAGS)
moatctl_LDADD = libstore.a libproxy.a libbayesdb.a libscoring.a $(RULES_LIBS) \
	$(LMDB_LIBS) $(MATH_LIBS) \
	$(HIREDIS_LIBS) $(LIBEVENT_LIBS) $(PTHREAD_LIBS)

# moatctl report (tools/ctl_report.c): the log summary; zlib reads
# gzip'd rotated logs.
moatctl_SOURCES += tools/ctl_report.c tools/ctl_report.h
moatctl_CFLAGS += $(ZLIB_CFLAGS)
moatctl_LDADD += $(ZLIB_LIBS)

# moatctl stats (tools/ctl_stats.c): moatd's counters from metrics_listen.
moatctl_SOURCES += tools/ctl_stats.c tools/ctl_stats.h
