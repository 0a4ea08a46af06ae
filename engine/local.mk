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

# The step driver and its steps (engine.h), built into moatd for now: the
# steps call proxy/policy.c and proxy/bayes_live.c, which moatd holds.
ENGINE_SOURCES = engine/engine.c engine/engine.h engine/eng_steps.h \
	engine/eng_rate.c engine/eng_grey.c engine/eng_rules.c \
	engine/eng_dns.c engine/eng_bayes.c \
	engine/eng_sauth.c engine/eng_sauth.h
