/*
 * upstream.c: the SMTP client toward the backend MTA (see upstream.h).
 *
 * One connection per client session, opened at the first MAIL that passed
 * the checks, so bots refused early never reach the MTA.  Handshake: TCP
 * connect (with a PROXY header first for proxy-v1/v2), 220 banner, EHLO,
 * then XCLIENT + the second banner + EHLO again for xclient; XFORWARD goes
 * before each MAIL.  After that it relays one command at a time and reports
 * each reply through the callback.
 *
 * It does not decide anything about the client: the session chooses what
 * to send and what to tell the client.  Invariants: at most one command is
 * outstanding; the timer runs whenever a reply is awaited; the callback is
 * only ever invoked from a libevent callback, never from an up_*() call, so
 * the caller's stack never sees its own state change under it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "netaddr.h"
#include "proxy_proto.h"
#include "smtp_data.h"
#include "smtp_line.h"
#include "tls.h"
#include "upstream.h"
#include "xmalloc.h"

#define UP_STATES(X)							\
	X(NEW) X(CONNECTING) X(BANNER) X(EHLO) X(HELO) X(STARTTLS)	\
	X(TLSHS) X(XCLIENT)						\
	X(EHLO2) X(READY) X(XFORWARD) X(CMD) X(DATA) X(BODY) X(DOT)	\
	X(DEAD)

enum up_state {
#define X(s) UP_ST_##s,
	UP_STATES(X)
#undef X
};

static const char *const up_state_names[] = {
#define X(s) #s,
	UP_STATES(X)
#undef X
};

#define UP_LINE_MAX	4096		/* RFC 5321 says 512; be generous */
#define UP_PUMP_HIGH	(256 * 1024)	/* output bytes queued while sending */
#define UP_PUMP_LOW	(64 * 1024)
#define UP_CHUNK	(64 * 1024)

struct upstream {
	struct event_base	*base;
	const struct config	*cfg;		/* borrowed from the session */
	struct tls_client	*tls_ctx;	/* its snapshot's; NULL: none */
	up_cb			*cb;
	void			*arg;
	char			 sid[17];
	enum up_state		 state;
	struct bufferevent	*bev;
	struct event		*timer;
	struct event		*defer;		/* deliver a failure later */
	char			 defer_why[128];
	struct smtp_reply	 reply;
	struct smtp_ehlo	 ehlo;
	int			 tls;		/* 0 clear, 1 handshake, 2 up */
	int			 identify;	/* send identity */
	struct sockaddr_storage	 client, local;
	char			*name;
	char			*ptr;
	int			 dns_temp;
	char			*helo;
	char			*login;
	int			 esmtp;
	char			*pending;	/* command behind XFORWARD */

	/* message being sent */
	const char		*hdr;
	size_t			 hdrlen;
	struct msgstore		*ms;
	unsigned long long	 ms_off;
	unsigned long long	 ms_start;	/* first message byte to send */
	int			 bol;
	int			 chunked;	/* BDAT: raw bytes, no dot */
};

static void up_read_cb(struct bufferevent *, void *);
static void up_write_cb(struct bufferevent *, void *);
static void up_event_cb(struct bufferevent *, short, void *);
static void up_start_tls(struct upstream *);

static void
up_enter_state(struct upstream *up, enum up_state st)
{
	log_trace(LOG_T_BACKEND, "session=%s backend %s -> %s", up->sid,
	    up_state_names[up->state], up_state_names[st]);
	up->state = st;
}

static void
up_timer_set(struct upstream *up, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(up->timer, &tv);
}

/* Drop the connection; report why to the owner (from a callback only). */
static void
up_fail(struct upstream *up, const struct smtp_reply *r, const char *why)
{
	evtimer_del(up->timer);
	if (up->bev) {
		bufferevent_free(up->bev);
		up->bev = NULL;
	}
	up_enter_state(up, UP_ST_DEAD);
	up->cb(up->arg, UP_FAIL, r, why);
}

static void
up_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;

	(void)fd;
	(void)what;
	up_fail(up, NULL, up->defer_why);
}

static void
up_fail_later(struct upstream *up, const char *why)
{
	struct timeval tv = { 0, 0 };

	snprintf(up->defer_why, sizeof(up->defer_why), "%s", why);
	evtimer_add(up->defer, &tv);
}

