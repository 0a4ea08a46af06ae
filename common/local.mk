# common/: libcommon.a: allocation, byte buffers, digit values, the
# monotonic clock, the write(2) loop, the bounded job pool, logging,
# address sets and the file bundle every module shares.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = common/xmalloc.c common/xmalloc.h common/sbuf.c common/sbuf.h \
	common/digits.h common/clock.c common/clock.h common/fdio.c common/fdio.h \
	common/jobpool.c common/jobpool.h
libcommon_a_SOURCES += common/log.c common/log.h common/netaddr.c common/netaddr.h \
	common/filesrc.c common/filesrc.h
