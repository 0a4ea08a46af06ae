/*
 * smtp_esmtp.c: values of the pass-through ESMTP parameters (see
 * smtp_esmtp.h).
 *
 * Purpose: a value that goes to the backend must be one the backend reads
 * as we do.  xtext is checked strictly (upper-case hex only, as RFC 3461 4
 * writes it), lengths are bounded, and nothing is decoded: a valid value
 * is passed on byte for byte.
 *
 * Not done here: whether the extension was offered, duplicates, replies.
 * No allocation, no logging.
 */
#include <string.h>
#include <strings.h>

#include "smtp_esmtp.h"

static int
is_hex_upper(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* xchar: any printable ASCII but '+' and '=' (RFC 3461 4). */
static int
is_xchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '+' && c != '=';
}

/* smtp_xtext_valid: see smtp_esmtp.h. */
int
smtp_xtext_valid(const char *v, size_t max)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n;

	if (v == NULL || (n = strlen(v)) == 0 || n > max)
		return 0;
	while (*p) {
		if (*p == '+') {
			if (!is_hex_upper(p[1]) || !is_hex_upper(p[2]))
				return 0;
			p += 3;
		} else if (is_xchar(*p))
			p++;
		else
			return 0;
	}
	return 1;
}

/* smtp_dsn_ret_valid: see smtp_esmtp.h. */
int
smtp_dsn_ret_valid(const char *v)
{
	return v != NULL && (strcasecmp(v, "FULL") == 0 ||
	    strcasecmp(v, "HDRS") == 0);
}

/* smtp_dsn_notify: see smtp_esmtp.h. */
unsigned
smtp_dsn_notify(const char *v)
{
	static const struct {
		const char	*word;
		unsigned	 bit;
	} words[] = {
		{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_NOTIFY_FAILURE },
		{ "DELAY", SMTP_NOTIFY_DELAY },
	};
	unsigned mask = 0, bit;
	size_t len, i;

	if (v == NULL)
		return 0;
	if (strcasecmp(v, "NEVER") == 0)
		return SMTP_NOTIFY_NEVER;
	for (;;) {
		len = strcspn(v, ",");
		bit = 0;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].word) == len &&
			    strncasecmp(v, words[i].word, len) == 0)
				bit = words[i].bit;
		/* NEVER only alone; each word once (RFC 3461 4.1). */
		if (bit == 0 || (mask & bit))
			return 0;
		mask |= bit;
		if (v[len] == '\0')
			return mask;
		v += len + 1;
	}
}

/*
 * utf-8-addr-xtext / utf-8-addr-unitext (RFC 6533 3): QCHAR (printable
 * ASCII but '+', '=', '\'), "\x{" 1*6HEX "}" for any code point, and raw
 * UTF-8 (already checked well-formed by the command parser) when unitext
 * is allowed.
 */
static int
utf8_addr_valid(const unsigned char *p, int unitext)
{
	size_t k;

	if (*p == '\0')
		return 0;
	while (*p) {
		if (*p == '\\') {
			if (p[1] != 'x' || p[2] != '{')
				return 0;
			p += 3;
			for (k = 0; k < 6 && (is_hex_upper(p[k]) ||
			    (p[k] >= 'a' && p[k] <= 'f')); k++)
				;
			if (k == 0 || p[k] != '}')
				return 0;
			p += k + 1;
		} else if (*p >= 0x80 && unitext)
			p++;
		else if (*p >= 0x21 && *p <= 0x7e && *p != '+' && *p != '=')
			p++;
		else
			return 0;
	}
	return 1;
}

/* smtp_dsn_orcpt_valid: see smtp_esmtp.h. */
int
smtp_dsn_orcpt_valid(const char *v, int utf8)
{
	const char *semi;
	size_t tlen, i;

	if (v == NULL || strlen(v) > SMTP_ORCPT_MAX ||
	    (semi = strchr(v, ';')) == NULL)
		return 0;
	tlen = (size_t)(semi - v);
	if (tlen == 0)
		return 0;
	for (i = 0; i < tlen; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= 'A' && v[i] <= 'Z') ||
		    (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
			return 0;
	if (tlen == 5 && strncasecmp(v, "utf-8", 5) == 0)
		return utf8_addr_valid((const unsigned char *)semi + 1, utf8);
	return smtp_xtext_valid(semi + 1, SMTP_ORCPT_MAX);
}

/* smtp_auth_param_valid: see smtp_esmtp.h. */
int
smtp_auth_param_valid(const char *v)
{
	if (v != NULL && strcmp(v, "<>") == 0)
		return 1;
	return smtp_xtext_valid(v, SMTP_AUTH_PARAM_MAX);
}
