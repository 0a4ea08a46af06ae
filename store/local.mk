# store/: libstore.a, the greylist and rate-limit stores (store.h): the
# memory store and the Redis store (hiredis async, libevent adapter), and
# the Bayes token stores (bayes_db.h): LMDB and Redis.  Links against
# libscoring.a (greylist.c), librules.a (the tokenizer), libcommon.a.
noinst_LIBRARIES += libstore.a
libstore_a_SOURCES = store/store.h store/store_int.h store/store.c \
	store/store_mem.c store/store_redis.c \
	store/store_cfg.c store/store_cfg.h
libstore_a_SOURCES += store/bayes_db.h store/bayes_db.c \
	store/bayes_idx.h store/bayes_idx.c \
	store/bayes_redis.h store/bayes_redis.c store/bayes_aredis.c
libstore_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(HIREDIS_CFLAGS) \
	$(LMDB_CFLAGS)
STORE_LIBS = libstore.a libscoring.a libcommon.a \
	$(LIBEVENT_LIBS) $(HIREDIS_LIBS) $(PTHREAD_LIBS)
BAYES_LIBS = libstore.a libscoring.a librules.a libcommon.a $(LMDB_LIBS) \
	$(HIREDIS_LIBS) $(MATH_LIBS)
