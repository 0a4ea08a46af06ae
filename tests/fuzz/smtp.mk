# fuzz targets: smtp
FUZZ_TARGETS += fuzz_smtp_cmd fuzz_smtp_reply
fuzz_smtp_cmd_SOURCES = tests/fuzz/fuzz_smtp_cmd.c
fuzz_smtp_cmd_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_cmd_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_cmd_LDADD = $(FUZZ_LIBS)
fuzz_smtp_reply_SOURCES = tests/fuzz/fuzz_smtp_reply.c
fuzz_smtp_reply_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_reply_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_reply_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_cmd/session \
	tests/fuzz/seeds/fuzz_smtp_cmd/relay \
	tests/fuzz/seeds/fuzz_smtp_cmd/literals \
	tests/fuzz/seeds/fuzz_smtp_cmd/utf8 \
	tests/fuzz/seeds/fuzz_smtp_cmd/path \
	tests/fuzz/seeds/fuzz_smtp_cmd/verbs \
	tests/fuzz/seeds/fuzz_smtp_reply/ehlo \
	tests/fuzz/seeds/fuzz_smtp_reply/pipelined \
	tests/fuzz/seeds/fuzz_smtp_reply/bad
# fuzz target: DSN and AUTH= parameter values (issue 12)
FUZZ_TARGETS += fuzz_smtp_esmtp
fuzz_smtp_esmtp_SOURCES = tests/fuzz/fuzz_smtp_esmtp.c
fuzz_smtp_esmtp_CFLAGS = $(AM_CFLAGS)
fuzz_smtp_esmtp_LDFLAGS = $(FUZZ_CFLAGS)
fuzz_smtp_esmtp_LDADD = $(FUZZ_LIBS)
EXTRA_DIST += tests/fuzz/seeds/fuzz_smtp_esmtp
