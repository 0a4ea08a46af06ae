/*
 * test_log.c: escaping, logfmt and JSON lines, free text, AUTH credentials
 * cut from traced command lines (common/log.c).
 * Lines are checked through log_render() with a fixed time; the few tests
 * that go through stderr capture it in a temp file and check only the
 * shape of the timestamp, never its value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* 2026-11-24T00:05:21.123Z */
static const struct timespec fixed_ts = { 1795478721, 123456789 };

static char *
render(const struct logline *l, int with_ts)
{
	static char out[LOG_RENDER_MAX];

	log_render(out, sizeof(out), l, with_ts ? &fixed_ts : NULL);
	return out;
}

static void
test_escape(void **state)
{
	char out[LOG_ESCAPE_SIZE(LOG_VALUE_MAX)], in[LOG_VALUE_MAX + 10];
	size_t n;

	(void)state;
	assert_int_equal(log_escape(out, sizeof(out), "abc", 3, 256), 3);
	assert_string_equal(out, "abc");
	log_escape(out, sizeof(out), "a\r\n\t\x1b" "b", 6, 256);
	assert_string_equal(out, "a\\x0d\\x0a\\x09\\x1bb");
	log_escape(out, sizeof(out), "say \"hi\" \\o/", 12, 256);
	assert_string_equal(out, "say \\\"hi\\\" \\\\o/");
	/* DEL and UTF-8 bytes, bytewise */
	log_escape(out, sizeof(out), "\x7f\xc3\xa9~", 4, 256);
	assert_string_equal(out, "\\x7f\\xc3\\xa9~");
	/* an embedded NUL is data, not the end */
	n = log_escape(out, sizeof(out), "a\0b", 3, 256);
	assert_int_equal(n, 6);
	assert_string_equal(out, "a\\x00b");
	assert_int_equal(log_escape(out, sizeof(out), "", 0, 256), 0);
	assert_string_equal(out, "");

	/* the cap, with its marker; exactly cap bytes has none */
	memset(in, 'a', sizeof(in));
	n = log_escape(out, sizeof(out), in, 257, 256);
	assert_int_equal(n, 259);
	assert_memory_equal(out + 250, "aaaaaa...", 10);
	n = log_escape(out, sizeof(out), in, 256, 256);
	assert_int_equal(n, 256);
	assert_int_equal(out[255], 'a');
	/* the worst case fits LOG_ESCAPE_SIZE exactly */
	memset(in, 0x01, sizeof(in));
	n = log_escape(out, sizeof(out), in, sizeof(in), LOG_VALUE_MAX);
	assert_int_equal(n, 4 * LOG_VALUE_MAX + 3);
	assert_int_equal(n + 1, sizeof(out));
	assert_string_equal(out + n - 7, "\\x01...");
	assert_string_equal(out + n - 3, "...");
	assert_int_equal(log_escape(out, 4, "ab", 2, 1), 1);
	assert_string_equal(out, "a");
	/* too small: stops at the last whole escape */
	n = log_escape(out, 6, "ab\x01", 3, 256);
	assert_int_equal(n, 2);
	assert_string_equal(out, "ab");
	n = log_escape(out, 7, "ab\x01", 3, 256);
	assert_string_equal(out, "ab\\x01");
	out[0] = 'Z';
	assert_int_equal(log_escape(out, 0, "ab", 2, 256), 0);
	assert_int_equal(out[0], 'Z');
}

