/*
 * test_sender_map.c: `sender_login_map` (auth/sender_map.c): the file
 * syntax and every load error with its line, and the lookup rules:
 * addresses, @domain, *, case folding, implicit <> and login-as-address,
 * and the near misses that must not match (subdomains, trailing dots,
 * quoted local parts, other logins).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "sender_map.h"

static struct sender_map *
parse_ok(const char *text)
{
	struct sender_map *m = NULL;
	char err[256] = "";

	if (sender_map_parse(text, strlen(text), "map", &m, err,
	    sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(m);
	return m;
}

static void
parse_err(const char *text, const char *want)
{
	struct sender_map *m = NULL;
	char err[256] = "";

	assert_int_equal(sender_map_parse(text, strlen(text), "map", &m, err,
	    sizeof(err)), -1);
	assert_null(m);
	assert_string_equal(err, want);
}

static const char map_text[] =
    "# who may send as whom\n"
    "alice   alice@example.com, a.smith@example.com\n"
    "\n"
    "   # indented comment\n"
    "shop\t@shop.example.com\r\n"
    "alice  alice@Other.Example\n"		/* lists add up */
    "admin *\n"
    "bob bob@example.com,,bob@example.org ,\n"
    "u8 j\xc3\xb6rg@b\xc3\xbc" "cher.example\n"
    "last last@example.com";			/* no final newline */

static void
test_lookup(void **state)
{
	struct sender_map *m = parse_ok(map_text);

	(void)state;
	assert_true(sender_map_allowed(m, "alice", "alice@example.com"));
	assert_true(sender_map_allowed(m, "alice", "a.smith@example.com"));
	assert_true(sender_map_allowed(m, "alice", "alice@other.example"));
	/* Case: domain and local part fold (ASCII). */
	assert_true(sender_map_allowed(m, "alice", "ALICE@EXAMPLE.COM"));
	assert_true(sender_map_allowed(m, "alice", "Alice@Example.Com"));
	/* Not someone else's address. */
	assert_false(sender_map_allowed(m, "alice", "bob@example.com"));
	assert_false(sender_map_allowed(m, "alice", "alice@example.org"));
	/* Near misses. */
	assert_false(sender_map_allowed(m, "alice", "alice@example.com."));
	assert_false(sender_map_allowed(m, "alice",
	    "\"alice\"@example.com"));
	assert_false(sender_map_allowed(m, "alice", "alice@sub.example.com"));
	assert_false(sender_map_allowed(m, "alice", "alice"));
	assert_false(sender_map_allowed(m, "alice",
	    "alice@example.com@evil.example"));
	assert_false(sender_map_allowed(m, "alice", "xalice@example.com"));
	/* The login is byte for byte. */
	assert_false(sender_map_allowed(m, "Alice", "alice@example.com"));
	assert_false(sender_map_allowed(m, "alic", "alice@example.com"));
	assert_false(sender_map_allowed(m, "nobody", "alice@example.com"));

	/* @domain: any local part, that domain only, any case. */
	assert_true(sender_map_allowed(m, "shop", "orders@shop.example.com"));
	assert_true(sender_map_allowed(m, "shop", "X@SHOP.example.COM"));
	assert_true(sender_map_allowed(m, "shop",
	    "\"a b\"@shop.example.com"));
	assert_false(sender_map_allowed(m, "shop", "x@example.com"));
	assert_false(sender_map_allowed(m, "shop", "x@a.shop.example.com"));
	assert_false(sender_map_allowed(m, "shop", "x@shop.example.com."));
	assert_false(sender_map_allowed(m, "shop", "x@xshop.example.com"));
	assert_false(sender_map_allowed(m, "shop", "shop.example.com"));

	/* *: anything, even without a domain. */
	assert_true(sender_map_allowed(m, "admin", "ceo@example.com"));
	assert_true(sender_map_allowed(m, "admin", "postmaster"));

	/* Empty entries between commas are skipped. */
	assert_true(sender_map_allowed(m, "bob", "bob@example.org"));
	assert_true(sender_map_allowed(m, "bob", "bob@example.com"));
	/* UTF-8 compares byte for byte (ASCII folding only). */
	assert_true(sender_map_allowed(m, "u8",
	    "J\xc3\xb6rg@B\xc3\xbc" "cher.example"));
	assert_false(sender_map_allowed(m, "u8",
	    "j\xc3\x96rg@b\xc3\xbc" "cher.example"));
	assert_true(sender_map_allowed(m, "last", "last@example.com"));
	sender_map_free(m);
}