static void
up_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *up = arg;
	char why[64];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "timeout in %s",
	    up_state_names[up->state]);
	up_fail(up, NULL, why);
}

struct upstream *
up_new(struct event_base *base, const struct moat_snapshot *snap, up_cb *cb,
    void *arg, const char *session_id)
{
	struct upstream *up = xcalloc(1, sizeof(*up));

	up->base = base;
	up->cfg = snap->cfg;
	up->tls_ctx = snap->backend_tls;
	up->cb = cb;
	up->arg = arg;
	snprintf(up->sid, sizeof(up->sid), "%s", session_id);
	up->timer = evtimer_new(base, up_timeout_cb, up);
	up->defer = evtimer_new(base, up_defer_cb, up);
	smtp_reply_init(&up->reply);
	up->state = UP_ST_NEW;
	return up;
}

/*
 * One command line.  Written at once when nothing is queued (as the session
 * does with its replies: a bufferevent write costs two epoll_ctl calls and
 * a loop turn); the rest, if any, through the bufferevent.
 */
static void
up_send(struct upstream *up, const char *line)
{
	struct evbuffer *out = bufferevent_get_output(up->bev);
	struct sbuf b = SBUF_INIT;
	ssize_t n = 0;

	log_trace_cmd(LOG_T_BACKEND, up->sid, "backend <-", line, strlen(line));
	sbuf_adds(&b, line);
	sbuf_add(&b, "\r\n", 2);
	if (evbuffer_get_length(out) == 0 && up->state != UP_ST_CONNECTING &&
	    up->tls == 0) {
		n = send(bufferevent_getfd(up->bev), b.p, b.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < b.len)
		evbuffer_add(out, b.p + n, b.len - (size_t)n);
	sbuf_free(&b);
	smtp_reply_reset(&up->reply);
	up_timer_set(up, up->cfg->backend_reply_timeout_ms);
}

static void
up_send_proxy_header(struct upstream *up)
{
	unsigned char buf[256];
	int n;

	if (up->cfg->backend_identity == CFG_ID_PROXY_V1)
		n = proxy_build_v1((char *)buf, sizeof(buf),
		    (struct sockaddr *)&up->client,
		    (struct sockaddr *)&up->local);
	else
		n = proxy_build_v2(buf, sizeof(buf),
		    (struct sockaddr *)&up->client,
		    (struct sockaddr *)&up->local);
	if (n > 0)
		evbuffer_add(bufferevent_get_output(up->bev), buf, (size_t)n);
	else
		log_warn_session(up->sid, "backend: cannot build PROXY header "
		    "for this address family");
}

void
up_connect(struct upstream *up, const struct up_identity *id)
{
	const struct config *cfg = up->cfg;
	evutil_socket_t fd;
	int one = 1;

	if (id) {
		up->identify = 1;
		up->client = id->client;
		up->local = id->local;
		up->name = id->name ? xstrdup(id->name) : NULL;
		up->ptr = id->ptr ? xstrdup(id->ptr) : NULL;
		up->dns_temp = id->dns_temp;
		up->helo = id->helo ? xstrdup(id->helo) : NULL;
		up->login = id->login ? xstrdup(id->login) : NULL;
		up->esmtp = id->esmtp;
	}
	up_enter_state(up, UP_ST_CONNECTING);
	fd = socket(cfg->backend_addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		up_fail_later(up, "socket failed");
		return;
	}
	/* Commands are small and latency-bound; see the bench notes. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	up->bev = bufferevent_socket_new(up->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(up->bev, up_read_cb, NULL, up_event_cb, up);
	bufferevent_enable(up->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(up->bev,
	    (struct sockaddr *)&cfg->backend_addr,
	    (int)cfg->backend_addrlen) == -1) {
		char why[128];

		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		bufferevent_free(up->bev);
		up->bev = NULL;
		up_fail_later(up, why);
		return;
	}
	up_timer_set(up, cfg->backend_connect_timeout_ms);
}

int
up_is_ready(const struct upstream *up)
{
	return up && up->state == UP_ST_READY;
}

const struct smtp_ehlo *
up_ehlo(const struct upstream *up)
{
	return &up->ehlo;
}

/* XCLIENT values: the attributes Postfix documents, xtext-encoded. */
static void
up_send_xclient(struct upstream *up)
{
	struct netaddr na;
	struct sbuf line = SBUF_INIT;
	char addr[64];
	const char *attrs = up->ehlo.xclient;
	int port = 0;

	sbuf_adds(&line, "XCLIENT");
	/*
	 * Postfix's own words for what its lookups found: the verified name,
	 * [UNAVAILABLE] for none, [TEMPUNAVAIL] for a failure that may pass
	 * (so reject_unknown_* rules answer 4xx, as they would themselves).
	 */
	if (strstr(attrs, " NAME") || strncmp(attrs, "NAME", 4) == 0) {
		sbuf_adds(&line, " NAME=");
		smtp_xtext_encode(&line, up->name ? up->name : up->dns_temp ?
		    "[TEMPUNAVAIL]" : "[UNAVAILABLE]");
	}
	if (strstr(attrs, "REVERSE_NAME")) {
		sbuf_adds(&line, " REVERSE_NAME=");
		smtp_xtext_encode(&line, up->ptr ? up->ptr : up->dns_temp ?
		    "[TEMPUNAVAIL]" : "[UNAVAILABLE]");
	}
	if (netaddr_from_sockaddr(&na, (struct sockaddr *)&up->client) == 0 &&
	    strstr(attrs, "ADDR")) {
		netaddr_str(&na, addr, sizeof(addr));
		sbuf_printf(&line, " ADDR=%s%s",
		    na.family == AF_INET6 ? "IPV6:" : "", addr);
	}
	if (up->client.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&up->client)->sin_port);
	else if (up->client.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&up->client)->sin6_port);
	if (port && strstr(attrs, "PORT"))
		sbuf_printf(&line, " PORT=%d", port);
	if (strstr(attrs, "PROTO"))
		sbuf_adds(&line, up->esmtp ? " PROTO=ESMTP" : " PROTO=SMTP");
	if (up->helo && strstr(attrs, "HELO")) {
		sbuf_adds(&line, " HELO=");
		smtp_xtext_encode(&line, up->helo);
	}
	if (up->login && strstr(attrs, "LOGIN")) {
		sbuf_adds(&line, " LOGIN=");
		smtp_xtext_encode(&line, up->login);
	}
	up_send(up, line.p);
	sbuf_free(&line);
}

