/*
 * milter.h: moat-milter, the libmilter front end over moat's transaction
 * engine (issue 15).  Three parts, each in its own file:
 *
 *   milter_cb.c      libmilter's callbacks, on libmilter's threads (one per
 *                    MTA connection): they gather the facts, ask the engine
 *                    for one outcome per stage, and turn it into SMFIS_*,
 *                    smfi_setreply and the header changes at end of message.
 *   milter_bridge.c  the one engine thread with its libevent loop, the
 *                    request queue the callbacks post to, the bounded wait,
 *                    the configuration snapshot and its reload.
 *   milter_eng.c     what one stage runs, on the engine thread: the
 *                    connection's facts handed to its struct eng_tx and
 *                    the engine's stage run (engine/engine.h).
 *   milter_wire.c    what libmilter read last on a connection's thread,
 *                    to tell a broken milter stream from the MTA's abort.
 *
 * A struct mlt_conn is one MTA connection.  Its facts are written by the
 * libmilter thread only while no request is in flight (busy == 0) and read
 * by the engine thread only while one is; the bridge's mutex orders the
 * two.  Refcounted: the libmilter thread holds one reference from connect
 * to close, each request in flight one more; the last one frees it on the
 * engine thread.
 */
#ifndef MOAT_MILTER_H
#define MOAT_MILTER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"
#include "score.h"

struct config;
struct moat_snapshot;
struct event_base;
struct eng_tx;

/* The stages the engine decides at, in the order the MTA reports them. */
#define MLT_STAGE_LIST		\
	X(MLT_CONNECT, "connect")	\
	X(MLT_HELO, "helo")		\
	X(MLT_MAIL, "mail")		\
	X(MLT_RCPT, "rcpt")		\
	X(MLT_DATA, "data")		\
	X(MLT_FREE, "free")

enum mlt_stage {
#define X(e, n) e,
	MLT_STAGE_LIST
#undef X
};

const char *mlt_stage_name(enum mlt_stage);

/* What the engine says about one stage. */
enum mlt_act {
	MLT_CONTINUE,		/* go on (at DATA: accept or tag) */
	MLT_REJECT,		/* 5xx: code, ecode, text */
	MLT_TEMPFAIL		/* 4xx: code, ecode, text (greylisting too) */
};

#define MLT_TEXT_MAX	640	/* > the engine's ENG_TEXT_MAX */
#define MLT_RCPT_MAX	1000	/* recipients kept per transaction */
#define MLT_HDRS_MAX	1000	/* header fields indexed per message */

struct mlt_outcome {
	enum mlt_act	act;
	int		code;		/* 550, 451, ... */
	char		ecode[16];	/* "5.7.1" */
	char		text[MLT_TEXT_MAX];
	const char	*event_stage;	/* for event=reject: "rcpt", ... */
	char		grey[16];	/* RCPT: the greylist state, or "" */
	/* DATA (and every stage's running score) */
	enum score_verdict verdict;
	double		score;
	int		quarantine;	/* hold it (milter_quarantine_score) */
	struct sbuf	rules;		/* "NAME=2.5,..." for the log line */
	struct sbuf	headers;	/* our X-Spam-* fields, CRLF lines */
	/* sender authentication (engine/eng_sauth.h), copied off the tx */
	struct sbuf	ar;		/* Authentication-Results, or empty */
};

/* One header field seen, by name, for the changes at end of message. */
struct mlt_hdr {
	char		*name;
	char		*value;		/* as the MTA sent it (leading space) */
};

struct mlt_conn {
	/* bridge: under the bridge's mutex */
	int		 refs;
	int		 busy;		/* a request is out */
	int		 done;		/* its outcome is in */
	int		 abandoned;	/* the caller stopped waiting */
	enum mlt_stage	 stage;		/* what the request asks */
	struct mlt_conn	*next;		/* in the bridge's queue */
	pthread_cond_t	 cv;

	struct moat_snapshot *snap;	/* the snapshot it began with */
	struct config	*cfg;		/* snap's (borrowed) */
	char		 id[17];	/* session id, 16 hex */
	int64_t		 start_ms;
	int64_t		 tx_start_ms;

