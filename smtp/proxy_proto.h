/*
 * proxy_proto.h: the HAProxy PROXY protocol, versions 1 and 2.  Pure.
 * (haproxy's doc/proxy-protocol.txt.)  Inbound: a load balancer tells us the
 * real client.  Outbound: we tell the backend the real client.
 */
#ifndef MOAT_PROXY_PROTO_H
#define MOAT_PROXY_PROTO_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXY_V1_MAX	107	/* longest v1 line, CRLF included */
#define PROXY_V2_MAX	(16 + 65535)	/* header plus the largest length */

/* Which versions a listener accepts. */
#define PROXY_ACCEPT_V1	0x1
#define PROXY_ACCEPT_V2	0x2

enum proxy_status {
	PROXY_MORE = 0,		/* need more bytes */
	PROXY_OK = 1,		/* a complete header: see out, *consumed */
	PROXY_BAD = -1,		/* malformed, or a version not accepted */
};

struct proxy_hdr {
	int	version;		/* 1 or 2 */
	int	local;			/* v2 LOCAL or v1 UNKNOWN: no addresses */
	struct sockaddr_storage src;	/* the real client (if !local) */
	struct sockaddr_storage dst;	/* the address it connected to */
};

/*
 * proxy_parse: parse a PROXY header at buf[0..n).  accept is a mask of
 * PROXY_ACCEPT_*.  Returns PROXY_MORE while the bytes so far are a valid
 * prefix of an accepted header (and fewer than the maximum), PROXY_OK with
 * *consumed set (v2 TLVs are skipped), or PROXY_BAD.  v1: "PROXY TCP4|TCP6
 * src dst sport dport\r\n", strict (decimal ports 0..65535 without leading
 * zeros, addresses valid for the family), or "PROXY UNKNOWN" followed by
 * CRLF or by a space and anything without CR or LF up to the CRLF (local).
 * v2: the 12-byte signature, version 2, command LOCAL (local, family and
 * addresses ignored as the spec says) or PROXY with INET/INET6 over STREAM
 * (UNSPEC taken as local); other families are BAD.  buf is borrowed; *out
 * is cleared on every call, *consumed is 0 unless PROXY_OK.
 */
enum proxy_status proxy_parse(const unsigned char *buf, size_t n,
	    unsigned accept, struct proxy_hdr *out, size_t *consumed);

/*
 * proxy_build_v1 / proxy_build_v2: write a header for src -> dst (both of one
 * family, AF_INET or AF_INET6) into out.  Return the length written, or -1
 * if outsz is too small or the families are unusable.  v1 also writes a NUL
 * after the CRLF (not counted; PROXY_V1_MAX + 1 bytes always suffice); v2
 * writes the PROXY command without TLVs (28 or 52 bytes).
 */
int	proxy_build_v1(char *out, size_t outsz, const struct sockaddr *src,
	    const struct sockaddr *dst);
int	proxy_build_v2(unsigned char *out, size_t outsz,
	    const struct sockaddr *src, const struct sockaddr *dst);

#endif
