/*
 * fuzz_rule_load.c: libFuzzer target for the rule loader.  The first byte
 * picks the format (even: native, odd: SpamAssassin); the rest is the file.
 * A loaded set is also evaluated against a small fixed message, so the
 * compiled metas, replace_tags expansions and templates run too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"
#include "rule.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char sample[] =
    "From: \"Bob\" <bob@example.com>\nTo: a@b.c\nSubject: Free stuff\n"
    "Content-Type: text/html\n\n<p>Hello <a href=\"http://x.example/\">"
    "click</a> FREE FREE</p>\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msg *m;
	static struct rule_scratch *sc;
	struct rule_builder *b;
	struct rule_error err;
	struct rule_set *rs;
	struct rule_env env;
	size_t n;

	if (size < 1 || size > 65536)
		return 0;
	if (m == NULL) {
		m = msg_parse(sample, sizeof(sample) - 1, NULL);
		sc = rule_scratch_new();
	}
	b = rule_builder_new();
	if (rule_builder_add_text(b, "fuzz", (const char *)data + 1, size - 1,
	    (data[0] & 1) ? RULE_FMT_SA : RULE_FMT_NATIVE, &err) != 0) {
		rule_builder_free(b);
		return 0;
	}
	if ((rs = rule_builder_finish(b, NULL, &err)) == NULL)
		return 0;
	memset(&env, 0, sizeof(env));
	env.client_addr = "192.0.2.1";
	env.client_name = "";
	env.facts = "pregreet";
	env.helo = "x";
	env.mail_from = "a@b";
	(void)rule_eval(rs, sc, &env, m, &n);
	rule_set_unref(rs);
	return 0;
}
