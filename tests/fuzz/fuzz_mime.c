/*
 * fuzz_mime.c: libFuzzer target for the message model (rules/msg.h).  Any
 * byte string must parse without a crash, a leak or a hang, with small
 * limits so that the bounds are exercised too, and every view and lookup
 * must stay within the lengths it reports.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"
#include "sbuf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
touch(const struct msg_str *v, size_t n, unsigned *sum)
{
	size_t	i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < v[i].len; j++)
			*sum += (unsigned char)v[i].p[j];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const specs[] = { "Subject", "From:addr",
	    "From:name", "To:addr:raw", "ALL", "ALL:raw", "ToCc", "MESSAGEID",
	    "EnvelopeFrom", "Reply-To:first:name", "Content-Type:raw" };
	struct msg_limits	 lim;
	struct msg		*m;
	struct sbuf		 out = SBUF_INIT;
	const struct msg_str	*v;
	size_t			 n, i;
	unsigned		 sum = 0;

	msg_limits_default(&lim);
	lim.max_depth = 8;
	lim.max_parts = 64;
	lim.max_headers = 64;
	lim.max_decoded = 1 << 20;
	m = msg_parse((const char *)data, size, &lim);
	v = msg_body(m, &n);
	touch(v, n, &sum);
	v = msg_rawbody(m, &n);
	touch(v, n, &sum);
	v = msg_uris(m, &n);
	touch(v, n, &sum);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		(void)msg_get(m, specs[i], &out);
	for (i = 0; i < msg_part_count(m); i++)
		(void)msg_part_get(m, i, "Content-Type", &out);
	sbuf_free(&out);
	msg_free(m);
	return sum == 0xffffffffu;
}