static void
test_implicit(void **state)
{
	struct sender_map *m = parse_ok("alice alice@example.com\n");

	(void)state;
	/* <> for everyone, even logins not in the map and no map at all. */
	assert_true(sender_map_allowed(m, "alice", ""));
	assert_true(sender_map_allowed(m, "nobody", ""));
	assert_true(sender_map_allowed(NULL, "nobody", ""));
	/* A login that is an address may use itself. */
	assert_true(sender_map_allowed(m, "carol@example.com",
	    "carol@example.com"));
	assert_true(sender_map_allowed(m, "carol@example.com",
	    "Carol@Example.com"));
	assert_true(sender_map_allowed(NULL, "carol@example.com",
	    "carol@example.com"));
	assert_false(sender_map_allowed(m, "carol@example.com",
	    "dave@example.com"));
	assert_false(sender_map_allowed(NULL, "carol", "carol"));
	assert_false(sender_map_allowed(m, "@example.com", "@example.com"));
	assert_false(sender_map_allowed(NULL, "alice", "alice@example.com"));
	sender_map_free(m);
}

static void
test_errors(void **state)
{
	char longlogin[400], text[600];

	(void)state;
	parse_err("alice\n", "map:1: login without any sender address");
	parse_err("# c\nalice ,, \n", "map:2: login without any sender "
	    "address");
	parse_err("alice bob\n", "map:1: entry is not an address, @domain "
	    "or *");
	parse_err("alice a@\n", "map:1: invalid domain in entry");
	parse_err("alice @\n", "map:1: invalid domain in entry");
	parse_err("alice a@-x.example\n", "map:1: invalid domain in entry");
	parse_err("alice a@x..example\n", "map:1: invalid domain in entry");
	parse_err("alice a@[127.0.0.1]\n", "map:1: invalid domain in entry");
	parse_err("alice a@b@c.example\n", "map:1: more than one '@' in "
	    "entry");
	parse_err("\n\nbob b@x.example\nal\x01ice a@x.example\n",
	    "map:4: control character in login");
	memset(longlogin, 'l', 300);
	longlogin[300] = '\0';
	snprintf(text, sizeof(text), "%s a@x.example\n", longlogin);
	parse_err(text, "map:1: login too long");
	{
		struct sender_map *m = NULL;
		char err[256];
		char *big = malloc(SENDER_MAP_LINE_MAX + 20);

		memset(big, 'a', SENDER_MAP_LINE_MAX + 1);
		big[SENDER_MAP_LINE_MAX + 1] = '\n';
		assert_int_equal(sender_map_parse(big, SENDER_MAP_LINE_MAX + 2,
		    "map", &m, err, sizeof(err)), -1);
		assert_string_equal(err, "map:1: line too long");
		assert_int_equal(sender_map_parse("a a@b.example\n\0x", 16,
		    "map", &m, err, sizeof(err)), -1);
		assert_string_equal(err, "map:2: NUL byte in line");
		free(big);
	}
}

static void
test_empty_and_files(void **state)
{
	struct sender_map *m = parse_ok("");
	char path[] = "/tmp/test_sender_map.XXXXXX", err[256];
	int fd;

	(void)state;
	assert_false(sender_map_allowed(m, "alice", "alice@example.com"));
	sender_map_free(m);
	sender_map_free(NULL);

	m = NULL;
	assert_int_equal(sender_map_load("/nonexistent/map", &m, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/map: No such file or "
	    "directory");
	assert_null(m);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "alice alice@example.com\n", 24), 24);
	close(fd);
	assert_int_equal(sender_map_load(path, &m, err, sizeof(err)), 0);
	assert_true(sender_map_allowed(m, "alice", "alice@example.com"));
	sender_map_free(m);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# x\nalice\n", 10), 10);
	close(fd);
	assert_int_equal(sender_map_load(path, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: login without any sender address"));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_implicit),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_empty_and_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
