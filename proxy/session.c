/*
 * session.c: one client SMTP session in moatd (DESIGN.md, "One SMTP session").
 *
 * It owns the client socket (a bufferevent), the session state and the
 * current transaction, and carries out what the pure modules decide:
 * smtp_line finds lines, smtp_cmd parses them, smtp_fsm judges their order,
 * smtp_data reads the message; the backend is driven through upstream.c.
 *
 * It does not parse bytes itself, and it never says 250 to the end of DATA
 * on its own: the client gets the backend's reply to the message or a 4xx.
 * Invariants: only sess_enter_state() writes s->state and only
 * sess_enter_wait() writes s->wait and SF_WAIT; while SF_WAIT is set
 * no client input is processed (replies stay in order, RFC 2920); a session
 * is freed only from the loop (sess_free_cb), never inside a callback of its
 * own bufferevent or upstream; an open transaction is always logged once,
 * at commit or rollback.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "clock.h"
#include "daemon.h"
#include "dns.h"
#include "engine/eng_sauth.h"
#include "engine/engine.h"
#include "engine/sauth.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "msgstore.h"
#include "policy.h"
#include "proxy_proto.h"
#include "smtp_bdat.h"
#include "smtp_cmd.h"
#include "smtp_data.h"
#include "smtp_esmtp.h"
#include "smtp_fsm.h"
#include "smtp_line.h"
#include "smtp_reply.h"
#include "tls.h"
#include "passwd.h"
#include "sasl.h"
#include "sess_auth.h"
#include "sess_replay.h"
#include "sender_map.h"
#include "snapshot.h"
#include "upstream.h"
#include "xmalloc.h"

/* Session flags. */
#define SF_CLOSING	0x01	/* reply flushed, then freed; no more input */
#define SF_WAIT		0x02	/* a command awaits the backend */
#define SF_FREEING	0x04	/* free scheduled */
#define SF_PREGREET	0x08	/* the client talked before the banner */
#define SF_INPROC	0x10	/* sess_process() is on the stack */
#define SF_EOF		0x20	/* the client half-closed; see sess_eof() */

/*
 * What a session waits for when SF_WAIT is set; W_NONE when it is not.
 * One list makes the enum and the names the trace shows (sess_wait_name).
 * Only sess_enter_wait() writes s->wait and SF_WAIT.
 */
#define SESS_WAIT_LIST(X)						\
	X(W_NONE, "NONE")	/* not waiting */			\
	X(W_TLS, "TLS")		/* our TLS handshake with the client */	\
	X(W_AUTH, "AUTH")	/* the password pool checks a login */	\
	X(W_AUTHDELAY, "AUTHDELAY") /* a failed login's reply is held */ \
	X(W_AUTHBE, "AUTHBE")	/* the backend checks a login */	\
	X(W_ENGINE, "ENGINE")	/* a stage of the engine: its step's	\
				   wait names it (RATE, GREY, DNS) */	\
	X(W_CONNECT, "CONNECT")	/* the backend link being set up */	\
	X(W_RSET, "RSET")	/* the backend's reply to our RSET */	\
	X(W_MAIL, "MAIL")	/* ... to MAIL */			\
	X(W_RCPT, "RCPT")	/* ... to RCPT */			\
	X(W_REPLAY, "REPLAY")	/* a greylisted transaction replayed */	\
	X(W_DATA, "DATA")	/* the backend's reply to the message */

enum sess_wait {
#define SESS_WAIT_ENUM(e, name)	e,
	SESS_WAIT_LIST(SESS_WAIT_ENUM)
#undef SESS_WAIT_ENUM
};

/* Input buffered before reading from the client pauses (backpressure). */
#define SESS_HIGH_WATER	(256 * 1024)
/* How long a closing session may take to flush its last reply. */
#define SESS_CLOSE_WAIT_MS	10000
/* The most memory reserved for a message before its bytes arrive. */
#define SESS_PRESIZE_MAX	(64 * 1024)
/* How long a closed session reads and drops what the client still sends. */
#define SESS_LINGER_MS		2000

struct smtp_tx {
	int		 n;		/* 1-based, within the session */
	char		*from;		/* reverse-path, "" for <> */
	char		*mail_line;	/* what goes to the backend */
	int		 smtputf8;
	int		 body8;
	unsigned long long size_decl;	/* SIZE=, 0 if none */
	char		**rcpt;		/* accepted by the backend */
	int		 nrcpt;
	int		 nrcpt_refused;
	char		*rcpt_pending;	/* awaiting the backend's answer */
	/*
	 * The DSN parameters (" NOTIFY=... ORCPT=...", RFC 3461) of each
	 * accepted recipient (NULL: none), and of the pending one.
	 */
	char		**rcpt_dsn;
	char		*rcpt_dsn_pending;
	unsigned	 needs;		/* SMTP_EXT_* the backend must have */
	char		*auth_param;	/* AUTH= for the backend, or NULL */
	struct smtp_data reader;
	struct msgstore	 ms;
	struct sbuf	 hdr;		/* our Received: header */
	int64_t		 start_ms;	/* clock_mono_ms() at MAIL */
	int		 backend_open;	/* backend has MAIL for it */
	int		 lost;		/* its backend link died (see sess_tx_lost) */
	const char	*verdict;	/* for the log line */
	struct sbuf	 tag;		/* X-Spam-* and the rewritten header */
	unsigned long long body_off;	/* where the message body starts */
	int		 tainted;	/* the backend holds a greylisted rcpt */
	struct smtp_reply grey_reply;	/* the backend's RCPT reply, held */
	const struct smtp_reply *grey_now; /* ... or, during the call, its
					   reply not yet held */
	int		 replay;	/* replay step (W_REPLAY) */
	int		 chunked;	/* the message came by BDAT */
	struct msg	*msg;		/* DATA stage: the parsed message */
	const char	*raw;		/* ... and its mapped bytes */
	size_t		 raw_len;
};

struct session {
	char			 id[17];
	struct worker		*w;
	struct session		*next, *prev;
	struct moat_snapshot	*snap;		/* a reference for life */
	struct config		*cfg;		/* snap->cfg */
	const struct cfg_listen	*lst;
	struct bufferevent	*bev;
	struct sockaddr_storage	 peer;		/* the real client */
	struct sockaddr_storage	 local;
	struct netaddr		 client;
	char			 client_str[64];
	int			 client_port;
	int			 ipcounted;
	/*
	 * The engine's view of this session and its transaction: the facts
	 * (client name, trust, login, ...) and every check's results (the
	 * score card, the greylist outcome).  Owned, freed in sess_free.
	 */
	struct eng_tx		*et;
	enum smtp_state		 state;
	unsigned		 flags;
	enum sess_wait		 wait;
	const char		*wait_eng;	/* W_ENGINE: what it waits for */
	int			 helo_ehlo;	/* the HELO being judged is EHLO */
	char			 helo[256];
	/* The whole HELO argument, for logs: one past the cap shows "...". */
	char			 helo_arg[LOG_VALUE_MAX + 2];
	int			 esmtp;
	unsigned		 adv;		/* SMTP_EXT_* the last EHLO
						 * offered that follow the
						 * backend's */
	int			 ncmds;
	int			 nerrors;
	int			 last_code;	/* of the last reply sent */
	int			 ntx;		/* messages the backend took */
	int			 txseq;		/* transactions begun */
	struct smtp_tx		*tx;
	struct upstream		*up;
	int			 up_rset;	/* backend needs RSET first */
	struct upstream		*up_dead;	/* failed; free from loop */
	struct event		*timer;		/* command / DATA deadline */
	struct event		*greet_timer;
	struct event		*free_ev;
	unsigned long long	 bytes_in, bytes_out;
	struct sbuf		 obuf;		/* replies not yet written */
	int			 tls;		/* 0 plain, 1 handshake, 2 up */
	struct sasl		*sasl;		/* an AUTH exchange, or NULL */
	int			 in_auth;	/* lines go to the exchange */
	struct passwd_req	*pwreq;		/* a password being checked */
	char			*auth_try;	/* the login being checked */
	char			*auth_line;	/* AUTH PLAIN for the backend */
	char			*auth_login;	/* authenticated as */
	/*
	 * BDAT (RFC 3030): while in_chunk, input is the chunk's bytes,
	 * counted off by bdat, never lines.  A refused chunk is consumed all
	 * the same and its reply (chunk_code...) sent after its last byte.
	 */
	struct smtp_bdat	 bdat;
	int			 in_chunk;
	int			 chunk_last;	/* the chunk said LAST */
	int			 chunk_code;	/* refused: the reply, else 0 */
	const char		*chunk_enh;
	char			 chunk_text[128];
	char			 tls_version[16];
	char			 tls_cipher[64];
	int64_t			 start_ms;	/* clock_mono_ms() */
	int64_t			 wait_ms;	/* ... when s->wait began */
	const char		*reason;
};

static void sess_read_cb(struct bufferevent *, void *);
static void sess_write_cb(struct bufferevent *, void *);
static void sess_event_cb(struct bufferevent *, short, void *);
static void sess_process(struct session *);
static void sess_up_cb(void *, enum up_event, const struct smtp_reply *,
    const char *);
static void sess_up_reply(struct session *, enum up_event,
    const struct smtp_reply *);
static void sess_timeout_cb(evutil_socket_t, short, void *);
static void sess_open_backend(struct session *);
static void sess_auth_backend_reply(struct session *,
    const struct smtp_reply *);
static void sess_auth_line_free(struct session *);
static void sess_mail_backend(struct session *);
static void sess_rcpt_forward(struct session *);
static void sess_greet(struct session *);
static void sess_auth_delay(struct session *, long long);
static void sess_auth_refuse(struct session *);
static void sess_tls_start(struct session *, enum tls_plaintext);

/* ---- small helpers ---------------------------------------------------- */

