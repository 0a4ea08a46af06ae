/*
 * test_snapshot.c: moatd's snapshot (proxy/snapshot.c): config, rules and
 * AUTH files built as one reference-counted whole; the one in force
 * swapped while a holder keeps the old one alive; a reload whose rule
 * file, password file or TLS settings are bad refused with the file and
 * line, leaving the snapshot in force as it was.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "moat_conf.h"
#include "rule.h"
#include "snapshot.h"

#define BASE	"listen 127.0.0.1:2525\nbackend 127.0.0.1:10025\n" \
		"hostname mx.example.com\n"
/* openssl passwd -6 -salt abcdefgh secret */
#define HASH	"$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwG" \
		"fQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG."

static char tmpdir[] = "/tmp/test_snapshot.XXXXXX";
static char err[1024];

static const char *
path_of(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void
write_file(const char *name, const char *text)
{
	int fd;

	fd = open(path_of(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)),
	    (ssize_t)strlen(text));
	close(fd);
}

/* moat.conf = BASE + extra; then build it. */
static struct moat_snapshot *
build(const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text), BASE "%s", extra);
	write_file("moat.conf", text);
	err[0] = '\0';
	return snap_build(path_of("moat.conf"), err, sizeof(err));
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	write_file("one.rules", "body T_ONE /one/ score 1 \"one\"\n");
	write_file("two.rules", "body T_ONE /one/ score 1 \"one\"\n"
	    "body T_TWO /two/ score 2 \"two\"\n");
	write_file("bad.rules", "body T_OK /fine/ score 1 \"ok\"\n"
	    "body T_BAD /(unclosed/ score 1 \"bad\"\n");
	write_file("passwd", "alice:" HASH "\n");
	write_file("badpasswd", "alice\n");
	write_file("senders", "alice alice@example.com\n");
	return 0;
}

static int
teardown(void **state)
{
	static const char *files[] = { "moat.conf", "one.rules", "two.rules",
	    "bad.rules", "passwd", "badpasswd", "senders" };
	size_t i;

	(void)state;
	snap_install(NULL);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path_of(files[i]));
	rmdir(tmpdir);
	return 0;
}

/* Everything the config names is built into the one snapshot. */
static void
test_build(void **state)
{
	struct moat_snapshot *s;
	char extra[1024];

	(void)state;
	snprintf(extra, sizeof(extra), "rules %s\npasswd %s\n"
	    "sender_login_map %s\n", path_of("one.rules"), path_of("passwd"),
	    path_of("senders"));
	s = build(extra);
	if (s == NULL)
		fail_msg("build: %s", err);
	assert_int_equal(s->refs, 1);
	assert_int_equal(s->cfg->refs, 1);
	assert_non_null(s->rules);
	assert_int_equal(rule_set_count(s->rules), 1);
	assert_non_null(s->passwd_db);
	assert_non_null(s->sender_map);
	assert_null(s->tls);		/* no listener has tls= */
	assert_null(s->backend_tls);	/* backend_tls off */
	assert_ptr_equal(snap_ref(s), s);
	assert_int_equal(s->refs, 2);
	snap_unref(s);
	assert_int_equal(s->refs, 1);
	snap_unref(s);
	snap_unref(NULL);

	/* No rules, no AUTH files: nothing built, nothing to free. */
	s = build("");
	assert_non_null(s);
	assert_null(s->rules);
	assert_null(s->passwd_db);
	assert_null(s->sender_map);
	snap_unref(s);
}

/*
 * The one in force is swapped whole; a holder (a session) keeps the old
 * one, rules and all, until it lets go.
 */
static void
test_swap(void **state)
{
	struct moat_snapshot *s1, *s2, *held, *cur;
	struct config *c;
	char extra[512];

	(void)state;
	assert_null(snap_current());
	assert_null(cfg_current());
	snprintf(extra, sizeof(extra), "rules %s\n", path_of("one.rules"));
	assert_non_null(s1 = build(extra));
	snap_install(snap_ref(s1));
	assert_int_equal(s1->refs, 2);
	held = snap_current();		/* a session starts */
	assert_ptr_equal(held, s1);
	assert_int_equal(s1->refs, 3);
	snap_unref(s1);			/* the builder lets go */

	snprintf(extra, sizeof(extra), "rules %s\n", path_of("two.rules"));
	assert_non_null(s2 = build(extra));
	snap_install(s2);		/* the reload */
	assert_int_equal(held->refs, 1);	/* the session's alone */
	assert_int_equal(rule_set_count(held->rules), 1);
	cur = snap_current();
	assert_ptr_equal(cur, s2);
	assert_int_equal(rule_set_count(cur->rules), 2);
	c = cfg_current();
	assert_ptr_equal(c, s2->cfg);
	assert_int_equal(s2->cfg->refs, 2);
	cfg_unref(c);
	snap_unref(cur);
	assert_int_equal(s2->refs, 1);	/* the daemon's */
	snap_unref(held);		/* the session ends: s1 freed */

	snap_install(NULL);		/* s2 freed */
	assert_null(snap_current());
}

/* A bad part refuses the whole build, with its file and line. */
static void
test_refused(void **state)
{
	struct moat_snapshot *s1, *cur;
	char extra[512], want[PATH_MAX + 16];

	(void)state;
	snprintf(extra, sizeof(extra), "rules %s\n", path_of("one.rules"));
	assert_non_null(s1 = build(extra));
	snap_install(s1);

	snprintf(extra, sizeof(extra), "rules %s\n", path_of("bad.rules"));
	assert_null(build(extra));
	snprintf(want, sizeof(want), "%s:2: ", path_of("bad.rules"));
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("err \"%s\" does not start with \"%s\"", err, want);

	snprintf(extra, sizeof(extra), "passwd %s\n", path_of("badpasswd"));
	assert_null(build(extra));
	snprintf(want, sizeof(want), "%s:1: ", path_of("badpasswd"));
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("err \"%s\" does not start with \"%s\"", err, want);

	assert_null(build("listen 127.0.0.1:2526 tls=starttls\n"));
	assert_non_null(strstr(err, "tls= but tls_cert and tls_key"));

	assert_null(build("listen 127.0.0.1:2526 auth=required\n"));
	assert_non_null(strstr(err, "auth= but passwd is not set"));

	assert_null(build("score_tag lots\n"));
	snprintf(want, sizeof(want), "%s:4: score_tag: ",
	    path_of("moat.conf"));
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("err \"%s\" does not start with \"%s\"", err, want);

	/* The one in force never moved. */
	cur = snap_current();
	assert_ptr_equal(cur, s1);
	assert_int_equal(rule_set_count(cur->rules), 1);
	snap_unref(cur);
	snap_install(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_swap),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
