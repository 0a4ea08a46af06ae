/*
 * test_rule_load.c: the rule file parser, both formats: what loads, what is
 * skipped and counted, and that every error names file, line and offset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rule.h"

static struct rule_set *
load(const char *name, const char *text, struct rule_error *err,
    struct rule_stats *st)
{
	struct rule_builder *b = rule_builder_new();

	memset(err, 0, sizeof(*err));
	if (rule_builder_add_text(b, name, text, strlen(text), RULE_FMT_AUTO,
	    err) != 0) {
		rule_builder_free(b);
		return NULL;
	}
	return rule_builder_finish(b, st, err);
}

static void
info(const struct rule_set *rs, const char *name, struct rule_info *ri)
{
	long i = rule_set_find(rs, name);

	assert_true(i >= 0);
	rule_set_info(rs, (size_t)i, ri);
}

static void
expect_error_in(const char *name, const char *text, int line,
    const char *needle)
{
	struct rule_error err;
	struct rule_stats st;

	assert_null(load(name, text, &err, &st));
	assert_string_equal(err.file, name);
	assert_int_equal(err.line, line);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void
expect_error(const char *text, int line, const char *needle)
{
	expect_error_in("t.rules", text, line, needle);
}

static void
test_native_basic(void **state)
{
	struct rule_error err;
	struct rule_stats st;
	struct rule_set *rs;
	struct rule_info ri;

	(void)state;
	rs = load("t.rules",
	    "# comment\n"
	    "\n"
	    "body  PILLS /viagra/i score 2.5 \"drug names\"\n"
	    "header SUBJ Subject =~ /^free/i score -1 \"a negative one\"\n"
	    "header NODATE !exists:Date score 0.5\n"
	    "helo  HELO_IP =~ /^[0-9.]+$/ score 1\n"
	    "connect PRE facts =~ /pregreet/ score 5 \"pregreet\"\n"
	    "body  CAPS /[A-Z]{5}/ score 0.2 per-hit max 3 \"caps\"\n"
	    "uri   NUM m{^http://[0-9]+(?:\\.[0-9]+){3}} score 1 \"n\"\n"
	    "meta  BOTH PILLS && \\\n"
	    "      SUBJ score 1.5 \"both\"\n"
	    "body  OFF /x/ score 0 \"off\"\n", &err, &st);
	assert_non_null(rs);
	assert_int_equal(rule_set_count(rs), 9);
	info(rs, "PILLS", &ri);
	assert_string_equal(ri.desc, "drug names");
	assert_int_equal(ri.stage, RULE_ST_BODY);
	assert_true(ri.score == 2.5);
	assert_int_equal(ri.line, 3);
	assert_true(ri.runs);
	info(rs, "SUBJ", &ri);
	assert_true(ri.score == -1);
	info(rs, "NODATE", &ri);
	assert_string_equal(ri.desc, "");
	info(rs, "BOTH", &ri);
	assert_int_equal(ri.stage, RULE_ST_META);
	assert_int_equal(ri.line, 10);
	info(rs, "OFF", &ri);
	assert_false(ri.runs);
	assert_string_equal(ri.why, "score 0");
	assert_int_equal(st.loaded[RULE_ST_BODY], 2);
	assert_int_equal(st.zero[RULE_ST_BODY], 1);
	assert_int_equal(st.loaded[RULE_ST_META], 1);
	assert_int_equal(st.loaded[RULE_ST_CONNECT], 1);
	assert_int_equal(rule_set_find(rs, "NOPE"), -1);
	rule_set_unref(rule_set_ref(rs));
	rule_set_unref(rs);
	rule_set_unref(NULL);
	rule_builder_free(NULL);
}

static void
test_native_errors(void **state)
{
	(void)state;
	expect_error("bogus X /a/\n", 1, "unknown stage");
	expect_error("\n\nbody 9X /a/\n", 3, "invalid rule name");
	expect_error("body X a/\n", 1, "expected /pattern/");
	expect_error("body X /a/ score\n", 1, "score needs a number");
	expect_error("body X /a/ score 1x\n", 1, "bad score");
	expect_error("body X /a/ score 1 fast\n", 1, "unknown option");
	expect_error("body X /a/ score 1 \"a\" b\n", 1, "one quoted string");
	expect_error("body X /a/ max 0\n", 1, "max needs a count");
	expect_error("meta M A && B\n", 1, "needs \"score N\"");
	expect_error("meta M score 1\n", 1, "empty expression");
	expect_error("meta M A && ( score 1\n", 1, "bad meta");
	expect_error("connect C /x/\n", 1, "addr, name or facts");
	expect_error("header H Subject /x/\n", 1, "expected NAME =~");
	expect_error("header H Sub:foo =~ /x/\n", 1, "invalid header modifier");
	expect_error("header H exists:\n", 1, "invalid header name");
	expect_error("body X /a/q score 1\n", 1, "unknown modifier");
	expect_error("include\n", 1, "include needs a file");
	expect_error("body X /(?{ 1 })/\n", 1, "eval");
}

static void
test_native_pattern_offset(void **state)
{
	struct rule_error err;
	struct rule_stats st;

	(void)state;
	assert_null(load("t.rules", "body A /ok/\n\nbody BAD /ab(c/ score 1\n",
	    &err, &st));
	assert_string_equal(err.file, "t.rules");
	assert_int_equal(err.line, 3);
	assert_int_equal(err.offset, 4);
	assert_non_null(strstr(err.msg, "BAD"));
	assert_non_null(strstr(err.msg, "offset 4"));
	/* bad modifier */
	assert_null(load("t.rules", "body B m{x}z score 1\n", &err, &st));
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.msg, "unknown modifier"));
}

