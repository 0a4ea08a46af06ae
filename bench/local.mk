# bench: benchmarks.  They print figures; they are not tests, and nothing
# here runs under `make check`.  See bench/README.md.
EXTRA_DIST += bench/README.md bench/proxy.py bench/proxy-grey.py

# moatd against a plain TCP relay (HAProxy) and against no proxy at all,
# with Postfix's smtp-source and smtp-sink.  Needs root (smtp-sink -u root,
# many descriptors), postfix and haproxy installed; about 3 minutes.
# Extra options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--rounds 5".
.PHONY: bench
bench: moatd$(EXEEXT)
	$(PYTHON3) $(top_srcdir)/bench/proxy.py \
	    --moatd $(abs_top_builddir)/moatd$(EXEEXT) $(BENCH_ARGS)

# moatd with greylisting off, on with the memory store and on with Redis
# (passed triplets), and the RCPT latency greylisting adds.  Needs root,
# postfix and redis-server; about 1.5 minutes.  proxy-grey.py imports
# proxy.py from its own directory.
.PHONY: bench-grey
bench-grey: moatd$(EXEEXT) store_driver$(EXEEXT)
	$(PYTHON3) $(top_srcdir)/bench/proxy-grey.py \
	    --moatd $(abs_top_builddir)/moatd$(EXEEXT) \
	    --store-driver $(abs_top_builddir)/store_driver$(EXEEXT) \
	    $(BENCH_ARGS)

# TLS handshakes/s, messages over STARTTLS vs plain at 50 sessions, AUTH
# verifications/s (yescrypt) and other sessions' latency under AUTH load.
# Needs root, postfix, openssl, cc and libcrypt-dev; about 3 minutes.
EXTRA_DIST += bench/proxy-tls.py bench/proxy-tls-hash.c
.PHONY: bench-tls
bench-tls: moatd$(EXEEXT)
	$(PYTHON3) $(top_srcdir)/bench/proxy-tls.py \
	    --moatd $(abs_top_builddir)/moatd$(EXEEXT) $(BENCH_ARGS)

# What each pattern of one stage of the stock SpamAssassin rules costs
# alone, with Hyperscan and with PCRE2, and the stage's whole Hyperscan
# database with and without the most costly: doc/rules.md, section 10.
# Needs Hyperscan and the spamassassin package; about 3 minutes for body.
#   make bench-rule-cost MSGS="FILE..." [BENCH_ARGS="--stage uri --top 50"]
EXTRA_PROGRAMS = rule-cost
rule_cost_SOURCES = bench/rule-cost.c
rule_cost_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(HS_CFLAGS)
rule_cost_LDADD = $(RULES_LIBS)
CLEANFILES += rule-cost$(EXEEXT)
.PHONY: bench-rule-cost
bench-rule-cost: rule-cost$(EXEEXT)
	./rule-cost$(EXEEXT) $(BENCH_ARGS) $(MSGS)

# Bayes alone, k-fold cross-validation on a corpus of spam/ and ham/
# (doc/rules.md, "Bayes"); about half a minute on ../shared/corpus.
#   make bench-bayes CORPUS=../shared/corpus
EXTRA_DIST += bench/bayes-cv.sh
.PHONY: bench-bayes
bench-bayes: moatctl$(EXEEXT)
	$(SHELL) $(top_srcdir)/bench/bayes-cv.sh -m ./moatctl$(EXEEXT) $(CORPUS)

# moatctl report over a generated 1-million-line log, plain and gzip'd:
# lines/s (issue 17; target >= 500,000).  About 30 seconds; needs awk,
# gzip and bc.  make bench-report BENCH_ARGS=2000000 for another size.
EXTRA_DIST += bench/report-bench.sh
.PHONY: bench-report
bench-report: moatctl$(EXEEXT)
	bash $(top_srcdir)/bench/report-bench.sh \
	    $(abs_top_builddir)/moatctl$(EXEEXT) $(BENCH_ARGS)

# Greylisting under load (doc/greylisting.md) and sender authentication
# (issue 16): scripts run by hand, shipped in the tarball.
EXTRA_DIST += bench/grey-bench.sh bench/sender-auth.sh \
	bench/sender-auth-moatd.py
