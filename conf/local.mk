# conf/: libconf.a, moat.conf parsed into an immutable, refcounted struct
# config (moat_conf.h; named so that it never clashes with autoconf's
# config.h).  It checks dnsbl_sites with engine/sauth_ar.c's parser and
# addresses with smtp/, so it links before libengine.a and libsmtp.a.
noinst_LIBRARIES += libconf.a
libconf_a_SOURCES = conf/moat_conf.c conf/moat_conf.h
CONF_LIBS = libconf.a libengine.a libsmtp.a libcommon.a
