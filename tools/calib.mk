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
