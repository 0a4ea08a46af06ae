# libcommon.a: allocation and byte buffers shared by every module. Pure.
noinst_LIBRARIES += libcommon.a
libcommon_a_SOURCES = common/xmalloc.c common/xmalloc.h common/sbuf.c common/sbuf.h