void
sess_id_new(char out[17])
{
	unsigned char r[8];
	size_t i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* Uniqueness, not secrecy, is what a log id needs. */
		struct timespec ts;
		static atomic_uint ctr;
		unsigned long long v;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = (unsigned long long)ts.tv_nsec ^
		    ((unsigned long long)ts.tv_sec << 20) ^
		    ((unsigned long long)atomic_fetch_add(&ctr, 1) << 40);
		memcpy(r, &v, sizeof(r));
	}
	for (i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* The name of wait w of s; W_ENGINE shows what the engine waits for. */
static const char *
sess_wait_name(const struct session *s, enum sess_wait w)
{
	static const char *const names[] = {
#define SESS_WAIT_NAME(e, name)	name,
		SESS_WAIT_LIST(SESS_WAIT_NAME)
#undef SESS_WAIT_NAME
	};

	if (w == W_ENGINE && s->wait_eng != NULL)
		return s->wait_eng;
	if ((size_t)w >= sizeof(names) / sizeof(names[0]))
		return "INVALID";
	return names[w];
}

/*
 * sess_enter_wait: the only writer of s->wait and SF_WAIT (W_NONE clears
 * it, any other wait sets it), traced by name.  Entering a wait stops the
 * command timer: an awaited answer has its own deadline, which whoever
 * enters the wait sets after this (DNS, TLS, AUTHDELAY), or none.
 */
static void
sess_enter_wait(struct session *s, enum sess_wait w)
{
	const char *from = sess_wait_name(s, s->wait);

	if (w == W_ENGINE)
		s->wait_eng = eng_wait_name(s->et);
	log_trace(LOG_T_SMTP, "session=%s wait %s -> %s", s->id, from,
	    sess_wait_name(s, w));
	if (w != s->wait)
		s->wait_ms = metrics_wait(s->wait != W_NONE ? from : NULL,
		    s->wait_ms);
	s->wait = w;
	if (w == W_NONE) {
		s->flags &= ~SF_WAIT;
		return;
	}
	s->flags |= SF_WAIT;
	evtimer_del(s->timer);
}

static void
sess_enter_state(struct session *s, enum smtp_state st)
{
	log_trace(LOG_T_SMTP, "session=%s %s -> %s", s->id,
	    smtp_state_name(s->state), smtp_state_name(st));
	s->state = st;
}

/*
 * sess_flush: write the queued replies.  When nothing is pending in the
 * bufferevent, one send(2) right now: handing them to the bufferevent would
 * cost an epoll_ctl, a loop turn and another epoll_ctl per reply (measured,
 * bench/README.md).  Whatever the socket does not take goes to the
 * bufferevent, which keeps the order and the backpressure.
 */
static void
sess_flush(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	ssize_t n = 0;

	if (s->obuf.len == 0 || (s->flags & SF_FREEING))
		return;
	/* Under TLS every byte goes through the TLS bufferevent. */
	if (s->tls == 0 && evbuffer_get_length(out) == 0) {
		n = send(bufferevent_getfd(s->bev), s->obuf.p, s->obuf.len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			n = 0;	/* EAGAIN; a real error shows on the next I/O */
	}
	if ((size_t)n < s->obuf.len)
		evbuffer_add(out, s->obuf.p + n, s->obuf.len - (size_t)n);
	s->bytes_out += s->obuf.len;
	/* An idle session keeps no big buffer. */
	if (s->obuf.cap > 4096)
		sbuf_free(&s->obuf);
	else
		sbuf_reset(&s->obuf);
}

/*
 * sess_out: queue bytes for the client.  Replies made while the input is
 * being processed go out together at the end of that pass (RFC 2920: one
 * write for a pipelined group); others at once.
 */
static void
sess_out(struct session *s, const void *p, size_t n)
{
	sbuf_add(&s->obuf, p, n);
	if (!(s->flags & SF_INPROC))
		sess_flush(s);
}

/*
 * sess_reply: queue one reply; error replies count toward max_errors
 * (Postfix's hard error limit), checked before the next command.
 */
static void
sess_reply(struct session *s, int code, const char *enh, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
sess_reply(struct session *s, int code, const char *enh, const char *fmt, ...)
{
	struct sbuf out = SBUF_INIT;
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_reply_add(&out, code, enh, text);
	sess_out(s, out.p, out.len);
	log_trace(LOG_T_SMTP, "session=%s <- %d %s", s->id, code, text);
	sbuf_free(&out);
	s->last_code = code;
	if (code >= 400)
		s->nerrors++;
}

/* Pass a backend reply on as it is (multi-line, enhanced codes and all). */
static void
sess_reply_raw(struct session *s, const struct smtp_reply *r)
{
	sess_out(s, r->text.p, r->text.len);
	s->last_code = r->code;
	if (r->code >= 400)
		s->nerrors++;
}

/* The first line of a reply, for logs. */
static void
reply_first_line(const struct smtp_reply *r, char *buf, size_t bufsz)
{
	size_t n = 0;

	if (r == NULL || r->text.p == NULL) {
		snprintf(buf, bufsz, "%s", "");
		return;
	}
	while (n < r->text.len && r->text.p[n] != '\r' && r->text.p[n] != '\n')
		n++;
	if (n >= bufsz)
		n = bufsz - 1;
	memcpy(buf, r->text.p, n);
	buf[n] = '\0';
}

static void
sess_timer_set(struct session *s, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(s->timer, &tv);
}

/* ---- freeing ---------------------------------------------------------- */

static void
sess_free_cb(evutil_socket_t fd, short what, void *arg);

static void
sess_schedule_free(struct session *s)
{
	struct timeval tv = { 0, 0 };

	if (s->flags & SF_FREEING)
		return;
	s->flags |= SF_FREEING | SF_CLOSING;
	bufferevent_disable(s->bev, s->tls ? EV_READ : EV_READ | EV_WRITE);
	evtimer_add(s->free_ev, &tv);
}

/*
 * sess_close: stop reading; free once what is queued has been written
 * (the 221/421 the client should see).
 */
static void
sess_close(struct session *s, const char *reason)
{
	if (s->flags & SF_CLOSING)
		return;
	s->flags |= SF_CLOSING;
	if (s->reason == NULL)
		s->reason = reason;
	evtimer_del(s->timer);
	sess_flush(s);
	if (s->tls) {
		/* sess_free hands the bufferevent to tls_free_after_flush. */
		sess_schedule_free(s);
		return;
	}
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setcb(s->bev, NULL, sess_write_cb, sess_event_cb, s);
	/* A client that never reads must not keep the session forever. */
	sess_timer_set(s, SESS_CLOSE_WAIT_MS);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		sess_write_cb(s->bev, s);
}

/* While closing: whatever the client still sends is read and dropped. */
static void
sess_discard_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

/*
 * The last reply is out.  Closing now, with unread client input in the
 * socket, would make the kernel send a RST that can destroy that reply
 * before the client reads it; so half-close, and drop input until the
 * client closes too or SESS_LINGER_MS pass (Postfix and Apache linger the
 * same way).
 */
static void
sess_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (evbuffer_get_length(bufferevent_get_input(bev)) == 0 &&
	    s->state == SMTP_ST_QUIT) {
		sess_schedule_free(s);
		return;
	}
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(bev),
	    evbuffer_get_length(bufferevent_get_input(bev)));
	bufferevent_setcb(bev, sess_discard_cb, NULL, sess_event_cb, s);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
	sess_timer_set(s, SESS_LINGER_MS);
}

/* eng_sauth_log_fields' callback: one field of the tx line. */
static void
tx_log_field(void *arg, const char *key, const char *val)
{
	logline_str(arg, key, val);
}

static void
tx_log(struct session *s, struct smtp_tx *tx, const char *verdict,
    const char *status, const char *backend_reply)
{
	struct logline l;
	struct sbuf rc = SBUF_INIT;
	int i;

	for (i = 0; i < tx->nrcpt; i++) {
		if (i)
			sbuf_addc(&rc, ',');
		sbuf_adds(&rc, tx->rcpt[i]);
	}
	logline_begin(&l, "tx");
	logline_str(&l, "session", s->id);
	logline_int(&l, "tx", tx->n);
	logline_str(&l, "client", s->client_str);
	logline_str(&l, "helo", s->helo_arg);
	logline_str(&l, "tls", s->tls == 2 ? s->tls_version : "no");
	logline_str(&l, "auth", s->auth_login ? s->auth_login : "");
	logline_str(&l, "from", tx->from);
	logline_str(&l, "rcpt", rc.p ? rc.p : "");
	logline_int(&l, "nrcpt", tx->nrcpt);
	logline_int(&l, "rcpt_refused", tx->nrcpt_refused);
	logline_int(&l, "size", (long long)tx->ms.size);
	{
		struct sbuf rl = SBUF_INIT;

		score_card_log(&s->et->card, &rl);
		logline_dbl(&l, "score", score_card_total(&s->et->card));
		logline_str(&l, "rules", rl.p ? rl.p : "");
		sbuf_free(&rl);
	}
	if (s->cfg->bayes) {
		char bp[16];

		snprintf(bp, sizeof(bp), "%.4f", s->et->bayes_p);
		logline_str(&l, "bayes", s->et->bayes_known ? bp : "-");
	}
	logline_str(&l, "verdict", verdict);
	logline_str(&l, "greylist", s->et->grey ? s->et->grey : "off");
	/* spf= dkim= dmarc= lists= when the checks ran (eng_sauth.c) */
	eng_sauth_log_fields(s->et, tx_log_field, &l);
	logline_str(&l, "status", status);
	logline_str(&l, "backend_reply", backend_reply);
	logline_int(&l, "ms", clock_mono_ms() - tx->start_ms);
	logline_emit(&l);
	sbuf_free(&rc);
}

static void
tx_free(struct smtp_tx *tx)
{
	int i;

	if (tx == NULL)
		return;
	free(tx->from);
	free(tx->mail_line);
	for (i = 0; i < tx->nrcpt; i++) {
		free(tx->rcpt[i]);
		free(tx->rcpt_dsn[i]);
	}
	free(tx->rcpt);
	free(tx->rcpt_dsn);
	free(tx->rcpt_pending);
	free(tx->rcpt_dsn_pending);
	free(tx->auth_param);
	/* A DATA stage still pending when the session ends. */
	msg_free(tx->msg);
	if (tx->raw != NULL)
		ms_unmap(&tx->ms, tx->raw, tx->raw_len);
	ms_free(&tx->ms);
	sbuf_free(&tx->hdr);
	sbuf_free(&tx->tag);
	smtp_reply_free(&tx->grey_reply);
	free(tx);
}

/*
 * sess_tx_end: the one way a transaction ends, committed or not, whoever
 * ends it: logged here exactly once (event=tx with verdict, status and the
 * backend's reply, "" if none), the backend marked for RSET when it holds
 * MAIL for it (a caller whose backend finished the transaction clears
 * tx->backend_open first), and freed.
 */
static void
sess_tx_end(struct session *s, const char *verdict, const char *status,
    const char *backend_reply)
{
	struct smtp_tx *tx = s->tx;

	if (tx == NULL)
		return;
	tx_log(s, tx, verdict, status, backend_reply);
	metrics_tx(s->lst ? s->lst->name : "", verdict, status, s->et->grey,
	    &s->et->card, tx->start_ms, clock_mono_ms());
	if (tx->backend_open && s->up != NULL)
		s->up_rset = 1;
	tx_free(tx);
	s->tx = NULL;
	eng_tx_end(s->et);
}

/* The client or the session ends it before the backend's last word. */
static void
sess_tx_rollback(struct session *s, const char *status)
{
	if (s->tx != NULL)
		sess_tx_end(s, "none", s->tx->lost ? "backend-failed" :
		    status, "");
}

static void
sess_log(struct session *s)
{
	struct logline l;

	logline_begin(&l, "session");
	logline_str(&l, "session", s->id);
	logline_str(&l, "client", s->client_str);
	logline_str(&l, "name", s->et->client_name ? s->et->client_name :
	    "unknown");
	logline_str(&l, "dns", dns_status_name(s->et->dns_status));
	logline_int(&l, "port", s->client_port);
	logline_str(&l, "listener", s->lst ? s->lst->name : "");
	logline_str(&l, "helo", s->helo_arg);
	logline_str(&l, "tls", s->tls == 2 ? s->tls_version : "no");
	if (s->tls == 2)
		logline_str(&l, "cipher", s->tls_cipher);
	logline_str(&l, "auth", s->auth_login ? s->auth_login : "");
	logline_int(&l, "txs", s->ntx);
	logline_int(&l, "cmds", s->ncmds);
	logline_int(&l, "errors", s->nerrors);
	logline_int(&l, "bytes_in", (long long)s->bytes_in);
	logline_int(&l, "bytes_out", (long long)s->bytes_out);
	logline_str(&l, "reason", s->reason ? s->reason : "unknown");
	logline_int(&l, "ms", clock_mono_ms() - s->start_ms);
	logline_emit(&l);
	metrics_session(s->lst ? s->lst->name : "",
	    s->reason ? s->reason : "unknown");
}

static void
sess_free(struct session *s)
{
	struct worker *w = s->w;

	if (s->tx)
		sess_tx_rollback(s, s->state == SMTP_ST_DATA ?
		    "aborted-in-data" : "aborted");
	sess_log(s);
	/* Its pending I/O is cancelled: no engine completion comes now. */
	eng_tx_free(s->et);
	passwd_cancel(s->pwreq);
	sasl_free(s->sasl);
	free(s->auth_try);
	sess_auth_line_free(s);
	free(s->auth_login);
	up_free(s->up);
	up_free(s->up_dead);
	if (s->tls)
		tls_free_after_flush(s->bev, SESS_CLOSE_WAIT_MS);
	else
		bufferevent_free(s->bev);
	event_free(s->timer);
	event_free(s->greet_timer);
	event_free(s->free_ev);
	if (s->ipcounted)
		ipcount_dec(&s->client);
	atomic_fetch_sub(&moat_sessions, 1);
	if (s->prev)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	w->nsessions--;
	snap_unref(s->snap);
	sbuf_free(&s->obuf);
	free(s);
	worker_session_gone(w);
}

static void
sess_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sess_free(arg);
}

/* ---- the engine ------------------------------------------------------- */

/*
 * sess_stage: ask the engine about stage; done(s) runs with its outcome,
 * at once or, while the session waits (W_ENGINE), from the loop.  A done
 * function tells the two apart by s->wait == W_ENGINE.
 */
static void
sess_stage(struct session *s, enum eng_stage st, eng_done_fn *done)
{
	if (eng_stage(s->et, st, done, s) == ENG_PENDING)
		sess_enter_wait(s, W_ENGINE);
}

/* ---- greeting --------------------------------------------------------- */

static void
sess_log_event(struct session *s, const char *event, const char *k1,
    const char *v1, const char *reply)
{
	struct logline l;

	logline_begin(&l, event);
	logline_str(&l, "session", s->id);
	logline_str(&l, "client", s->client_str);
	if (k1)
		logline_str(&l, k1, v1);
	if (reply)
		logline_str(&l, "reply", reply);
	logline_emit(&l);
	if (strcmp(event, "reject") == 0)
		metrics_refusal(strcmp(k1, "stage") == 0 ? v1 : k1, reply);
}

/* An engine refusal: the reply and its event=reject line. */
static void
sess_refuse(struct session *s, const struct eng_outcome *o)
{
	sess_reply(s, o->code, o->enh, "%s", o->text);
	if (o->log_key != NULL)
		sess_log_event(s, "reject", o->log_key, o->log_val,
		    o->log_reply);
}

/*
 * The final banner line, unless the connect-stage rules refuse the client
 * (then 554, RFC 5321 3.1, and close).
 */
static void
sess_banner_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;
	const struct config *cfg = s->cfg;
	int waited = s->wait == W_ENGINE;

	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	(void)et;
	if (waited)
		sess_enter_wait(s, W_NONE);
	if (o->act != ENG_CONTINUE) {
		sess_refuse(s, o);
		sess_close(s, o->reason);
		return;
	}
	sess_reply(s, 220, NULL, "%s %s", cfg->hostname, cfg->banner);
	sess_enter_state(s, SMTP_ST_CONNECTED);
	/* A client that connects and says nothing is timed out too. */
	sess_timer_set(s, cfg->timeout_command_ms);
	if (waited)
		sess_process(s);
}

