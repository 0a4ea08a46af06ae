# libcommon.a: allocation, byte buffers, digit values, the monotonic clock
# and the write(2) loop shared by every module.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = common/xmalloc.c common/xmalloc.h common/sbuf.c common/sbuf.h \
	common/digits.h common/clock.c common/clock.h common/fdio.c common/fdio.h \
	common/jobpool.c common/jobpool.h
