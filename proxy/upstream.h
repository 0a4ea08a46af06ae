/*
 * upstream.h: the backend side of a session: one SMTP client connection to
 * the MTA, opened lazily, identified with XCLIENT/XFORWARD/PROXY, reused for
 * every transaction of the client session.
 *
 * Owner: the client session (or the startup probe); up_free() closes it.
 * Every result is delivered through the callback given to up_new(), on the
 * event loop's thread, never from inside an up_*() call.
 */
#ifndef MOAT_UPSTREAM_H
#define MOAT_UPSTREAM_H

#include <sys/socket.h>

#include "moat_conf.h"
#include "msgstore.h"
#include "snapshot.h"
#include "smtp_reply.h"

struct event_base;
struct upstream;

enum up_event {
	UP_READY,	/* connected, greeted, identified: commands may go */
	UP_REPLY,	/* the reply to the last up_command()/up_data() */
	UP_FAIL,	/* refused, down, timed out or gone: see why */
};

/*
 * r: the backend's reply (UP_REPLY; for UP_FAIL the reply that made it
 * fail, when there was one, else NULL); valid during the callback only.
 * why: a short reason for logs ("connect: Connection refused", "timeout").
 */
typedef void up_cb(void *arg, enum up_event ev, const struct smtp_reply *r,
    const char *why);

/* What the backend is told about the real client. */
struct up_identity {
	struct sockaddr_storage	client;
	struct sockaddr_storage	local;	/* where the client connected to */
	const char		*name;	/* verified reverse name or NULL */
	const char		*ptr;	/* PTR name, verified or not, or NULL */
	int			 dns_temp; /* the lookup failed temporarily */
	const char		*helo;	/* client's HELO/EHLO argument or NULL */
	int			 esmtp;	/* EHLO (1) or HELO (0) */
	const char		*login;	/* SMTP AUTH login or NULL */
};

/*
 * up_new: a backend link configured by snap's config and client TLS
 * context; snap is borrowed and must outlive the link (the session's).
 */
struct upstream *up_new(struct event_base *,
	    const struct moat_snapshot *snap, up_cb *, void *arg,
	    const char *session_id);
/* Start connecting; id NULL for an anonymous probe (no identity sent). */
void	up_connect(struct upstream *, const struct up_identity *id);
int	up_is_ready(const struct upstream *);
const struct smtp_ehlo *up_ehlo(const struct upstream *);
/*
 * up_command: send one command line (without CRLF) and wait for its reply.
 * With xforward set and identity xforward configured, the XFORWARD line is
 * sent first (Postfix forgets XFORWARD after each transaction).
 */
void	up_command(struct upstream *, const char *line, int xforward);
/*
 * up_data: DATA; on 354 the header bytes hdr[0..hdrlen) and then the
 * message in ms from byte off (canonical, unstuffed) go out dot-stuffed,
 * then ".";
 * UP_REPLY carries the final reply (or the refusal of DATA itself).
 * ms and hdr must stay valid until the callback.
 */
void	up_data(struct upstream *, const char *hdr, size_t hdrlen,
	    struct msgstore *ms, unsigned long long off);
/*
 * up_bdat: as up_data, but as one "BDAT n LAST" chunk (RFC 3030) of
 * exactly those bytes, not stuffed; only where the backend's EHLO has
 * CHUNKING.  UP_REPLY carries the reply to the chunk.
 */
void	up_bdat(struct upstream *, const char *hdr, size_t hdrlen,
	    struct msgstore *ms, unsigned long long off);
/*
 * up_backend_exts: the SMTP_EXT_* the backend offered on the last
 * connection that reached READY (any session's, or backend_check's), or
 * every bit when none has yet: then the config alone decides, and a
 * transaction that needs what the backend turns out to lack gets a 4xx.
 * Thread-safe.  up_backend_forget(): back to "not known" (reload).
 */
unsigned up_backend_exts(void);
/* The SIZE limit of that EHLO (RFC 1870); 0 when none or not known. */
unsigned long long up_backend_size(void);
void	up_backend_forget(void);
/* up_free: say QUIT if idle and close; NULL is a no-op. */
void	up_free(struct upstream *);

#endif
