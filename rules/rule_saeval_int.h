/*
 * rule_saeval_int.h: what rule_saeval.c and rule_saeval_mime.c share (the
 * patterns, the per-message memo, helpers).  Nothing else includes it.
 */
#ifndef MOAT_RULE_SAEVAL_INT_H
#define MOAT_RULE_SAEVAL_INT_H

#include "rule_saeval.h"

/* Constants.pm IP_ADDRESS, reduced to what a Received field holds */
#define SAE_IP	"(?:(?<![\\d.])(?:\\d{1,3}\\.){3}\\d{1,3}(?![\\d.])|" \
		"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*:[0-9A-Fa-f.]{1,})"

enum sae_re {
	SRE_RCVD_DATE, SRE_FETCH_LOCAL, SRE_FETCHMAIL, SRE_DATE1, SRE_DATE2,
	SRE_DATE3, SRE_HMS, SRE_TZNUM, SRE_TZNAME, SRE_OUTLOOK_ID, SRE_SLD,
	SRE_SUBJ_PREFIX, SRE_CAPS_CHARSET, SRE_EZMLM, SRE_EZMLM_DLTO,
	SRE_EZMLM_RCVD, SRE_MSN_GROUPS_RCVD, SRE_YAHOO_FROM,
	SRE_YAHOO_TRUSTED, SRE_YAHOO_UNTRUSTED, SRE_YAHOO_OK, SRE_YAHOO_BULK,
	SRE_YAHOO_REPLY, SRE_HOTMAIL_PICKUP, SRE_MSN_TO, SRE_MSN_PICKUP,
	SRE_IP, SRE_HOTMAIL_ORIG, SRE_HOTMAIL_IP_OK, SRE_HOTMAIL_ORIG_OK,
	SRE_HOTMAIL_FORGED, SRE_HOTMAIL_FROM, SRE_FM_WELCOME,
	SRE_FM_BODY_URL, SRE_FM_BODY_SKIP, SRE_FM_EMAIL, SRE_FM_MAILTO,
	SRE_FM_SKIP_ENVFROM, SRE_FP_CHARSET,
	SRE_GMAIL_FROM, SRE_GMAIL_OK, SRE_GMAIL_RCVD, SRE_EUDORA_FROM,
	SRE_EUDORA_RCVD, SRE_JUNO_FROM, SRE_JUNO_RCVD, SRE_JUNO_COOKIE,
	SRE_JUNO_MAILCOM, SRE_JUNO_WEBMAIL, SRE_JUNO_XM_MAILCOM,
	SRE_JUNO_XM_WEBMAIL, SRE_AOL_RLY, SRE_AOL_OK, SRE_HREF_IP,
	SRE_TEXT_HTTPS_IP,
	SRE_COUNT
};

/* struct saeval_cache.have */
#define SAE_HAVE_DATEDIFF	0x01
#define SAE_HAVE_GATED		0x02
#define SAE_HAVE_RELAYS		0x04
#define SAE_HAVE_MIME		0x08
#define SAE_HAVE_FMBODY		0x10
#define SAE_HAVE_MADIFF		0x20

/* MIMEEval.pm _check_attachments() results */
struct sae_mime {
	unsigned	base64_count, qp_hdr_count, body_html_count,
			body_text_count, attachment;
	int		base64_encoded_text, bad_iso_charset, multipart_alt,
			qp_long_line, ascii_text_illegal;
	double		qp_count;	/* QP-encoded bytes (replaces the
					   header count when there are any) */
	size_t		qp_bytes;
	double		multipart_ratio;
	size_t		unicode_chars, normal_chars;	/* &#xHHHH; in 7bit
					   or 8bit text/plain, and the rest */
};

struct saeval_cache {
	unsigned	 have;
	long long	 date_diff;
	int		 gated;
	unsigned	 ntrusted, nuntrusted, nunparse;
	struct sae_mime	 mime;
	double		 madiff;	/* BodyEval.pm madiff, in % */
	size_t		 madiff_html, madiff_text;
	struct sbuf	 fmbody;	/* freemail addresses in the body,
					   "\n"-separated; */
	int		 fmbody_skip;	/* too many: FreeMail.pm gives up */
	struct sbuf	 a, b, c;	/* scratch text */
};

int	sae_match(const struct saeval_ctx *, enum sae_re, const char *,
	    size_t);
void	sae_group(const struct saeval_ctx *, const char *, int, struct sbuf *);
int	sae_get(const struct saeval_ctx *, const char *, struct sbuf *);
int	sae_parse_date(const struct saeval_ctx *, const char *, size_t,
	    long long *);
int	sae_gated(struct saeval_ctx *);
int	sae_charset_fp(const struct saeval_ctx *, const char *);


/* rule_saeval_mime.c */
void	sae_mime_reset(struct saeval_cache *);
void	sae_mime_free(struct saeval_cache *);
unsigned ev_check_for_mime(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_mime_html(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_mime_html_only(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_mime_multipart_ratio(const struct saeval_call *,
	    struct saeval_ctx *);
unsigned ev_ascii_text_illegal(const struct saeval_call *,
	    struct saeval_ctx *);
unsigned ev_msg_parse_flags(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_mpart_alt_diff(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_base64_length(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_image_count(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_mpart_alt_diff_count(const struct saeval_call *,
	    struct saeval_ctx *);
unsigned ev_abundant_unicode(const struct saeval_call *,
	    struct saeval_ctx *);
unsigned ev_ma_non_text(const struct saeval_call *, struct saeval_ctx *);

/* rule_saeval_html.c */
unsigned ev_html_test(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_range(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_eval(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_image_only(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_image_ratio(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_tag_balance(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_tag_exists(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_text_match(const struct saeval_call *, struct saeval_ctx *);
unsigned ev_html_title_subject_ratio(const struct saeval_call *,
	    struct saeval_ctx *);

#define SAE_REGEX	0x2	/* the 2nd argument is a regex */
#define SAE_REGEX1	0x4	/* the 1st argument is a regex */

#define SAE_HTML_FNS \
	{ "html_test", ev_html_test, 0 }, \
	{ "html_range", ev_html_range, 0 }, \
	{ "html_eval", ev_html_eval, 0 }, \
	{ "html_image_only", ev_html_image_only, 0 }, \
	{ "html_image_ratio", ev_html_image_ratio, 0 }, \
	{ "html_tag_balance", ev_html_tag_balance, 0 }, \
	{ "html_tag_exists", ev_html_tag_exists, 0 }, \
	{ "html_text_match", ev_html_text_match, SAE_REGEX }, \
	{ "html_title_subject_ratio", ev_html_title_subject_ratio, 0 },

#define SAE_MIME_FNS \
	{ "check_for_mime", ev_check_for_mime, 0 }, \
	{ "check_for_mime_html", ev_mime_html, 0 }, \
	{ "check_for_mime_html_only", ev_mime_html_only, 0 }, \
	{ "check_mime_multipart_ratio", ev_mime_multipart_ratio, 0 }, \
	{ "check_for_ascii_text_illegal", ev_ascii_text_illegal, 0 }, \
	{ "check_msg_parse_flags", ev_msg_parse_flags, 0 }, \
	{ "multipart_alternative_difference", ev_mpart_alt_diff, 0 }, \
	{ "check_base64_length", ev_base64_length, 0 }, \
	{ "image_count", ev_image_count, 0 }, \
	{ "multipart_alternative_difference_count", \
	    ev_mpart_alt_diff_count, 0 }, \
	{ "check_abundant_unicode_ratio", ev_abundant_unicode, 0 }, \
	{ "check_ma_non_text", ev_ma_non_text, 0 },

#endif