static void
up_xforward_line(struct upstream *up, struct sbuf *line)
{
	struct netaddr na;
	char addr[64];
	const char *attrs = up->ehlo.xforward;

	sbuf_adds(line, "XFORWARD");
	if (strstr(attrs, "NAME")) {
		sbuf_adds(line, " NAME=");
		smtp_xtext_encode(line, up->name ? up->name : up->dns_temp ?
		    "[TEMPUNAVAIL]" : "[UNAVAILABLE]");
	}
	if (netaddr_from_sockaddr(&na, (struct sockaddr *)&up->client) == 0 &&
	    strstr(attrs, "ADDR")) {
		netaddr_str(&na, addr, sizeof(addr));
		sbuf_printf(line, " ADDR=%s%s",
		    na.family == AF_INET6 ? "IPV6:" : "", addr);
	}
	if (strstr(attrs, "PROTO"))
		sbuf_adds(line, up->esmtp ? " PROTO=ESMTP" : " PROTO=SMTP");
	if (up->helo && strstr(attrs, "HELO")) {
		sbuf_adds(line, " HELO=");
		smtp_xtext_encode(line, up->helo);
	}
	if (strstr(attrs, "SOURCE"))
		sbuf_adds(line, " SOURCE=REMOTE");
}

static void
up_send_ehlo(struct upstream *up, const char *name)
{
	char line[600];

	snprintf(line, sizeof(line), "EHLO %s", name);
	up_send(up, line);
}

static const char *
up_our_helo(const struct upstream *up)
{
	return up->cfg->backend_helo ? up->cfg->backend_helo :
	    up->cfg->hostname;
}

/* A HELO name fit to put on our EHLO line toward the backend. */
static int
helo_sendable(const char *h)
{
	if (h == NULL || *h == '\0' || strlen(h) > 255)
		return 0;
	for (; *h; h++)
		if ((unsigned char)*h <= ' ' || (unsigned char)*h >= 127)
			return 0;
	return 1;
}