static void
test_logfmt_line(void **state)
{
	struct logline l;

	(void)state;
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
	logline_begin(&l, "session");
	logline_str(&l, "id", "00000000deadbeef");
	logline_str(&l, "client", "192.0.2.1");
	logline_str(&l, "helo", "evil\r\nevent=fake");
	logline_str(&l, "sp", "a b");
	logline_str(&l, "eq", "a=b");
	logline_str(&l, "q", "say \"x\"");
	logline_str(&l, "bs", "a\\b");
	logline_str(&l, "empty", "");
	logline_str(&l, "null", NULL);
	logline_strn(&l, "n", "ab\0cd", 5);
	logline_int(&l, "ms", -12);
	logline_dbl(&l, "score", 5.25);
	assert_false(l.truncated);
	assert_string_equal(l.buf, "event=session id=00000000deadbeef "
	    "client=192.0.2.1 helo=\"evil\\x0d\\x0aevent=fake\" sp=\"a b\" "
	    "eq=\"a=b\" q=\"say \\\"x\\\"\" bs=a\\\\b empty=\"\" null=\"\" "
	    "n=ab\\x00cd ms=-12 score=5.25");
	assert_string_equal(render(&l, 1), "ts=2026-11-24T00:05:21.123Z "
	    "event=session id=00000000deadbeef client=192.0.2.1 "
	    "helo=\"evil\\x0d\\x0aevent=fake\" sp=\"a b\" eq=\"a=b\" "
	    "q=\"say \\\"x\\\"\" bs=a\\\\b empty=\"\" null=\"\" n=ab\\x00cd "
	    "ms=-12 score=5.25");
	/* syslog: no ts */
	assert_int_equal(strncmp(render(&l, 0), "event=session id=", 17), 0);

	logline_begin(&l, "x");
	logline_dbl(&l, "nan", NAN);
	logline_dbl(&l, "inf", INFINITY);
	assert_string_equal(l.buf, "event=x nan=nan inf=inf");
}

static void
test_json_line(void **state)
{
	struct logline l;

	(void)state;
	log_init(0, 0, "test", LOG_FMT_JSON);
	logline_begin(&l, "tx");
	logline_str(&l, "from", "a\"b\\c\x01\x7f\xc3\xa9 d=e");
	logline_str(&l, "null", NULL);
	logline_int(&l, "rcpts", 3);
	logline_dbl(&l, "score", -1.5);
	logline_dbl(&l, "nan", NAN);
	assert_string_equal(render(&l, 1), "{\"ts\":\"2026-11-24T00:05:21.123Z"
	    "\",\"event\":\"tx\",\"from\":\"a\\\"b\\\\c\\u0001\\u007f\xc3"
	    "\xa9 d=e\",\"null\":\"\",\"rcpts\":3,\"score\":-1.5,"
	    "\"nan\":null}");
	assert_string_equal(render(&l, 0), "{\"event\":\"tx\",\"from\":\"a\\\"b"
	    "\\\\c\\u0001\\u007f\xc3\xa9 d=e\",\"null\":\"\","
	    "\"rcpts\":3,\"score\":-1.5,\"nan\":null}");
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
}

/* JSON: one value, as the line carries it (between the quotes). */
static const char *
json_value(const char *v, size_t n)
{
	static char out[LOG_RENDER_MAX];
	struct logline l;
	const char *p;

	log_init(0, 0, "test", LOG_FMT_JSON);
	logline_begin(&l, "e");
	logline_strn(&l, "v", v, n);
	p = strstr(render(&l, 0), "\"v\":\"") + 5;
	snprintf(out, sizeof(out), "%.*s", (int)(strlen(p) - 2), p);
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
	return out;
}

/*
 * Well-formed UTF-8 goes into JSON as it is; every byte of anything else
 * (stray continuation, overlong, surrogate, above U+10FFFF, cut short) is
 * escaped.  logfmt stays bytewise.
 */
static void
test_json_utf8(void **state)
{
	char out[LOG_ESCAPE_SIZE(16)];

	(void)state;
	assert_string_equal(json_value("s\xc3\xabnder", 7), "s\xc3\xabnder");
	assert_string_equal(json_value("\xe2\x82\xac \xf0\x9f\x93\xa7 "
	    "\xef\xbf\xbf \xf4\x8f\xbf\xbf", 17),
	    "\xe2\x82\xac \xf0\x9f\x93\xa7 \xef\xbf\xbf \xf4\x8f\xbf\xbf");
	assert_string_equal(json_value("\x80" "a", 2), "\\u0080a");
	assert_string_equal(json_value("\xc0\xaf", 2), "\\u00c0\\u00af");
	assert_string_equal(json_value("\xe0\x80\xaf", 3),
	    "\\u00e0\\u0080\\u00af");
	assert_string_equal(json_value("\xed\xa0\x80", 3),
	    "\\u00ed\\u00a0\\u0080");
	assert_string_equal(json_value("\xf4\x90\x80\x80", 4),
	    "\\u00f4\\u0090\\u0080\\u0080");
	assert_string_equal(json_value("\xf5\x80\x80\x80", 4),
	    "\\u00f5\\u0080\\u0080\\u0080");
	assert_string_equal(json_value("a\xc3", 2), "a\\u00c3");
	assert_string_equal(json_value("\xe2\x82x", 3), "\\u00e2\\u0082x");
	/* a sequence cut by the value cap is not let through half */
	{
		char big[LOG_VALUE_MAX + 2];
		const char *v;

		memset(big, 'a', sizeof(big));
		big[LOG_VALUE_MAX - 1] = (char)0xc3;
		big[LOG_VALUE_MAX] = (char)0xa9;
		v = json_value(big, sizeof(big));
		assert_string_equal(v + strlen(v) - 9, "\\u00c3...");
	}
	/* logfmt: unchanged, bytewise */
	log_escape(out, sizeof(out), "s\xc3\xabnder", 7, 256);
	assert_string_equal(out, "s\\xc3\\xabnder");
}

