/*
 * fuzz_proxy_proto.c: libFuzzer target for the PROXY protocol parser.
 *
 * Input: one byte for the accept mask, then the bytes a peer sent.  Besides
 * memory safety it checks the parser's promises, aborting on any break:
 * prefix-closedness (every prefix of an OK header is MORE, BAD never turns
 * back into MORE or OK with more bytes, MORE input stays MORE when cut),
 * the bounds on *consumed, and that an OK header with addresses builds back
 * (v1 and v2) into a header that parses to the same addresses.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	size_t len;

	if (a->ss_family != b->ss_family)
		abort();
	if (a->ss_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (a->ss_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	else
		abort();
	if (memcmp(a, b, len) != 0)
		abort();
}

static void
rebuild(const struct proxy_hdr *h)
{
	char			 b1[PROXY_V1_MAX + 1];
	unsigned char		 b2[64];
	struct proxy_hdr	 g;
	size_t			 c;
	int			 n;

	n = proxy_build_v1(b1, sizeof(b1), (const struct sockaddr *)&h->src,
	    (const struct sockaddr *)&h->dst);
	if (n <= 0 || n > PROXY_V1_MAX)
		abort();
	if (proxy_parse((unsigned char *)b1, (size_t)n, PROXY_ACCEPT_V1, &g,
	    &c) != PROXY_OK || c != (size_t)n || g.local || g.version != 1)
		abort();
	same_addr(&g.src, &h->src);
	same_addr(&g.dst, &h->dst);

	n = proxy_build_v2(b2, sizeof(b2), (const struct sockaddr *)&h->src,
	    (const struct sockaddr *)&h->dst);
	if (n != 28 && n != 52)
		abort();
	if (proxy_parse(b2, (size_t)n, PROXY_ACCEPT_V2, &g, &c) != PROXY_OK ||
	    c != (size_t)n || g.local || g.version != 2)
		abort();
	same_addr(&g.src, &h->src);
	same_addr(&g.dst, &h->dst);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	 h, g;
	const unsigned char	*buf;
	size_t			 n, c, d, k, kmax;
	unsigned		 accept;
	enum proxy_status	 st, sk;
	int			 seen_bad;

	if (size < 1)
		return 0;
	accept = data[0] & 0x7;
	buf = data + 1;
	n = size - 1;

	st = proxy_parse(buf, n, accept, &h, &c);
	switch (st) {
	case PROXY_OK:
		if (c == 0 || c > n)
			abort();
		if (h.version == 1) {
			if (!(accept & PROXY_ACCEPT_V1) || c > PROXY_V1_MAX ||
			    buf[c - 2] != '\r' || buf[c - 1] != '\n')
				abort();
		} else if (h.version == 2) {
			if (!(accept & PROXY_ACCEPT_V2) || c < 16 ||
			    c > PROXY_V2_MAX)
				abort();
		} else
			abort();
		if (!h.local)
			rebuild(&h);
		else if (h.src.ss_family != 0 || h.dst.ss_family != 0)
			abort();
		break;
	case PROXY_MORE:
		if (c != 0 || n >= PROXY_V2_MAX)
			abort();
		break;
	case PROXY_BAD:
		if (c != 0)
			abort();
		break;
	default:
		abort();
	}

	/* Every prefix, in order: the promises that make MORE safe. */
	kmax = n < 4096 ? n : 4096;
	seen_bad = 0;
	for (k = 0; k <= kmax; k++) {
		sk = proxy_parse(buf, k, accept, &g, &d);
		switch (st) {
		case PROXY_OK:
			if (k < c && sk != PROXY_MORE)
				abort();
			if (k >= c && (sk != PROXY_OK || d != c ||
			    memcmp(&g, &h, sizeof(g)) != 0))
				abort();
			break;
		case PROXY_MORE:
			if (sk != PROXY_MORE)
				abort();
			break;
		case PROXY_BAD:
			if (sk == PROXY_OK || (seen_bad && sk != PROXY_BAD))
				abort();
			break;
		}
		if (sk == PROXY_BAD)
			seen_bad = 1;
	}
	return 0;
}
