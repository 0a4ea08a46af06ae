# libcommon.a: allocation, byte buffers and digit values shared by every
# module. Pure.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = common/xmalloc.c common/xmalloc.h common/sbuf.c common/sbuf.h \
	common/digits.h