static void
test_native_line_limit(void **state)
{
	char *t = malloc(RULE_LINE_MAX + 64);
	struct rule_error err;
	struct rule_stats st;

	(void)state;
	memset(t, 'a', RULE_LINE_MAX + 10);
	memcpy(t, "body X /", 8);
	strcpy(t + RULE_LINE_MAX + 10, "/\n");
	assert_null(load("t.rules", t, &err, &st));
	assert_non_null(strstr(err.msg, "longer than"));
	free(t);
	/* a NUL byte */
	{
		struct rule_builder *b = rule_builder_new();

		assert_int_equal(rule_builder_add_text(b, "t.rules",
		    "body X /a\0b/", 12, RULE_FMT_NATIVE, &err), -1);
		assert_non_null(strstr(err.msg, "NUL"));
		rule_builder_free(b);
	}
}

static void
test_include(void **state)
{
	char dir[] = "/tmp/test_rule_loadXXXXXX", path[128], inc[128];
	struct rule_builder *b;
	struct rule_error err;
	struct rule_set *rs;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/main.rules", dir);
	snprintf(inc, sizeof(inc), "%s/more.cf", dir);
	fp = fopen(path, "w");
	fputs("body A /a/ score 1\ninclude more.cf\n", fp);
	fclose(fp);
	fp = fopen(inc, "w");
	fputs("body B /b/\nscore B 3\n", fp);
	fclose(fp);
	b = rule_builder_new();
	assert_int_equal(rule_builder_add_file(b, path, RULE_FMT_AUTO, &err),
	    0);
	rs = rule_builder_finish(b, NULL, &err);
	assert_non_null(rs);
	assert_true(rule_set_find(rs, "B") >= 0);
	rule_set_unref(rs);
	/* a missing file names itself */
	b = rule_builder_new();
	assert_int_equal(rule_builder_add_file(b, "/nonexistent/x.rules",
	    RULE_FMT_AUTO, &err), -1);
	assert_string_equal(err.file, "/nonexistent/x.rules");
	rule_builder_free(b);
	/* an include loop stops at the depth bound */
	fp = fopen(inc, "w");
	fputs("include more.cf\n", fp);
	fclose(fp);
	b = rule_builder_new();
	assert_int_equal(rule_builder_add_file(b, inc, RULE_FMT_SA, &err), -1);
	assert_non_null(strstr(err.msg, "nested"));
	rule_builder_free(b);
	unlink(path);
	unlink(inc);
	rmdir(dir);
}

