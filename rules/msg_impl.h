/*
 * msg_impl.h: internals shared by the message model's files (msg.c,
 * msg_text.c, msg_html.c, msg_uri.c).  Not for use outside rules/msg*.c.
 */
#ifndef MOAT_MSG_IMPL_H
#define MOAT_MSG_IMPL_H

#include <stddef.h>

#include "sbuf.h"

/* SpamAssassin's constants (Mail::SpamAssassin::Constants). */
#define MSG_MAX_BODY_LINE	2048
#define MSG_MAX_HDR_KEY		256
#define MSG_MAX_HDR_VALUE	8192
#define MSG_MAX_HDR_LENGTH	65536
#define MSG_MAX_URI_LENGTH	8192
#define MSG_BODY_SCAN_SIZE	50000
#define MSG_RAWBODY_SCAN_SIZE	500000

/*
 * A 256-entry table of F(0) .. F(255), for byte classes the scanners ask
 * of every byte: F must be a constant expression, so the table is built by
 * the preprocessor and is constant data.
 */
#define MSG_T4(F, c)	F(c), F((c) + 1), F((c) + 2), F((c) + 3)
#define MSG_T16(F, c)	MSG_T4(F, c), MSG_T4(F, (c) + 4), MSG_T4(F, (c) + 8), \
	MSG_T4(F, (c) + 12)
#define MSG_T64(F, c)	MSG_T16(F, c), MSG_T16(F, (c) + 16), \
	MSG_T16(F, (c) + 32), MSG_T16(F, (c) + 48)
#define MSG_TABLE256(F)	MSG_T64(F, 0), MSG_T64(F, 64), MSG_T64(F, 128), \
	MSG_T64(F, 192)

/* msg_text.c */
size_t	msg_ascii_run(const char *, size_t);
void	msg_qp_decode(const char *, size_t, struct sbuf *, int *);
void	msg_b64_decode(const char *, size_t, struct sbuf *, int *);
int	msg_utf8_valid(const char *, size_t);
size_t	msg_utf8_ws(const char *, size_t);
void	msg_normalize(const char *, size_t, const char *, int, struct sbuf *,
	    int *, int *);
void	msg_decode_header(const char *, size_t, const char *, struct sbuf *,
	    int *);
void	msg_put_utf8(struct sbuf *, unsigned long);

/* msg_html.c */
struct msg_html_stats;
int	msg_html_render(const char *, size_t, int, struct sbuf *, struct sbuf *,
	    struct msg_html_stats *);
void	msg_html_stats_free(struct msg_html_stats *);

/* msg_uri.c */
struct msg_uriset;
struct msg_uriset *msg_uriset_new(void);
void	msg_uriset_free(struct msg_uriset *);
void	msg_uri_from_text(struct msg_uriset *, struct msg_uriset *,
	    const char *, size_t);
void	msg_uri_add(struct msg_uriset *, struct msg_uriset *, const char *,
	    size_t, int);
size_t	msg_uriset_count(const struct msg_uriset *);
const char *msg_uriset_get(const struct msg_uriset *, size_t, size_t *);

#endif