/* Every byte value gives printable ASCII in JSON: valid UTF-8 always. */
static void
test_json_all_bytes(void **state)
{
	struct logline l;
	char all[256];
	const char *p;
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	log_init(0, 0, "test", LOG_FMT_JSON);
	logline_begin(&l, "bytes");
	logline_strn(&l, "v", all, 200);
	logline_strn(&l, "w", all + 200, 56);
	assert_false(l.truncated);
	for (p = render(&l, 1); *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	/* the structure around them is intact */
	p = render(&l, 0);
	assert_string_equal(p + strlen(p) - 2, "\"}");
	assert_non_null(strstr(p, "\\u0000\\u0001"));
	assert_non_null(strstr(p, "\\u00ff\"}"));
	assert_non_null(strstr(p, "\\\"#$%&'()*+,-./0"));
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
}

static void
test_value_cap(void **state)
{
	struct logline l;
	char big[1000];
	char expect[LOG_VALUE_MAX + 16];

	(void)state;
	memset(big, 'x', sizeof(big));
	logline_begin(&l, "e");
	logline_strn(&l, "v", big, sizeof(big));
	memcpy(expect, "event=e v=", 10);
	memset(expect + 10, 'x', LOG_VALUE_MAX);
	strcpy(expect + 10 + LOG_VALUE_MAX, "...");
	assert_string_equal(l.buf, expect);
	assert_false(l.truncated);
}

static void
test_truncation(void **state)
{
	struct logline l;
	char big[LOG_VALUE_MAX], *r;
	int i;

	(void)state;
	memset(big, 0x01, sizeof(big));	/* 4 bytes each once escaped */
	logline_begin(&l, "e");
	for (i = 0; i < 20; i++)
		logline_strn(&l, "k", big, sizeof(big));
	assert_true(l.truncated);
	assert_true(l.len < LOG_LINE_MAX);
	logline_int(&l, "small", 1);	/* what still fits goes in */
	r = render(&l, 1);
	assert_string_equal(r + strlen(r) - 20, " small=1 truncated=1");
	/* the fields that made it are whole: 7 of 1024 bytes each */
	assert_int_equal(l.len, strlen("event=e") +
	    7 * (3 + 4 * LOG_VALUE_MAX) + strlen(" small=1"));

	log_init(0, 0, "test", LOG_FMT_JSON);
	logline_begin(&l, "e");
	for (i = 0; i < 20; i++)
		logline_strn(&l, "k", big, sizeof(big));
	assert_true(l.truncated);
	r = render(&l, 0);
	assert_string_equal(r + strlen(r) - 16, "\",\"truncated\":1}");
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
}

/* Run fn with stderr going to a temp file; return what it wrote. */
static char *
capture(void (*fn)(void))
{
	static char buf[LOG_RENDER_MAX * 2];
	char path[] = "/tmp/test_log.XXXXXX";
	int fd, saved;
	ssize_t n;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* "ts=YYYY-MM-DDTHH:MM:SS.mmmZ " or the JSON equivalent: shape only. */
static void
check_ts_shape(const char *ts)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd')
			assert_true(ts[i] >= '0' && ts[i] <= '9');
		else
			assert_int_equal(ts[i], shape[i]);
}

static void
emit_info(void)
{
	errno = EAGAIN;
	log_info("hello %s", "wor\nld");
	assert_int_equal(errno, EAGAIN);
	log_warn("careful");
	log_trace(LOG_T_SMTP, "hidden");
}

static void
emit_warn_session(void)
{
	log_warn_session("0123456789abcdef", "backend does not offer %s",
	    "XCLIENT");
}

/* A warning about a session carries session= as a key, not in msg=. */
static void
test_warn_session(void **state)
{
	char *out;

	(void)state;
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
	out = capture(emit_warn_session);
	check_ts_shape(out + 3);
	assert_string_equal(out + 27, " level=warn session=0123456789abcdef "
	    "msg=\"backend does not offer XCLIENT\"\n");
	log_init(0, 0, "test", LOG_FMT_JSON);
	out = capture(emit_warn_session);
	assert_string_equal(out + 31, "\",\"level\":\"warn\",\"session\":"
	    "\"0123456789abcdef\",\"msg\":\"backend does not offer "
	    "XCLIENT\"}\n");
}

static void
test_free_text(void **state)
{
	const char *expect;
	char *out, *p;

	(void)state;
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
	log_set_trace(0);
	out = capture(emit_info);
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	check_ts_shape(out + 3);
	p = out + 3 + 24;
	expect = " level=info msg=\"hello wor\\x0ald\"\n";
	assert_int_equal(strncmp(p, expect, strlen(expect)), 0);
	p = strchr(p, '\n') + 1;
	check_ts_shape(p + 3);
	/* the trace line is not there: its subsystem is off */
	assert_string_equal(p + 27, " level=warn msg=careful\n");

	log_init(0, 0, "test", LOG_FMT_JSON);
	log_set_trace(LOG_T_SMTP);
	assert_int_equal(log_trace_mask(), LOG_T_SMTP);
	out = capture(emit_info);
	assert_int_equal(strncmp(out, "{\"ts\":\"", 7), 0);
	check_ts_shape(out + 7);
	p = out + 7 + 24;
	expect = "\",\"level\":\"info\",\"msg\":\"hello wor\\u000ald\"}\n";
	assert_int_equal(strncmp(p, expect, strlen(expect)), 0);
	p = strchr(p, '\n') + 1;
	expect = "\",\"level\":\"warn\",\"msg\":\"careful\"}\n";
	assert_int_equal(strncmp(p + 31, expect, strlen(expect)), 0);
	p = strchr(p, '\n') + 1;
	assert_string_equal(p + 31, "\",\"level\":\"trace\",\"sub\":\"smtp\","
	    "\"msg\":\"hidden\"}\n");
	log_set_trace(0);
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
}

static void
emit_long(void)
{
	char big[LOG_MSG_MAX + 100];

	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
}

static void
test_long_message(void **state)
{
	char *out;
	size_t n;

	(void)state;
	out = capture(emit_long);
	n = strlen(out);
	/* ts, " level=info msg=", LOG_MSG_MAX bytes, "...", newline */
	assert_int_equal(n, 27 + 16 + LOG_MSG_MAX + 3 + 1);
	assert_string_equal(out + n - 5, "m...\n");
}

static void
emit_line(void)
{
	struct logline l;

	logline_begin(&l, "session");
	logline_str(&l, "id", "1");
	logline_emit(&l);
}

static void
test_emit(void **state)
{
	char *out;

	(void)state;
	out = capture(emit_line);
	check_ts_shape(out + 3);
	assert_string_equal(out + 27, " event=session id=1\n");
}

static void
test_fatal(void **state)
{
	char path[] = "/tmp/test_log.XXXXXX";
	char buf[256];
	int fd, status;
	pid_t pid;
	ssize_t n;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd, 2);
		fatal("config %s broken", "x");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 27);
	buf[n] = '\0';
	assert_string_equal(buf + 27, " level=fatal msg=\"config x broken\"\n");
}

