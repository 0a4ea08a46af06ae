# proxy/: libstore.a, the greylist and rate-limit stores (store.h): the
# memory store and the Redis store (hiredis async, libevent adapter).
# Links against libscoring.a (greylist.c), libproxy.a (log.c), libcommon.a.
noinst_LIBRARIES += libstore.a
libstore_a_SOURCES = proxy/store.h proxy/store_int.h proxy/store.c \
	proxy/store_mem.c proxy/store_redis.c \
	proxy/store_cfg.c proxy/store_cfg.h
libstore_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(HIREDIS_CFLAGS)
EXTRA_DIST += doc/greylisting.md
EXTRA_DIST += bench/grey-bench.sh
