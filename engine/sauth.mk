# engine/: sender authentication (issue 16).  Its own fragment, not
# engine/local.mk, because issue 13 creates that file in another branch.
# The pure part (results, facts, Authentication-Results, DNS list syntax)
# goes into libproxy.a so config.c can check dnsbl_sites with the parser
# the checks use; the library-backed checks are libsauth.a.
libproxy_a_SOURCES += engine/sauth.h engine/sauth_ar.c
noinst_LIBRARIES += libsauth.a
libsauth_a_SOURCES = engine/sauth_check.c engine/sauth_check.h \
	engine/sauth_pool.c engine/sauth_pool.h
libsauth_a_CFLAGS = $(AM_CFLAGS) $(OPENDKIM_CFLAGS) $(LIBEVENT_CFLAGS)
moatctl_SOURCES += tools/ctl_auth.c
moatctl_CFLAGS += $(OPENDKIM_CFLAGS)
moatctl_LDADD += libsauth.a $(SAUTH_LIBS) libcommon.a
dist_pkgdata_DATA += rules/auth.rules
EXTRA_DIST += bench/sender-auth.sh