/*
 * What the backend's last EHLO offered (SMTP_EXT_* | UP_LEARNED), shared
 * by every worker: sessions advertise the pass-through extensions only
 * when the backend has them (issue 12, defect 6).  0: nothing learned.
 */
#define UP_LEARNED	0x80000000u
static atomic_uint	up_learned;
static atomic_ullong	up_learned_size;	/* its SIZE; 0: none */

/* up_backend_exts: see upstream.h. */
unsigned
up_backend_exts(void)
{
	unsigned v = atomic_load(&up_learned);

	return v ? v & ~UP_LEARNED : ~0u;
}

/* up_backend_size: see upstream.h. */
unsigned long long
up_backend_size(void)
{
	return atomic_load(&up_learned_size);
}

/* up_backend_forget: see upstream.h. */
void
up_backend_forget(void)
{
	atomic_store(&up_learned, 0);
	atomic_store(&up_learned_size, 0);
}

/* Learn from this connection's final EHLO; log when it changed. */
static void
up_learn(struct upstream *up)
{
	unsigned now = up->ehlo.exts | UP_LEARNED, was;

	struct logline l;
	char hex[16];

	atomic_store(&up_learned_size, (up->ehlo.exts & SMTP_EXT_SIZE) ?
	    up->ehlo.size : 0);
	was = atomic_exchange(&up_learned, now);
	if (was == 0 || was == now)
		return;
	/* Our EHLO replies follow it from now on. */
	logline_begin(&l, "backend_exts");
	logline_str(&l, "session", up->sid);
	snprintf(hex, sizeof(hex), "0x%x", was & ~UP_LEARNED);
	logline_str(&l, "was", hex);
	snprintf(hex, sizeof(hex), "0x%x", now & ~UP_LEARNED);
	logline_str(&l, "now", hex);
	logline_emit(&l);
}

static void
up_ready(struct upstream *up)
{
	up_learn(up);
	evtimer_del(up->timer);
	up_enter_state(up, UP_ST_READY);
	up->cb(up->arg, UP_READY, &up->reply, NULL);
}

/*
 * What to do after the backend's EHLO (the first one, or the one after
 * STARTTLS): STARTTLS if configured and not done yet, then the identity.
 */
static void
up_after_ehlo(struct upstream *up)
{
	if (up->cfg->backend_tls != CFG_BTLS_OFF && up->tls == 0 &&
	    up->tls_ctx != NULL) {
		if (up->ehlo.exts & SMTP_EXT_STARTTLS) {
			up_enter_state(up, UP_ST_STARTTLS);
			up_send(up, "STARTTLS");
			return;
		}
		if (up->cfg->backend_tls == CFG_BTLS_REQUIRED) {
			up_fail(up, NULL, "backend does not offer STARTTLS "
			    "(backend_tls required)");
			return;
		}
	}
	if (up->identify && up->cfg->backend_identity == CFG_ID_XCLIENT) {
		if (up->ehlo.exts & SMTP_EXT_XCLIENT) {
			up_enter_state(up, UP_ST_XCLIENT);
			up_send_xclient(up);
			return;
		}
		log_warn_session(up->sid, "backend does not offer XCLIENT: "
		    "the MTA will see moatd's address, not the client's "
		    "(check smtpd_authorized_xclient_hosts)");
	}
	if (up->identify && up->cfg->backend_identity == CFG_ID_XFORWARD &&
	    !(up->ehlo.exts & SMTP_EXT_XFORWARD))
		log_warn_session(up->sid, "backend does not offer XFORWARD "
		    "(check smtpd_authorized_xforward_hosts)");
	up_ready(up);
}

/* After the backend's 220 to STARTTLS (RFC 3207 4). */
static void
up_start_tls(struct upstream *up)
{
	struct netaddr na;
	struct bufferevent *bev;
	char host[64] = "";

	if (netaddr_from_sockaddr(&na,
	    (const struct sockaddr *)&up->cfg->backend_addr) == 0)
		netaddr_str(&na, host, sizeof(host));
	bev = tls_client_wrap(up->tls_ctx, up->bev, host, NULL,
	    up_read_cb, NULL, up_event_cb, up);
	if (bev == NULL) {
		up_fail(up, NULL, "cannot start TLS toward the backend");
		return;
	}
	up->bev = bev;
	up->tls = 1;
	up_enter_state(up, UP_ST_TLSHS);
	up_timer_set(up, up->cfg->backend_reply_timeout_ms);
}