static void
test_trace_parse(void **state)
{
	(void)state;
	assert_int_equal(log_trace_parse(""), 0);
	assert_int_equal(log_trace_parse("io"), LOG_T_IO);
	assert_int_equal(log_trace_parse("io,smtp"), LOG_T_IO | LOG_T_SMTP);
	assert_int_equal(log_trace_parse("backend,config,rules"),
	    LOG_T_BACKEND | LOG_T_CONFIG | LOG_T_RULES);
	assert_int_equal(log_trace_parse("all"), 0x3f);
	assert_int_equal(log_trace_parse("rules,all"), 0x3f);
	assert_int_equal(log_trace_parse("engine"), LOG_T_ENGINE);
	assert_int_equal(log_trace_parse("bogus"), -1);
	assert_int_equal(log_trace_parse("IO"), -1);
	assert_int_equal(log_trace_parse("io,"), -1);
	assert_int_equal(log_trace_parse(",io"), -1);
	assert_int_equal(log_trace_parse("io,,smtp"), -1);
	assert_int_equal(log_trace_parse("i"), -1);
	assert_int_equal(log_trace_parse("iox"), -1);
	log_set_trace(LOG_T_IO | LOG_T_RULES);
	assert_int_equal(log_trace_mask(), LOG_T_IO | LOG_T_RULES);
	log_set_trace(0);
}

