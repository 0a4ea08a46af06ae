/*
 * digits.h: the value of one hexadecimal or base64 digit, or -1.  Several
 * decoders (quoted-printable, %XX in URIs, \xHH in patterns, SASL and MIME
 * base64) need exactly this and nothing more; what each does with a bad
 * digit is its own business.
 */
#ifndef MOAT_DIGITS_H
#define MOAT_DIGITS_H

/* 0-9, a-f, A-F */
static inline int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 4648 section 4: A-Z a-z 0-9 + / */
static inline int
b64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

#endif