static void
sess_banner(struct session *s)
{
	eng_tx_pregreet(s->et, (s->flags & SF_PREGREET) != 0);
	sess_stage(s, ENG_BANNER, sess_banner_done);
}

static void
sess_greet_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->flags & SF_CLOSING)
		return;
	sess_banner(s);
	if (!(s->flags & (SF_CLOSING | SF_WAIT)))
		sess_process(s);
}

/* The connection's limits passed (or did not): on to the banner. */
static void
sess_connect_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;
	int waited = s->wait == W_ENGINE;

	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	(void)et;
	if (waited)
		sess_enter_wait(s, W_NONE);
	if (o->act != ENG_CONTINUE) {
		sess_reply(s, o->code, o->enh, "%s", o->text);
		sess_close(s, o->reason);
		return;
	}
	sess_greet(s);
	if (waited && s->state == SMTP_ST_CONNECTED)
		sess_process(s);
}

/* After the PROXY header (if any): limits, then the banner. */
static void
sess_start(struct session *s)
{
	const struct config *cfg = s->cfg;

	int auth_listener = s->lst != NULL && s->lst->auth != CFG_AUTH_OFF;

	if (netaddr_from_sockaddr(&s->client, (struct sockaddr *)&s->peer) ==
	    0) {
		netaddr_str(&s->client, s->client_str, sizeof(s->client_str));
		if (s->peer.ss_family == AF_INET)
			s->client_port = ntohs(
			    ((struct sockaddr_in *)&s->peer)->sin_port);
		else
			s->client_port = ntohs(
			    ((struct sockaddr_in6 *)&s->peer)->sin6_port);
		s->ipcounted = 1;
		eng_tx_client(s->et, &s->client, s->client_port,
		    auth_listener);
		if (ipcount_inc(&s->client) > cfg->max_sessions_per_ip) {
			sess_reply(s, 421, "4.7.0", "%s Error: too many "
			    "connections from %s", cfg->hostname,
			    s->client_str);
			sess_log_event(s, "reject", "stage", "connect",
			    "421 4.7.0 too many connections from this address");
			sess_close(s, "too-many-sessions-per-ip");
			return;
		}
	} else {
		snprintf(s->client_str, sizeof(s->client_str), "unknown");
		eng_tx_client(s->et, NULL, 0, auth_listener);
	}

	if (atomic_load(&moat_sessions) > cfg->max_sessions) {
		sess_reply(s, 421, "4.3.2", "%s Error: too many sessions, "
		    "try again later", cfg->hostname);
		sess_log_event(s, "reject", "stage", "connect",
		    "421 4.3.2 too many sessions");
		sess_close(s, "too-many-sessions");
		return;
	}
	/* The client's name is looked up, its rates counted. */
	sess_stage(s, ENG_CONNECT, sess_connect_done);
}

/* The banner (or its first line, while greet_wait runs). */
static void
sess_greet(struct session *s)
{
	const struct config *cfg = s->cfg;
	struct timeval tv;

	if (cfg->greet_wait_ms > 0) {
		/*
		 * postscreen's pregreet test: a bot that does not wait for
		 * the end of a multi-line banner betrays itself.
		 */
		struct sbuf b = SBUF_INIT;

		sbuf_printf(&b, "220-%s %s\r\n", cfg->hostname, cfg->banner);
		sess_out(s, b.p, b.len);
		sbuf_free(&b);
		sess_enter_state(s, SMTP_ST_GREET);
		tv.tv_sec = cfg->greet_wait_ms / 1000;
		tv.tv_usec = (cfg->greet_wait_ms % 1000) * 1000;
		evtimer_add(s->greet_timer, &tv);
	} else
		sess_banner(s);
	/*
	 * Bytes may have come while the session waited before this point
	 * (a store lookup for a rate limit or an auth= listener, the TLS
	 * handshake): look at them now.  With greet_wait they are a
	 * pregreet (issue 12, defect 4); left in the buffer they would
	 * run as commands after the banner.
	 */
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		sess_process(s);
}

/*
 * After accept (and the PROXY header): on an implicit-TLS listener the
 * handshake comes first, and the banner only over TLS.
 */
static void
sess_begin(struct session *s)
{
	if (s->lst && s->lst->tls == CFG_TLS_IMPLICIT && s->snap->tls) {
		netaddr_from_sockaddr(&s->client, (struct sockaddr *)&s->peer);
		netaddr_str(&s->client, s->client_str, sizeof(s->client_str));
		sess_tls_start(s, TLS_KEEP_BUFFERED);
		return;
	}
	sess_start(s);
}

void
sess_new(struct worker *w, struct handoff *h)
{
	struct session *s = xcalloc(1, sizeof(*s));
	socklen_t len = sizeof(s->local);
	int one = 1;

	s->w = w;
	s->snap = snap_current();
	s->cfg = s->snap->cfg;
	sess_id_new(s->id);
	s->et = eng_tx_new(s->cfg, s->snap->rules, w->eio, s->id);
	s->start_ms = clock_mono_ms();
	if (h->listen_idx >= 0 && h->listen_idx < s->cfg->nlisten)
		s->lst = &s->cfg->listen[h->listen_idx];
	memcpy(&s->peer, &h->peer, sizeof(s->peer));
	getsockname(h->fd, (struct sockaddr *)&s->local, &len);
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	s->bev = bufferevent_socket_new(w->base, h->fd, BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(w->base, sess_timeout_cb, s);
	s->greet_timer = evtimer_new(w->base, sess_greet_cb, s);
	s->free_ev = evtimer_new(w->base, sess_free_cb, s);
	bufferevent_setcb(s->bev, sess_read_cb, NULL, sess_event_cb, s);
	/* Backpressure: stop reading a client far ahead of us. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, SESS_HIGH_WATER);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);

	s->next = w->sessions;
	if (s->next)
		s->next->prev = s;
	w->sessions = s;
	w->nsessions++;

	if (s->lst && s->lst->proxy_accept) {
		sess_enter_state(s, SMTP_ST_PROXY);
		snprintf(s->client_str, sizeof(s->client_str), "unknown");
		sess_timer_set(s, s->cfg->timeout_command_ms);
		return;
	}
	sess_begin(s);
}

static void
sess_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->flags & SF_CLOSING) {
		sess_schedule_free(s);
		return;
	}
	if ((s->flags & SF_WAIT) && s->wait == W_AUTHDELAY) {
		sess_auth_refuse(s);
		return;
	}
	if ((s->flags & SF_WAIT) && s->wait == W_TLS) {
		log_warn_session(s->id, "client=%s: TLS handshake timed out",
		    s->client_str);
		s->reason = "tls-handshake-timeout";
		metrics_tls("timeout");
		sess_schedule_free(s);
		return;
	}
	sess_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
	    s->cfg->hostname);
	sess_close(s, s->state == SMTP_ST_DATA || s->in_chunk ?
	    "timeout-in-data" : "timeout");
}

/* Close every session now (the SIGTERM deadline passed). */
void
sess_close_all(struct worker *w)
{
	struct session *s;

	for (s = w->sessions; s; s = s->next) {
		if (s->flags & SF_CLOSING)
			continue;
		sess_reply(s, 421, "4.3.2", "%s Service shutting down",
		    s->cfg->hostname);
		sess_close(s, "shutdown");
	}
}

/* ---- the backend -------------------------------------------------------- */

static void
sess_drop_backend(struct session *s)
{
	/* Freed from the loop later: we may be inside its callback. */
	if (s->up_dead == NULL) {
		s->up_dead = s->up;
	} else {
		up_free(s->up_dead);
		s->up_dead = s->up;
	}
	s->up = NULL;
	s->up_rset = 0;
}

/*
 * The backend link of the open transaction died (issue 12, defects 1 and
 * 3).  The transaction stays open in the client's eyes: every later RCPT
 * and the DATA get 451 4.4.2, so the client retries every recipient, the
 * ones the backend had accepted too.  Ending it here would make the DATA
 * a 503 from our own state, and a client bounces accepted recipients on
 * that.  RSET, DATA or the end of the session end it.
 */
static void
sess_tx_lost(struct session *s)
{
	if (s->tx != NULL && s->tx->backend_open)
		s->tx->lost = 1;
}

/* A recipient that cannot reach the backend: 451, the client retries. */
static void
sess_rcpt_lost(struct session *s)
{
	struct smtp_tx *tx = s->tx;

	sess_reply(s, 451, "4.4.2", "Error: connection to the mail system "
	    "lost, try again later");
	tx->nrcpt_refused++;
	free(tx->rcpt_pending);
	tx->rcpt_pending = NULL;
}

/*
 * The awaited answer came: go on with buffered input.  When that answer came
 * synchronously, from inside sess_process(), its loop goes on by itself;
 * calling it again would nest once per pipelined command.
 */
static void
sess_resume(struct session *s)
{
	sess_enter_wait(s, W_NONE);
	if (!(s->flags & SF_INPROC))
		sess_process(s);
}


static void
sess_send_mail(struct session *s)
{
	const struct smtp_ehlo *e = up_ehlo(s->up);
	struct smtp_tx *tx = s->tx;

	/*
	 * Our EHLO followed what the backend offered when we last saw it
	 * (up_backend_exts); this connection may show less.  Then the
	 * transaction is deferred, never refused: our own knowledge was
	 * stale, it is up to date now, and the retry's EHLO will not offer
	 * the extension (issue 12, defect 6: a 5xx here bounced the mail).
	 */
	if (tx->needs & ~e->exts) {
		unsigned miss = tx->needs & ~e->exts;

		sess_reply(s, 451, "4.3.0", "Error: the mail system does not "
		    "offer %s now, try again later", miss & SMTP_EXT_SMTPUTF8 ?
		    "SMTPUTF8" : miss & SMTP_EXT_8BITMIME ? "8BITMIME" : "DSN");
		sess_tx_end(s, "none", "backend-lacks-extension", "");
		sess_resume(s);
		return;
	}
	/*
	 * RFC 4954 5: AUTH= goes on only to a backend that offers AUTH (any
	 * other refuses the parameter); added once, for replays too.
	 */
	if (tx->auth_param && (e->exts & SMTP_EXT_AUTH)) {
		struct sbuf line = SBUF_INIT;

		sbuf_printf(&line, "%s AUTH=%s", tx->mail_line,
		    tx->auth_param);
		free(tx->mail_line);
		tx->mail_line = xstrdup(line.p);
		sbuf_free(&line);
		free(tx->auth_param);
		tx->auth_param = NULL;
	}
	if (s->up_rset) {
		sess_enter_wait(s, W_RSET);
		up_command(s->up, "RSET", 0);
		return;
	}
	sess_enter_wait(s, W_MAIL);
	up_command(s->up, tx->mail_line, 1);
}

/*
 * The engine's word on MAIL (the client's name, the rules, the message
 * rates): refused before the backend ever hears of it, or on to the
 * backend (opened now if it is not yet).
 */
static void
sess_mail_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;

	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	(void)et;
	evtimer_del(s->timer);
	if (o->act != ENG_CONTINUE) {
		sess_refuse(s, o);
		sess_tx_end(s, o->verdict, o->reason, "");
		sess_resume(s);
		return;
	}
	sess_mail_backend(s);
}

/* MAIL goes to the backend (connected first if need be). */
static void
sess_mail_backend(struct session *s)
{
	if (s->up && up_is_ready(s->up)) {
		sess_enter_wait(s, W_MAIL);
		sess_send_mail(s);
		return;
	}
	sess_open_backend(s);
}

/* Connect to the backend for the transaction in s->tx. */
static void
sess_open_backend(struct session *s)
{
	struct up_identity id;

	evtimer_del(s->timer);
	/* Never two links: one that is not ready is as good as dead. */
	if (s->up != NULL)
		sess_drop_backend(s);
	memset(&id, 0, sizeof(id));
	id.client = s->peer;
	id.local = s->local;
	id.name = s->et->client_name;
	id.ptr = s->et->client_ptr;
	/* A lookup that failed or timed out may work next time. */
	id.dns_temp = dns_status_temp(s->et->dns_status);
	id.helo = s->helo;
	id.esmtp = s->esmtp;
	id.login = s->auth_login;
	s->up = up_new(s->w->base, s->snap, sess_up_cb, s, s->id);
	up_connect(s->up, &id);
	sess_enter_wait(s, W_CONNECT);
}

static void
sess_backend_failed(struct session *s, const char *why)
{
	struct logline l;

	logline_begin(&l, "backend");
	logline_str(&l, "session", s->id);
	logline_str(&l, "client", s->client_str);
	logline_str(&l, "error", why);
	logline_emit(&l);
	metrics_backend_error(why);
}

static void
sess_data_reply(struct session *s, const struct smtp_reply *r)
{
	char first[512];

	reply_first_line(r, first, sizeof(first));
	sess_reply_raw(s, r);
	if (r->code < 300)
		s->ntx++;
	/* Its reply to the message ends the transaction there too. */
	s->tx->backend_open = 0;
	sess_tx_end(s, s->tx->verdict, r->code < 300 ? "sent" :
	    r->code < 500 ? "deferred-by-backend" : "refused-by-backend",
	    first);
	sess_enter_state(s, SMTP_ST_HELO);
}

static void
sess_rcpt_accepted(struct session *s)
{
	struct smtp_tx *tx = s->tx;

	tx->rcpt = xreallocarray(tx->rcpt, (size_t)tx->nrcpt + 1,
	    sizeof(*tx->rcpt));
	tx->rcpt_dsn = xreallocarray(tx->rcpt_dsn, (size_t)tx->nrcpt + 1,
	    sizeof(*tx->rcpt_dsn));
	tx->rcpt_dsn[tx->nrcpt] = tx->rcpt_dsn_pending;
	tx->rcpt_dsn_pending = NULL;
	tx->rcpt[tx->nrcpt++] = tx->rcpt_pending;
	tx->rcpt_pending = NULL;
	eng_tx_rcpt_accepted(s->et);
	sess_enter_state(s, SMTP_ST_RCPT);
}

/*
 * The engine's word on a recipient the backend took (greylisting): the
 * backend's reply, held meanwhile, goes to the client, or a 4xx does and
 * the recipient is taken out again by a replay before the message.
 */
static void
sess_grey_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;
	struct smtp_tx *tx = s->tx;
	const struct smtp_reply *held = tx->grey_now ? tx->grey_now :
	    &tx->grey_reply;

	/* Never kept past this call: the reply it points to is gone then. */
	tx->grey_now = NULL;
	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	(void)et;
	if (tx->lost) {
		/* The backend's 250 we held is void: its link died since. */
		sess_rcpt_lost(s);
	} else if (o->act == ENG_CONTINUE) {
		sess_reply_raw(s, held);
		sess_rcpt_accepted(s);
	} else {
		/*
		 * The backend already took this recipient: the transaction
		 * there is replayed without it before the message goes out.
		 */
		tx->tainted = 1;
		sess_reply(s, o->code, o->enh, "%s", o->text);
		free(tx->rcpt_pending);
		tx->rcpt_pending = NULL;
	}
	smtp_reply_reset(&tx->grey_reply);
	sess_resume(s);
}

