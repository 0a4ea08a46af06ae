/*
 * eng_rate.c: the rate-limit steps (doc/config.md, "Rate limits"): one
 * counter in the store per step, counted and compared with its limit.
 *
 * Connections, messages and recipients count events and refuse past the
 * limit; the failed-AUTH counters (auth_block at connect, the AUTHLOGIN
 * and AUTHFAIL stages) count failures and refuse at the limit.  What a
 * store failure means is ratelimit_on_store_failure.  A trusted or
 * whitelisted client, or one that logged in, is not counted (except for
 * its own failed logins and its login's messages).
 * It does not reply or close anything: it sets the stage's outcome.
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "moat_conf.h"
#include "eng_steps.h"
#include "engine.h"
#include "greylist.h"
#include "log.h"
#include "store.h"

/*
 * The kinds: the limit= name in the log and the config key that sets it.
 * One list makes the enum and the table.  AUTHBLOCK to AUTHFAIL_NET count
 * failures and stay in that order (rate_cb compares with >= for them).
 */
#define RATE_LIST(X)							\
	X(RATE_CONN, "conn_per_ip", ratelimit_conn_per_ip)		\
	X(RATE_MSG, "msg_per_ip", ratelimit_msg_per_ip)			\
	X(RATE_RCPT, "rcpt_per_sender", ratelimit_rcpt_per_sender)	\
	X(RATE_AUTHBLOCK, "auth_fail_per_ip", auth_fail_limit)		\
	X(RATE_AUTHFAIL, "auth_fail_per_ip", auth_fail_limit)		\
	X(RATE_AUTHFAIL_NET, "auth_fail_per_net", auth_fail_net_limit)	\
	X(RATE_USER, "msg_per_user", ratelimit_msg_per_user)		\
	X(RATE_AUTHLOGIN, "auth_fail_per_login", auth_fail_limit)

enum rate_kind {
#define RATE_ENUM(e, name, key)	e,
	RATE_LIST(RATE_ENUM)
#undef RATE_ENUM
};

static const struct {
	const char	*name;
	size_t		 off;	/* of its struct cfg_rate in struct config */
} rate_kinds[] = {
#define RATE_ROW(e, name, key)	{ name, offsetof(struct config, key) },
	RATE_LIST(RATE_ROW)
#undef RATE_ROW
};

static const struct cfg_rate *
rate_of(const struct config *cfg, enum rate_kind k)
{
	return (const struct cfg_rate *)(const void *)((const char *)cfg +
	    rate_kinds[k].off);
}

/* What an answer means for the stage: tx->out, or nothing (continue). */
static void
rate_decide(struct eng_tx *tx, enum rate_kind k, int err, long long count)
{
	const struct config *cfg = tx->cfg;
	const struct cfg_rate *r = rate_of(cfg, k);
	struct eng_outcome *o = &tx->out;
	struct logline l;
	int over;

	/* The login's failures only slow its next reply down. */
	if (k == RATE_AUTHLOGIN) {
		tx->auth_fails = err == STORE_OK ? count : 0;
		return;
	}
	over = err != STORE_OK ?
	    cfg->ratelimit_on_store_failure == CFG_FAIL_TEMPFAIL :
	    (k >= RATE_AUTHBLOCK && k <= RATE_AUTHFAIL_NET) ? count >= r->n :
	    count > r->n;
	if (!over)
		return;
	logline_begin(&l, "ratelimit");
	logline_str(&l, "session", tx->sid);
	logline_str(&l, "client", tx->client_str);
	logline_str(&l, "limit", rate_kinds[k].name);
	logline_int(&l, "count", count);
	logline_int(&l, "max", r->n);
	if (err != STORE_OK)
		logline_str(&l, "store", store_err_name(err));
	logline_emit(&l);
	if (tx->io->on_ratelimit != NULL)
		tx->io->on_ratelimit(rate_kinds[k].name, err != STORE_OK);

	o->act = ENG_REPLY;
	switch (k) {
	case RATE_CONN:
		o->code = 421;
		o->enh = "4.7.0";
		snprintf(o->text, sizeof(o->text), "%s Error: too many "
		    "connections from %s, try again later", cfg->hostname,
		    tx->client_str);
		o->close = 1;
		o->reason = "ratelimit";
		break;
	case RATE_AUTHBLOCK:
		o->code = 421;
		o->enh = "4.7.0";
		snprintf(o->text, sizeof(o->text), "%s Error: too many failed "
		    "authentications from %s, try again later", cfg->hostname,
		    tx->client_str);
		o->close = 1;
		o->reason = "auth-blocked";
		break;
	case RATE_AUTHFAIL:
	case RATE_AUTHFAIL_NET:
		o->code = 421;
		o->enh = "4.7.0";
		snprintf(o->text, sizeof(o->text), "%s Error: too many failed "
		    "authentications, try again later", cfg->hostname);
		o->close = 1;
		o->reason = "auth-blocked";
		break;
	case RATE_MSG:
	case RATE_USER:
		o->code = 451;
		o->enh = "4.7.0";
		snprintf(o->text, sizeof(o->text), "Error: too many messages "
		    "from your %s, try again later", k == RATE_USER ?
		    "login" : "address");
		o->verdict = "tempfail";
		o->reason = "ratelimit";
		break;
	case RATE_RCPT:
		o->code = 451;
		o->enh = "4.7.0";
		snprintf(o->text, sizeof(o->text), "Error: too many "
		    "recipients from this sender, try again later");
		o->reason = "ratelimit";
		break;
	case RATE_AUTHLOGIN:
		break;
	}
}

