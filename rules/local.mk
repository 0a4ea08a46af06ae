# rules/: librules.a, the rule language and the message model.  Pure: no
# sockets, no event loop, no clock, no logging (DESIGN.md, Layout).
noinst_LIBRARIES += librules.a
librules_a_SOURCES =
librules_a_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(HS_CFLAGS)
RULES_LIBS = librules.a libcommon.a $(PCRE2_LIBS) $(HS_LIBS)
# message model: MIME, RFC 2047, HTML to text, URIs
librules_a_SOURCES += rules/msg.h rules/msg_impl.h rules/msg.c \
	rules/msg_text.c rules/msg_html.c rules/msg_uri.c rules/msg_get.c
EXTRA_DIST += rules/msg_entities.inc rules/msg_colors.inc rules/msg_tlds.inc tools/sa_msgdump.pl \
	tools/msgcompare.py
noinst_PROGRAMS += msgdump
msgdump_SOURCES = tools/msgdump.c
msgdump_LDADD = $(RULES_LIBS)
# rule language: loader, evaluator (rules/rule.h)
librules_a_SOURCES += rules/rule.h rules/rule_int.h rules/rule_load.c \
	rules/rule_eval.c rules/rule_relays.c \
	rules/rule_prefilter.c rules/rule_core.c rules/rule_hs.c \
	rules/rule_saeval.h rules/rule_saeval_int.h rules/rule_saeval.c \
	rules/rule_saeval_mime.c rules/rule_saeval_html.c \
	rules/rule_bigre.c
# the shipped rules
dist_pkgdata_DATA = rules/default.rules
EXTRA_DIST += doc/rules.md bench/rules-scan.sh

# The SpamAssassin agreement figure (doc/rules.md).  Not part of `make
# check`: it needs the corpus and Debian's spamassassin package.
#   make sa-agreement CORPUS=/work/shared/corpus
CORPUS ?= ../shared/corpus
sa-agreement: moatctl$(EXEEXT)
	./moatctl$(EXEEXT) agree --sa-stock $(CORPUS)
.PHONY: sa-agreement
# Bayes tokenizer (rules/bayes_tok.h): a message's tokens, pure
librules_a_SOURCES += rules/bayes_tok.h rules/bayes_tok.c
# sender authentication facts and rules (issue 16, engine/sauth_ar.c)
dist_pkgdata_DATA += rules/auth.rules
