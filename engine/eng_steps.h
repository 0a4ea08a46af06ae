/*
 * eng_steps.h: the steps of every stage, as one table (engine.h, struct
 * eng_step).  A row: the stage, the step's name (traces, doc/engine.md),
 * what a front end shows while it waits (NULL: it never waits), and its
 * function.  Rows of one stage run in this order.  A new check is one row
 * here and its function in a file of its own under engine/; nothing else
 * in the engine or the front ends changes.
 */
#ifndef MOAT_ENG_STEPS_H
#define MOAT_ENG_STEPS_H

#include "engine.h"

#define ENG_STEP_LIST(X)						\
	/* connect: the name lookup starts (mail waits for it) */	\
	X(ENG_CONNECT,	"dns_start",	NULL,	eng_dns_start)		\
	X(ENG_CONNECT,	"rate_conn",	"RATE",	eng_rate_conn)		\
	X(ENG_CONNECT,	"auth_block",	"RATE",	eng_rate_authblock)	\
	/* connect: the DNS lists start, the banner waits (eng_sauth.c) */ \
	X(ENG_CONNECT,	"dnsbl_start",	NULL,	eng_sauth_connect)	\
	X(ENG_BANNER,	"dnsbl",	"DNS",	eng_sauth_dnsbl)	\
	X(ENG_BANNER,	"rules",	NULL,	eng_rules_banner)	\
	X(ENG_HELO,	"rules",	NULL,	eng_rules_helo)		\
	X(ENG_MAIL,	"dns_wait",	"DNS",	eng_dns_wait)		\
	X(ENG_MAIL,	"sauth",	"DNS",	eng_sauth_mail)		\
	X(ENG_MAIL,	"rules",	NULL,	eng_rules_mail)		\
	X(ENG_MAIL,	"rate_msg",	"RATE",	eng_rate_msg)		\
	X(ENG_MAIL,	"rate_user",	"RATE",	eng_rate_user)		\
	X(ENG_RCPT,	"relay",	NULL,	eng_relay)		\
	X(ENG_RCPT,	"spf_policy",	NULL,	eng_sauth_rcpt)		\
	X(ENG_RCPT,	"rules",	NULL,	eng_rules_rcpt)		\
	X(ENG_RCPT,	"rate_rcpt",	"RATE",	eng_rate_rcpt)		\
	X(ENG_GREY,	"greylist",	"GREY",	eng_grey)		\
	X(ENG_DATA,	"sauth",	"DNS",	eng_sauth_data)		\
	X(ENG_DATA,	"bayes",	"BAYES", eng_bayes)		\
	X(ENG_DATA,	"rules",	NULL,	eng_rules_data)		\
	X(ENG_DATA,	"bayes_learn",	NULL,	eng_bayes_learn)	\
	X(ENG_DATA,	"dmarc_band",	NULL,	eng_sauth_band)		\
	X(ENG_DATA,	"verdict",	NULL,	eng_verdict)		\
	X(ENG_AUTHLOGIN, "rate_login",	"RATE",	eng_rate_authlogin)	\
	X(ENG_AUTHFAIL,	"rate_client",	"RATE",	eng_rate_authfail)	\
	X(ENG_AUTHFAIL,	"rate_net",	"RATE",	eng_rate_authfail_net)

#define ENG_STEP_DECL(stage, name, wait, fn)	eng_step_fn fn;
ENG_STEP_LIST(ENG_STEP_DECL)
#undef ENG_STEP_DECL

/* A step's refusal: code, enhanced code, the event=reject key and value. */
void	eng_refuse(struct eng_tx *, int, const char *, const char *,
	    const char *);

#endif
