# bench: benchmarks.  They print figures; they are not tests, and nothing
# here runs under `make check`.  See bench/README.md.
EXTRA_DIST += bench/README.md bench/proxy.py

# moatd against a plain TCP relay (HAProxy) and against no proxy at all,
# with Postfix's smtp-source and smtp-sink.  Needs root (smtp-sink -u root,
# many descriptors), postfix and haproxy installed; about 3 minutes.
# Extra options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--rounds 5".
.PHONY: bench
bench: moatd$(EXEEXT)
	$(PYTHON3) $(top_srcdir)/bench/proxy.py \
	    --moatd $(abs_top_builddir)/moatd$(EXEEXT) $(BENCH_ARGS)
