# engine/: libengine.a, what a transaction is checked with, below the
# front ends: the relay decision (relay.c, pure) and sender
# authentication (issue 16): the pure part (results, facts,
# Authentication-Results, DNS list syntax: sauth_ar.c, which conf/ also
# uses to check dnsbl_sites) and the library-backed checks (sauth_check.c)
# with their pool (sauth_pool.c), which need $(SAUTH_LIBS) when linked.
noinst_LIBRARIES += libengine.a
libengine_a_SOURCES = engine/relay.c engine/relay.h
libengine_a_SOURCES += engine/sauth.h engine/sauth_ar.c \
	engine/sauth_check.c engine/sauth_check.h \
	engine/sauth_pool.c engine/sauth_pool.h
libengine_a_CFLAGS = $(AM_CFLAGS) $(OPENDKIM_CFLAGS) $(LIBEVENT_CFLAGS)

# The step driver and its steps (engine.h), with what the steps call:
# the rule set and thresholds (policy.c), Bayes (bayes_live.c) and the
# client's name (dns.c).  Every front end (moatd, moat-milter, moatctl
# scan) links this one library; nothing here knows a session or a socket.
libengine_a_SOURCES += engine/engine.c engine/engine.h engine/eng_steps.h \
	engine/eng_rate.c engine/eng_grey.c engine/eng_rules.c \
	engine/eng_dns.c engine/eng_bayes.c \
	engine/eng_sauth.c engine/eng_sauth.h \
	engine/policy.c engine/policy.h engine/bayes_live.c \
	engine/bayes_live.h engine/dns.c engine/dns.h
libengine_a_CFLAGS += $(PCRE2_CFLAGS)
# libengine.a needs these after it; libconf.a uses sauth_ar.c from it,
# hence libengine.a twice.
ENGINE_LIBS = libengine.a libstore.a libauth.a libconf.a libengine.a \
	libsmtp.a libscoring.a librules.a libcommon.a