	/* session facts */
	char		*client_addr;	/* "" when the MTA did not say */
	char		*client_name;	/* verified name, "" if none */
	char		*daemon_name;	/* the MTA's {daemon_name} */
	char		*helo;
	char		*tls;		/* {tls_version}, NULL: none */
	char		*auth;		/* {auth_authen}, NULL: none */
	int		 ntx;
	int		 in_tx;		/* MAIL seen, not yet ended */
	int		 counted;	/* holds an in-flight slot */
	int		 leadspc;	/* header values keep their lead space */
	int		 connected;	/* the connect stage was seen */
	int		 eng_mail;	/* the engine ran this tx's MAIL */
	int		 broken;	/* a broken stream was logged */

	/* transaction facts */
	char		*qid;		/* the MTA's queue id ({i}) */
	char		*from;		/* reverse-path without <> */
	char		*rcpt[MLT_RCPT_MAX];
	int		 nrcpt;
	int		 rcpt_refused;
	char		*rcpt_now;	/* the RCPT being judged */
	struct sbuf	 msg;		/* header section and body, CRLF */
	size_t		 msg_size;	/* as received, even past the cap */
	int		 msg_capped;	/* msg holds only a prefix */
	struct mlt_hdr	 hdrs[MLT_HDRS_MAX];
	int		 nhdrs;

	struct mlt_outcome out;		/* the last stage's outcome */
	/*
	 * The engine's facts and results.  Written on the engine thread
	 * while a request is out; the libmilter thread reads its results
	 * (the tx line's spf= dkim= dmarc= lists=) only while none is
	 * (mlt_idle), the same hand-over as the facts above.  It holds a
	 * transaction's results until the next MAIL or the end.
	 */
	struct eng_tx	*eng;
};

/* ---- milter_bridge.c ---- */

/*
 * mlt_bridge_start: the engine thread, over snap (a reference is taken) and
 * the privileged parent's socket ps_fd (-1: none; a reload arrives there,
 * and its end stops the milter).  Fatal on failure.
 */
void	 mlt_bridge_start(struct moat_snapshot *snap, int ps_fd);
/* Stop the engine thread and join it; every connection must be gone. */
void	 mlt_bridge_stop(void);

/* The configuration in force, with a reference (cfg_unref it). */
struct config *mlt_config(void);

/* A new connection with one reference, on the config in force. */
struct mlt_conn *mlt_conn_new(void);
/* Drop the caller's reference; the last one frees it on the engine thread. */
void	 mlt_conn_release(struct mlt_conn *);

/*
 * mlt_call: ask the engine for the outcome of stage on c, and wait for it
 * at most milter_timeout.  0: c->out holds it.  -1: no outcome (the wait
 * timed out, or an earlier request of c is still out); the caller answers
 * tempfail, and c may not be changed until a later mlt_call succeeds.
 * Logs a timeout once.
 */
int	 mlt_call(struct mlt_conn *c, enum mlt_stage stage);

/*
 * The in-flight bound: mlt_tx_begin takes a slot (0), or says there is
 * none left (-1); mlt_tx_end gives it back.
 */
int	 mlt_tx_begin(struct mlt_conn *);
void	 mlt_tx_end(struct mlt_conn *);

/*
 * mlt_idle: 1 when no request of c is out, so the libmilter thread may
 * change c's facts; 0 while a timed-out request is still being worked on.
 */
int	 mlt_idle(struct mlt_conn *c);

/* Connections alive (for the drain). */
int	 mlt_conns(void);

/* Engine thread only: the stage of c is decided (c->out is filled). */
void	 mlt_done(struct mlt_conn *c);

/* Free what the connection's facts hold (transaction facts only: tx). */
void	 mlt_tx_clear(struct mlt_conn *c);

/* ---- milter_eng.c (engine thread only) ---- */

/* Per-thread setup of the engine side (rule scratch, store handle). */
void	 mlt_eng_init(struct event_base *base, const struct config *cfg);
void	 mlt_eng_shutdown(void);
/*
 * mlt_eng_stage: run c->stage for c through the engine (eng_stage) and
 * call mlt_done(c) exactly once, now or later from the loop.  MLT_FREE
 * releases c->eng (no mlt_done).
 */
void	 mlt_eng_stage(struct mlt_conn *c);

/* ---- milter_wire.c (libmilter's thread for the connection) ---- */

/*
 * mlt_wire_broken: why libmilter gave up on this thread's MTA connection
 * (its last read failed, or it could not take the last packet), or NULL
 * when the last packet read was the MTA's own abort or QUIT (or none was
 * read here).  For xxfi_abort and xxfi_close.  The string stays valid
 * until the next call on this thread.
 */
const char *mlt_wire_broken(void);

/* ---- milter_cb.c ---- */

struct smfiDesc;
extern struct smfiDesc mlt_desc;

#endif
