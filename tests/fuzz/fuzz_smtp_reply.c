/*
 * fuzz_smtp_reply.c: backend bytes -> smtp_line_scan -> smtp_reply_feed,
 * with smtp_ehlo_parse and smtp_reply_line_text on every complete reply,
 * as the upstream side of the session does.  Two round trips are checked
 * as well: whatever text smtp_reply_add() formats must read back through
 * smtp_reply_feed() as one well-formed reply with as many lines, and
 * smtp_xtext_encode() must decode back to its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "smtp_line.h"
#include "smtp_reply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static void
check_reply(const struct smtp_reply *r)
{
	struct smtp_ehlo e;
	char buf[128];
	int i;

	CHECK(r->code >= 200 && r->code <= 599);
	CHECK(r->nlines >= 1 && r->nlines <= SMTP_REPLY_MAX_LINES);
	CHECK(r->text.len <= SMTP_REPLY_MAX_BYTES);
	CHECK(r->text.len >= 5 && r->text.p[r->text.len - 2] == '\r' &&
	    r->text.p[r->text.len - 1] == '\n');
	CHECK(strlen(r->enh) < sizeof(r->enh));
	if (r->enh[0] != '\0')
		CHECK(r->enh[0] - '0' == r->code / 100);
	for (i = -1; i <= r->nlines; i++) {
		smtp_reply_line_text(r, i, buf, sizeof(buf));
		CHECK(strlen(buf) < sizeof(buf));
	}
	smtp_ehlo_parse(r, &e);
	CHECK(strlen(e.auth) < sizeof(e.auth));
	CHECK(strlen(e.xclient) < sizeof(e.xclient));
	CHECK(strlen(e.xforward) < sizeof(e.xforward));
	if (r->code != 250)
		CHECK(e.exts == 0);
	if (e.auth[0] != '\0')
		CHECK(e.exts & SMTP_EXT_AUTH);
}

/* Our own replies must parse as replies, whatever the text. */
static void
check_add(const char *text, int code, const char *enh)
{
	struct sbuf b = SBUF_INIT;
	struct smtp_reply r;
	struct smtp_line l;
	enum smtp_reply_status st = SMTP_REPLY_MORE;
	size_t off = 0, lines = 0;
	int over;

	smtp_reply_add(&b, code, enh, text);
	smtp_reply_init(&r);
	while (off < b.len) {
		CHECK(smtp_line_scan(b.p + off, b.len - off, b.len, &l) ==
		    SMTP_LINE_OK);
		CHECK(l.flags == 0);
		CHECK(st == SMTP_REPLY_MORE);
		over = r.text.len + l.len + 2 > SMTP_REPLY_MAX_BYTES ||
		    lines >= SMTP_REPLY_MAX_LINES;
		st = smtp_reply_feed(&r, b.p + off, l.len);
		CHECK(over == (st == SMTP_REPLY_BAD));
		if (st == SMTP_REPLY_BAD)
			goto out;
		off += l.consumed;
		lines++;
	}
	CHECK(st == SMTP_REPLY_DONE);
	CHECK(r.code == code);
	CHECK((size_t)r.nlines == lines);
	CHECK(r.text.len == b.len && memcmp(r.text.p, b.p, b.len) == 0);
out:
	smtp_reply_free(&r);
	sbuf_free(&b);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
check_xtext(const char *s)
{
	struct sbuf b = SBUF_INIT;
	size_t i, j = 0, n = strlen(s);

	smtp_xtext_encode(&b, s);
	for (i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];

		CHECK(c >= 33 && c <= 126 && c != '=');
		if (c == '+') {
			CHECK(i + 2 < b.len);
			CHECK(hexval(b.p[i + 1]) >= 0);
			CHECK(hexval(b.p[i + 2]) >= 0);
			c = (unsigned char)(hexval(b.p[i + 1]) * 16 +
			    hexval(b.p[i + 2]));
			i += 2;
		}
		CHECK(j < n && (unsigned char)s[j] == c);
		j++;
	}
	CHECK(j == n);
	sbuf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	static const char *const enhs[] = { NULL, "2.0.0", "5.7.1", "" };
	struct smtp_reply r;
	struct smtp_line l;
	enum smtp_line_status st;
	size_t off = 0;
	char *z;

	smtp_reply_init(&r);
	while (off < size) {
		st = smtp_line_scan(buf + off, size - off, 4096, &l);
		if (st == SMTP_LINE_PARTIAL || l.consumed == 0)
			break;
		if (st == SMTP_LINE_OK) {
			switch (smtp_reply_feed(&r, buf + off, l.len)) {
			case SMTP_REPLY_MORE:
				break;
			case SMTP_REPLY_DONE:
				check_reply(&r);
				smtp_reply_reset(&r);
				break;
			case SMTP_REPLY_BAD:
				smtp_reply_reset(&r);
				break;
			}
		}
		off += l.consumed;
	}
	smtp_reply_free(&r);

	z = malloc(size + 1);
	CHECK(z != NULL);
	memcpy(z, data, size);
	z[size] = '\0';
	check_add(z, 200 + (int)(size % 400), enhs[size % 4]);
	check_xtext(z);
	free(z);
	return 0;
}
