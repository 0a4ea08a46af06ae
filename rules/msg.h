/*
 * msg.h: the message model the rules see.
 *
 * One received message, parsed once into the views SpamAssassin 4.0.1 gives
 * its rule types (see /work/shared/corpus/SA-RULES.md):
 *
 *   header    msg_get()            Mail::SpamAssassin::PerMsgStatus::get()
 *   body      msg_body()           get_decoded_stripped_body_text_array()
 *   rawbody   msg_rawbody()        get_decoded_body_text_array()
 *   full      msg_full()           get_pristine()
 *   uri       msg_uris()           get_uri_list()
 *   mimeheader msg_part_get()      Plugin::MIMEHeader (headers of each part)
 *
 * Everything is computed in msg_parse(); afterwards a struct msg is
 * immutable, so any number of threads may read one concurrently and every
 * pointer returned by an accessor stays valid until msg_free().  Text is
 * bytes: UTF-8 where SpamAssassin converts to Unicode (decoded headers, body),
 * raw octets elsewhere (rawbody, full, :raw).  None of it is NUL-terminated by
 * contract (lengths are given), but every buffer does carry a NUL one byte past
 * its length, so it can be handed to pcre2_match() or printf("%s").
 *
 * The module is pure: no I/O, no clock, no logging.  Hostile input is bounded
 * by struct msg_limits and reported through MSG_F_* flags; it never crashes,
 * never loops, and never makes msg_parse() fail.
 */
#ifndef MOAT_MSG_H
#define MOAT_MSG_H

#include <stddef.h>

#include "sbuf.h"

/*
 * Bounds on the work one message may cause.  A limit of 0 means "use the
 * default" (the *_DEFAULT values).  Exceeding any of them is not an error:
 * the excess is dropped and a MSG_F_*_LIMIT flag is set.
 */
struct msg_limits {
	size_t	max_depth;	/* MIME nesting (multipart/message levels) */
	size_t	max_parts;	/* MIME parts in total, containers included */
	size_t	max_headers;	/* header fields per header block */
	size_t	max_decoded;	/* bytes of decoded part content, in total
				   (and a quarter of the bytes copied into
				   nested MIME parts) */
};

#define MSG_DEPTH_DEFAULT	20
#define MSG_PARTS_DEFAULT	1000
#define MSG_HEADERS_DEFAULT	1000
#define MSG_DECODED_DEFAULT	(32u * 1024 * 1024)