static void up_write_cb(struct bufferevent *, void *);
static void up_emit(void *, const char *, size_t);

/* Start pumping the message (after 354, or right behind BDAT). */
static void
up_body_start(struct upstream *up)
{
	up_enter_state(up, UP_ST_BODY);
	up->ms_off = up->ms_start;
	up->bol = 1;
	up_timer_set(up, up->cfg->backend_data_timeout_ms);
	bufferevent_setwatermark(up->bev, EV_WRITE, UP_PUMP_LOW, 0);
	bufferevent_setcb(up->bev, up_read_cb, up_write_cb, up_event_cb, up);
	up_write_cb(up->bev, up);
}

/* The message bytes: dot-stuffed for DATA, as they are for BDAT. */
static void
up_put(struct upstream *up, struct evbuffer *out, const char *p, size_t n)
{
	if (up->chunked)
		evbuffer_add(out, p, n);
	else
		smtp_data_stuff(p, n, &up->bol, up_emit, out);
}

static void
up_got_reply(struct upstream *up)
{
	struct smtp_reply *r = &up->reply;
	char why[96];

	evtimer_del(up->timer);
	switch (up->state) {
	case UP_ST_BANNER:
		if (r->code != 220) {
			up_fail(up, r, "backend refused the connection");
			return;
		}
		up_enter_state(up, UP_ST_EHLO);
		up_send_ehlo(up, up_our_helo(up));
		return;
	case UP_ST_EHLO:
		if (r->code == 250) {
			smtp_ehlo_parse(r, &up->ehlo);
			up_after_ehlo(up);
			return;
		}
		/* RFC 5321 4.1.4: fall back to HELO for an old server. */
		up_enter_state(up, UP_ST_HELO);
		{
			char line[600];

			snprintf(line, sizeof(line), "HELO %s",
			    up_our_helo(up));
			up_send(up, line);
		}
		return;
	case UP_ST_HELO:
		if (r->code != 250) {
			up_fail(up, r, "backend refused HELO");
			return;
		}
		memset(&up->ehlo, 0, sizeof(up->ehlo));
		up_ready(up);
		return;
	case UP_ST_STARTTLS:
		if (r->code != 220) {
			if (up->cfg->backend_tls == CFG_BTLS_REQUIRED) {
				up_fail(up, r, "backend refused STARTTLS");
				return;
			}
			/* Opportunistic: go on in clear. */
			up->tls = -1;
			up_after_ehlo(up);
			return;
		}
		up_start_tls(up);
		return;
	case UP_ST_XCLIENT:
		/*
		 * Postfix answers XCLIENT with a new 220 greeting; others
		 * (smtp-sink) with 250.  Either way EHLO again, since XCLIENT
		 * resets the server's session state.
		 */
		if (r->code != 220 && r->code != 250) {
			up_fail(up, r, "backend refused XCLIENT");
			return;
		}
		up_enter_state(up, UP_ST_EHLO2);
		up_send_ehlo(up, helo_sendable(up->helo) ? up->helo :
		    up_our_helo(up));
		return;
	case UP_ST_EHLO2:
		if (r->code != 250) {
			up_fail(up, r, "backend refused EHLO after XCLIENT");
			return;
		}
		smtp_ehlo_parse(r, &up->ehlo);
		up_ready(up);
		return;
	case UP_ST_XFORWARD:
		if (r->code != 250) {
			up_fail(up, r, "backend refused XFORWARD");
			return;
		}
		up_enter_state(up, UP_ST_CMD);
		up_send(up, up->pending);
		free(up->pending);
		up->pending = NULL;
		return;
	case UP_ST_CMD:
		up_enter_state(up, UP_ST_READY);
		if (r->code == 421) {
			/* The backend is closing: we must not reuse it. */
			up_fail(up, r, "backend said 421");
			return;
		}
		up->cb(up->arg, UP_REPLY, r, NULL);
		return;
	case UP_ST_DATA:
		if (r->code == 421) {
			up_fail(up, r, "backend said 421");
			return;
		}
		if (r->code != 354) {
			up_enter_state(up, UP_ST_READY);
			up->cb(up->arg, UP_REPLY, r, NULL);
			return;
		}
		up_body_start(up);
		return;
	case UP_ST_BODY:
		/* A reply before the end of the data: the backend gave up. */
		up_fail(up, r, "backend replied during the message");
		return;
	case UP_ST_DOT:
		if (r->code == 421) {
			/*
			 * Closing (RFC 5321 3.8): this link is dead even if
			 * the close comes later; the next MAIL must open a
			 * fresh one, not find out on this one.
			 */
			up_fail(up, r, "backend said 421");
			return;
		}
		up_enter_state(up, UP_ST_READY);
		up->cb(up->arg, UP_REPLY, r, NULL);
		return;
	case UP_ST_READY:
		/* Unsolicited: typically "421 timeout"; this link is done. */
		up_fail(up, r, "backend spoke unasked");
		return;
	default:
		snprintf(why, sizeof(why), "reply in state %s",
		    up_state_names[up->state]);
		up_fail(up, r, why);
		return;
	}
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstream *up = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct smtp_line ln;
	enum smtp_line_status st;
	enum smtp_reply_status rs;
	size_t avail, want;
	char *p;

	while (up->state != UP_ST_DEAD && (avail = evbuffer_get_length(in))) {
		want = avail < UP_LINE_MAX + 2 ? avail : UP_LINE_MAX + 2;
		p = (char *)evbuffer_pullup(in, (ev_ssize_t)want);
		st = smtp_line_scan(p, want, UP_LINE_MAX, &ln);
		if (st == SMTP_LINE_PARTIAL)
			return;
		if (st == SMTP_LINE_TOO_LONG) {
			up_fail(up, NULL, "backend reply line too long");
			return;
		}
		log_trace(LOG_T_BACKEND, "session=%s backend -> %.*s",
		    up->sid, (int)ln.len, p);
		rs = smtp_reply_feed(&up->reply, p, ln.len);
		evbuffer_drain(in, ln.consumed);
		if (rs == SMTP_REPLY_BAD) {
			up_fail(up, NULL, "malformed backend reply");
			return;
		}
		if (rs == SMTP_REPLY_DONE) {
			up_got_reply(up);
			smtp_reply_reset(&up->reply);
		}
	}
}

