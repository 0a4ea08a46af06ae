/*
 * fuzz_authres.c: Authentication-Results (engine/sauth_ar.c).  The input
 * is read four ways: as a header field from outside, which must parse
 * without reading past its end and, when it yields an authserv-id, one
 * that is non-empty and NUL-free; as a URI whose host a URI list would be
 * asked about (a lower-case DNS name, or nothing); as a DNS list
 * specification (dnsbl_sites), whose sites must then be within their
 * bounds; as a header block to strip our fields from (sauth_ar_strip:
 * never longer than its input, and a second pass removes nothing and
 * changes nothing); and as
 * hostile values (d=, s=, MAIL FROM domain, authserv-id) for the writer,
 * whose header must have no line break but its folds, and must parse
 * back as ours (we strip the fields we wrote; a field we write that we do
 * not recognise would survive a second pass).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "engine/sauth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static void
copy_field(char *dst, size_t dstsz, const uint8_t **p, size_t *n)
{
	size_t k = 0;

	while (*n > 0 && **p != 0 && k + 1 < dstsz) {
		dst[k++] = (char)**p;
		(*p)++;
		(*n)--;
	}
	dst[k] = '\0';
	if (*n > 0) {
		(*p)++;
		(*n)--;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sauth_results r;
	struct sauth_sites sites;
	struct sbuf sb = SBUF_INIT;
	char id[SAUTH_DOMAIN_MAX], aid[64], spec[600], msg[128];
	const uint8_t *p = data;
	size_t n = size, i, k;
	char *copy;
	int j;

	/* 1: a field from outside, in an exact-size heap copy so ASan sees
	 * any read past len. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (sauth_ar_authserv_id(copy, size, id, sizeof(id)) == 0) {
		CHECK(id[0] != '\0');
		CHECK(strlen(id) < sizeof(id));
	}
	(void)sauth_ar_is_ours(copy, size, "mx.example.net");
	/* ... and as a header block. */
	sauth_ar_strip(copy, size, "mx.example.net", &sb);
	CHECK(sb.len <= size);
	{
		struct sbuf again = SBUF_INIT;

		CHECK(sauth_ar_strip(sb.p, sb.len, "mx.example.net",
		    &again) == 0);
		CHECK(again.len == sb.len && (sb.len == 0 ||
		    memcmp(again.p, sb.p, sb.len) == 0));
		sbuf_free(&again);
	}
	sbuf_free(&sb);
	/* ... and as a URI: a host we ask a list about is a DNS name. */
	if (sauth_uri_host(copy, size, id, sizeof(id)) == 0) {
		CHECK(id[0] != '\0' && strchr(id, '.') != NULL);
		CHECK(strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789.-_") ==
		    strlen(id));
	}
	free(copy);

	/* 2: a DNS list specification. */
	k = size < sizeof(spec) - 1 ? size : sizeof(spec) - 1;
	memcpy(spec, data, k);
	spec[k] = '\0';
	if (strlen(spec) == k && sauth_sites_parse(spec, &sites, msg,
	    sizeof(msg)) == 0) {
		CHECK(sites.n >= 0 && sites.n <= SAUTH_LIST_MAX);
		for (j = 0; j < sites.n; j++) {
			CHECK(sites.site[j].weight >= -1000 &&
			    sites.site[j].weight <= 1000);
			(void)sauth_site_match(&sites.site[j], "127.0.0.2");
		}
	}

	/* 3: hostile values through the writer. */
	memset(&r, 0, sizeof(r));
	copy_field(aid, sizeof(aid), &p, &n);
	if (aid[0] == '\0')
		return 0;
	r.spf = (enum sauth_res)(size % 9);
	copy_field(r.spf_domain, sizeof(r.spf_domain), &p, &n);
	copy_field(r.helo, sizeof(r.helo), &p, &n);
	r.dmarc = (enum sauth_res)((size / 9) % 9);
	copy_field(r.from_domain, sizeof(r.from_domain), &p, &n);
	while (n > 0 && r.nsigs < SAUTH_SIG_MAX) {
		struct sauth_sig *s = &r.sigs[r.nsigs++];

		s->res = (enum sauth_res)(*p % 9);
		copy_field(s->domain, sizeof(s->domain), &p, &n);
		copy_field(s->selector, sizeof(s->selector), &p, &n);
		copy_field(s->reason, sizeof(s->reason), &p, &n);
	}
	sauth_ar_write(aid, &r, &sb);
	CHECK(sb.len >= 2 && sb.p[sb.len - 2] == '\r' &&
	    sb.p[sb.len - 1] == '\n');
	for (i = 0; i + 2 < sb.len; i++) {
		if (sb.p[i] == '\n')
			CHECK(sb.p[i - 1] == '\r' && sb.p[i + 1] == '\t');
		if (sb.p[i] == '\r')
			CHECK(sb.p[i + 1] == '\n');
		CHECK(sb.p[i] != '\0');
	}
	/* Our own field is recognised as ours (the writer drops control
	 * characters, so an id with some is not the id written). */
	for (i = 0; aid[i] != '\0'; i++)
		if ((unsigned char)aid[i] < ' ' || aid[i] == 0x7f)
			break;
	if (aid[i] == '\0')
		CHECK(sauth_ar_is_ours(sb.p, sb.len - 2, aid) == 1);
	sbuf_free(&sb);
	return 0;
}
