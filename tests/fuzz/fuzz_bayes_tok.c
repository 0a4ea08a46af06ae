/*
 * fuzz_bayes_tok.c: libFuzzer target for the Bayes tokenizer
 * (rules/bayes_tok.h), seeded with the MIME fuzzer's messages.  Any byte
 * string must tokenize without a crash, a leak or a hang; the set must
 * stay within BAYES_TOK_MAX, sorted and distinct; every token string the
 * walk hands out must be non-empty and within its length; and the same
 * message must give the same set and digest twice.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bayes_tok.h"
#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
check_cb(void *arg, const char *tok, size_t len)
{
	unsigned *sum = arg;
	size_t i;

	if (len == 0 || len > 256)
		abort();
	for (i = 0; i < len; i++)
		*sum += (unsigned char)tok[i];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bayes_toks t;
	struct msg *m;
	uint64_t first;
	uint8_t d1[16], d2[16];
	unsigned sum = 0;
	size_t i, n;

	m = msg_parse((const char *)data, size, NULL);
	bayes_tok_walk(m, check_cb, &sum);
	memset(&t, 0, sizeof(t));
	n = bayes_tokenize(m, &t);
	if (n > BAYES_TOK_MAX)
		abort();
	for (i = 1; i < n; i++)
		if (t.v[i - 1] >= t.v[i])
			abort();
	first = n ? t.v[0] : 0;
	if (bayes_tokenize(m, &t) != n || (n && t.v[0] != first))
		abort();
	bayes_tok_digest(m, d1);
	bayes_tok_digest(m, d2);
	if (memcmp(d1, d2, sizeof(d1)) != 0)
		abort();
	bayes_toks_free(&t);
	msg_free(m);
	return sum == 0xdeadbeef;	/* keep the loop */
}
