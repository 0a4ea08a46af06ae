# proxy/: moatd.  libproxy.a holds the pure modules (parsers, config, log,
# address sets) so unit tests, fuzzers and tools link them without the daemon.
noinst_LIBRARIES += libproxy.a
libproxy_a_SOURCES =
include proxy/parsers.mk
include proxy/data.mk
include proxy/config.mk

sbin_PROGRAMS += moatd
moatd_SOURCES = proxy/main.c
moatd_LDADD = libproxy.a libcommon.a $(LIBEVENT_LIBS) $(PTHREAD_LIBS)
moatd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
