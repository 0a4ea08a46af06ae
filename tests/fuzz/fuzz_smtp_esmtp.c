/*
 * fuzz_smtp_esmtp.c: libFuzzer target for the pass-through parameter
 * checks (DSN values, AUTH=).
 *
 * Input: any bytes, taken as one parameter value (cut at the first NUL).
 * Every check runs on it (ASan catches a read past the value); and the
 * checks must agree with the encoder moatd itself uses for XCLIENT
 * (smtp_xtext_encode): whatever it writes is valid xtext, a valid ORCPT
 * after "rfc822;" and a valid AUTH= value, within the bounds.  A valid
 * xtext holds only xchars and "+HH".  Any difference is an abort().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "smtp_esmtp.h"
#include "smtp_reply.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
hexup(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* The grammar of RFC 3461 4, written out once more, by index. */
static int
ref_xtext(const char *v, size_t max)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '+') {
			if (i + 2 >= n || !hexup(v[i + 1]) || !hexup(v[i + 2]))
				return 0;
			i += 2;
		} else if (c < 0x21 || c > 0x7e || c == '=')
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf enc = SBUF_INIT, orcpt = SBUF_INIT;
	char *v;
	unsigned m;

	v = xmalloc(size + 1);
	memcpy(v, data, size);
	v[size] = '\0';

	if (smtp_xtext_valid(v, SMTP_ORCPT_MAX) !=
	    ref_xtext(v, SMTP_ORCPT_MAX))
		abort();
	(void)smtp_dsn_ret_valid(v);
	m = smtp_dsn_notify(v);
	if ((m & SMTP_NOTIFY_NEVER) && m != SMTP_NOTIFY_NEVER)
		abort();
	if (smtp_dsn_orcpt_valid(v, 0) && !smtp_dsn_orcpt_valid(v, 1))
		abort();
	if (smtp_dsn_orcpt_valid(v, 1) &&
	    (strchr(v, ';') == NULL || strlen(v) > SMTP_ORCPT_MAX))
		abort();
	(void)smtp_auth_param_valid(v);

	/* What moatd encodes, moatd accepts. */
	smtp_xtext_encode(&enc, v);
	if (enc.len > 0) {
		if (!smtp_xtext_valid(enc.p, enc.len) ||
		    !ref_xtext(enc.p, enc.len))
			abort();
		if (enc.len <= SMTP_AUTH_PARAM_MAX &&
		    !smtp_auth_param_valid(enc.p))
			abort();
		sbuf_printf(&orcpt, "rfc822;%s", enc.p);
		if (orcpt.len <= SMTP_ORCPT_MAX &&
		    !smtp_dsn_orcpt_valid(orcpt.p, 0))
			abort();
	}
	sbuf_free(&enc);
	sbuf_free(&orcpt);
	free(v);
	return 0;
}
