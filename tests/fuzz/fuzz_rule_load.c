/*
 * fuzz_rule_load.c: libFuzzer target for the rule loader.  The first byte
 * picks the format (even: native, odd: SpamAssassin); the rest is the file.
 * A loaded set is also evaluated against a small fixed message and against
 * a message whose body is the input itself (so patterns meet text they
 * match), so the compiled metas, replace_tags expansions and templates run
 * too, and so do the native evals (rule_saeval*.c: the first byte's
 * second bit also switches %{TAG} templates on).  And it is a differential test of what only saves work: the
 * evaluation without the literal prefilter, the cores (rule_core.c) and
 * the Hyperscan prefilter and its start finders (rule_hs.c, when built
 * with it) and the remembered counts of header rules on absent operands
 * must give the same hits, and the lazy one the same scored hits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "rule_int.h"
#include "sbuf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char sample[] =
    "Received: from a.example (a.example [192.0.2.9]) by mx.example "
    "(Postfix) with ESMTP id 1; Mon, 2 Sep 2002 10:00:00 +0000\n"
    "Date: Mon, 2 Sep 2002 18:00:00 +0000\n"
    "Message-ID: <000001c25267$8d5e1c20$0100a8c0@pc>\n"
    "From: \"Bob\" <bob@example.com>\nTo: a@b.c\nSubject: Free stuff\n"
    "Content-Type: text/html\n\n<p>Hello <a href=\"http://x.example/\">"
    "click</a> FREE FREE</p>\n";

/* "NAME=COUNT," for every hit (sub-rules only if subs), limits left out */
static void
hits(const struct rule_hit *h, size_t n, int subs, struct sbuf *out)
{
	size_t i;

	sbuf_reset(out);
	for (i = 0; i < n; i++)
		if (!(h[i].flags & RULE_HIT_LIMIT) &&
		    (subs || !(h[i].flags & RULE_HIT_SUB)))
			sbuf_printf(out, "%s=%u,", h[i].name, h[i].count);
	sbuf_addc(out, '.');
}

static void
differential(struct rule_set *rs, struct rule_scratch *sc,
    struct rule_scratch *lazy, const struct rule_env *env,
    const struct msg *m)
{
	static struct sbuf full, scored, other;
	const struct rule_hit *h;
	struct { size_t nlits, nsets; pcre2_code *core; int memo; } *save;
	size_t n, i;

	h = rule_eval(rs, sc, env, m, &n);
	hits(h, n, 1, &full);
	hits(h, n, 0, &scored);
	h = rule_eval(rs, lazy, env, m, &n);
	hits(h, n, 0, &other);
	if (strcmp(scored.p, other.p) != 0) {
		fprintf(stderr, "lazy: %s\nfull: %s\n", other.p, scored.p);
		abort();
	}
	save = calloc(rs->nrules + 1, sizeof(*save));
	for (i = 0; i < rs->nrules; i++) {
		save[i].nlits = rs->rules[i].nlits;
		save[i].nsets = rs->rules[i].nsets;
		save[i].core = rs->rules[i].core;
		save[i].memo = atomic_load(&rs->rules[i].unset_memo);
		rs->rules[i].nlits = rs->rules[i].nsets = 0;
		rs->rules[i].core = NULL;
		atomic_store(&rs->rules[i].unset_memo, 0);
	}
	rule_scratch_hs(sc, 0);
	h = rule_eval(rs, sc, env, m, &n);
	rule_scratch_hs(sc, 1);
	hits(h, n, 1, &other);
	for (i = 0; i < rs->nrules; i++) {
		rs->rules[i].nlits = save[i].nlits;
		rs->rules[i].nsets = save[i].nsets;
		rs->rules[i].core = save[i].core;
		atomic_store(&rs->rules[i].unset_memo, save[i].memo);
	}
	free(save);
	if (strcmp(full.p, other.p) != 0) {
		fprintf(stderr, "unfiltered: %s\nfiltered:   %s\n", other.p,
		    full.p);
		abort();
	}
}

/*
 * Hyperscan takes seconds to compile the long patterns replace_tags can
 * blow up to; short ones exercise its expressions as well, faster.
 */
static int
hs_worth_it(const struct rule_set *rs)
{
	size_t i;

	for (i = 0; i < rs->nrules; i++)
		if (rs->rules[i].src != NULL && rs->rules[i].stage !=
		    RULE_ST_META && strlen(rs->rules[i].src) > 300)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msg *m;
	static struct rule_scratch *sc, *lazy;
	static struct sbuf raw;
	struct rule_builder *b;
	struct rule_error err;
	struct rule_set *rs;
	struct rule_env env;
	struct msg *own;

	if (size < 1 || size > 65536)
		return 0;
	if (m == NULL) {
		m = msg_parse(sample, sizeof(sample) - 1, NULL);
		sc = rule_scratch_new();
		lazy = rule_scratch_new();
		rule_scratch_lazy(lazy, 1);
	}
	b = rule_builder_new();
	rule_builder_templates(b, (data[0] & 2) != 0);
	if (rule_builder_add_text(b, "fuzz", (const char *)data + 1, size - 1,
	    (data[0] & 1) ? RULE_FMT_SA : RULE_FMT_NATIVE, &err) != 0) {
		rule_builder_free(b);
		return 0;
	}
	if ((rs = rule_builder_finish(b, NULL, &err)) == NULL)
		return 0;
	if (hs_worth_it(rs))
		rule_set_hs_attach(rs, rule_hs_build(rs, NULL, 0, NULL,
		    err.msg, sizeof(err.msg)));
	memset(&env, 0, sizeof(env));
	env.client_addr = "192.0.2.1";
	env.client_name = "";
	env.facts = "pregreet";
	env.helo = "x";
	env.mail_from = "a@b";
	env.bayes_known = 1;
	env.bayes_p = (double)data[0] / 255;
	differential(rs, sc, lazy, &env, m);
	sbuf_reset(&raw);
	sbuf_adds(&raw, "Subject: fuzz\n\n");
	sbuf_add(&raw, data + 1, size - 1 < 4096 ? size - 1 : 4096);
	own = msg_parse(raw.p, raw.len, NULL);
	differential(rs, sc, lazy, &env, own);
	msg_free(own);
	rule_set_unref(rs);
	return 0;
}