/*
 * Replay of the backend transaction without the greylisted recipients:
 * RSET, MAIL, then every accepted RCPT, then the message.  Each must be
 * accepted again; if the backend changed its mind the client gets a 4xx
 * and keeps the message.
 */
static void sess_data_send(struct session *);

static void
sess_replay_step(struct session *s, const struct smtp_reply *r)
{
	struct smtp_tx *tx = s->tx;
	struct sbuf line = SBUF_INIT;
	int step = tx->replay++;

	if (r != NULL && !(r->code >= 200 && r->code < 300)) {
		char first[512];

		reply_first_line(r, first, sizeof(first));
		sess_reply(s, 451, "4.4.2", "Error: the mail system refused "
		    "the transaction on replay, try again later");
		sess_tx_end(s, tx->verdict, "replay-refused", first);
		sess_enter_state(s, SMTP_ST_HELO);
		sess_resume(s);
		return;
	}
	if (sess_replay_line(step, tx->mail_line, tx->rcpt, tx->rcpt_dsn,
	    tx->nrcpt, &line)) {
		/* MAIL carries the XFORWARD attributes, as the first time. */
		up_command(s->up, line.p, step == 1);
		sbuf_free(&line);
		return;
	}
	sbuf_free(&line);
	tx->tainted = 0;
	sess_data_send(s);
}

static void
sess_up_cb(void *arg, enum up_event ev, const struct smtp_reply *r,
    const char *why)
{
	struct session *s = arg;
	struct smtp_tx *tx = s->tx;
	struct smtp_reply own;
	char first[512];

	if (s->flags & SF_CLOSING)
		return;
	if (ev == UP_FAIL) {
		enum sess_wait w = s->wait;

		sess_backend_failed(s, why);
		sess_drop_backend(s);
		if (!(s->flags & SF_WAIT) || w == W_ENGINE) {
			/* Not waiting for it: the next use notices. */
			sess_tx_lost(s);
			return;
		}
		switch (w) {
		case W_AUTHBE:
		case W_CONNECT:
			if (s->auth_line) {
				sess_auth_line_free(s);
				free(s->auth_try);
				s->auth_try = NULL;
				sess_reply(s, 454, "4.7.0", "Error: temporary "
				    "authentication failure");
				break;
			}
			/* FALLTHROUGH */
		case W_RSET:
		case W_MAIL:
			sess_reply(s, 451, "4.4.1", "Error: the mail system "
			    "is unavailable, try again later");
			sess_tx_end(s, "none", "backend-failed",
			    why ? why : "");
			break;
		case W_RCPT:
			sess_tx_lost(s);
			sess_rcpt_lost(s);
			break;
		case W_REPLAY:
		case W_DATA:
			sess_reply(s, 451, "4.4.2", "Error: connection to "
			    "the mail system lost, try again later");
			reply_first_line(r, first, sizeof(first));
			sess_tx_end(s, tx->verdict, "backend-failed",
			    first[0] ? first : why);
			sess_enter_state(s, SMTP_ST_HELO);
			break;
		default:
			break;
		}
		sess_resume(s);
		return;
	}

	if (ev == UP_REPLY && r->code == 530 && s->wait != W_AUTHBE) {
		/*
		 * 530 (RFC 3207 STARTTLS, RFC 4954 AUTH required) is about
		 * moatd's own link to the backend, never about the client's
		 * mail: passed on, it would bounce the mail (issue 12, defect
		 * 9).  The client gets a 4xx and the postmaster the reason.
		 */
		reply_first_line(r, first, sizeof(first));
		log_warn_session(s->id, "backend demands what moatd's link "
		    "does not do (check backend_tls): %s", first);
		smtp_reply_init(&own);
		smtp_reply_add(&own.text, 451, "4.3.0", "Error: the mail "
		    "system is not available to this relay, try again later");
		own.code = 451;
		sess_up_reply(s, ev, &own);
		smtp_reply_free(&own);
		return;
	}
	sess_up_reply(s, ev, r);
}

/* The backend's reply to what the session waits for (s->wait). */
static void
sess_up_reply(struct session *s, enum up_event ev, const struct smtp_reply *r)
{
	struct smtp_tx *tx = s->tx;
	char first[512];

	switch (s->wait) {
	case W_CONNECT:
		if (ev != UP_READY)
			break;
		if (s->auth_line) {
			sess_enter_wait(s, W_AUTHBE);
			up_command(s->up, s->auth_line, 0);
			return;
		}
		sess_send_mail(s);
		return;
	case W_AUTHBE:
		sess_auth_backend_reply(s, r);
		return;
	case W_RSET:
		s->up_rset = 0;
		if (r->code != 250) {
			sess_backend_failed(s, "backend refused RSET");
			sess_drop_backend(s);
			sess_reply(s, 451, "4.4.1", "Error: the mail system "
			    "is unavailable, try again later");
			reply_first_line(r, first, sizeof(first));
			sess_tx_end(s, "none", "backend-failed", first);
			sess_resume(s);
			return;
		}
		sess_enter_wait(s, W_MAIL);
		up_command(s->up, tx->mail_line, 1);
		return;
	case W_MAIL:
		sess_reply_raw(s, r);
		if (r->code >= 200 && r->code < 300) {
			tx->backend_open = 1;
			sess_enter_state(s, SMTP_ST_MAIL);
		} else {
			reply_first_line(r, first, sizeof(first));
			sess_log_event(s, "reject", "from", tx->from, first);
			sess_tx_end(s, "none", "refused-by-backend", first);
			/*
			 * A refused MAIL may still leave state behind (a
			 * Postfix keeps the SIZE= it refused): RSET before the
			 * next one, so the backend follows the client.
			 */
			s->up_rset = 1;
		}
		sess_resume(s);
		return;
	case W_RCPT:
		/* Only recipients the backend accepted are greylisted. */
		if (r->code >= 200 && r->code < 300) {
			/*
			 * An answer at once uses r; one that must wait finds
			 * a copy, since r is valid during this call only.
			 */
			tx->grey_now = r;
			if (eng_stage(s->et, ENG_GREY, sess_grey_done, s) ==
			    ENG_DONE)
				return;
			tx->grey_now = NULL;
			smtp_reply_reset(&tx->grey_reply);
			sbuf_add(&tx->grey_reply.text, r->text.p, r->text.len);
			tx->grey_reply.code = r->code;
			sess_enter_wait(s, W_ENGINE);
			return;
		}
		sess_reply_raw(s, r);
		reply_first_line(r, first, sizeof(first));
		sess_log_event(s, "reject", "rcpt", tx->rcpt_pending, first);
		tx->nrcpt_refused++;
		free(tx->rcpt_pending);
		tx->rcpt_pending = NULL;
		sess_resume(s);
		return;
	case W_REPLAY:
		sess_replay_step(s, r);
		return;
	case W_DATA:
		sess_data_reply(s, r);
		sess_resume(s);
		return;
	default:
		break;
	}
	log_warn_session(s->id, "unexpected backend reply in wait %s",
	    sess_wait_name(s, s->wait));
}

/* ---- commands ----------------------------------------------------------- */

/* STARTTLS is offered on a starttls/required listener until TLS is up. */
static int
sess_starttls_offered(const struct session *s)
{
	return s->lst != NULL && s->snap->tls != NULL && s->tls == 0 &&
	    (s->lst->tls == CFG_TLS_STARTTLS ||
	    s->lst->tls == CFG_TLS_REQUIRED);
}

/*
 * sess_tls_start: put TLS over the client socket.  For STARTTLS whatever
 * the client pipelined after the command is thrown away (RFC 3207 4.2,
 * CVE-2011-0411): it was sent in clear and must not run under TLS.
 */
static void
sess_tls_start(struct session *s, enum tls_plaintext what)
{
	struct bufferevent *bev;
	size_t discarded = 0;

	bev = tls_server_wrap(s->snap->tls, s->bev, what, &discarded,
	    sess_read_cb, NULL, sess_event_cb, s);
	if (bev == NULL) {
		log_warn_session(s->id, "client=%s: cannot start TLS",
		    s->client_str);
		sess_close(s, "tls-failed");
		return;
	}
	s->bev = bev;
	s->tls = 1;
	bufferevent_setwatermark(s->bev, EV_READ, 0, SESS_HIGH_WATER);
	if (discarded > 0) {
		struct logline l;

		logline_begin(&l, "starttls");
		logline_str(&l, "session", s->id);
		logline_str(&l, "client", s->client_str);
		logline_int(&l, "discarded", (long long)discarded);
		logline_emit(&l);
	}
	sess_enter_wait(s, W_TLS);
	sess_timer_set(s, s->cfg->tls_handshake_timeout_ms);
}

/* The handshake is done: RFC 3207 4.2, the client starts over. */
static void
sess_tls_up(struct session *s)
{
	struct tls_info ti;

	s->tls = 2;
	eng_tx_tls(s->et, 1);
	metrics_tls("ok");
	evtimer_del(s->timer);
	if (tls_get_info(s->bev, &ti) == 0) {
		snprintf(s->tls_version, sizeof(s->tls_version), "%s",
		    ti.version);
		snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s", ti.cipher);
	}
	sess_enter_wait(s, W_NONE);
	if (s->lst && s->lst->tls == CFG_TLS_IMPLICIT &&
	    s->state != SMTP_ST_HELO && s->state != SMTP_ST_CONNECTED) {
		sess_start(s);
		return;
	}
	s->helo[0] = '\0';
	s->helo_arg[0] = '\0';
	s->esmtp = 0;
	free(s->auth_login);
	s->auth_login = NULL;
	eng_tx_helo(s->et, NULL, s->helo_arg);
	eng_tx_auth(s->et, NULL);
	sess_enter_state(s, SMTP_ST_CONNECTED);
	sess_process(s);
}

/* AUTH is offered here now (sess_auth.h). */
static int
sess_offers_auth(const struct session *s)
{
	return sess_auth_offered(s->cfg, s->snap->passwd_db, s->lst,
	    s->tls == 2, s->auth_login != NULL);
}

static void
sess_authlogin_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;

	(void)o;
	if (s->flags & SF_CLOSING)
		return;
	sess_auth_delay(s, et->auth_fails);
}