/* How much of a command line a trace may show (issue 13: AUTH leak). */
static size_t
shown(const char *line)
{
	return log_cmd_shown(line, strlen(line));
}

static void
test_cmd_shown(void **state)
{
	(void)state;
	assert_int_equal(shown("MAIL FROM:<a@b.test>"), 20);
	assert_int_equal(shown("EHLO auth.test"), 14);
	assert_int_equal(shown("AUTHX PLAIN abc"), 15);
	assert_int_equal(shown("AUTH"), 4);
	assert_int_equal(shown("AUTH PLAIN"), 10);
	assert_int_equal(shown("AUTH PLAIN "), 11);
	assert_int_equal(shown("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), 11);
	assert_int_equal(shown("auth login YWxpY2U="), 11);
	assert_int_equal(shown("AUTH  PLAIN\tAGFs x"), 12);
	assert_int_equal(shown(" AUTH PLAIN AGFs"), 12);
	assert_int_equal(shown("AUTH\tPLAIN ="), 11);
	assert_int_equal(log_cmd_shown("AUTH PLAIN AGFs", 10), 10);
}

static void
emit_cmds(void)
{
	static const char plain[] = "AUTH PLAIN AGFsaWNlAHNlY3JldA==";

	log_trace_cmd(LOG_T_SMTP, "0123456789abcdef", "->", plain,
	    strlen(plain));
	log_trace_cmd(LOG_T_BACKEND, "0123456789abcdef", "backend <-", plain,
	    strlen(plain));
	log_trace_cmd(LOG_T_SMTP, "0123456789abcdef", "->", "QUIT", 4);
	log_trace_cmd(LOG_T_IO, "0123456789abcdef", "->", plain,
	    strlen(plain));
}

static void
test_trace_cmd(void **state)
{
	static const char *const expect[] = {
		" level=trace sub=smtp msg=\"session=0123456789abcdef -> "
		    "AUTH PLAIN <redacted>\"\n",
		" level=trace sub=backend msg=\"session=0123456789abcdef "
		    "backend <- AUTH PLAIN <redacted>\"\n",
		/* QUIT whole; nothing for the io line: that one is off */
		" level=trace sub=smtp msg=\"session=0123456789abcdef -> "
		    "QUIT\"\n",
	};
	char *out, *p;
	size_t i;

	(void)state;
	log_set_trace(LOG_T_SMTP | LOG_T_BACKEND);
	out = capture(emit_cmds);
	assert_null(strstr(out, "AGFs"));
	for (p = out, i = 0; i < 3; i++) {
		check_ts_shape(p + 3);
		assert_int_equal(strncmp(p + 27, expect[i], strlen(expect[i])),
		    0);
		p += 27 + strlen(expect[i]);
	}
	assert_string_equal(p, "");
}

/* Each test starts from the defaults, whatever the last one left. */
static int
reset(void **state)
{
	(void)state;
	log_init(0, 0, "test", LOG_FMT_LOGFMT);
	log_set_trace(0);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_escape, reset),
		cmocka_unit_test_setup(test_logfmt_line, reset),
		cmocka_unit_test_setup(test_json_line, reset),
		cmocka_unit_test_setup(test_json_all_bytes, reset),
		cmocka_unit_test_setup(test_json_utf8, reset),
		cmocka_unit_test_setup(test_value_cap, reset),
		cmocka_unit_test_setup(test_truncation, reset),
		cmocka_unit_test_setup(test_free_text, reset),
		cmocka_unit_test_setup(test_warn_session, reset),
		cmocka_unit_test_setup(test_long_message, reset),
		cmocka_unit_test_setup(test_emit, reset),
		cmocka_unit_test_setup(test_fatal, reset),
		cmocka_unit_test_setup(test_trace_parse, reset),
		cmocka_unit_test_setup(test_cmd_shown, reset),
		cmocka_unit_test_setup(test_trace_cmd, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