static void
up_emit(void *arg, const char *p, size_t n)
{
	evbuffer_add(arg, p, n);
}

/* Feed the message to the socket, a bounded amount at a time. */
static void
up_write_cb(struct bufferevent *bev, void *arg)
{
	struct upstream *up = arg;
	struct evbuffer *out = bufferevent_get_output(bev);
	char chunk[UP_CHUNK];
	ssize_t n;

	if (up->state != UP_ST_BODY)
		return;
	if (up->hdr) {
		up_put(up, out, up->hdr, up->hdrlen);
		up->hdr = NULL;
	}
	while (evbuffer_get_length(out) < UP_PUMP_HIGH &&
	    up->ms_off < up->ms->size) {
		const char *mem = ms_mem(up->ms);

		if (mem != NULL) {
			/* In memory: stuff straight from it, no extra copy. */
			n = (ssize_t)(up->ms->size - up->ms_off);
			if (n > UP_CHUNK)
				n = UP_CHUNK;
			up_put(up, out, mem + up->ms_off, (size_t)n);
			up->ms_off += (unsigned long long)n;
			continue;
		}
		n = ms_read(up->ms, up->ms_off, chunk, sizeof(chunk));
		if (n <= 0) {
			up_fail(up, NULL, "reading the spooled message failed");
			return;
		}
		up_put(up, out, chunk, (size_t)n);
		up->ms_off += (unsigned long long)n;
	}
	if (up->ms_off >= up->ms->size) {
		/* The DATA reader's output always ends in CRLF. */
		if (!up->chunked && !up->bol)
			evbuffer_add(out, "\r\n", 2);
		/* A BDAT chunk is exactly the bytes it announced. */
		if (!up->chunked)
			evbuffer_add(out, ".\r\n", 3);
		bufferevent_setcb(bev, up_read_cb, NULL, up_event_cb, up);
		up_enter_state(up, UP_ST_DOT);
	}
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream *up = arg;
	char why[128];

	(void)bev;
	if (up->state == UP_ST_TLSHS) {
		if (what & BEV_EVENT_CONNECTED) {
			/* RFC 3207 4.2: start over with EHLO. */
			up->tls = 2;
			up_enter_state(up, UP_ST_EHLO);
			up_send_ehlo(up, up_our_helo(up));
			return;
		}
		tls_error_string(up->bev, why, sizeof(why));
		up_fail(up, NULL, why);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		up_enter_state(up, UP_ST_BANNER);
		if (up->cfg->backend_identity == CFG_ID_PROXY_V1 ||
		    up->cfg->backend_identity == CFG_ID_PROXY_V2) {
			/*
			 * A backend that expects the header gets one on every
			 * connection, the anonymous probe's too: then it
			 * names moatd itself.
			 */
			if (!up->identify) {
				socklen_t len = sizeof(up->client);

				getsockname(bufferevent_getfd(up->bev),
				    (struct sockaddr *)&up->client, &len);
				memcpy(&up->local, &up->cfg->backend_addr,
				    sizeof(up->local));
			}
			up_send_proxy_header(up);
		}
		up_timer_set(up, up->cfg->backend_reply_timeout_ms);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "backend closed the connection "
		    "in %s", up_state_names[up->state]);
	else
		snprintf(why, sizeof(why), "backend %s: %s",
		    up->state == UP_ST_CONNECTING ? "connect" : "i/o error",
		    strerror(EVUTIL_SOCKET_ERROR()));
	up_fail(up, NULL, why);
}