static void
sess_auth_cb(void *arg, enum passwd_result res)
{
	struct session *s = arg;
	struct logline l;

	s->pwreq = NULL;
	logline_begin(&l, res == PASSWD_OK ? "auth" : "auth_failed");
	logline_str(&l, "session", s->id);
	logline_str(&l, "client", s->client_str);
	logline_str(&l, "login", s->auth_try);
	logline_str(&l, "result", passwd_result_name(res));
	logline_emit(&l);
	metrics_auth(passwd_result_name(res));
	if (res == PASSWD_OK) {
		s->auth_login = s->auth_try;
		s->auth_try = NULL;
		eng_tx_auth(s->et, s->auth_login);
		sess_reply(s, 235, "2.7.0", "Authentication successful");
		sess_resume(s);
		return;
	}
	if (res == PASSWD_ERROR) {
		/* crypt(3) failed: not the client's fault, nothing counted. */
		free(s->auth_try);
		s->auth_try = NULL;
		sess_reply(s, 454, "4.7.0", "Error: temporary authentication "
		    "failure");
		sess_resume(s);
		return;
	}
	/* The login's failures so far slow its reply down (eng_rate.c). */
	eng_tx_auth_try(s->et, s->auth_try);
	sess_stage(s, ENG_AUTHLOGIN, sess_authlogin_done);
}

/* Answer a failed AUTH after the login's penalty (count: its failures). */
static void
sess_auth_delay(struct session *s, long long count)
{
	long ms = sess_auth_penalty_ms(count);

	if (ms > 0) {
		sess_enter_wait(s, W_AUTHDELAY);
		sess_timer_set(s, ms);
		return;
	}
	sess_auth_refuse(s);
}

/*
 * The client's failures (its address's and its network's counters): at
 * the limit the session ends.  A session that was waiting (for the
 * login's check) goes on with its input.
 */
static void
sess_authfail_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;

	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	(void)et;
	if (o->act != ENG_CONTINUE) {
		sess_reply(s, o->code, o->enh, "%s", o->text);
		sess_close(s, o->reason);
		return;
	}
	if (s->wait != W_NONE)
		sess_resume(s);
}

static void
sess_auth_refuse(struct session *s)
{
	free(s->auth_try);
	s->auth_try = NULL;
	eng_tx_auth_try(s->et, NULL);
	/* RFC 4954 6: one reply for every failure; no user enumeration. */
	sess_reply(s, 535, "5.7.8", "Error: authentication failed");
	sess_stage(s, ENG_AUTHFAIL, sess_authfail_done);
}

static void
sess_auth_line_free(struct session *s)
{
	if (s->auth_line == NULL)
		return;
	explicit_bzero(s->auth_line, strlen(s->auth_line));
	free(s->auth_line);
	s->auth_line = NULL;
}

/*
 * auth_backend backend: the MTA judges the credentials.  Whatever the
 * client used (PLAIN, LOGIN, initial response or not), the backend gets
 * one AUTH PLAIN (RFC 4616) on the session's backend connection, which
 * then carries the mail as authenticated.
 */
static void
sess_auth_backend(struct session *s, const struct sasl_action *a)
{
	sess_auth_line_free(s);
	s->auth_line = sess_auth_plain_line(a->login, a->pass, a->pass_len);
	if (s->up && up_is_ready(s->up)) {
		sess_enter_wait(s, W_AUTHBE);
		up_command(s->up, s->auth_line, 0);
		return;
	}
	sess_open_backend(s);
}

/* The backend's answer to our AUTH PLAIN: 235 or nothing. */
static void
sess_auth_backend_reply(struct session *s, const struct smtp_reply *r)
{
	sess_auth_line_free(s);
	sess_auth_cb(s, sess_auth_backend_result(r->code));
}

/* Carry out what the SASL exchange asks for. */
static void
sess_sasl_act(struct session *s, const struct sasl_action *a)
{
	struct sbuf t = SBUF_INIT;

	s->in_auth = 0;
	switch (a->kind) {
	case SASL_ACT_CHALLENGE:
		/* RFC 4954 4: "334" SP [base64] CRLF, the space always. */
		sbuf_printf(&t, "334 %s\r\n", a->challenge ? a->challenge : "");
		sess_out(s, t.p, t.len);
		sbuf_free(&t);
		s->in_auth = 1;
		return;
	case SASL_ACT_VERIFY:
		free(s->auth_try);
		s->auth_try = xstrdup(a->login);
		if (s->cfg->auth_backend == CFG_AUTHBE_MTA) {
			sess_auth_backend(s, a);
			sasl_clear(s->sasl);
			return;
		}
		s->pwreq = passwd_verify(moat_passwd_pool, s->w->base,
		    s->snap->passwd_db, a->login, a->pass, a->pass_len,
		    sess_auth_cb, s);
		sasl_clear(s->sasl);
		if (s->pwreq == NULL) {
			sess_reply(s, 454, "4.7.0", "Error: temporary "
			    "authentication failure");
			return;
		}
		sess_enter_wait(s, W_AUTH);
		return;
	case SASL_ACT_FAIL:
	default:
		sess_reply(s, a->code, a->enh, "%s", a->text);
		if (a->why == SASL_FAIL_AUTHZ)
			sess_stage(s, ENG_AUTHFAIL, sess_authfail_done);
		return;
	}
}

