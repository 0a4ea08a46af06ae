# rules/: librules.a, the rule language and the message model.  Pure: no
# sockets, no event loop, no clock, no logging (DESIGN.md, Layout).
noinst_LIBRARIES += librules.a
librules_a_SOURCES =
librules_a_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) $(HS_CFLAGS)
RULES_LIBS = librules.a libcommon.a $(PCRE2_LIBS) $(HS_LIBS)
include rules/msg.mk
include rules/engine.mk
include rules/bayes.mk