static void
rate_cb(void *arg, uint64_t id, int err, long long count)
{
	struct eng_tx *tx = arg;

	(void)id;
	tx->req = 0;
	rate_decide(tx, (enum rate_kind)tx->rate_kind, err, count);
	eng_resume(tx);
}

/*
 * rate_start: count one event of kind k; ENG_PENDING while the store
 * answers, ENG_DONE when no limit applies (off, no store, a trusted,
 * whitelisted or (for most kinds) authenticated client).
 */
static enum eng_ret
rate_start(struct eng_tx *tx, struct eng_io *io, enum rate_kind k)
{
	const struct config *cfg = tx->cfg;
	const struct cfg_rate *r = rate_of(cfg, k);
	char name[STORE_NAME_MAX];

	if (k == RATE_AUTHLOGIN)
		tx->auth_fails = 0;
	/* Failed-AUTH counters matter only where AUTH is offered. */
	if ((k == RATE_AUTHBLOCK || k == RATE_AUTHFAIL ||
	    k == RATE_AUTHFAIL_NET || k == RATE_AUTHLOGIN) &&
	    !tx->auth_listener)
		return ENG_DONE;
	if (k == RATE_AUTHLOGIN && (r->n == 0 || io->store == NULL ||
	    tx->auth_try == NULL))
		return ENG_DONE;
	if (k == RATE_USER) {
		/* Logins are limited whatever network they come from. */
		if (r->n == 0 || io->store == NULL || tx->auth_login == NULL)
			return ENG_DONE;
	} else if (r->n == 0 || io->store == NULL || tx->trusted ||
	    (tx->auth_login && k != RATE_AUTHFAIL &&
	    k != RATE_AUTHFAIL_NET) ||
	    cidr_list_match(&cfg->grey_wl_clients, &tx->client))
		return ENG_DONE;
	if (k == RATE_RCPT)
		snprintf(name, sizeof(name), "rcpt:%s", tx->mail_from);
	else if (k == RATE_AUTHFAIL_NET) {
		char net[128];

		if (grey_client_net(net, sizeof(net), tx->client.a,
		    tx->client.family == AF_INET6,
		    tx->client.family == AF_INET6 ? 64 : 24) == -1)
			return ENG_DONE;
		snprintf(name, sizeof(name), "authfail-net:%s", net);
	} else if (k == RATE_AUTHBLOCK || k == RATE_AUTHFAIL)
		snprintf(name, sizeof(name), "authfail:%s", tx->client_str);
	else if (k == RATE_USER)
		snprintf(name, sizeof(name), "user:%s", tx->auth_login);
	else if (k == RATE_AUTHLOGIN)
		snprintf(name, sizeof(name), "authlogin:%s", tx->auth_try);
	else
		snprintf(name, sizeof(name), "%s:%s", k == RATE_CONN ?
		    "conn" : "msg", tx->client_str);
	tx->rate_kind = k;
	tx->cancel = eng_cancel_store;
	/* Looking (AUTHBLOCK) does not count; a failure does. */
	tx->req = store_count(io->store, name, r->window_ms,
	    cfg->ratelimit_sliding, k == RATE_AUTHBLOCK ? 0 : 1, rate_cb, tx);
	return ENG_PENDING;
}

enum eng_ret
eng_rate_conn(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_CONN);
}

enum eng_ret
eng_rate_authblock(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_AUTHBLOCK);
}

enum eng_ret
eng_rate_msg(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_MSG);
}

/* Per address for everyone; per login as well once authenticated. */
enum eng_ret
eng_rate_user(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_USER);
}

enum eng_ret
eng_rate_rcpt(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_RCPT);
}

/*
 * Failures on one login, from anywhere, make its next failure replies
 * slower (a distributed guesser slows down); a right password is never
 * delayed, so the real user is never locked out.
 */
enum eng_ret
eng_rate_authlogin(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_AUTHLOGIN);
}

enum eng_ret
eng_rate_authfail(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_AUTHFAIL);
}

enum eng_ret
eng_rate_authfail_net(struct eng_tx *tx, struct eng_io *io)
{
	return rate_start(tx, io, RATE_AUTHFAIL_NET);
}