static void
cmd_auth(struct session *s, struct smtp_cmd *c)
{
	struct sasl_action a;

	if (s->auth_login) {
		sess_reply(s, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (s->lst == NULL || s->lst->auth == CFG_AUTH_OFF ||
	    (s->snap->passwd_db == NULL &&
	    s->cfg->auth_backend == CFG_AUTHBE_PASSWD)) {
		sess_reply(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	if (!sess_offers_auth(s)) {
		/* RFC 4954 6: offered only under TLS here. */
		sess_reply(s, 538, "5.7.11", "Error: encryption required for "
		    "requested authentication mechanism");
		return;
	}
	if (s->sasl == NULL)
		s->sasl = sasl_new();
	sasl_start(s->sasl, c->arg, strlen(c->arg), &a);
	sess_sasl_act(s, &a);
}

static void
cmd_starttls(struct session *s, struct smtp_cmd *c)
{
	(void)c;
	if (s->tls) {
		sess_reply(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (!sess_starttls_offered(s)) {
		sess_reply(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	sess_reply(s, 220, "2.0.0", "Ready to start TLS");
	/* The 220 goes out in clear, before the handshake. */
	s->flags &= ~SF_INPROC;
	sess_flush(s);
	s->flags |= SF_INPROC;
	sess_tls_start(s, TLS_DISCARD_PLAINTEXT);
}

/*
 * The SIZE we announce and check at MAIL: ours, or the backend's when it
 * is smaller (RFC 1870: a sender then knows before sending that the
 * backend would refuse it).  The message itself is held to ours.
 */
static unsigned long long
sess_size_limit(const struct session *s)
{
	unsigned long long be = up_backend_size();

	return be != 0 && be < s->cfg->message_size_limit ? be :
	    s->cfg->message_size_limit;
}

static void
sess_helo_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;
	const struct config *cfg = s->cfg;
	int waited = s->wait == W_ENGINE;
	unsigned be;

	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	if (o->act != ENG_CONTINUE) {
		sess_refuse(s, o);
		s->helo[0] = '\0';
		s->helo_arg[0] = '\0';
		eng_tx_helo(et, NULL, s->helo_arg);
		if (s->state != SMTP_ST_CONNECTED)
			sess_enter_state(s, SMTP_ST_CONNECTED);
		if (waited)
			sess_resume(s);
		return;
	}
	s->esmtp = s->helo_ehlo;
	s->adv = 0;
	sess_enter_state(s, SMTP_ST_HELO);
	if (!s->esmtp) {
		sess_reply(s, 250, NULL, "%s", cfg->hostname);
	} else {
		struct sbuf t = SBUF_INIT;

		sbuf_printf(&t, "%s", cfg->hostname);
		if (cfg->ext_pipelining)
			sbuf_adds(&t, "\nPIPELINING");
		sbuf_printf(&t, "\nSIZE %llu", sess_size_limit(s));
		/*
		 * What moatd passes through rather than does itself is
		 * offered only when the backend offers it (defect 6).
		 */
		be = up_backend_exts();
		s->adv = be & (SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 |
		    SMTP_EXT_DSN);
		if (!cfg->ext_8bitmime)
			s->adv &= ~SMTP_EXT_8BITMIME;
		if (!cfg->ext_smtputf8)
			s->adv &= ~SMTP_EXT_SMTPUTF8;
		if (s->adv & SMTP_EXT_8BITMIME)
			sbuf_adds(&t, "\n8BITMIME");
		sbuf_adds(&t, "\nENHANCEDSTATUSCODES");
		if (s->adv & SMTP_EXT_SMTPUTF8)
			sbuf_adds(&t, "\nSMTPUTF8");
		if (s->adv & SMTP_EXT_DSN)
			sbuf_adds(&t, "\nDSN");
		if (cfg->ext_chunking)
			sbuf_adds(&t, "\nCHUNKING");
		if (sess_starttls_offered(s))
			sbuf_adds(&t, "\nSTARTTLS");
		if (sess_offers_auth(s))
			sbuf_adds(&t, "\nAUTH " SASL_EHLO_MECHS);
		sess_reply(s, 250, NULL, "%s", t.p);
		sbuf_free(&t);
	}
	if (waited)
		sess_resume(s);
}

static void
cmd_helo(struct session *s, struct smtp_cmd *c)
{
	const char *p;
	size_t n;

	/* The name is kept as given (first word) for logs and XCLIENT. */
	for (p = c->arg; *p == ' '; p++)
		;
	n = strcspn(p, " ");
	if (n == 0) {
		sess_reply(s, 501, "5.5.4", "Syntax: %s hostname",
		    smtp_verb_name(c->verb));
		return;
	}
	if (n >= sizeof(s->helo))
		n = sizeof(s->helo) - 1;
	memcpy(s->helo, p, n);
	s->helo[n] = '\0';
	/* Logged whole (escaped, capped): bots give themselves away there. */
	snprintf(s->helo_arg, sizeof(s->helo_arg), "%s", p);
	if (s->tx)
		sess_tx_rollback(s, "reset-by-helo");
	s->helo_ehlo = c->verb == SMTP_CMD_EHLO;
	eng_tx_helo(s->et, s->helo, s->helo_arg);
	sess_stage(s, ENG_HELO, sess_helo_done);
}

/* RFC 1870: SIZE=1*20DIGIT. */
static int
parse_size_param(const char *v, unsigned long long *out)
{
	unsigned long long n = 0;
	size_t i;

	if (v == NULL || *v == '\0' || strlen(v) > 20)
		return -1;
	for (i = 0; v[i]; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (n > (~0ULL - 9) / 10)
			return -1;
		n = n * 10 + (unsigned)(v[i] - '0');
	}
	*out = n;
	return 0;
}

static void
cmd_mail(struct session *s, struct smtp_cmd *c)
{
	const struct config *cfg = s->cfg;
	struct smtp_tx *tx;
	struct sbuf line = SBUF_INIT, dsn = SBUF_INIT;
	unsigned long long size = 0;
	int utf8 = 0, body8 = 0, ret = 0, envid = 0;
	const char *bad = NULL, *unsup = NULL, *auth = NULL;
	size_t i;

	/* RFC 4954 4: the login may only send as the addresses it owns. */
	if (s->auth_login && s->snap->sender_map &&
	    !sender_map_allowed(s->snap->sender_map, s->auth_login,
	    c->path.addr)) {
		sess_reply(s, 553, "5.7.1", "<%s>: Sender address rejected: "
		    "not owned by user %s", c->path.addr, s->auth_login);
		sess_log_event(s, "reject", "from", c->path.addr,
		    "553 5.7.1 sender not owned by the login");
		return;
	}

	/* Only what our EHLO offered (s->adv) is accepted (RFC 5321 4.1.2). */
	for (i = 0; i < c->nparams && bad == NULL && unsup == NULL; i++) {
		const struct smtp_param *p = &c->params[i];
		const char *kw = p->keyword, *v = p->value;

		if (strcasecmp(kw, "SIZE") == 0) {
			if (parse_size_param(v, &size) == -1)
				bad = "SIZE";
		} else if (strcasecmp(kw, "BODY") == 0 &&
		    (s->adv & SMTP_EXT_8BITMIME) && v &&
		    (strcasecmp(v, "8BITMIME") == 0 ||
		    strcasecmp(v, "7BIT") == 0)) {
			body8 = strcasecmp(v, "8BITMIME") == 0;
		} else if (strcasecmp(kw, "SMTPUTF8") == 0 &&
		    (s->adv & SMTP_EXT_SMTPUTF8) && v == NULL) {
			utf8 = 1;
		} else if (strcasecmp(kw, "RET") == 0 &&
		    (s->adv & SMTP_EXT_DSN)) {
			/* RFC 3461 4.3, 4.4: each at most once, checked. */
			if (ret++ || !smtp_dsn_ret_valid(v))
				bad = "RET";
			else
				sbuf_printf(&dsn, " RET=%s", v);
		} else if (strcasecmp(kw, "ENVID") == 0 &&
		    (s->adv & SMTP_EXT_DSN)) {
			if (envid++ || !smtp_xtext_valid(v, SMTP_ENVID_MAX))
				bad = "ENVID";
			else
				sbuf_printf(&dsn, " ENVID=%s", v);
		} else if (strcasecmp(kw, "AUTH") == 0 && s->lst != NULL &&
		    s->lst->auth != CFG_AUTH_OFF) {
			/* RFC 4954 5: wherever AUTH is, AUTH= is too. */
			if (auth != NULL || !smtp_auth_param_valid(v))
				bad = "AUTH";
			else
				auth = v;
		} else
			unsup = kw;
	}
	if (bad != NULL || unsup != NULL) {
		if (bad != NULL)
			sess_reply(s, 501, "5.5.4", "Error: bad %s parameter",
			    bad);
		else
			sess_reply(s, 555, "5.5.4", "Error: unsupported "
			    "parameter %s", unsup);
		sbuf_free(&dsn);
		return;
	}
	if (c->path.utf8 && !utf8) {
		sess_reply(s, 553, "5.6.7", "Error: a non-ASCII address "
		    "needs SMTPUTF8");
		sbuf_free(&dsn);
		return;
	}
	if (size > sess_size_limit(s)) {
		sess_reply(s, 552, "5.3.4", "Error: message size exceeds "
		    "fixed limit");
		sbuf_free(&dsn);
		return;
	}

	tx = xcalloc(1, sizeof(*tx));
	tx->n = ++s->txseq;
	tx->from = xstrdup(c->path.addr);
	tx->verdict = "accept";
	tx->smtputf8 = utf8;
	tx->body8 = body8;
	tx->size_decl = size;
	tx->start_ms = clock_mono_ms();
	ms_init(&tx->ms, cfg->message_memory_max, cfg->spool_dir);
	sbuf_printf(&line, "MAIL FROM:<%s>", c->path.addr);
	if (size)
		sbuf_printf(&line, " SIZE=%llu", size);
	if (body8)
		sbuf_adds(&line, " BODY=8BITMIME");
	if (utf8)
		sbuf_adds(&line, " SMTPUTF8");
	if (dsn.len)
		sbuf_add(&line, dsn.p, dsn.len);
	tx->mail_line = xstrdup(line.p);
	sbuf_free(&line);
	tx->needs = (body8 ? SMTP_EXT_8BITMIME : 0) |
	    (utf8 ? SMTP_EXT_SMTPUTF8 : 0) | (dsn.len ? SMTP_EXT_DSN : 0);
	sbuf_free(&dsn);
	/*
	 * RFC 4954 5: an unauthenticated client's AUTH= is not trusted and
	 * goes on as AUTH=<>; one that logged in to us is vouched for.
	 */
	if (auth != NULL)
		tx->auth_param = xstrdup(s->auth_login ? auth : "<>");
	s->tx = tx;

	smtp_reply_init(&tx->grey_reply);
	eng_tx_mail(s->et, tx->from, size, body8, utf8);
	sess_stage(s, ENG_MAIL, sess_mail_done);
}

/* The engine's word on a recipient: refused, or on to the backend. */
static void
sess_rcpt_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;
	struct smtp_tx *tx = s->tx;

	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	(void)et;
	if (o->act != ENG_CONTINUE) {
		sess_refuse(s, o);
		tx->nrcpt_refused++;
		free(tx->rcpt_pending);
		tx->rcpt_pending = NULL;
		if (s->wait == W_ENGINE)
			sess_resume(s);
		return;
	}
	sess_rcpt_forward(s);
}

static void
cmd_rcpt(struct session *s, struct smtp_cmd *c)
{
	struct smtp_tx *tx = s->tx;
	struct sbuf dsn = SBUF_INIT;
	int notify = 0, orcpt = 0;
	size_t i;

	/* RFC 3461 4.1, 4.2: NOTIFY and ORCPT where DSN was offered. */
	for (i = 0; i < c->nparams; i++) {
		const struct smtp_param *p = &c->params[i];
		const char *bad = NULL;

		if (!(s->adv & SMTP_EXT_DSN) ||
		    (strcasecmp(p->keyword, "NOTIFY") != 0 &&
		    strcasecmp(p->keyword, "ORCPT") != 0)) {
			sess_reply(s, 555, "5.5.4", "Error: unsupported "
			    "parameter %s", p->keyword);
			sbuf_free(&dsn);
			return;
		}
		if (strcasecmp(p->keyword, "NOTIFY") == 0) {
			if (notify++ || smtp_dsn_notify(p->value) == 0)
				bad = "NOTIFY";
		} else if (orcpt++ ||
		    !smtp_dsn_orcpt_valid(p->value, tx->smtputf8))
			bad = "ORCPT";
		if (bad != NULL) {
			sess_reply(s, 501, "5.5.4", "Error: bad %s parameter",
			    bad);
			sbuf_free(&dsn);
			return;
		}
		sbuf_printf(&dsn, " %s=%s", strcasecmp(p->keyword, "NOTIFY") ==
		    0 ? "NOTIFY" : "ORCPT", p->value);
	}
	if (dsn.len && s->up && !(up_ehlo(s->up)->exts & SMTP_EXT_DSN)) {
		/* Advertised from stale knowledge: defer, see sess_send_mail. */
		sess_reply(s, 451, "4.3.0", "Error: the mail system does not "
		    "offer DSN now, try again later");
		sbuf_free(&dsn);
		return;
	}
	free(tx->rcpt_dsn_pending);
	tx->rcpt_dsn_pending = dsn.len ? xstrdup(dsn.p) : NULL;
	sbuf_free(&dsn);
	if (c->path.null) {
		sess_reply(s, 501, "5.1.3", "Error: bad recipient address "
		    "syntax");
		return;
	}
	if (tx->nrcpt >= s->cfg->max_recipients) {
		sess_reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (c->path.utf8 && !tx->smtputf8) {
		sess_reply(s, 553, "5.6.7", "Error: a non-ASCII address "
		    "needs SMTPUTF8");
		return;
	}
	free(tx->rcpt_pending);
	tx->rcpt_pending = xstrdup(c->path.addr);
	/* Relay control, the rules, the sender's recipient rate. */
	eng_tx_rcpt_path(s->et, &c->path);
	sess_stage(s, ENG_RCPT, sess_rcpt_done);
}

/* The pending recipient goes to the backend. */
static void
sess_rcpt_forward(struct session *s)
{
	struct sbuf line = SBUF_INIT;

	/*
	 * The link may have died since MAIL (the backend restarted, or its
	 * idle timeout is shorter than the client's pause), also while a
	 * rate check was under way.
	 */
	if (s->tx->lost || !up_is_ready(s->up)) {
		s->tx->lost = 1;
		sess_rcpt_lost(s);
		if (s->flags & SF_WAIT)
			sess_resume(s);
		return;
	}
	sbuf_printf(&line, "RCPT TO:<%s>%s", s->tx->rcpt_pending,
	    s->tx->rcpt_dsn_pending ? s->tx->rcpt_dsn_pending : "");
	sess_enter_wait(s, W_RCPT);
	up_command(s->up, line.p, 0);
	sbuf_free(&line);
}

static void
cmd_data(struct session *s, struct smtp_cmd *c)
{
	const struct config *cfg = s->cfg;
	struct smtp_tx *tx = s->tx;

	(void)c;
	if (tx->lost || !up_is_ready(s->up)) {
		/* Recipients were accepted: 4xx, so that they are retried. */
		sess_reply(s, 451, "4.4.2", "Error: connection to the mail "
		    "system lost, try again later");
		sess_tx_end(s, tx->verdict, "backend-failed", "");
		sess_enter_state(s, SMTP_ST_HELO);
		return;
	}
	smtp_data_init(&tx->reader, cfg->data_line_max,
	    cfg->message_size_limit, cfg->bare_newline == CFG_BARE_REJECT ?
	    SMTP_DATA_BARE_REJECT : SMTP_DATA_BARE_NORMALIZE);
	/*
	 * Size the buffer from SIZE= rather than grow it by doubling, but
	 * only up to SESS_PRESIZE_MAX: a client must not make us reserve
	 * memory it never sends.
	 */
	if (tx->size_decl > 0) {
		unsigned long long want = tx->size_decl + 1024;

		if (want > SESS_PRESIZE_MAX)
			want = SESS_PRESIZE_MAX;
		if (want > cfg->message_memory_max)
			want = cfg->message_memory_max;
		sbuf_reserve(&tx->ms.mem, (size_t)want);
	}
	sess_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	sess_enter_state(s, SMTP_ST_DATA);
	/* A whole-phase deadline: a client dripping bytes is still cut. */
	sess_timer_set(s, cfg->timeout_data_ms);
}

static void sess_chunk_end(struct session *);

/*
 * BDAT count [LAST] (RFC 3030 2).  Whatever the reply, the count bytes
 * that follow are the chunk's and are consumed as such: a refused chunk
 * is dropped, never read as commands (issue 12, defect 5).  Only a BDAT
 * without a usable count cannot be followed, and closes the session, as
 * Postfix does.  The reply comes after the chunk's last byte.
 */
static void
cmd_bdat(struct session *s, struct smtp_cmd *c)
{
	const struct config *cfg = s->cfg;
	struct smtp_tx *tx = s->tx;
	unsigned long long n;
	enum smtp_bdat_arg a;
	const char *enh, *text;
	int last, code;

	a = smtp_bdat_parse(c->arg, &n, &last);
	if (a == SMTP_BDAT_ARG_NOCOUNT) {
		sess_reply(s, 521, "5.5.4", "%s Error: syntax: BDAT count "
		    "[LAST]; the chunk cannot be skipped, closing",
		    cfg->hostname);
		sess_log_event(s, "reject", "stage", "bdat",
		    "521 5.5.4 BDAT without a chunk size");
		sess_close(s, "bdat-syntax");
		return;
	}
	s->chunk_code = 0;
	s->chunk_last = last;
	if (!cfg->ext_chunking) {
		s->chunk_code = 502;
		s->chunk_enh = "5.5.1";
		snprintf(s->chunk_text, sizeof(s->chunk_text), "Error: command "
		    "not implemented");
	} else if (a == SMTP_BDAT_ARG_BAD) {
		s->chunk_code = 501;
		s->chunk_enh = "5.5.4";
		snprintf(s->chunk_text, sizeof(s->chunk_text), "Syntax: BDAT "
		    "count [LAST]");
	} else if (smtp_fsm_check(s->state, SMTP_CMD_BDAT, &code, &enh,
	    &text) != 0) {
		s->chunk_code = code;
		s->chunk_enh = enh;
		snprintf(s->chunk_text, sizeof(s->chunk_text), "%s", text);
	} else if (n > cfg->message_size_limit ||
	    (s->state == SMTP_ST_CHUNK &&
	    s->bdat.taken + n > cfg->message_size_limit)) {
		s->chunk_code = 552;
		s->chunk_enh = "5.3.4";
		snprintf(s->chunk_text, sizeof(s->chunk_text), "Error: message "
		    "size exceeds fixed limit");
	}
	/*
	 * RFC 3030 2: after a refused chunk the transaction has failed, and
	 * the client must not send more of it; end it here so that what it
	 * sends next is judged without it.
	 */
	if (s->chunk_code != 0 && tx != NULL && (s->state == SMTP_ST_CHUNK ||
	    s->chunk_code == 552)) {
		sess_tx_rollback(s, "refused-in-bdat");
		sess_enter_state(s, SMTP_ST_HELO);
	}
	if (s->chunk_code == 0 && s->state == SMTP_ST_RCPT) {
		smtp_bdat_init(&s->bdat, cfg->data_line_max,
		    cfg->message_size_limit, cfg->bare_newline ==
		    CFG_BARE_REJECT ? SMTP_DATA_BARE_REJECT :
		    SMTP_DATA_BARE_NORMALIZE);
		tx->chunked = 1;
		sess_enter_state(s, SMTP_ST_CHUNK);
	}
	smtp_bdat_chunk(&s->bdat, n, s->chunk_code == 0);
	s->in_chunk = 1;
	if (n == 0) {
		sess_chunk_end(s);
		return;
	}
	/* Per chunk, a whole-phase deadline as for DATA. */
	sess_timer_set(s, cfg->timeout_data_ms);
}

static void
cmd_rset(struct session *s, struct smtp_cmd *c)
{
	(void)c;
	if (s->state == SMTP_ST_MAIL || s->state == SMTP_ST_RCPT ||
	    s->state == SMTP_ST_CHUNK)
		sess_enter_state(s, SMTP_ST_HELO);
	sess_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct session *s, struct smtp_cmd *c)
{
	(void)c;
	sess_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct session *s, struct smtp_cmd *c)
{
	(void)c;
	sess_reply(s, 221, "2.0.0", "Bye");
	sess_enter_state(s, SMTP_ST_QUIT);
	sess_close(s, "quit");
}

static void
cmd_vrfy(struct session *s, struct smtp_cmd *c)
{
	(void)c;
	/* RFC 5321 3.5.3: 252 neither confirms nor denies. */
	sess_reply(s, 252, "2.0.0", "Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
cmd_help(struct session *s, struct smtp_cmd *c)
{
	(void)c;
	sess_reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA "
	    "RSET NOOP QUIT VRFY HELP\nSee RFC 5321");
}

/*
 * The session's command table, one row per verb: its handler and, for a
 * verb that ends the transaction (SMTP_CF_RESETS_TX in smtp_fsm.c's row,
 * which also holds the states it is allowed in and the PRE_TLS/PRE_AUTH
 * flags), the status= its event=tx line gets.  sess_command() is the
 * dispatcher that enforces the flags.
 */
static const struct sess_cmd {
	void		(*fn)(struct session *, struct smtp_cmd *);
	const char	*reset;
} sess_cmds[SMTP_CMD__COUNT] = {
	[SMTP_CMD_HELO] = { cmd_helo, "reset-by-helo" },
	[SMTP_CMD_EHLO] = { cmd_helo, "reset-by-helo" },
	[SMTP_CMD_MAIL] = { cmd_mail, NULL },
	[SMTP_CMD_RCPT] = { cmd_rcpt, NULL },
	[SMTP_CMD_DATA] = { cmd_data, NULL },
	[SMTP_CMD_RSET] = { cmd_rset, "reset" },
	[SMTP_CMD_NOOP] = { cmd_noop, NULL },
	[SMTP_CMD_QUIT] = { cmd_quit, NULL },
	[SMTP_CMD_VRFY] = { cmd_vrfy, NULL },
	[SMTP_CMD_HELP] = { cmd_help, NULL },
	[SMTP_CMD_STARTTLS] = { cmd_starttls, "reset-by-starttls" },
	[SMTP_CMD_AUTH] = { cmd_auth, NULL },
	[SMTP_CMD_BDAT] = { cmd_bdat, NULL },
};

static void
sess_parse_error(struct session *s, enum smtp_verb verb,
    enum smtp_cmd_err err)
{
	switch (err) {
	case SMTP_CMD_ERR_PATH:
		if (verb == SMTP_CMD_MAIL)
			sess_reply(s, 501, "5.1.7", "Error: bad sender "
			    "address syntax");
		else
			sess_reply(s, 501, "5.1.3", "Error: bad recipient "
			    "address syntax");
		break;
	case SMTP_CMD_ERR_PARAM:
	case SMTP_CMD_ERR_TOO_MANY:
		sess_reply(s, 555, "5.5.4", "Error: bad parameters");
		break;
	case SMTP_CMD_ERR_NUL:
		sess_reply(s, 500, "5.5.2", "Error: NUL character in command");
		break;
	case SMTP_CMD_ERR_UNKNOWN:
	case SMTP_CMD_ERR_8BIT:
		sess_reply(s, 500, "5.5.2", "Error: command not recognized");
		break;
	case SMTP_CMD_ERR_SYNTAX:
	default:
		sess_reply(s, 501, "5.5.4", "Error: syntax error in "
		    "parameters or arguments");
		break;
	}
}

/* One complete command line (content without its line end). */
static void
sess_command(struct session *s, const char *p, size_t len, unsigned flags)
{
	const struct config *cfg = s->cfg;
	const struct smtp_fsm_row *row;
	const struct sess_cmd *cmd;
	struct smtp_cmd *c;
	enum smtp_cmd_err err;
	const char *enh, *text;
	int code;

	evtimer_del(s->timer);
	log_trace_cmd(LOG_T_SMTP, s->id, "->", p, len);
	if (s->nerrors >= cfg->max_errors) {
		sess_reply(s, 421, "4.7.0", "%s Error: too many errors",
		    cfg->hostname);
		sess_log_event(s, "reject", "stage", "session",
		    "421 4.7.0 too many errors");
		sess_close(s, "too-many-errors");
		return;
	}
	if (++s->ncmds > cfg->max_commands) {
		sess_reply(s, 421, "4.7.0", "%s Error: too many commands",
		    cfg->hostname);
		sess_close(s, "too-many-commands");
		return;
	}
	if ((flags & (SMTP_LINE_NUL | SMTP_LINE_BARE_CR) ||
	    ((flags & SMTP_LINE_BARE_LF) && cfg->bare_newline ==
	    CFG_BARE_REJECT)) && len >= 4 && strncasecmp(p, "BDAT", 4) == 0 &&
	    (len == 4 || p[4] == ' ')) {
		/*
		 * A BDAT line refused below still announces a chunk: its
		 * bytes would run as commands.  The stream is lost; close.
		 */
		sess_reply(s, 521, "5.5.2", "%s Error: malformed BDAT command, "
		    "closing", cfg->hostname);
		sess_close(s, "bdat-syntax");
		return;
	}
	if (flags & SMTP_LINE_NUL) {
		sess_reply(s, 500, "5.5.2", "Error: NUL character in command");
		return;
	}
	if ((flags & SMTP_LINE_BARE_CR) || ((flags & SMTP_LINE_BARE_LF) &&
	    cfg->bare_newline == CFG_BARE_REJECT)) {
		sess_reply(s, 500, "5.5.2", "Error: bare CR or LF in command; "
		    "lines must end in CRLF");
		return;
	}

	/* struct smtp_cmd is a few KB: heap, only while the command runs. */
	c = xmalloc(sizeof(*c));
	err = smtp_cmd_parse(p, len, c);
	if (c->verb == SMTP_CMD_UNKNOWN || err == SMTP_CMD_ERR_UNKNOWN) {
		sess_reply(s, 500, "5.5.2", "Error: command not recognized");
		goto done;
	}
	/* BDAT judges its own order: a refused chunk is still consumed. */
	if (c->verb == SMTP_CMD_BDAT && err == SMTP_CMD_OK) {
		cmd_bdat(s, c);
		goto done;
	}
	if (smtp_fsm_check(s->state, c->verb, &code, &enh, &text) != 0) {
		sess_reply(s, code, enh, "%s", text);
		goto done;
	}
	if (err != SMTP_CMD_OK) {
		sess_parse_error(s, c->verb, err);
		goto done;
	}
	cmd = &sess_cmds[c->verb];
	row = smtp_fsm_row(c->verb);
	if (cmd->fn == NULL) {
		/* The FSM table lets through only verbs with a handler. */
		log_warn_session(s->id, "no handler for %s",
		    smtp_verb_name(c->verb));
		sess_reply(s, 502, "5.5.1", "Error: command not implemented");
		goto done;
	}
	if ((row->flags & SMTP_CF_PRE_TLS) && s->lst &&
	    s->lst->tls == CFG_TLS_REQUIRED && s->tls != 2) {
		sess_reply(s, 530, "5.7.0", "Error: must issue a STARTTLS "
		    "command first");
		goto done;
	}
	if ((row->flags & SMTP_CF_PRE_AUTH) && s->lst &&
	    s->lst->auth == CFG_AUTH_REQUIRED &&
	    s->auth_login == NULL) {
		sess_reply(s, 530, "5.7.0", "Error: authentication required");
		goto done;
	}
	s->last_code = 0;
	cmd->fn(s, c);
	/* Accepted: whatever the handler did, the transaction is over. */
	if ((row->flags & SMTP_CF_RESETS_TX) && s->tx != NULL &&
	    s->last_code > 0 && s->last_code < 400)
		sess_tx_rollback(s, cmd->reset);
done:
	free(c);
}

/* ---- input ------------------------------------------------------------ */

static void
sess_emit(void *arg, const char *p, size_t n)
{
	struct smtp_tx *tx = arg;

	ms_write(&tx->ms, p, n);
}

static void
sess_build_received(struct session *s)
{
	const struct config *cfg = s->cfg;
	struct smtp_tx *tx = s->tx;
	char helo[300], date[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	/* Only printable ASCII from the client goes into a header. */
	for (i = 0; s->helo[i] && i < sizeof(helo) - 1; i++)
		helo[i] = (s->helo[i] > ' ' && s->helo[i] < 127 &&
		    s->helo[i] != '(' && s->helo[i] != ')') ? s->helo[i] : '?';
	helo[i] = '\0';
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	sbuf_printf(&tx->hdr, "Received: from %s (%s [%s%s])\r\n"
	    "\tby %s (moat) with %s%s id %s.%d",
	    helo[0] ? helo : "unknown",
	    s->et->client_name ? s->et->client_name : "unknown",
	    s->client.family == AF_INET6 ? "IPv6:" : "", s->client_str,
	    cfg->hostname, tx->smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" :
	    "SMTP", s->esmtp ? (s->tls == 2 ? (s->auth_login ? "SA" : "S") :
	    (s->auth_login ? "A" : "")) : "", s->id, tx->n);
	if (tx->nrcpt == 1 && !tx->smtputf8)
		sbuf_printf(&tx->hdr, "\r\n\tfor <%s>", tx->rcpt[0]);
	sbuf_printf(&tx->hdr, "; %s\r\n", date);
}

/* The message goes on: replayed first if a recipient was greylisted. */
static void
sess_data_go(struct session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx->tainted && s->up && up_is_ready(s->up)) {
		sess_enter_wait(s, W_REPLAY);
		tx->replay = 0;
		sess_replay_step(s, NULL);
		return;
	}
	sess_data_send(s);
}

/*
 * The message's own verdict (DESIGN.md, Verdicts), the engine's DATA
 * stage.  Refused (reject, tempfail): the client is answered here.  Else
 * tx->tag gets our X-Spam-* fields followed by the message's header
 * section, tx->body_off where the rest begins, and the message goes on.
 */
static void
sess_data_done(void *arg, struct eng_tx *et, const struct eng_outcome *o)
{
	struct session *s = arg;
	const struct config *cfg = s->cfg;
	struct smtp_tx *tx = s->tx;
	int waited = s->wait == W_ENGINE;
	const struct sbuf *ar;
	struct sbuf rw = SBUF_INIT;
	size_t hlen;

	/* A session closing meanwhile only waits to be freed. */
	if (s->flags & SF_CLOSING)
		return;
	msg_free(tx->msg);
	tx->msg = NULL;
	eng_tx_message(et, NULL, NULL, 0);
	tx->verdict = score_verdict_name(et->verdict);
	if (o->act != ENG_CONTINUE) {
		ms_unmap(&tx->ms, tx->raw, tx->raw_len);
		tx->raw = NULL;
		sess_refuse(s, o);
		sess_tx_end(s, tx->verdict, o->reason, "");
		sess_enter_state(s, SMTP_ST_HELO);
		if (waited)
			sess_resume(s);
		return;
	}
	sbuf_add(&tx->tag, et->hdr.p ? et->hdr.p : "", et->hdr.len);
	if ((ar = eng_sauth_header(et)) != NULL)
		sbuf_add(&tx->tag, ar->p, ar->len);
	hlen = policy_header_end(tx->raw, tx->raw_len);
	policy_rewrite_headers(tx->raw, hlen, et->verdict == SCORE_TAG ?
	    cfg->subject_prefix : NULL, &rw);
	/* RFC 8601 5: a field from outside that claims our authserv-id
	 * is a forgery; it goes, whether or not we add one. */
	(void)sauth_ar_strip(rw.p != NULL ? rw.p : "", rw.len,
	    eng_sauth_authserv_id(cfg), &tx->tag);
	sbuf_free(&rw);
	tx->body_off = hlen;
	ms_unmap(&tx->ms, tx->raw, tx->raw_len);
	tx->raw = NULL;
	sess_data_go(s);
}

/*
 * Whether the message goes through the engine's DATA stage (and so has
 * its header section rewritten): with rules, or with sender
 * authentication, whose Authentication-Results goes on it.
 */
static int
sess_judges_data(const struct session *s)
{
	return s->snap->rules != NULL || (s->et->io->sauth != NULL &&
	    eng_sauth_enabled(s->cfg));
}

/* Map and parse the message for the DATA stage; -1 if it cannot be. */
static int
sess_data_verdict(struct session *s)
{
	struct smtp_tx *tx = s->tx;

	if ((tx->raw = ms_map(&tx->ms, &tx->raw_len)) == NULL) {
		log_warn_session(s->id, "cannot map the spooled message: %s",
		    strerror(errno));
		sess_reply(s, 451, "4.3.0", "Error: local storage problem, "
		    "try again later");
		sess_tx_end(s, "tempfail", "spool-failed", "");
		sess_enter_state(s, SMTP_ST_HELO);
		return -1;
	}
	/* Parsed for the rules and the URI lists; DKIM and DMARC read the
	 * bytes (parsing was a third of a check's CPU without rules). */
	if (s->snap->rules != NULL || eng_sauth_needs_msg(s->cfg))
		tx->msg = msg_parse(tx->raw, tx->raw_len, NULL);
	eng_tx_message(s->et, tx->msg, tx->raw, tx->raw_len);
	sess_stage(s, ENG_DATA, sess_data_done);
	return 0;
}

static void
sess_data_end(struct session *s)
{
	struct smtp_tx *tx = s->tx;
	const char *verdict = "reject";
	char reply[256];

	evtimer_del(s->timer);
	if (tx->reader.err) {
		switch (tx->reader.first_err) {
		case SMTP_DATA_E_SIZE:
			snprintf(reply, sizeof(reply), "552 5.3.4 Error: "
			    "message size exceeds fixed limit");
			sess_reply(s, 552, "5.3.4", "Error: message size "
			    "exceeds fixed limit");
			break;
		case SMTP_DATA_E_LINE:
			snprintf(reply, sizeof(reply), "554 5.6.0 Error: "
			    "line longer than %zu bytes",
			    s->cfg->data_line_max);
			sess_reply(s, 554, "5.6.0", "Error: message has a "
			    "line longer than %zu bytes",
			    s->cfg->data_line_max);
			break;
		case SMTP_DATA_E_BARE:
			snprintf(reply, sizeof(reply), "554 5.6.0 Error: bare "
			    "CR or LF");
			sess_reply(s, 554, "5.6.0", "Error: bare CR or LF in "
			    "message; lines must end in CRLF");
			break;
		default:
			snprintf(reply, sizeof(reply), "554 5.6.0 Error: NUL");
			sess_reply(s, 554, "5.6.0", "Error: NUL character in "
			    "message");
			break;
		}
		sess_log_event(s, "reject", "stage", "data", reply);
		sess_tx_end(s, verdict, "refused", "");
		sess_enter_state(s, SMTP_ST_HELO);
		return;
	}
	if (tx->ms.err) {
		log_warn_session(s->id, "spool write failed: %s",
		    strerror(tx->ms.err));
		sess_reply(s, 451, "4.3.0", "Error: local storage problem, "
		    "try again later");
		sess_tx_end(s, "tempfail", "spool-failed", "");
		sess_enter_state(s, SMTP_ST_HELO);
		return;
	}
	if (sess_judges_data(s)) {
		sess_data_verdict(s);
		return;
	}
	sess_data_go(s);
}


/* The message goes to the backend (DATA, our header lines, the message). */
static void
sess_data_send(struct session *s)
{
	struct smtp_tx *tx = s->tx;

	if (s->up == NULL || !up_is_ready(s->up)) {
		sess_reply(s, 451, "4.4.2", "Error: connection to the mail "
		    "system lost, try again later");
		sess_tx_end(s, tx->verdict, "backend-failed", "");
		sess_enter_state(s, SMTP_ST_HELO);
		if (s->flags & SF_WAIT)
			sess_resume(s);
		return;
	}
	if (s->cfg->received_header)
		sess_build_received(s);
	sess_enter_wait(s, W_DATA);
	/* Our Received:, our X-Spam-* and Authentication-Results, then the
	 * sender's headers. */
	if (sess_judges_data(s))
		sbuf_add(&tx->hdr, tx->tag.p ? tx->tag.p : "", tx->tag.len);
	/*
	 * What came by BDAT goes on by BDAT where the backend has it, else
	 * as DATA (dot-stuffed; the line ends are canonical either way).
	 */
	(tx->chunked && (up_ehlo(s->up)->exts & SMTP_EXT_CHUNKING) ? up_bdat :
	    up_data)(s->up, tx->hdr.p ? tx->hdr.p : "", tx->hdr.len, &tx->ms,
	    sess_judges_data(s) ? tx->body_off : 0);
}

/* Feed buffered input to the DATA reader; 1 at the end of data. */
static int
sess_read_data(struct session *s, struct evbuffer *in)
{
	struct smtp_tx *tx = s->tx;
	struct evbuffer_iovec v[8];
	size_t used, total = 0;
	int i, n;
	enum smtp_data_status st = SMTP_DATA_MORE;

	n = evbuffer_peek(in, -1, NULL, v, 8);
	if (n > 8)
		n = 8;
	for (i = 0; i < n; i++) {
		st = smtp_data_feed(&tx->reader, v[i].iov_base, v[i].iov_len,
		    &used, sess_emit, tx);
		total += used;
		if (st == SMTP_DATA_END)
			break;
	}
	evbuffer_drain(in, total);
	s->bytes_in += total;
	return st == SMTP_DATA_END;
}

/* Feed buffered input to the chunk reader; 1 when the chunk is complete. */
static int
sess_read_chunk(struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec v[8];
	size_t used, total = 0;
	int i, n;
	enum smtp_bdat_status st = SMTP_BDAT_MORE;

	n = evbuffer_peek(in, -1, NULL, v, 8);
	if (n > 8)
		n = 8;
	for (i = 0; i < n; i++) {
		st = smtp_bdat_feed(&s->bdat, v[i].iov_base, v[i].iov_len,
		    &used, sess_emit, s->tx);
		total += used;
		if (st == SMTP_BDAT_CHUNK_END)
			break;
	}
	evbuffer_drain(in, total);
	s->bytes_in += total;
	return st == SMTP_BDAT_CHUNK_END;
}

/*
 * A chunk's last byte is in: its reply, or, after LAST, the message goes
 * the way a DATA message goes (limits, rules, backend).
 */
static void
sess_chunk_end(struct session *s)
{
	s->in_chunk = 0;
	evtimer_del(s->timer);
	if (s->chunk_code != 0) {
		sess_reply(s, s->chunk_code, s->chunk_enh, "%s", s->chunk_text);
		return;
	}
	if (!s->chunk_last) {
		sess_reply(s, 250, "2.0.0", "Ok: %llu octets", s->bdat.taken);
		return;
	}
	smtp_bdat_finish(&s->bdat, sess_emit, s->tx);
	s->tx->reader = s->bdat.data;
	sess_enter_state(s, SMTP_ST_DATA);
	sess_data_end(s);
}

/*
 * One line of an AUTH exchange (RFC 4954: up to 12288 bytes); 0 when no
 * whole line is there yet.  The line (a password, encoded) is wiped after
 * use and never logged.
 */
static int
sess_read_sasl(struct session *s, struct evbuffer *in)
{
	struct sasl_action a;
	struct smtp_line ln;
	enum smtp_line_status st;
	size_t avail = evbuffer_get_length(in);
	size_t want = avail < SASL_LINE_MAX + 2 ? avail : SASL_LINE_MAX + 2;
	char *p = (char *)evbuffer_pullup(in, (ev_ssize_t)want);

	st = smtp_line_scan(p, want, SASL_LINE_MAX, &ln);
	if (st == SMTP_LINE_PARTIAL)
		return 0;
	if (st == SMTP_LINE_TOO_LONG) {
		sasl_too_long(s->sasl, &a);
		sess_sasl_act(s, &a);
		sess_close(s, "auth-line-too-long");
		return 1;
	}
	evtimer_del(s->timer);
	/* An AUTH answer is a credential: its place in the trace only. */
	log_trace(LOG_T_SMTP, "session=%s -> <redacted>", s->id);
	sasl_step(s->sasl, p, ln.len, &a);
	explicit_bzero(p, ln.len);
	evbuffer_drain(in, ln.consumed);
	s->bytes_in += ln.consumed;
	sess_sasl_act(s, &a);
	return 1;
}

static void
sess_read_proxy(struct session *s, struct evbuffer *in)
{
	struct proxy_hdr ph;
	size_t avail = evbuffer_get_length(in), consumed = 0;
	size_t want = avail < PROXY_V2_MAX ? avail : PROXY_V2_MAX;
	unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)want);
	enum proxy_status st;

	st = proxy_parse(p, want, s->lst->proxy_accept, &ph, &consumed);
	if (st == PROXY_MORE)
		return;
	if (st == PROXY_BAD) {
		/* No banner yet: a load balancer misconfigured, or a probe. */
		log_warn_session(s->id, "listener=%s: bad or missing PROXY "
		    "header", s->lst->name);
		sess_close(s, "bad-proxy-header");
		return;
	}
	evbuffer_drain(in, consumed);
	s->bytes_in += consumed;
	if (!ph.local)
		memcpy(&s->peer, &ph.src, sizeof(s->peer));
	evtimer_del(s->timer);
	sess_begin(s);
}

static void sess_process_input(struct session *);

/*
 * The client half-closed and every complete command it sent is answered
 * (DESIGN.md, session step 11): close once the replies are out.  Exim
 * sends the final dot and QUIT in one write and then shutdown(SHUT_WR);
 * its message must go to the backend and both replies back, as Postfix
 * does.  Only what is left unfinished (a command without its line end, a
 * message without its dot) makes a lost client, and nothing of that is
 * acknowledged.
 */
static void
sess_eof(struct session *s)
{
	size_t left = evbuffer_get_length(bufferevent_get_input(s->bev));

	/* A BDAT transaction without its LAST chunk is an unfinished message. */
	if (s->state == SMTP_ST_DATA || s->state == SMTP_ST_CHUNK ||
	    s->in_chunk)
		sess_close(s, "lost-in-data");
	else if (left > 0)
		sess_close(s, "lost-in-command");
	else
		sess_close(s, "disconnect");
}

static void
sess_process(struct session *s)
{
	if (s->flags & SF_INPROC)
		return;
	s->flags |= SF_INPROC;
	sess_process_input(s);
	s->flags &= ~SF_INPROC;
	sess_flush(s);
	if ((s->flags & SF_EOF) && !(s->flags & (SF_WAIT | SF_CLOSING)))
		sess_eof(s);
}

static void
sess_process_input(struct session *s)
{
	const struct config *cfg = s->cfg;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct smtp_line ln;
	enum smtp_line_status st;
	size_t avail, want;
	char *p;

	while (!(s->flags & (SF_CLOSING | SF_WAIT)) &&
	    (avail = evbuffer_get_length(in)) > 0) {
		if (s->in_chunk) {
			if (sess_read_chunk(s, in))
				sess_chunk_end(s);
			continue;
		}
		switch (s->state) {
		case SMTP_ST_PROXY:
			sess_read_proxy(s, in);
			if (s->state == SMTP_ST_PROXY)
				return;
			continue;
		case SMTP_ST_GREET: {
			/* Commands sent before the banner are never run. */
			int first = !(s->flags & SF_PREGREET);

			s->flags |= SF_PREGREET;
			evbuffer_drain(in, avail);
			s->bytes_in += avail;
			if (cfg->pregreet == CFG_PREGREET_REJECT) {
				evtimer_del(s->greet_timer);
				sess_log_event(s, "reject", "stage", "pregreet",
				    "554 5.5.1 talked before the greeting");
				sess_reply(s, 554, "5.5.1", "%s Error: "
				    "protocol error, you talked before my "
				    "greeting", cfg->hostname);
				sess_close(s, "pregreet");
			} else if (first)
				sess_log_event(s, "pregreet", "action",
				    cfg->pregreet == CFG_PREGREET_SCORE ?
				    "score" : "ignore", NULL);
			return;
		}
		case SMTP_ST_QUIT:
			evbuffer_drain(in, avail);
			return;
		case SMTP_ST_DATA:
			if (sess_read_data(s, in))
				sess_data_end(s);
			continue;
		default:
			break;
		}

		if (s->in_auth) {
			if (sess_read_sasl(s, in) == 0)
				break;
			continue;
		}
		want = avail < cfg->command_line_max + 2 ? avail :
		    cfg->command_line_max + 2;
		p = (char *)evbuffer_pullup(in, (ev_ssize_t)want);
		st = smtp_line_scan(p, want, cfg->command_line_max, &ln);
		if (st == SMTP_LINE_PARTIAL)
			break;
		if (st == SMTP_LINE_TOO_LONG) {
			/*
			 * Refused, never truncated and run: a cut line could
			 * turn its tail into a command of its own.
			 */
			sess_reply(s, 500, "5.5.0", "Error: line too long");
			sess_log_event(s, "reject", "stage", "command",
			    "500 5.5.0 line too long");
			sess_close(s, "line-too-long");
			return;
		}
		{
			/* The line must outlive the drain: copy it. */
			char line[SMTP_CMD_LINE_MAX + 1];
			size_t len = ln.len;

			memcpy(line, p, len);
			line[len] = '\0';
			evbuffer_drain(in, ln.consumed);
			s->bytes_in += ln.consumed;
			sess_command(s, line, len, ln.flags);
		}
	}
	if (!(s->flags & (SF_CLOSING | SF_WAIT)) &&
	    s->state != SMTP_ST_DATA && s->state != SMTP_ST_GREET &&
	    !evtimer_pending(s->timer, NULL))
		sess_timer_set(s, cfg->timeout_command_ms);
}

static void
sess_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	sess_process(s);
}

static void
sess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->tls == 1 && (what & BEV_EVENT_CONNECTED)) {
		sess_tls_up(s);
		return;
	}
	if (s->tls == 1 && (what & BEV_EVENT_ERROR)) {
		char why[256];

		tls_error_string(s->bev, why, sizeof(why));
		log_warn_session(s->id, "client=%s: TLS handshake failed: %s",
		    s->client_str, why);
		s->reason = "tls-handshake-failed";
		metrics_tls("failed");
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    s->tls != 1 && !(s->flags & SF_CLOSING)) {
		/*
		 * A half-close, not a vanished client: what it sent before
		 * is still answered; libevent has stopped reading, writing
		 * goes on.
		 */
		s->flags |= SF_EOF;
		sess_process(s);
		return;
	}
	if (s->reason == NULL)
		s->reason = s->state == SMTP_ST_DATA ||
		    s->state == SMTP_ST_CHUNK || s->in_chunk ?
		    "lost-in-data" : "disconnect";
	/* The peer is gone: nothing more can be written. */
	sess_schedule_free(s);
}
