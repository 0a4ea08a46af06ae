# libFuzzer targets: ./configure CC=clang --enable-fuzzing.  Each fragment
# adds programs to FUZZ_TARGETS.  `make fuzz-smoke` runs each for a while.
FUZZ_TARGETS =
FUZZ_LIBS = libproxy.a libcommon.a
include tests/fuzz/smtp.mk
include tests/fuzz/data.mk
include tests/fuzz/msg.mk
include tests/fuzz/engine.mk
include tests/fuzz/auth.mk
include tests/fuzz/sauth.mk
include tests/fuzz/grey.mk
include tests/fuzz/bayes.mk
if ENABLE_FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
endif
FUZZ_SECONDS ?= 30
fuzz-smoke: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  mkdir -p fuzz-corpus/$$t; \
	  ./$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz-corpus/$$t \
	    $(srcdir)/tests/fuzz/seeds/$$(basename $$t) || exit 1; \
	done
.PHONY: fuzz-smoke
