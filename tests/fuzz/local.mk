# libFuzzer targets: ./configure CC=clang --enable-fuzzing.  Each target is
# added to FUZZ_TARGETS.  `make fuzz-smoke` runs each for a while.
FUZZ_TARGETS =
FUZZ_LIBS = libengine.a libsmtp.a libcommon.a
# fuzz targets: smtp
FUZZ_TARGETS += fuzz_smtp_cmd fuzz_smtp_reply
fuzz_smtp_cmd_SOURCES = tests/fuzz/fuzz_smtp_cmd.c
fuzz_smtp_cmd_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_cmd_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_cmd_LDADD = $(FUZZ_LIBS)
fuzz_smtp_reply_SOURCES = tests/fuzz/fuzz_smtp_reply.c
fuzz_smtp_reply_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_reply_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_reply_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_cmd/session \
	tests/fuzz/seeds/fuzz_smtp_cmd/relay \
	tests/fuzz/seeds/fuzz_smtp_cmd/literals \
	tests/fuzz/seeds/fuzz_smtp_cmd/utf8 \
	tests/fuzz/seeds/fuzz_smtp_cmd/path \
	tests/fuzz/seeds/fuzz_smtp_cmd/verbs \
	tests/fuzz/seeds/fuzz_smtp_reply/ehlo \
	tests/fuzz/seeds/fuzz_smtp_reply/pipelined \
	tests/fuzz/seeds/fuzz_smtp_reply/bad
# fuzz target: DSN and AUTH= parameter values (issue 12)
FUZZ_TARGETS += fuzz_smtp_esmtp
fuzz_smtp_esmtp_SOURCES = tests/fuzz/fuzz_smtp_esmtp.c
fuzz_smtp_esmtp_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_esmtp_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_esmtp_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_esmtp
# fuzz targets: data
FUZZ_TARGETS += fuzz_smtp_data fuzz_proxy_proto
fuzz_smtp_data_SOURCES = tests/fuzz/fuzz_smtp_data.c
fuzz_smtp_data_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_data_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_data_LDADD = $(FUZZ_LIBS)
fuzz_proxy_proto_SOURCES = tests/fuzz/fuzz_proxy_proto.c
fuzz_proxy_proto_CFLAGS = $(AM_CFLAGS)
fuzz_proxy_proto_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_proxy_proto_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_data tests/fuzz/seeds/fuzz_proxy_proto
# fuzz target: BDAT chunk reader (issue 12)
FUZZ_TARGETS += fuzz_smtp_bdat
fuzz_smtp_bdat_SOURCES = tests/fuzz/fuzz_smtp_bdat.c
fuzz_smtp_bdat_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_bdat_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_bdat_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_bdat
# fuzz: msg
FUZZ_TARGETS += fuzz_mime
fuzz_mime_SOURCES = tests/fuzz/fuzz_mime.c
fuzz_mime_CFLAGS = $(AM_CFLAGS)
fuzz_mime_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_mime_LDADD = librules.a libcommon.a $(PCRE2_LIBS) $(HS_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_mime/t1.eml tests/fuzz/seeds/fuzz_mime/t5.eml \
	tests/fuzz/seeds/fuzz_mime/t8.eml tests/fuzz/seeds/fuzz_mime/u1.eml \
	tests/fuzz/seeds/fuzz_mime/u3.eml tests/fuzz/seeds/fuzz_mime/v5.eml
# fuzz: engine (the rule loader)
FUZZ_TARGETS += fuzz_rule_load
fuzz_rule_load_SOURCES = tests/fuzz/fuzz_rule_load.c
fuzz_rule_load_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(HS_CFLAGS)
fuzz_rule_load_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_rule_load_LDADD = $(RULES_LIBS) $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_rule_load/native \
	tests/fuzz/seeds/fuzz_rule_load/sa \
	tests/fuzz/seeds/fuzz_rule_load/replace \
	tests/fuzz/seeds/fuzz_rule_load/meta \
	tests/fuzz/seeds/fuzz_rule_load/replace-blowup \
	tests/fuzz/seeds/fuzz_rule_load/core \
	tests/fuzz/seeds/fuzz_rule_load/lang-empty \
	tests/fuzz/seeds/fuzz_rule_load/starts \
	tests/fuzz/seeds/fuzz_rule_load/evals \
	tests/fuzz/seeds/fuzz_rule_load/headers
# fuzz targets: SASL (issue 5).  Only sasl.o is pulled from libauth.a.
FUZZ_TARGETS += fuzz_sasl
fuzz_sasl_SOURCES = tests/fuzz/fuzz_sasl.c
fuzz_sasl_CFLAGS = $(AM_CFLAGS)
fuzz_sasl_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_sasl_LDADD = libauth.a $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_sasl/plain \
	tests/fuzz/seeds/fuzz_sasl/login \
	tests/fuzz/seeds/fuzz_sasl/cancel \
	tests/fuzz/seeds/fuzz_sasl/bad

# The STARTTLS transition: plaintext buffered before the wrap never reaches
# the application (RFC 3207 4.2, CVE-2011-0411).
FUZZ_TARGETS += fuzz_starttls
fuzz_starttls_SOURCES = tests/fuzz/fuzz_starttls.c proxy/tls.c proxy/tls.h
fuzz_starttls_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS)
fuzz_starttls_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_starttls_LDADD = $(FUZZ_LIBS) $(OPENSSL_LIBS) $(LIBEVENT_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_starttls/rset \
	tests/fuzz/seeds/fuzz_starttls/clienthello-ish
# fuzz target: Authentication-Results and DNS list syntax (issue 16).
FUZZ_TARGETS += fuzz_authres
fuzz_authres_SOURCES = tests/fuzz/fuzz_authres.c
fuzz_authres_CFLAGS = $(AM_CFLAGS)
fuzz_authres_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_authres_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_authres/ours \
	tests/fuzz/seeds/fuzz_authres/comments \
	tests/fuzz/seeds/fuzz_authres/sites \
	tests/fuzz/seeds/fuzz_authres/writer \
	tests/fuzz/seeds/fuzz_authres/uri \
	tests/fuzz/seeds/fuzz_authres/strip
# fuzz target: scoring/greylist.c (normalisation, names, key split)
FUZZ_TARGETS += fuzz_greylist
fuzz_greylist_SOURCES = tests/fuzz/fuzz_greylist.c
fuzz_greylist_CFLAGS = $(AM_CFLAGS)
fuzz_greylist_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_greylist_LDADD = libscoring.a
EXTRA_DIST += tests/fuzz/seeds/fuzz_greylist/srs0 \
	tests/fuzz/seeds/fuzz_greylist/srs1 \
	tests/fuzz/seeds/fuzz_greylist/batv \
	tests/fuzz/seeds/fuzz_greylist/verp \
	tests/fuzz/seeds/fuzz_greylist/name
# fuzz: the Bayes tokenizer, seeded with the MIME fuzzer's messages
FUZZ_TARGETS += fuzz_bayes_tok
fuzz_bayes_tok_SOURCES = tests/fuzz/fuzz_bayes_tok.c
fuzz_bayes_tok_CFLAGS = $(AM_CFLAGS)
fuzz_bayes_tok_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_bayes_tok_LDADD = librules.a libcommon.a $(PCRE2_LIBS) $(HS_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_bayes_tok/t1.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/t5.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/t8.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/u1.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/u3.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/v5.eml \
	tests/fuzz/seeds/fuzz_bayes_tok/b1.eml
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