/* Anomalies seen while parsing; msg_flags() returns their OR. */
#define MSG_F_MBOX_FROM		0x00000001u /* leading "From " line removed */
#define MSG_F_CRLF		0x00000002u /* CRLF line ends were squashed */
#define MSG_F_NO_BODY		0x00000004u /* no empty line ending the header */
#define MSG_F_HDR_GARBAGE	0x00000008u /* header line without a colon */
#define MSG_F_HDR_TRUNC		0x00000010u /* name > 256 or value > 8192 bytes */
#define MSG_F_HDR_8BIT		0x00000020u /* raw 8-bit bytes in a header */
#define MSG_F_DEPTH_LIMIT	0x00000040u
#define MSG_F_PARTS_LIMIT	0x00000080u
#define MSG_F_HEADERS_LIMIT	0x00000100u
#define MSG_F_DECODED_LIMIT	0x00000200u
#define MSG_F_NO_BOUNDARY	0x00000400u /* multipart without boundary= */
#define MSG_F_BOUNDARY_OPEN	0x00000800u /* closing --boundary-- missing */
#define MSG_F_BAD_BASE64	0x00001000u /* junk or bad length in base64 */
#define MSG_F_BAD_QP		0x00002000u /* invalid =XX in quoted-printable */
#define MSG_F_BAD_CHARSET	0x00004000u /* unknown charset or bad bytes */
#define MSG_F_BAD_2047		0x00008000u /* malformed RFC 2047 encoded-word */
#define MSG_F_NUL		0x00010000u /* NUL byte in the message */
#define MSG_F_EPILOGUE		0x00020000u /* text after a closing boundary
					       (SA's mime_epilogue_exists) */
#define MSG_F_MIME_NO_HEADERS	0x00040000u /* a line after an opening or
					       inner boundary that is no
					       "name:" (SA's
					       missing_mime_headers) */

/* One header field of the top-level header, in message order. */
struct msg_header {
	const char	*name;	   /* as written, e.g. "Content-type" */
	size_t		 name_len;
	const char	*raw;	   /* everything after the colon, folds kept,
				      with the trailing "\n" (SA's :raw) */
	size_t		 raw_len;
	const char	*value;	   /* unfolded, trimmed, RFC 2047-decoded,
				      UTF-8; no trailing "\n" */
	size_t		 value_len;
};

/* A string in one of the list views (body lines, rawbody chunks, URIs). */
struct msg_str {
	const char	*p;
	size_t		 len;
};

struct msg;

/*
 * Fill *l with the default limits.
 */
void	msg_limits_default(struct msg_limits *l);

/*
 * Parse the message raw[0..len) (RFC 5322 + MIME, RFC 2045-2047), as
 * Mail::SpamAssassin::Message->new does: a leading mbox "From " line is
 * dropped (MSG_F_MBOX_FROM), CRLF becomes LF, headers are unfolded and
 * decoded, MIME parts are decoded, and the body, rawbody and URI views are
 * built.  raw is copied; the caller keeps ownership of it.  lim may be NULL
 * for the defaults.  Never fails: any byte string gives a message (perhaps
 * one with no headers and everything in the body).  Returns a new message
 * owned by the caller, to be released with msg_free().
 */
struct msg	*msg_parse(const char *raw, size_t len,
		    const struct msg_limits *lim);

/*
 * Release m and everything the accessors returned.  msg_free(NULL) is a no-op.
 */
void	msg_free(struct msg *m);

/*
 * The MSG_F_* anomaly flags of m.
 */
unsigned int	msg_flags(const struct msg *m);

/*
 * The top-level header fields, in message order: *n receives the count.
 * The array and its strings belong to m.
 */
const struct msg_header *msg_headers(const struct msg *m, size_t *n);

/*
 * SpamAssassin's header lookup for `header RULE NAME =~ /re/` (PerMsgStatus
 * get()/_get(), joined as Check.pm do_head_tests joins the list).  spec is
 * the operand exactly as written in the rule, without "exists:" and without
 * "[if-unset: ...]", e.g. "Subject", "From:addr", "From:name:raw", "ALL",
 * "ALL:raw", "ToCc", "MESSAGEID", "EnvelopeFrom".  Header names are
 * case-insensitive; only the top-level header is searched (SA's `header`
 * never sees MIME part headers; see msg_part_get()).
 *
 * On return out holds (after sbuf_reset) the text the regex must see:
 *   NAME        every instance's decoded value + "\n", concatenated
 *   NAME:raw    every instance's raw value (folds kept) + "\n"
 *   NAME:addr   the addresses of every instance, "\n"-joined, no final "\n"
 *   NAME:name   the display names, same layout (:name:raw: undecoded)
 *   :first :last  only the first / last instance
 *   ALL         "Name: decoded-value\n" for every field, in order
 *   ALL:raw     the pristine header lines
 *   ToCc        the To then the Cc instances; MESSAGEID the non-empty
 *               X-Message-Id, Resent-Message-Id, X-Original-Message-ID and
 *               Message-Id instances
 *   EnvelopeFrom  get_envelope_from()'s header fallbacks (X-Envelope-From,
 *               Envelope-Sender, Return-Path unless a Received field is
 *               above them); the envfrom SA's Received parser would take
 *               first is not derived, so SA may find one where we do not
 * Values may hold NUL bytes (use out->len).  Returns 1 if the header is
 * defined (exists: is true), 0 if undefined (out is then empty: SA matches
 * undef as "", so /^$/ and !~ hit; the caller applies [if-unset:]), and -1
 * if spec names something this model cannot derive: X-Spam-Relays-*,
 * ALL-TRUSTED/-INTERNAL/-UNTRUSTED/-EXTERNAL (SA's Received parser and
 * trust path) and the :host :domain :ip :revip modifiers.  The caller should
 * then treat the rule as not evaluable (or as SA with no Received data).
 */
int	msg_get(const struct msg *m, const char *spec, struct sbuf *out);

/*
 * Body lines as `body` rules see them: v[0] is the decoded Subject + "\n"
 * (skip it for tflags nosubject), then the rendered text of every text/plain
 * and text/html leaf, one paragraph per element (at most 2048 bytes, broken
 * at a space), whitespace collapsed, UTF-8.  A rule hits if any element
 * matches.  *n receives the count; the array belongs to m.
 */
const struct msg_str *msg_body(const struct msg *m, size_t *n);

/*
 * Decoded (QP/base64) text and message leaves, without rendering or
 * charset conversion, cut into chunks at line ends, as `rawbody` rules see
 * them.  *n receives the count; the array belongs to m.
 */
const struct msg_str *msg_rawbody(const struct msg *m, size_t *n);

/*
 * The pristine message (headers and body) as `full` rules see it: the mbox
 * From line removed, nothing else changed.  *len receives its length.
 */
const char	*msg_full(const struct msg *m, size_t *len);

/*
 * The de-duplicated URI list `uri` rules run over (raw and canonicalised
 * variants, from the rendered text and from HTML attributes), in the order
 * first seen.  *n receives the count; the array belongs to m.
 */
const struct msg_str *msg_uris(const struct msg *m, size_t *n);

/*
 * MIME parts, for `mimeheader` rules (Plugin/MIMEHeader.pm): the number of
 * parts, leaves and containers, in SA's find_parts order (depth first, the
 * top level being part 0, a message/rfc822 part followed by the part that
 * holds the inner message); and the lookup MIMEHeader does on part idx:
 *   NAME      the LAST instance's decoded value + "\n" (scalar get_header);
 *             0 if there is none
 *   NAME:raw  the last instance's raw value (for a MIME part, what follows
 *             "Name:" and blanks; folds kept); "" and 1 if there is none,
 *             since raw_header gives a defined ''
 *   ALL, ALL:raw  "Name: value\n" per field (raw: folds unfolded to " ")
 * idx out of range gives 0.  No pseudo-headers, no other modifiers.
 */
size_t	msg_part_count(const struct msg *m);
int	msg_part_get(const struct msg *m, size_t idx, const char *spec,
	    struct sbuf *out);

/*
 * Facts about MIME part idx (same order as msg_part_get()) for the MIME
 * evals (rules/rule_saeval_mime.c): type is parse_content_type()'s lower
 * case type ("text/plain" when none), charset the raw parameter or NULL,
 * body the part's undecoded content (leaves only; "" for containers) and
 * decoded the same after QP/base64.  Parts are in depth-first order, so
 * the subtree of part idx is idx .. end - 1.  rendered is the text the body
 * rules see of a text/plain or text/html part (SA's rendered()), kept only
 * in a message with a multipart/alternative part, else NULL; html indexes
 * msg_html() for a rendered text/html part, else -1.  Pointers belong to
 * m.  Returns 0, or -1 when idx is out of range.
 */
struct msg_part_info {
	const char	*type;
	const char	*charset;
	int		 leaf;
	const char	*body;
	size_t		 body_len;
	const char	*decoded;
	size_t		 decoded_len;
	size_t		 end;
	const char	*rendered;
	size_t		 rendered_len;
	long		 html;
};
int	msg_part_info(const struct msg *m, size_t idx,
	    struct msg_part_info *out);

/*
 * What SpamAssassin's HTML parser (HTML.pm) records of each rendered
 * text/html part, for the HTML evals (rules/rule_saeval_html.c), in part
 * order.  Lists (comments with their "<!--" and "-->", anchor texts, titles)
 * are NUL-terminated strings one after the other.
 */
#define MSG_HTML_TAGS_MAX	256	/* distinct tag names counted */
struct msg_html_tag {
	char		 name[24];
	long		 inside;	/* starts minus ends, never below 0 */
};
struct msg_html_stats {
	size_t		 length;	/* characters of the HTML source */
	size_t		 non_space_len;	/* of the rendered text */
	double		 image_area;
	long		 max_size;
	unsigned	 tags, closed_extra, obfuscation;
	int		 font_low_contrast, font_invalid_color, font_face_bad,
			 embeds, form_action_mailto;
	int		 iframe_src;	/* an <iframe src=...> URI recorded */
	struct msg_html_tag *tag;
	size_t		 ntag;
	struct sbuf	 comments, anchors, titles;
	size_t		 ncomments, nanchors, ntitles;
	struct sbuf	 anchor_hrefs;	/* each anchor's href as HTML.pm
					   canon_uri() keeps it ("" for none),
					   nanchors of them, in step */
};
const struct msg_html_stats *msg_html(const struct msg *m, size_t *n);

/*
 * Whether host[0..n) ends in a TLD of SpamAssassin's stock valid_tlds list
 * (the one msg_uris() filters text URIs with).
 */
int	msg_host_tld_valid(const char *host, size_t n);

/*
 * Bytes of the pristine body (after the header and its blank line), as
 * Message.pm's pristine_body_length.
 */
size_t	msg_body_length(const struct msg *m);

#endif