static void
test_sa_basic(void **state)
{
	struct rule_error err;
	struct rule_stats st;
	struct rule_set *rs;
	struct rule_info ri;

	(void)state;
	rs = load("t.cf",
	    "header   FROM_X   From:addr =~ /x\\#y/i   # a comment\n"
	    "describe FROM_X   From has x\\#y # comment\n"
	    "score    FROM_X   2.0 1.0 3.0 4.0\n"
	    "header   UNSET_X  X-Foo =~ /^$/ [if-unset: none]\n"
	    "header   HAS_X    exists:X-Bar\n"
	    "header   EV       eval:check_for_something()\n"
	    "body     T_TEST   m!test!\n"
	    "body     NICE_R   /good/\n"
	    "tflags   NICE_R   nice\n"
	    "body     __SUB    m{sub}\n"
	    "rawbody  MULTI    /m/\n"
	    "tflags   MULTI    multiple maxhits=4\n"
	    "full     FULL1    /^From:/m\n"
	    "uri      URI1     /example/\n"
	    "meta     META1    (FROM_X + __SUB) > 1 && !UNDEFINED_RULE\n"
	    "score    ZERO     0\n"
	    "body     ZERO     /zero/\n"
	    "askdns   ASK      example.com A /./\n"
	    "lang de  body GERMAN /deutsch/\n"
	    "lang en  body ENGLISH /english/\n"
	    "lang e\n"			/* nothing after it (fuzz_rule_load) */
	    "lang en   \n"
	    "body     BADRE    /(unclosed/\n"
	    "body     NODELIM  plain\n"
	    "body     UNQUOTED /a/b/\n"
	    "header   RELAYS   X-Spam-Relays-Bogus =~ /x/\n"
	    "header   RELAYS_OK X-Spam-Relays-External =~ /x/\n"
	    "report_safe 0\n", &err, &st);
	assert_non_null(rs);
	info(rs, "FROM_X", &ri);
	assert_true(ri.score == 2.0);
	assert_string_equal(ri.desc, "From has x#y");
	info(rs, "T_TEST", &ri);
	assert_true(ri.score == 0.01);
	info(rs, "NICE_R", &ri);
	assert_true(ri.score == -1.0);
	info(rs, "__SUB", &ri);
	assert_true(ri.sub);
	assert_true(ri.score == 1.0);
	info(rs, "EV", &ri);
	assert_false(ri.runs);
	assert_string_equal(ri.why, "eval");
	info(rs, "ZERO", &ri);
	assert_false(ri.runs);
	info(rs, "BADRE", &ri);
	assert_false(ri.runs);
	assert_non_null(strstr(ri.why, "offset"));
	info(rs, "NODELIM", &ri);
	assert_string_equal(ri.why, "bad pattern");
	info(rs, "UNQUOTED", &ri);
	assert_string_equal(ri.why, "bad pattern");
	info(rs, "RELAYS", &ri);
	assert_string_equal(ri.why, "unsupported header");
	assert_int_equal(rule_set_find(rs, "GERMAN"), -1);
	assert_true(rule_set_find(rs, "ENGLISH") >= 0);
	assert_int_equal(st.eval[RULE_ST_HEADER], 1);
	assert_int_equal(st.loaded[RULE_ST_HEADER], 4);
	assert_int_equal(st.badre[RULE_ST_BODY], 3);
	assert_int_equal(st.zero[RULE_ST_BODY], 1);
	assert_int_equal(st.plugin, 2);	/* askdns + the relay header */
	assert_int_equal(st.unknown_keys, 1);
	assert_int_equal(st.loaded[RULE_ST_META], 1);
	rule_set_unref(rs);
}

static void
test_sa_conditionals(void **state)
{
	struct rule_error err;
	struct rule_stats st;
	struct rule_set *rs;

	(void)state;
	rs = load("t.cf",
	    "ifplugin Mail::SpamAssassin::Plugin::MIMEHeader\n"
	    "body IN_MIMEHEADER /a/\n"
	    "endif\n"
	    "ifplugin Mail::SpamAssassin::Plugin::TextCat\n"
	    "body IN_TEXTCAT /a/\n"
	    "  if (version >= 3.004000)\n"
	    "  body NESTED_OFF /a/\n"
	    "  endif\n"
	    "else\n"
	    "body IN_ELSE /a/\n"
	    "endif\n"
	    "if (version >= 4.000000) && !plugin(Mail::SpamAssassin::Plugin::Dmarc)\n"
	    "body VERSION_NODMARC /a/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Conf::feature_capture_rules)\n"
	    "body CAN_CONF /a/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Plugin::BodyEval::has_check_body_length)\n"
	    "body CAN_PLUGIN /a/\n"
	    "endif\n"
	    "if can(Mail::SpamAssassin::Plugin::ASN::has_check_asn)\n"
	    "body CAN_UNLOADED /a/\n"
	    "endif\n"
	    "if !can(Mail::SpamAssassin::Conf::compat_welcomelist_blocklist)\n"
	    "body NOT_CAN /a/\n"
	    "endif\n"
	    "loadplugin Mail::SpamAssassin::Plugin::TextCat\n"
	    "ifplugin Mail::SpamAssassin::Plugin::TextCat\n"
	    "body LOADED_LATER /a/\n"
	    "endif\n"
	    "if garbage(\n"
	    "body GARBAGE /a/\n"
	    "endif\n"
	    "if (perl_version > 5.010) || local_tests_only\n"
	    "body PERLV /a/\n"
	    "endif\n", &err, &st);
	assert_non_null(rs);
	assert_true(rule_set_find(rs, "IN_MIMEHEADER") >= 0);
	assert_int_equal(rule_set_find(rs, "IN_TEXTCAT"), -1);
	assert_int_equal(rule_set_find(rs, "NESTED_OFF"), -1);
	assert_true(rule_set_find(rs, "IN_ELSE") >= 0);
	assert_int_equal(rule_set_find(rs, "VERSION_NODMARC"), -1);
	assert_true(rule_set_find(rs, "CAN_CONF") >= 0);
	assert_true(rule_set_find(rs, "CAN_PLUGIN") >= 0);
	assert_int_equal(rule_set_find(rs, "CAN_UNLOADED"), -1);
	assert_true(rule_set_find(rs, "NOT_CAN") >= 0);
	assert_true(rule_set_find(rs, "LOADED_LATER") >= 0);
	assert_int_equal(rule_set_find(rs, "GARBAGE"), -1);
	assert_true(rule_set_find(rs, "PERLV") >= 0);
	assert_int_equal(st.inactive, 5);
	rule_set_unref(rs);
	expect_error_in("t.cf", "endif\n", 1, "endif without if");
	expect_error_in("t.cf", "body A /a/\nelse\n", 2, "else without if");
}