void
up_command(struct upstream *up, const char *line, int xforward)
{
	struct sbuf xf = SBUF_INIT;

	if (up->state != UP_ST_READY) {
		up_fail_later(up, "backend not ready");
		return;
	}
	if (xforward && up->identify &&
	    up->cfg->backend_identity == CFG_ID_XFORWARD &&
	    (up->ehlo.exts & SMTP_EXT_XFORWARD)) {
		up_xforward_line(up, &xf);
		free(up->pending);
		up->pending = xstrdup(line);
		up_enter_state(up, UP_ST_XFORWARD);
		up_send(up, xf.p);
		sbuf_free(&xf);
		return;
	}
	up_enter_state(up, UP_ST_CMD);
	up_send(up, line);
}

/* The message to send; -1 (failure reported later) if not ready. */
static int
up_message(struct upstream *up, const char *hdr, size_t hdrlen,
    struct msgstore *ms, unsigned long long off, int chunked)
{
	if (up->state != UP_ST_READY) {
		up_fail_later(up, "backend not ready");
		return -1;
	}
	up->hdr = hdr;
	up->hdrlen = hdrlen;
	up->ms = ms;
	up->ms_start = off;
	up->chunked = chunked;
	return 0;
}

void
up_data(struct upstream *up, const char *hdr, size_t hdrlen,
    struct msgstore *ms, unsigned long long off)
{
	if (up_message(up, hdr, hdrlen, ms, off, 0) == -1)
		return;
	up_enter_state(up, UP_ST_DATA);
	up_send(up, "DATA");
}

void
up_bdat(struct upstream *up, const char *hdr, size_t hdrlen,
    struct msgstore *ms, unsigned long long off)
{
	char line[64];

	if (up_message(up, hdr, hdrlen, ms, off, 1) == -1)
		return;
	snprintf(line, sizeof(line), "BDAT %llu LAST",
	    (unsigned long long)hdrlen + (ms->size - off));
	/* RFC 3030 2: the chunk follows the command without a reply. */
	up_send(up, line);
	up_body_start(up);
}

void
up_free(struct upstream *up)
{
	if (up == NULL)
		return;
	if (up->bev && up->tls > 0) {
		if (up->state == UP_ST_READY)
			evbuffer_add(bufferevent_get_output(up->bev),
			    "QUIT\r\n", 6);
		tls_free_after_flush(up->bev, 1000);
		up->bev = NULL;
	} else if (up->bev && up->state == UP_ST_READY) {
		/*
		 * A polite QUIT, without waiting: the output is empty when
		 * idle, so one non-blocking send either goes or does not.
		 */
		(void)send(bufferevent_getfd(up->bev), "QUIT\r\n", 6,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (up->bev)
		bufferevent_free(up->bev);
	event_free(up->timer);
	event_free(up->defer);
	smtp_reply_free(&up->reply);
	free(up->name);
	free(up->ptr);
	free(up->helo);
	free(up->login);
	free(up->pending);
	free(up);
}
