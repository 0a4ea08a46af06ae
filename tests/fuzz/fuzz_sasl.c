/*
 * fuzz_sasl.c: client lines -> sasl_start/sasl_step, as the session feeds
 * an AUTH exchange: the first line is the AUTH argument, the following
 * ones continuation lines while sasl_active(), then AUTH again.  A line
 * starting with 0xff stands for one the session found too long.  Beyond
 * memory errors it traps when an action breaks the contract in sasl.h:
 * codes outside RFC 4954's set, an open exchange after FAIL or VERIFY,
 * credentials with NUL, empty or over their bounds, and when strict
 * base64 is not canonical (decode then encode must give the input back).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static const char b64a[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static unsigned char dec[SASL_LINE_MAX];
static char enc[SASL_LINE_MAX + 8];

static size_t
encode(const unsigned char *p, size_t n, char *o)
{
	size_t i, k = 0;

	for (i = 0; i + 2 < n; i += 3) {
		o[k++] = b64a[p[i] >> 2];
		o[k++] = b64a[(p[i] & 3) << 4 | p[i + 1] >> 4];
		o[k++] = b64a[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		o[k++] = b64a[p[i + 2] & 63];
	}
	if (n - i == 1) {
		o[k++] = b64a[p[i] >> 2];
		o[k++] = b64a[(p[i] & 3) << 4];
		o[k++] = '=';
		o[k++] = '=';
	} else if (n - i == 2) {
		o[k++] = b64a[p[i] >> 2];
		o[k++] = b64a[(p[i] & 3) << 4 | p[i + 1] >> 4];
		o[k++] = b64a[(p[i + 1] & 15) << 2];
		o[k++] = '=';
	}
	return k;
}

static void
check_b64(const char *line, size_t len)
{
	long n;

	if (len > SASL_LINE_MAX)
		return;
	n = sasl_b64_decode(line, len, dec);
	if (n < 0)
		return;
	CHECK((size_t)n == len / 4 * 3 - (len && line[len - 1] == '=') -
	    (len > 1 && line[len - 2] == '='));
	CHECK(encode(dec, (size_t)n, enc) == len);
	CHECK(memcmp(enc, line, len) == 0);
}

static void
check_action(const struct sasl *s, const struct sasl_action *a)
{
	switch (a->kind) {
	case SASL_ACT_CHALLENGE:
		CHECK(sasl_active(s));
		CHECK(strcmp(a->challenge, "") == 0 ||
		    strcmp(a->challenge, "VXNlcm5hbWU6") == 0 ||
		    strcmp(a->challenge, "UGFzc3dvcmQ6") == 0);
		CHECK(a->mech != SASL_MECH_NONE);
		break;
	case SASL_ACT_VERIFY:
		CHECK(!sasl_active(s));
		CHECK(a->login != NULL && a->pass != NULL);
		CHECK(strlen(a->login) >= 1 &&
		    strlen(a->login) <= SASL_LOGIN_MAX);
		CHECK(a->pass_len >= 1 && a->pass_len <= SASL_PASS_MAX);
		CHECK(strlen(a->pass) == a->pass_len);
		CHECK(a->mech != SASL_MECH_NONE);
		break;
	case SASL_ACT_FAIL:
		CHECK(!sasl_active(s));
		CHECK(a->login == NULL && a->pass == NULL);
		CHECK(a->enh != NULL && a->text != NULL);
		switch (a->why) {
		case SASL_FAIL_MECH:
			CHECK(a->code == 504 && a->mech == SASL_MECH_NONE);
			break;
		case SASL_FAIL_SYNTAX:
		case SASL_FAIL_BASE64:
		case SASL_FAIL_MESSAGE:
		case SASL_FAIL_CANCEL:
			CHECK(a->code == 501);
			break;
		case SASL_FAIL_TOO_LONG:
			CHECK(a->code == 500);
			break;
		case SASL_FAIL_AUTHZ:
			CHECK(a->code == 535);
			break;
		case SASL_FAIL_STATE:
			CHECK(a->code == 503);
			break;
		default:
			abort();
		}
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sasl *s;
	const char *p = (const char *)data, *end = p + size, *nl;
	struct sasl_action a;
	size_t len;

	if (s == NULL)
		s = sasl_new();
	sasl_clear(s);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		check_b64(p, len);
		if (len > 0 && (unsigned char)p[0] == 0xff) {
			sasl_too_long(s, &a);
			CHECK(a.kind == SASL_ACT_FAIL && a.code == 500);
		} else if (sasl_active(s))
			sasl_step(s, p, len, &a);
		else
			sasl_start(s, p, len, &a);
		check_action(s, &a);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