static void
test_sa_replace_tags(void **state)
{
	struct rule_error err;
	struct rule_stats st;
	struct rule_set *rs;

	(void)state;
	rs = load("t.cf",
	    "replace_tag A (?:a|4)\n"
	    "replace_tag B b\n"
	    "replace_tag AB <A><B>\n"
	    "replace_inter W1 \\W?\n"
	    "replace_post P2 {1,2}\n"
	    "body FUZZ /<inter W1><post P2><A><B><C>/i\n"
	    "body NESTED /<AB>/\n"
	    "body NOTLISTED /<A>/\n"
	    "replace_rules FUZZ NESTED\n", &err, &st);
	assert_non_null(rs);
	assert_int_equal(st.replaced, 2);
	rule_set_unref(rs);
	/* tags made of tags grow geometrically: the expansion is bounded */
	rs = load("t.cf",
	    "replace_tag A <B><B><B><B><B><B><B><B><B><B><B><B><B><B><B><B>\n"
	    "replace_tag B <C><C><C><C><C><C><C><C><C><C><C><C><C><C><C><C>\n"
	    "replace_tag C <D><D><D><D><D><D><D><D><D><D><D><D><D><D><D><D>\n"
	    "replace_tag D <E><E><E><E><E><E><E><E><E><E><E><E><E><E><E><E>\n"
	    "replace_tag E <A><A><A><A><A><A><A><A><A><A><A><A><A><A><A><A>\n"
	    "body BOOM /<A>/\n"
	    "replace_rules BOOM\n", &err, &st);
	assert_non_null(rs);
	{
		struct rule_info ri;

		info(rs, "BOOM", &ri);
		assert_false(ri.runs);
		assert_non_null(strstr(ri.why, "replace_tags"));
	}
	rule_set_unref(rs);
}

static void
test_sa_redefine_and_meta(void **state)
{
	struct rule_error err;
	struct rule_stats st;
	struct rule_set *rs;
	struct rule_info ri;

	(void)state;
	rs = load("t.cf",
	    "body R /a/\n"
	    "header R Subject =~ /b/\n"
	    "meta M1 M2 && R\n"
	    "meta M2 M1 || R\n"
	    "meta M3 R ? 1 : 0\n"
	    "meta M4 (R - 1) * 2 / 3 >= -1 ^ 1\n"
	    "meta BAD R &&\n"
	    /* not an expression (SpamAssassin refuses it too), not an eval:
	     * it once reached the meta compiler without one (fuzz_rule_load) */
	    "meta EVM eval:check_all_trusted()\n", &err, &st);
	assert_non_null(rs);
	assert_int_equal(rule_set_count(rs), 7);
	info(rs, "R", &ri);
	assert_int_equal(ri.stage, RULE_ST_HEADER);
	assert_int_equal(ri.line, 2);
	info(rs, "M1", &ri);
	assert_false(ri.runs);
	assert_string_equal(ri.why, "bad meta");
	info(rs, "M2", &ri);
	assert_false(ri.runs);
	info(rs, "M3", &ri);
	assert_true(ri.runs);
	info(rs, "M4", &ri);
	assert_true(ri.runs);
	info(rs, "BAD", &ri);
	assert_false(ri.runs);
	info(rs, "EVM", &ri);
	assert_false(ri.runs);
	assert_string_equal(ri.why, "bad meta");
	rule_set_unref(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_basic),
		cmocka_unit_test(test_native_errors),
		cmocka_unit_test(test_native_pattern_offset),
		cmocka_unit_test(test_native_line_limit),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_sa_basic),
		cmocka_unit_test(test_sa_conditionals),
		cmocka_unit_test(test_sa_replace_tags),
		cmocka_unit_test(test_sa_redefine_and_meta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
