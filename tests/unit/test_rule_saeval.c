/*
 * test_rule_saeval.c: SpamAssassin's eval: checks run natively
 * (rules/rule_saeval*.c).  Each check gets crafted messages that must and
 * must not hit, from the behaviour SpamAssassin 4.0.1's Perl documents
 * (HeaderEval.pm, RelayEval.pm, FreeMail.pm, MIMEEval.pm, HTMLEval.pm,
 * Bayes.pm check_bayes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "rule.h"

static struct rule_set *
load(const char *text)
{
	struct rule_builder *b = rule_builder_new();
	struct rule_error err;
	struct rule_set *rs;

	if (rule_builder_add_text(b, "t.cf", text, strlen(text), RULE_FMT_AUTO,
	    &err) != 0)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	if ((rs = rule_builder_finish(b, NULL, &err)) == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	return rs;
}

/* Whether rule name hits on raw (with env, which may be NULL). */
static int
hits_env(const char *rules, const char *raw, const struct rule_env *env,
    const char *name)
{
	struct rule_set *rs = load(rules);
	struct rule_scratch *sc = rule_scratch_new();
	struct msg *m = msg_parse(raw, strlen(raw), NULL);
	const struct rule_hit *h;
	size_t n, i;
	int hit = 0;

	h = rule_eval(rs, sc, env, m, &n);
	for (i = 0; i < n; i++)
		if (strcmp(h[i].name, name) == 0)
			hit = 1;
	msg_free(m);
	rule_scratch_free(sc);
	rule_set_unref(rs);
	return hit;
}

static int
hits(const char *rules, const char *raw, const char *name)
{
	return hits_env(rules, raw, NULL, name);
}

#define BAYES \
	"body BAYES_00 eval:check_bayes('0.00', '0.01')\n" \
	"body BAYES_05 eval:check_bayes('0.01', '0.05')\n" \
	"body BAYES_99 eval:check_bayes('0.99', '1.00')\n" \
	"body BAYES_999 eval:check_bayes('0.999', '1.00')\n"

static int
bayes_hits(int known, double p, const char *name)
{
	struct rule_env env;

	memset(&env, 0, sizeof(env));
	env.bayes_known = known;
	env.bayes_p = p;
	return hits_env(BAYES, "Subject: x\n\nbody\n", &env, name);
}

static void
test_bayes(void **state)
{
	(void)state;
	/* Bayes off or untrained: no BAYES_ rule, whatever p says */
	assert_false(bayes_hits(0, 0.0, "BAYES_00"));
	assert_false(bayes_hits(0, 1.0, "BAYES_99"));
	/* Bayes.pm: (min == 0 || p > min) && p <= max */
	assert_true(bayes_hits(1, 0.0, "BAYES_00"));
	assert_true(bayes_hits(1, 0.01, "BAYES_00"));
	assert_false(bayes_hits(1, 0.01, "BAYES_05"));
	assert_true(bayes_hits(1, 0.011, "BAYES_05"));
	assert_true(bayes_hits(1, 1.0, "BAYES_99"));
	assert_true(bayes_hits(1, 1.0, "BAYES_999"));
	assert_true(bayes_hits(1, 0.999, "BAYES_99"));
	assert_false(bayes_hits(1, 0.999, "BAYES_999"));
	assert_false(bayes_hits(1, 0.5, "BAYES_99"));
}

#define DATES \
	"header DATE_IN_FUTURE_06_12 eval:check_for_shifted_date('6', '12')\n" \
	"header DATE_IN_PAST_03_06 eval:check_for_shifted_date('-6', '-3')\n" \
	"header DATE_IN_PAST_96_XX eval:check_for_shifted_date('undef', '-96')\n"

static void
test_shifted_date(void **state)
{
	const char *future =
	    "Received: from a.example.com (a.example.com [192.0.2.1]) by "
	    "mx.example.net with SMTP id x; Mon, 2 Sep 2002 10:00:00 +0000\n"
	    "Date: Mon, 2 Sep 2002 18:30:00 +0000\nSubject: s\n\nb\n";
	const char *past =
	    "Received: from a.example.com (a.example.com [192.0.2.1]) by "
	    "mx.example.net with SMTP id x; Mon, 2 Sep 2002 10:00:00 +0000\n"
	    "Date: Mon, 2 Sep 2002 01:00:00 -0400\nSubject: s\n\nb\n";
	const char *old =
	    "Received: from a.example.com (a.example.com [192.0.2.1]) by "
	    "mx.example.net with SMTP id x; Mon, 9 Sep 2002 10:00:00 +0000\n"
	    "Date: 2 Sep 2002 10:00:00 GMT\nSubject: s\n\nb\n";

	(void)state;
	/* 8.5 hours ahead of the Received date: the message's own time
	   line, never the clock (these are from 2002) */
	assert_true(hits(DATES, future, "DATE_IN_FUTURE_06_12"));
	assert_false(hits(DATES, future, "DATE_IN_PAST_03_06"));
	/* 01:00 -0400 is 05:00 UTC, 5 hours before */
	assert_true(hits(DATES, past, "DATE_IN_PAST_03_06"));
	assert_false(hits(DATES, past, "DATE_IN_FUTURE_06_12"));
	/* a week back; the zone name GMT is known */
	assert_true(hits(DATES, old, "DATE_IN_PAST_96_XX"));
	/* no Received field: nothing to compare with */
	assert_false(hits(DATES, "Date: Mon, 2 Sep 2002 18:30:00 +0000\n"
	    "Subject: s\n\nb\n", "DATE_IN_FUTURE_06_12"));
	/* a Date that does not parse */
	assert_false(hits(DATES, "Received: from a (a [192.0.2.1]) by b "
	    "with SMTP; Mon, 2 Sep 2002 10:00:00 +0000\nDate: soon\n\nb\n",
	    "DATE_IN_PAST_96_XX"));
}

#define FROMDOM \
	"header HEADER_FROM_DIFFERENT_DOMAINS eval:check_equal_from_domains()\n"

static void
test_equal_from_domains(void **state)
{
	(void)state;
	assert_true(hits(FROMDOM, "Return-Path: <bounce@lists.other.org>\n"
	    "From: Ann <ann@mail.example.com>\nSubject: s\n\nb\n",
	    "HEADER_FROM_DIFFERENT_DOMAINS"));
	/* the last two labels only, case-insensitively */
	assert_false(hits(FROMDOM, "Return-Path: <bounce@lists.EXAMPLE.com>\n"
	    "From: Ann <ann@mail.example.com>\nSubject: s\n\nb\n",
	    "HEADER_FROM_DIFFERENT_DOMAINS"));
	/* no envelope sender known: no verdict */
	assert_false(hits(FROMDOM, "From: Ann <ann@mail.example.com>\n"
	    "Subject: s\n\nb\n", "HEADER_FROM_DIFFERENT_DOMAINS"));
	/* the last hop's envelope-from wins over Return-Path */
	assert_true(hits(FROMDOM, "Return-Path: <ann@example.com>\n"
	    "Received: from mx.other.org (mx.other.org [192.0.2.7]) by "
	    "mx.example.net (Postfix) with ESMTP id 1 (envelope-from "
	    "<x@other.org>); Mon, 2 Sep 2002 10:00:00 +0000\n"
	    "From: ann@example.com\nSubject: s\n\nb\n",
	    "HEADER_FROM_DIFFERENT_DOMAINS"));
	/*
	 * A Return-Path below a Received line (a list server's) makes every
	 * Return-Path untrusted, the topmost too: no envelope sender
	 * (SA: get("ALL") =~ /^Received:.*?^Return-Path:/smi).
	 */
	assert_false(hits(FROMDOM, "Return-Path: ler@lerami.example.org\n"
	    "Received: via dmail-2002(12) for +lists/sql; Mon, 9 Sep 2002 "
	    "08:44:17 -0500 (CDT)\nReturn-Path: <owner@lists.example.net>\n"
	    "From: Jay <jay@addr.example.com>\nSubject: s\n\nb\n",
	    "HEADER_FROM_DIFFERENT_DOMAINS"));
}

#define OUTLOOK "header MSGID_OUTLOOK_INVALID eval:check_outlook_message_id()\n"

static void
test_outlook_message_id(void **state)
{
	/*
	 * Outlook's ids carry a time token: int(t * 0.0023283064365387 +
	 * 27111902.8329849) in hex; for Mon, 2 Sep 2002 10:00:00 +0000
	 * (t = 1030960800) that is 29512295 = 0x01c25267 (hand-computed).
	 */
	const char *good = "Message-ID: <000001c25267$8d5e1c20$0100a8c0@pc>\n"
	    "Date: Mon, 2 Sep 2002 10:00:00 +0000\nSubject: s\n\nb\n";
	const char *bad = "Message-ID: <000001a25267$8d5e1c20$0100a8c0@pc>\n"
	    "Date: Mon, 2 Sep 2002 10:00:00 +0000\nSubject: s\n\nb\n";

	(void)state;
	assert_false(hits(OUTLOOK, good, "MSGID_OUTLOOK_INVALID"));
	assert_true(hits(OUTLOOK, bad, "MSGID_OUTLOOK_INVALID"));
	/* not Outlook's form at all */
	assert_false(hits(OUTLOOK, "Message-ID: <abc@example.com>\n"
	    "Date: Mon, 2 Sep 2002 10:00:00 +0000\n\nb\n",
	    "MSGID_OUTLOOK_INVALID"));
}

#define FREEMAIL \
	"freemail_domains gmail.com *.yahoo.co.??\n" \
	"freemail_welcomelist friend@gmail.com\n" \
	"header FREEMAIL_FROM eval:check_freemail_from()\n" \
	"header FREEMAIL_REPLYTO_END_DIGIT eval:check_freemail_header(" \
	"'Reply-To', '\\d@')\n" \
	"meta FREEMAIL_META FREEMAIL_FROM && !FREEMAIL_REPLYTO_END_DIGIT\n"

static void
test_freemail(void **state)
{
	(void)state;
	assert_true(hits(FREEMAIL, "From: Joe <Joe.Doe@GMail.com>\n\nb\n",
	    "FREEMAIL_FROM"));
	/* the wildcard list: * is one label, ? one character */
	assert_true(hits(FREEMAIL, "From: joe@mail.yahoo.co.uk\n\nb\n",
	    "FREEMAIL_FROM"));
	assert_false(hits(FREEMAIL, "From: joe@a.b.yahoo.co.uk\n\nb\n",
	    "FREEMAIL_FROM"));
	assert_false(hits(FREEMAIL, "From: joe@example.com\n\nb\n",
	    "FREEMAIL_FROM"));
	/* welcomelisted address, and role accounts FreeMail.pm skips */
	assert_false(hits(FREEMAIL, "From: friend@gmail.com\n\nb\n",
	    "FREEMAIL_FROM"));
	assert_false(hits(FREEMAIL, "From: support@gmail.com\n\nb\n",
	    "FREEMAIL_FROM"));
	/* a regex argument */
	assert_true(hits(FREEMAIL, "From: a@example.com\nReply-To: "
	    "joe77@gmail.com\n\nb\n", "FREEMAIL_REPLYTO_END_DIGIT"));
	assert_false(hits(FREEMAIL, "From: a@example.com\nReply-To: "
	    "joe@gmail.com\n\nb\n", "FREEMAIL_REPLYTO_END_DIGIT"));
	/* metas over evals run */
	assert_true(hits(FREEMAIL, "From: joe@gmail.com\n\nb\n",
	    "FREEMAIL_META"));
	assert_false(hits(FREEMAIL, "From: joe@gmail.com\nReply-To: "
	    "j1@gmail.com\n\nb\n", "FREEMAIL_META"));
	/* without freemail_domains the checks are off, as in SA */
	assert_false(hits("header FREEMAIL_FROM eval:check_freemail_from()\n",
	    "From: joe@gmail.com\n\nb\n", "FREEMAIL_FROM"));
}

#define REPLYTO \
	"freemail_domains gmail.com yahoo.com\n" \
	"header __freemail_replyto eval:check_freemail_replyto('replyto')\n" \
	"header __freemail_reply eval:check_freemail_replyto('reply')\n" \
	"meta FREEMAIL_REPLYTO __freemail_replyto\n" \
	"meta FREEMAIL_REPLY __freemail_reply\n"

static void
test_freemail_replyto(void **state)
{
	(void)state;
	/* both freemail, the From not among the Reply-To */
	assert_true(hits(REPLYTO, "From: a@gmail.com\nReply-To: b@yahoo.com\n"
	    "\nb\n", "FREEMAIL_REPLYTO"));
	assert_false(hits(REPLYTO, "From: a@gmail.com\nReply-To: a@gmail.com"
	    "\n\nb\n", "FREEMAIL_REPLYTO"));
	/* a freemail address in the body other than the one to reply to */
	assert_true(hits(REPLYTO, "From: a@gmail.com\n\nwrite to "
	    "other@yahoo.com now\n", "FREEMAIL_REPLY"));
	assert_false(hits(REPLYTO, "From: a@gmail.com\n\nwrite to "
	    "a@gmail.com now\n", "FREEMAIL_REPLY"));
	/* bulk senders are skipped */
	assert_false(hits(REPLYTO, "Return-Path: <list-bounces@example.org>\n"
	    "From: a@gmail.com\nReply-To: b@yahoo.com\n\nb\n",
	    "FREEMAIL_REPLYTO"));
	/* too many addresses in the body: FreeMail.pm gives up */
	assert_false(hits(REPLYTO, "From: a@gmail.com\n\nx1@yahoo.com "
	    "x2@yahoo.com x3@yahoo.com x4@yahoo.com x5@yahoo.com\n",
	    "FREEMAIL_REPLY"));
}

#define HDRS \
	"header SUBJ_ALL_CAPS eval:subject_is_all_caps()\n" \
	"header MISSING_HEADERS eval:check_for_missing_to_header()\n" \
	"header SUSPICIOUS_RECIPS eval:similar_recipients('0.65','undef')\n" \
	"header FROM_ILLEGAL_CHARS eval:check_illegal_chars('From','0.20','2')\n" \
	"header __ENV_AND_HDR_FROM_MATCH " \
	"eval:check_for_matching_env_and_hdr_from()\n" \
	"meta ENV_MATCH __ENV_AND_HDR_FROM_MATCH\n"

static void
test_header_checks(void **state)
{
	(void)state;
	assert_true(hits(HDRS, "To: a@b.example\nSubject: FREE MONEY NOW!!\n"
	    "\nb\n", "SUBJ_ALL_CAPS"));
	assert_true(hits(HDRS, "To: a@b.example\nSubject: Re: FREE MONEY "
	    "NOW\n\nb\n", "SUBJ_ALL_CAPS"));
	assert_false(hits(HDRS, "To: a@b.example\nSubject: Free MONEY now\n"
	    "\nb\n", "SUBJ_ALL_CAPS"));
	/* one word, or shorter than 10 characters */
	assert_false(hits(HDRS, "Subject: FREEMONEYNOWPLEASE\n\nb\n",
	    "SUBJ_ALL_CAPS"));
	assert_false(hits(HDRS, "Subject: FREE CASH\n\nb\n", "SUBJ_ALL_CAPS"));
	/* a charset likely to give false capitals */
	assert_false(hits(HDRS, "Subject: =?koi8-r?Q?FREE_MONEY_NOW?=\n\nb\n",
	    "SUBJ_ALL_CAPS"));
	assert_true(hits(HDRS, "Subject: s\n\nb\n", "MISSING_HEADERS"));
	assert_false(hits(HDRS, "Apparently-To: a@b.example\nSubject: s\n\nb\n",
	    "MISSING_HEADERS"));
	/* five recipients, same first letters, same hosts */
	assert_true(hits(HDRS, "To: aa1@x.example, aa2@x.example, "
	    "aa3@x.example, aa4@x.example, aa5@x.example\n\nb\n",
	    "SUSPICIOUS_RECIPS"));
	assert_false(hits(HDRS, "To: ann@x.example, bob@y.example, "
	    "cy@z.example, dee@w.example, ed@v.example\n\nb\n",
	    "SUSPICIOUS_RECIPS"));
	/* four of five aren't enough: fewer than five, no verdict */
	assert_false(hits(HDRS, "To: aa1@x.example, aa2@x.example, "
	    "aa3@x.example, aa4@x.example\n\nb\n", "SUSPICIOUS_RECIPS"));
	assert_true(hits(HDRS, "From: \x01\x02\x03@x\n\nb\n",
	    "FROM_ILLEGAL_CHARS"));
	assert_true(hits(HDRS, "Return-Path: <A@X.example>\nFrom: a@x.example"
	    "\n\nb\n", "ENV_MATCH"));
	assert_false(hits(HDRS, "Return-Path: <b@x.example>\nFrom: a@x.example"
	    "\n\nb\n", "ENV_MATCH"));
	/* valid UTF-8 is not illegal */
	assert_false(hits(HDRS, "From: J\xc3\xa9r\xc3\xb4me <j@x>\n\nb\n",
	    "FROM_ILLEGAL_CHARS"));
}

#define RELAYS \
	"header ALL_TRUSTED eval:check_all_trusted()\n" \
	"header NO_RELAYS eval:check_no_relays()\n" \
	"header FORGED_YAHOO_RCVD eval:check_for_forged_yahoo_received_headers()\n" \
	"header RCVD_HELO_IP_MISMATCH eval:helo_ip_mismatch()\n"

static void
test_relays(void **state)
{
	const char *ext = "Received: from a.example.com (a.example.com "
	    "[192.0.2.1]) by mx.example.net (Postfix) with ESMTP id 1; "
	    "Mon, 2 Sep 2002 10:00:00 +0000\n";
	const char *priv = "Received: from pc (pc [10.1.2.3]) by "
	    "mx.example.net (Postfix) with ESMTP id 1; Mon, 2 Sep 2002 "
	    "10:00:00 +0000\n";
	char buf[1024];

	(void)state;
	assert_true(hits(RELAYS, "Subject: s\n\nb\n", "NO_RELAYS"));
	assert_false(hits(RELAYS, "Subject: s\n\nb\n", "ALL_TRUSTED"));
	snprintf(buf, sizeof(buf), "%sSubject: s\n\nb\n", priv);
	assert_true(hits(RELAYS, buf, "ALL_TRUSTED"));
	assert_false(hits(RELAYS, buf, "NO_RELAYS"));
	snprintf(buf, sizeof(buf), "%s%sSubject: s\n\nb\n", priv, ext);
	assert_false(hits(RELAYS, buf, "ALL_TRUSTED"));
	/*
	 * Mail fetched from a mailbox (Received.pm found_pop_fetcher_sig):
	 * the trusted relays before the fetcher's line are forgotten, and
	 * a "(from user@localhost)" submission is no relay, so nothing is
	 * left (the corpus's fetchmail'd ham, as SpamAssassin scores it).
	 */
	snprintf(buf, sizeof(buf), "Received: from localhost (localhost "
	    "[127.0.0.1]) by phobos.example.com (Postfix) with ESMTP id 1 "
	    "for <jm@localhost>; Wed, 21 Aug 2002 12:23:10 -0400 (EDT)\n"
	    "Received: from phobos [127.0.0.1] by localhost with IMAP "
	    "(fetchmail-5.9.0) for jm@localhost (single-drop); Wed, 21 Aug "
	    "2002 17:23:10 +0100 (IST)\n"
	    "Received: (from mail@localhost) by dogma.example.org "
	    "(8.11.6/8.11.6) id g7LGMmA01223; Wed, 21 Aug 2002 17:22:48 "
	    "+0100\nSubject: s\n\nb\n");
	assert_true(hits(RELAYS, buf, "NO_RELAYS"));
	assert_false(hits(RELAYS, buf, "ALL_TRUSTED"));
	/* relays after the fetcher's line stay */
	snprintf(buf, sizeof(buf), "Received: from phobos [127.0.0.1] by "
	    "localhost with IMAP (fetchmail-5.9.0) for jm@localhost "
	    "(single-drop); Wed, 21 Aug 2002 17:23:10 +0100 (IST)\n%s"
	    "Subject: s\n\nb\n", priv);
	assert_true(hits(RELAYS, buf, "ALL_TRUSTED"));
	assert_false(hits(RELAYS, buf, "NO_RELAYS"));
	/* once a relay is untrusted, a fetcher's line changes nothing */
	snprintf(buf, sizeof(buf), "%sReceived: from phobos [127.0.0.1] by "
	    "localhost with POP3 (fetchmail-5.9.0); Wed, 21 Aug 2002 "
	    "17:23:10 +0100 (IST)\n%sSubject: s\n\nb\n", ext, priv);
	assert_false(hits(RELAYS, buf, "NO_RELAYS"));
	assert_false(hits(RELAYS, buf, "ALL_TRUSTED"));
	/* HELO an address of another /24 than the connecting one */
	assert_true(hits(RELAYS, "Received: from 198.51.100.7 ([192.0.2.1]) "
	    "by mx.example.net (Postfix) with ESMTP id 1; Mon, 2 Sep 2002 "
	    "10:00:00 +0000\n\nb\n", "RCVD_HELO_IP_MISMATCH"));
	assert_false(hits(RELAYS, "Received: from 192.0.2.7 ([192.0.2.1]) "
	    "by mx.example.net (Postfix) with ESMTP id 1; Mon, 2 Sep 2002 "
	    "10:00:00 +0000\n\nb\n", "RCVD_HELO_IP_MISMATCH"));
	/* Yahoo sender, relayed by someone else */
	snprintf(buf, sizeof(buf), "%sFrom: joe@yahoo.com\n\nb\n", ext);
	assert_true(hits(RELAYS, buf, "FORGED_YAHOO_RCVD"));
	assert_false(hits(RELAYS, "Received: from [192.0.2.9] by "
	    "web1.mail.yahoo.com via HTTP; Mon, 2 Sep 2002 10:00:00 PDT\n"
	    "From: joe@yahoo.com\n\nb\n", "FORGED_YAHOO_RCVD"));
}

#define RDNS \
	"header NO_RDNS_DOTCOM_HELO eval:check_for_no_rdns_dotcom_helo()\n" \
	"header __UNPARSEABLE_RELAY_COUNT eval:check_relays_unparseable()\n" \
	"meta UNPARSEABLE_RELAY (__UNPARSEABLE_RELAY_COUNT >= 1)\n" \
	"header RCVD_HELO_IP_MISMATCH eval:helo_ip_mismatch()\n" \
	"header ALL_TRUSTED eval:check_all_trusted()\n"

/* A sendmail line: sendmail looks the rDNS up, so none shown means none. */
#define SENDMAIL_NORDNS(helo) "Received: from " helo " ([192.0.2.5]) by " \
	"mx.example.net (8.9.3/8.9.3) with ESMTP id QAA1; Fri, 19 Jul 2002 " \
	"16:04:44 +0100\n"

static void
test_relays_rdns(void **state)
{
	char buf[1024];

	(void)state;
	/* a big dotcom's HELO, no reverse DNS */
	assert_true(hits(RDNS, SENDMAIL_NORDNS("mx3.hotmail.com") "\nb\n",
	    "NO_RDNS_DOTCOM_HELO"));
	assert_true(hits(RDNS, SENDMAIL_NORDNS("AOL.COM") "\nb\n",
	    "NO_RDNS_DOTCOM_HELO"));
	/* another HELO, or a reverse DNS found */
	assert_false(hits(RDNS, SENDMAIL_NORDNS("mail.example.com") "\nb\n",
	    "NO_RDNS_DOTCOM_HELO"));
	assert_false(hits(RDNS, SENDMAIL_NORDNS("nothotmail.com") "\nb\n",
	    "NO_RDNS_DOTCOM_HELO"));
	assert_false(hits(RDNS, "Received: from mx3.hotmail.com (host.example."
	    "org [192.0.2.5]) by mx.example.net (8.9.3/8.9.3) with ESMTP id "
	    "QAA1; Fri, 19 Jul 2002 16:04:44 +0100\n\nb\n",
	    "NO_RDNS_DOTCOM_HELO"));
	/* Lotus Domino never looks the rDNS up: no rDNS is no sign */
	assert_false(hits(RDNS, "Received: from mx1.mail.yahoo.com "
	    "([192.0.2.5]) by lotus.example.net (Lotus Domino Release 5.0.4) "
	    "with ESMTP id 2001; Tue, 2 Jan 2001 15:58:46 +0530\n\nb\n",
	    "NO_RDNS_DOTCOM_HELO"));
	/* a qmail "unknown" is no lookup either */
	assert_false(hits(RDNS, "Received: from unknown (HELO yahoo.com) "
	    "(192.0.2.5) by mx.example.net with SMTP; 2 Sep 2002 10:00:00 "
	    "-0000\n\nb\n", "NO_RDNS_DOTCOM_HELO"));
	/* HELO with the address glued on, as SA reads it: "host!!ip!!" */
	assert_false(hits(RDNS, "Received: from mx1.mail.yahoo.com"
	    "([192.0.2.5]) by (AIMC 2.9.5.1) with SMTP id jm6; Mon, 22 Jul "
	    "2002 04:58:27 +0800\n\nb\n", "NO_RDNS_DOTCOM_HELO"));
	assert_false(hits(RDNS, "Received: from 198.51.100.7([192.0.2.1]) by "
	    "mx.example.net (JetMail 2.5.3.0) with SMTP id jm7; Mon, 22 Jul "
	    "2002 04:58:27 +0800\n\nb\n", "RCVD_HELO_IP_MISMATCH"));
	/*
	 * SA sets the flag to 0 again for each public untrusted relay, so
	 * only the last (oldest) one counts: a later clean hop clears it.
	 */
	snprintf(buf, sizeof(buf), "%s%s\nb\n",
	    SENDMAIL_NORDNS("mx3.hotmail.com"),
	    SENDMAIL_NORDNS("mail.example.com"));
	assert_false(hits(RDNS, buf, "NO_RDNS_DOTCOM_HELO"));
	snprintf(buf, sizeof(buf), "%s%s\nb\n",
	    SENDMAIL_NORDNS("mail.example.com"),
	    SENDMAIL_NORDNS("mx3.hotmail.com"));
	assert_true(hits(RDNS, buf, "NO_RDNS_DOTCOM_HELO"));
	/* ... and so does an X-Originating-IP relay, which has no HELO */
	snprintf(buf, sizeof(buf), "%sX-Originating-IP: [198.51.100.9]\n"
	    "\nb\n", SENDMAIL_NORDNS("mx3.hotmail.com"));
	assert_false(hits(RDNS, buf, "NO_RDNS_DOTCOM_HELO"));

	/* a Received field no format of Received.pm reads */
	assert_true(hits(RDNS, "Received: from 192.0.2.38 - 192.0.2.38 by "
	    "web.example.net with Microsoft SMTPSVC(5.5.1774.114.11); Thu, 2 "
	    "Aug 2001 07:53:02 +1000\n\nb\n", "UNPARSEABLE_RELAY"));
	assert_true(hits(RDNS, "Received: from SMTP agent by mail gateway "
	    "Fri, 02 Aug 2002 09:50:49 -0000\n\nb\n", "UNPARSEABLE_RELAY"));
	assert_false(hits(RDNS, SENDMAIL_NORDNS("a.example.com") "\nb\n",
	    "UNPARSEABLE_RELAY"));
	/* forms SA reads that moat once counted unparseable */
	assert_false(hits(RDNS, "Received: from localhost (localhost "
	    "[[UNIX: localhost]]) by pen.example.net (8.11.6/8.11.6) id "
	    "g6P5DQa24634; Wed, 24 Jul 2002 21:13:26 -0800\n\nb\n",
	    "UNPARSEABLE_RELAY"));
	assert_false(hits(RDNS, "Received: from 192.0.2.132 (proxying for "
	    "10.1.4.43, unknown) (SquirrelMail authenticated user al) by "
	    "mx.example.net with HTTP; Wed, 21 Aug 2002 14:52:11 +0800\n\nb\n",
	    "UNPARSEABLE_RELAY"));
	assert_false(hits(RDNS, "Received: from IP1.example.com(192.0.2.98), "
	    "claiming to be \"exchange.example.com\" via SMTP by "
	    "mail.example.net, id smtpdV82674; Sun Jul 29 11:34:20 2001\n"
	    "\nb\n", "UNPARSEABLE_RELAY"));
	/* a CommuniGate account login is authenticated: trusted */
	assert_true(hits(RDNS, "Received: from [192.0.2.1] (account "
	    "joe@example.com HELO pc) by mail.example.com (CommuniGate Pro "
	    "SMTP 4.1.8) with ESMTP-TLS id 53327; Mon, 2 Sep 2002 10:00:00 "
	    "+0000\n\nb\n", "ALL_TRUSTED"));
	/* an IPv4-mapped IPv6 address is the IPv4 one: private here */
	assert_true(hits(RDNS, "Received: from pc.example.com (pc.example.com "
	    "[::ffff:192.168.1.31]) by mx.example.net (8.12.5/8.12.5) with "
	    "ESMTP id g1; Tue, 8 Oct 2002 11:42:40 +0100\n\nb\n",
	    "ALL_TRUSTED"));
}

#define MIME \
	"body MIME_HTML_ONLY eval:check_for_mime_html_only()\n" \
	"rawbody MIME_QP_LONG_LINE eval:check_for_mime('mime_qp_long_line')\n" \
	"rawbody MIME_BASE64_TEXT eval:check_for_mime('mime_base64_encoded_text')\n" \
	"body PP_MIME_FAKE_ASCII_TEXT eval:check_for_ascii_text_illegal()\n" \
	"body T_TVD_MIME_EPI eval:check_msg_parse_flags('mime_epilogue_exists')\n" \
	"body __KAM_BODY_LENGTH_LT_128 eval:check_body_length('128')\n" \
	"meta SHORT_BODY __KAM_BODY_LENGTH_LT_128\n"

static void
test_mime(void **state)
{
	char line[200], buf[1024];

	(void)state;
	assert_true(hits(MIME, "Content-Type: text/html\n\n<p>hi</p>\n",
	    "MIME_HTML_ONLY"));
	assert_true(hits(MIME, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/html\n\n<p>hi</p>\n--b--\n",
	    "MIME_HTML_ONLY"));
	assert_false(hits(MIME, "Content-Type: multipart/alternative; "
	    "boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n"
	    "Content-Type: text/html\n\n<p>hi</p>\n--b--\n",
	    "MIME_HTML_ONLY"));
	memset(line, 'x', 90);
	line[90] = '\0';
	snprintf(buf, sizeof(buf), "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n%s\n", line);
	assert_true(hits(MIME, buf, "MIME_QP_LONG_LINE"));
	line[70] = '\0';
	snprintf(buf, sizeof(buf), "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n%s\n", line);
	assert_false(hits(MIME, buf, "MIME_QP_LONG_LINE"));
	assert_true(hits(MIME, "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: base64\n\naGVsbG8K\n",
	    "MIME_BASE64_TEXT"));
	assert_false(hits(MIME, "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: base64\n\naGVsbG8K\n",
	    "MIME_BASE64_TEXT"));
	/* 8-bit bytes in a part that claims US-ASCII */
	assert_true(hits(MIME, "Content-Type: text/plain\n\ncaf\xe9\n",
	    "PP_MIME_FAKE_ASCII_TEXT"));
	assert_false(hits(MIME, "Content-Type: text/plain; charset=latin1\n\n"
	    "caf\xe9\n", "PP_MIME_FAKE_ASCII_TEXT"));
	/* the pristine body, after the blank line: 5 bytes; 200 */
	assert_true(hits(MIME, "Subject: s\n\nhello", "SHORT_BODY"));
	memset(line, 'x', 199);
	line[199] = '\0';
	snprintf(buf, sizeof(buf), "Subject: s\n\n%s\n", line);
	assert_false(hits(MIME, buf, "SHORT_BODY"));
	/* text after the closing boundary; blanks and dots do not count */
	assert_true(hits(MIME, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nhi\n--b--\nepilogue\n", "T_TVD_MIME_EPI"));
	assert_false(hits(MIME, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nhi\n--b--\n .\n\n", "T_TVD_MIME_EPI"));
}

#define MPART \
	"body MPART_ALT_DIFF eval:multipart_alternative_difference('99', " \
	"'100')\n" \
	"body MPART_ALT_DIFF_COUNT " \
	"eval:multipart_alternative_difference_count('3', '1')\n"

/* A multipart/alternative message of a text and an HTML rendering. */
static int
alt_hits(const char *text, const char *html, const char *name)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "Content-Type: multipart/alternative; "
	    "boundary=b\n\n--b\nContent-Type: text/plain\n\n%s\n--b\n"
	    "Content-Type: text/html\n\n%s\n--b--\n", text, html);
	return hits(MPART, buf, name);
}

static void
test_mpart_alt_diff(void **state)
{
	(void)state;
	/* the same words: 0% difference */
	assert_false(alt_hits("Buy cheap pills now", "<p>Buy <b>cheap</b> "
	    "pills now</p>", "MPART_ALT_DIFF"));
	/* every HTML word missing from the text: 100% */
	assert_true(alt_hits("Hello friend", "<p>Buy cheap pills now</p>",
	    "MPART_ALT_DIFF"));
	/* one HTML word of five in the text: 80%, under 99 */
	assert_false(alt_hits("Hello friend pills", "<p>Buy cheap pills now "
	    "today</p>", "MPART_ALT_DIFF"));
	/* a word twice in the HTML but once in the text still differs */
	assert_true(alt_hits("pills", "<p>pills pills</p>", "MPART_ALT_DIFF"));
	/* tokens without a word character (bullets, rules) do not count */
	assert_false(alt_hits("Hello friend", "<p>Hello friend ---- ****</p>",
	    "MPART_ALT_DIFF"));
	/* no HTML words but an image: the image is the difference */
	assert_true(alt_hits("Hello friend", "<img src=\"cid:x\">",
	    "MPART_ALT_DIFF"));
	assert_false(alt_hits("Hello friend", "<p></p>", "MPART_ALT_DIFF"));
	/* the same parts under multipart/mixed are not alternatives */
	assert_false(hits(MPART, "Content-Type: multipart/mixed; boundary=b\n"
	    "\n--b\nContent-Type: text/plain\n\nHello friend\n--b\n"
	    "Content-Type: text/html\n\n<p>Buy cheap pills now</p>\n--b--\n",
	    "MPART_ALT_DIFF"));
	/* nested: the alternative inside a mixed message counts */
	assert_true(hits(MPART, "Content-Type: multipart/mixed; boundary=a\n\n"
	    "--a\nContent-Type: multipart/alternative; boundary=b\n\n--b\n"
	    "Content-Type: text/plain\n\nHello friend\n--b\nContent-Type: "
	    "text/html\n\n<p>Buy cheap pills now</p>\n--b--\n--a\n"
	    "Content-Type: text/plain\n\nBuy cheap pills now\n--a--\n",
	    "MPART_ALT_DIFF"));
	/* an Exchange meeting request (html and calendar) is left alone */
	assert_false(hits(MPART, "Content-Type: multipart/alternative; "
	    "boundary=b\n\n--b\nContent-Type: text/html\n\n<p>Buy cheap "
	    "pills</p>\n--b\nContent-Type: text/calendar\n\nBEGIN:VCALENDAR"
	    "\n--b--\n", "MPART_ALT_DIFF"));
	/* _COUNT: more than 1 HTML word and over 3 text words per HTML one */
	assert_true(alt_hits("one two three four five six seven", "<p>one "
	    "two</p>", "MPART_ALT_DIFF_COUNT"));
	assert_false(alt_hits("one two three four five six", "<p>one two</p>",
	    "MPART_ALT_DIFF_COUNT"));
	assert_false(alt_hits("one two three four", "<p>one</p>",
	    "MPART_ALT_DIFF_COUNT"));
}

#define SMALL \
	"body T_TVD_MIME_NO_HEADERS " \
	"eval:check_msg_parse_flags('missing_mime_headers')\n" \
	"body BASE64_LENGTH_78_79 eval:check_base64_length('78','79')\n" \
	"body BASE64_LENGTH_79_INF eval:check_base64_length('79')\n" \
	"header LOCALPART_IN_SUBJECT eval:check_for_to_in_subject('user')\n"

/* Two lines of len bytes in a part with that transfer encoding (NULL:
   base64 in an application/ics part). */
static int
b64_hits(const char *cte, size_t len, const char *name)
{
	char line[100], buf[1024];

	memset(line, 'Q', len);
	line[len] = '\0';
	snprintf(buf, sizeof(buf), "Content-Type: %s\n"
	    "Content-Transfer-Encoding: %s\n\n%s\n%s\n", cte != NULL ?
	    "text/plain" : "application/ics", cte != NULL ? cte : "base64",
	    line, line);
	return hits(SMALL, buf, name);
}

static void
test_small_evals(void **state)
{
	(void)state;
	/* a part with no header after its boundary (Message.pm) */
	assert_true(hits(SMALL, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\nno headers here\n--b--\n", "T_TVD_MIME_NO_HEADERS"));
	assert_true(hits(SMALL, "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\na\n--b\nnot a header\n"
	    "--b--\n", "T_TVD_MIME_NO_HEADERS"));
	assert_false(hits(SMALL, "Content-Type: multipart/mixed; boundary=b\n"
	    "\n--b\nContent-Type: text/plain\n\na\n--b\nContent-Type: "
	    "text/html\n\n<p>b</p>\n--b--\n", "T_TVD_MIME_NO_HEADERS"));
	/* base64 lines of 77 (76 and the newline), 78 and 80 bytes */
	assert_false(b64_hits("base64", 76, "BASE64_LENGTH_78_79"));
	assert_false(b64_hits("base64", 76, "BASE64_LENGTH_79_INF"));
	assert_true(b64_hits("base64", 77, "BASE64_LENGTH_78_79"));
	assert_false(b64_hits("base64", 77, "BASE64_LENGTH_79_INF"));
	assert_false(b64_hits("base64", 79, "BASE64_LENGTH_78_79"));
	assert_true(b64_hits("base64", 79, "BASE64_LENGTH_79_INF"));
	/* not base64, or a calendar invite: not counted */
	assert_false(b64_hits("7bit", 79, "BASE64_LENGTH_79_INF"));
	assert_false(b64_hits(NULL, 79, "BASE64_LENGTH_79_INF"));
	/* the recipient's local part as subject or greeting */
	assert_true(hits(SMALL, "To: jsmith@example.com\nSubject: jsmith\n\nb\n",
	    "LOCALPART_IN_SUBJECT"));
	assert_true(hits(SMALL, "To: jsmith@example.com\nSubject: jsmith, "
	    "your order\n\nb\n", "LOCALPART_IN_SUBJECT"));
	assert_true(hits(SMALL, "To: jsmith@example.com\nSubject: Re: hello "
	    "JSMITH\n\nb\n", "LOCALPART_IN_SUBJECT"));
	/* the greeting form is case-sensitive */
	assert_false(hits(SMALL, "To: jsmith@example.com\nSubject: JSmith, "
	    "your order\n\nb\n", "LOCALPART_IN_SUBJECT"));
	assert_false(hits(SMALL, "To: jsmith@example.com\nSubject: news for "
	    "jsmith today\n\nb\n", "LOCALPART_IN_SUBJECT"));
	assert_false(hits(SMALL, "Subject: jsmith\n\nb\n",
	    "LOCALPART_IN_SUBJECT"));
}

#define HDREV \
	"header UNRESOLVED_TEMPLATE eval:check_unresolved_template()\n" \
	"header HEADER_COUNT_CTYPE " \
	"eval:check_header_count_range('Content-Type','2','999')\n" \
	"header ONE_SUBJECT " \
	"eval:check_header_count_range('Subject','1','1')\n" \
	"body __HAVE_BOUNCE_RELAYS eval:have_any_bounce_relays()\n"

static void
test_header_evals(void **state)
{
	(void)state;
	/* a mail merge's placeholder left in a field */
	assert_true(hits(HDREV, "X-Mailer: %MAILER_NAME\nSubject: s\n\nb\n",
	    "UNRESOLVED_TEMPLATE"));
	assert_true(hits(HDREV, "Reply-To: %FROM-ADDR\n\nb\n",
	    "UNRESOLVED_TEMPLATE"));
	/* exempt fields, any case; a lower-case or one-letter one */
	assert_false(hits(HDREV, "Subject: %AB off\nmessage-id: <%XY@a>\n"
	    "X-Original-Message-ID: <%XY@b>\nTo: %TO_ADDR\n\nb\n",
	    "UNRESOLVED_TEMPLATE"));
	assert_false(hits(HDREV, "X-Mailer: %mailer %A. %20\n\nb\n",
	    "UNRESOLVED_TEMPLATE"));
	assert_false(hits(HDREV, "X-Mailer: %A%\n\nb\n",
	    "UNRESOLVED_TEMPLATE"));
	/* distinct values of a field */
	assert_true(hits(HDREV, "Content-Type: text/plain\ncontent-type: "
	    "text/html\n\nb\n", "HEADER_COUNT_CTYPE"));
	assert_false(hits(HDREV, "Content-Type: text/plain\nContent-Type: "
	    "text/plain\n\nb\n", "HEADER_COUNT_CTYPE"));
	assert_false(hits(HDREV, "Content-Type: text/plain\n\nb\n",
	    "HEADER_COUNT_CTYPE"));
	assert_true(hits(HDREV, "Subject: a\nSubject: a\n\nb\n",
	    "ONE_SUBJECT"));
	assert_false(hits(HDREV, "Subject: a\nSubject: b\n\nb\n",
	    "ONE_SUBJECT"));
	assert_false(hits(HDREV, "From: a@b.example\n\nb\n", "ONE_SUBJECT"));
	/* no welcomelist_bounce_relays: SA says no; with one: yes */
	assert_false(hits(HDREV, "Subject: s\n\nb\n", "__HAVE_BOUNCE_RELAYS"));
	assert_true(hits(HDREV "welcomelist_bounce_relays mx.example.com\n",
	    "Subject: s\n\nb\n", "__HAVE_BOUNCE_RELAYS"));
	assert_true(hits(HDREV "whitelist_bounce_relays mx.example.com\n",
	    "Subject: s\n\nb\n", "__HAVE_BOUNCE_RELAYS"));
}

#define FARAWAY \
	"header CHARSET_FARAWAY_HEADER " \
	"eval:check_for_faraway_charset_in_headers()\n" \
	"body CHARSET_FARAWAY eval:check_for_faraway_charset()\n"

/* Cyrillic in koi8-r: mostly 8-bit */
#define KOI8 "\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2 \xc4\xd2\xd5\xda\xd8\xd1\n"

static void
test_faraway(void **state)
{
	(void)state;
	/* SA's default ok_locales "all": never */
	assert_false(hits(FARAWAY, "Subject: =?koi8-r?B?8NLJ18XU?=\n\nb\n",
	    "CHARSET_FARAWAY_HEADER"));
	assert_false(hits(FARAWAY "ok_locales all\n", "Subject: "
	    "=?koi8-r?B?8NLJ18XU?=\n\nb\n", "CHARSET_FARAWAY_HEADER"));
	assert_false(hits(FARAWAY, "Content-Type: text/plain; charset=koi8-r"
	    "\n\n" KOI8, "CHARSET_FARAWAY"));
	/* other locales: a charset they do not take */
	assert_true(hits(FARAWAY "ok_locales en\n", "Subject: "
	    "=?koi8-r?B?8NLJ18XU?=\n\nb\n", "CHARSET_FARAWAY_HEADER"));
	assert_true(hits(FARAWAY "ok_locales en\n", "From: =?utf-8?q?a?= "
	    "=?Big5?B?pKQ=?= <a@b.example>\n\nb\n", "CHARSET_FARAWAY_HEADER"));
	assert_false(hits(FARAWAY "ok_locales en ru_RU\n", "Subject: "
	    "=?koi8-r?B?8NLJ18XU?=\n\nb\n", "CHARSET_FARAWAY_HEADER"));
	assert_false(hits(FARAWAY "ok_locales en\n", "Subject: "
	    "=?ISO-8859-1?Q?caf=E9?= =?windows-1251?B?8NLJ?=\n\nb\n",
	    "CHARSET_FARAWAY_HEADER"));
	/* only From and Subject are looked at */
	assert_false(hits(FARAWAY "ok_locales en\n", "X-Foo: "
	    "=?koi8-r?B?8NLJ18XU?=\n\nb\n", "CHARSET_FARAWAY_HEADER"));
	assert_true(hits(FARAWAY "ok_locales en\n", "Content-Type: text/plain;"
	    " charset=\"koi8-r\"\n\n" KOI8, "CHARSET_FARAWAY"));
	assert_false(hits(FARAWAY "ok_locales ru\n", "Content-Type: "
	    "text/plain; charset=koi8-r\n\n" KOI8, "CHARSET_FARAWAY"));
	/* the charset's 7-bit text is not enough */
	assert_false(hits(FARAWAY "ok_locales en\n", "Content-Type: "
	    "text/plain; charset=koi8-r\n\nplain ascii text here \xf0\xd2\n",
	    "CHARSET_FARAWAY"));
	assert_false(hits(FARAWAY "ok_locales en\n", "Content-Type: "
	    "text/plain; charset=iso-8859-5\n\n" KOI8, "CHARSET_FARAWAY"));
}

#define FORGED \
	"header __FORGED_HOTMAIL_RCVD " \
	"eval:check_for_forged_hotmail_received_headers()\n" \
	"header FORGED_HOTMAIL_RCVD2 " \
	"eval:check_for_no_hotmail_received_headers()\n" \
	"header FORGED_GMAIL_RCVD " \
	"eval:check_for_forged_gmail_received_headers()\n" \
	"header __FORGED_EUDORAMAIL_RCVD " \
	"eval:check_for_forged_eudoramail_received_headers()\n" \
	"header __FORGED_JUNO_RCVD " \
	"eval:check_for_forged_juno_received_headers()\n" \
	"header __FORGED_AOL_RCVD eval:check_for_fake_aol_relay_in_rcvd()\n"

#define RCVD_FAKE "Received: from hotmail.com ([192.0.2.9]) by mx.example.net" \
	"; Mon, 1 Jan 2024 00:00:00 +0000\n"
/* Google's two submission fields, each 60 characters or more */
#define GMS "X-Gm-Message-State: AOJu0YwZ3kqz1x2W9c8f7e6d5c4b3a2Z1y0x9w8v7" \
	"u6t5s4r3q2p1o0n9m8l7k\n"
#define GSS "X-Google-Smtp-Source: AGHT+IGabcdefghijklmnopqrstuvwxyz012345" \
	"6789ABCDEFGHIJKLMNOPQR\n"

static void
test_forged_rcvd(void **state)
{
	(void)state;
	/* a hotmail.com HELO Hotmail did not write: forged, whatever From */
	assert_true(hits(FORGED, RCVD_FAKE "From: a@b.example\n\nb\n",
	    "__FORGED_HOTMAIL_RCVD"));
	assert_false(hits(FORGED, RCVD_FAKE "From: a@b.example\n\nb\n",
	    "FORGED_HOTMAIL_RCVD2"));
	/* a hotmail.com From and no Hotmail Received: the other flag */
	assert_false(hits(FORGED, "Received: from x.example.org ([192.0.2.9]) "
	    "by mx.example.net; Mon, 1 Jan 2024 00:00:00 +0000\nFrom: "
	    "a@hotmail.com\n\nb\n", "__FORGED_HOTMAIL_RCVD"));
	/* Hotmail's own form, with X-Originating-IP */
	assert_false(hits(FORGED, "Received: from hotmail.com (f135.law8."
	    "hotmail.com [216.33.241.135]) by mx.example.net; Mon, 1 Jan 2024 "
	    "00:00:00 +0000\nX-Originating-IP: [192.0.2.1]\nFrom: "
	    "a@hotmail.com\n\nb\n", "__FORGED_HOTMAIL_RCVD"));
	/* gmail.com From without Google's traces */
	assert_true(hits(FORGED, "Received: from x.example.org by mx.example."
	    "net\nFrom: a@GMail.com\n\nb\n", "FORGED_GMAIL_RCVD"));
	assert_true(hits(FORGED, GMS "From: a@gmail.com\n\nb\n",
	    "FORGED_GMAIL_RCVD"));
	assert_false(hits(FORGED, GMS GSS "From: a@gmail.com\n\nb\n",
	    "FORGED_GMAIL_RCVD"));
	assert_false(hits(FORGED, "X-Received: by 10.1.2.3 with SMTP id "
	    "x1mr;\nFrom: a@gmail.com\n\nb\n", "FORGED_GMAIL_RCVD"));
	assert_false(hits(FORGED, "X-Received: by 2002:a17:906:abc::1 with "
	    "SMTP id x1mr;\nFrom: a@gmail.com\n\nb\n", "FORGED_GMAIL_RCVD"));
	assert_false(hits(FORGED, "Received: from [10.0.0.2] by smtp."
	    "googlemail.com with ESMTPSA id abc\nFrom: a@gmail.com\n\nb\n",
	    "FORGED_GMAIL_RCVD"));
	assert_false(hits(FORGED, "From: a@notgmail.com.example\n\nb\n",
	    "FORGED_GMAIL_RCVD"));
	/* eudoramail: whowhere.com's Received and X-Sender-Ip, or forged */
	assert_true(hits(FORGED, "Received: from x.example.org by mx.example."
	    "net\nFrom: a@eudoramail.com\n\nb\n", "__FORGED_EUDORAMAIL_RCVD"));
	/* no Received field at all: "gated", these checks cannot run */
	assert_false(hits(FORGED, "From: a@eudoramail.com\n\nb\n",
	    "__FORGED_EUDORAMAIL_RCVD"));
	assert_false(hits(FORGED, "Received: from Unknown/Local ([?.?.?.?]) "
	    "by shared1-mail.whowhere.com; Thu Nov 29 13:44:25 2001\n"
	    "X-Sender-Ip: 192.175.21.146\nFrom: a@eudoramail.com\n\nb\n",
	    "__FORGED_EUDORAMAIL_RCVD"));
	assert_true(hits(FORGED, "Received: from Unknown/Local ([?.?.?.?]) "
	    "by shared1-mail.whowhere.com; Thu Nov 29 13:44:25 2001\n"
	    "From: a@eudoramail.com\n\nb\n", "__FORGED_EUDORAMAIL_RCVD"));
	/* juno: old style needs the juno relay and a Juno X-Mailer */
	assert_false(hits(FORGED, "Received: from m1.juno.com (m1.juno.com "
	    "[64.136.24.1]) by mx.example.net\nX-Originating-IP: 192.0.2.1\n"
	    "X-Mailer: Juno 5.0\nFrom: a@juno.com\n\nb\n",
	    "__FORGED_JUNO_RCVD"));
	assert_true(hits(FORGED, "Received: from m1.juno.com (m1.juno.com "
	    "[64.136.24.1]) by mx.example.net\nX-Originating-IP: 192.0.2.1\n"
	    "X-Mailer: Outlook\nFrom: a@juno.com\n\nb\n",
	    "__FORGED_JUNO_RCVD"));
	/* new style: the Perl then tests the empty X-Originating-IP: hit */
	assert_true(hits(FORGED, "Received: from webmail1.untd.com (webmail1."
	    "untd.com [64.136.24.1]) by mx.example.net\nX-Mailer: Webmail "
	    "Version 1\nFrom: a@juno.com\n\nb\n", "__FORGED_JUNO_RCVD"));
	assert_false(hits(FORGED, "From: a@example.com\n\nb\n",
	    "__FORGED_JUNO_RCVD"));
	/* AOL relay names outside AOL's own forms */
	assert_true(hits(FORGED, "Received: from unknown (HELO mta05bw.bigpond."
	    "com) (80.71.176.130) by rly-xw01.mx.aol.com with QMQP; Sat, 15 "
	    "Jun 2002 23:37:16 -0000\n\nb\n", "__FORGED_AOL_RCVD"));
	assert_false(hits(FORGED, "Received: from rly-xj02.mx.aol.com (rly-"
	    "xj02.mail.aol.com [172.20.116.39]) by omr-r05.mx.aol.com (v83.35)"
	    " with ESMTP id RELAYIN7-0501132011; Wed, 01 May 2002\n\nb\n",
	    "__FORGED_AOL_RCVD"));
	assert_false(hits(FORGED, "Received: from a.example by b.example\n\n"
	    "b\n", "__FORGED_AOL_RCVD"));
}

#define TRAIL \
	"header __FORGED_RCVD_TRAIL eval:check_for_forged_received_trail()\n"
#define PFX_RCVD(from, ip, by) "Received: from " from " (" from " [" ip \
	"]) by " by " (Postfix) with ESMTP id 1; Mon, 2 Sep 2002 10:00:00 " \
	"+0000\n"

static void
test_forged_trail(void **state)
{
	(void)state;
	/* each relay's "by" not the domain of the rDNS above it: twice */
	assert_true(hits(TRAIL, PFX_RCVD("a.relay1.com", "192.0.2.1",
	    "mx.example.net") PFX_RCVD("b.relay2.org", "198.51.100.2",
	    "c.other.com") PFX_RCVD("d.x.net", "203.0.113.3",
	    "e.another.info") "\nb\n", "__FORGED_RCVD_TRAIL"));
	/* once is not enough */
	assert_false(hits(TRAIL, PFX_RCVD("a.relay1.com", "192.0.2.1",
	    "mx.example.net") PFX_RCVD("b.relay2.org", "198.51.100.2",
	    "c.other.com") PFX_RCVD("d.x.net", "203.0.113.3",
	    "mx9.relay2.org") "\nb\n", "__FORGED_RCVD_TRAIL"));
	/* a consistent trail; hotmail.com handing to msn.com is fine */
	assert_false(hits(TRAIL, PFX_RCVD("a.relay1.com", "192.0.2.1",
	    "mx.example.net") PFX_RCVD("b.hotmail.com", "198.51.100.2",
	    "in.relay1.com") PFX_RCVD("d.x.net", "203.0.113.3",
	    "e.msn.com") "\nb\n", "__FORGED_RCVD_TRAIL"));
}

#define UNICODE \
	"body PP_TOO_MUCH_UNICODE02 eval:check_abundant_unicode_ratio(0.02)\n" \
	"body PP_TOO_MUCH_UNICODE05 eval:check_abundant_unicode_ratio(0.05)\n" \
	"body BAD_RATIO eval:check_abundant_unicode_ratio(5)\n"

static void
test_abundant_unicode(void **state)
{
	const char *esc = "&#x0412;&#x0410;&#x0428;&#x0415; "
	    "&#x041F;&#x0420;&#x0418;&#x0417;\n";
	char buf[1024];

	(void)state;
	/* 8 escapes in 7bit text/plain: 8 / 35 other bytes */
	snprintf(buf, sizeof(buf), "Content-Type: text/plain\n\n"
	    "hello there%s", esc);
	assert_true(hits(UNICODE, buf, "PP_TOO_MUCH_UNICODE02"));
	assert_true(hits(UNICODE, buf, "PP_TOO_MUCH_UNICODE05"));
	/* the ratio must be written with a dot, as the Perl checks */
	assert_false(hits(UNICODE, buf, "BAD_RATIO"));
	/* one escape in 200 bytes: over 0.2% but under 2% */
	snprintf(buf, sizeof(buf), "Content-Type: text/plain\n\n%0200d "
	    "&#x0412;\n", 0);
	assert_false(hits(UNICODE, buf, "PP_TOO_MUCH_UNICODE02"));
	/* lower-case hex, HTML parts and encoded parts do not count */
	assert_false(hits(UNICODE, "Content-Type: text/plain\n\nhi &#x04af; "
	    "&#x04af; &#x04af; &#x04af;\n", "PP_TOO_MUCH_UNICODE02"));
	snprintf(buf, sizeof(buf), "Content-Type: text/html\n\nhi%s", esc);
	assert_false(hits(UNICODE, buf, "PP_TOO_MUCH_UNICODE02"));
	snprintf(buf, sizeof(buf), "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n\nhi%s", esc);
	assert_false(hits(UNICODE, buf, "PP_TOO_MUCH_UNICODE02"));
	snprintf(buf, sizeof(buf), "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: 8bit\n\nhi%s", esc);
	assert_true(hits(UNICODE, buf, "PP_TOO_MUCH_UNICODE02"));
}

static int
long_uri_hits(size_t len, int html)
{
	char *buf = malloc(len + 256), *q;
	int r;

	assert_non_null(buf);
	q = buf + sprintf(buf, "Content-Type: text/%s\n\n%shttp://a.example/",
	    html ? "html" : "plain", html ? "<a href=\"" : "see ");
	memset(q, 'x', len - 17);
	q += len - 17;
	sprintf(q, "%s\n", html ? "\">x</a>" : " now");
	r = hits("body URI_TRUNCATED eval:check_uri_truncated()\n", buf,
	    "URI_TRUNCATED");
	free(buf);
	return r;
}

static void
test_uri_truncated(void **state)
{
	(void)state;
	/* SA cuts URIs longer than 8192 and says so */
	assert_true(long_uri_hits(9000, 1));
	assert_true(long_uri_hits(8193, 1));
	assert_false(long_uri_hits(8000, 1));
	assert_false(long_uri_hits(100, 0));
	/* a text URI that long: SpamAssassin 4.0.1 does not hit either */
	assert_false(long_uri_hits(9000, 0));
}

#define MANT "body MULTIPART_ALT_NON_TEXT eval:check_ma_non_text()\n"
#define MA_PART(t) "--b\nContent-Type: " t "\n\nx\n"

static void
test_ma_non_text(void **state)
{
	(void)state;
	/* an image as an alternative to the text */
	assert_true(hits(MANT, "Content-Type: multipart/alternative; "
	    "boundary=b\n\n" MA_PART("text/plain") MA_PART("image/gif")
	    "--b--\n", "MULTIPART_ALT_NON_TEXT"));
	/* text, HTML and RTF alternatives are normal */
	assert_false(hits(MANT, "Content-Type: multipart/alternative; "
	    "boundary=b\n\n" MA_PART("text/plain") MA_PART("text/html")
	    MA_PART("application/rtf") "--b--\n", "MULTIPART_ALT_NON_TEXT"));
	/* an image inside a multipart/related alternative: one level down */
	assert_false(hits(MANT, "Content-Type: multipart/alternative; "
	    "boundary=b\n\n" MA_PART("text/plain") "--b\nContent-Type: "
	    "multipart/related; boundary=c\n\n--c\nContent-Type: text/html\n\n"
	    "<p>x</p>\n--c\nContent-Type: image/gif\n\nGIF\n--c--\n--b--\n",
	    "MULTIPART_ALT_NON_TEXT"));
	/* not in an alternative */
	assert_false(hits(MANT, "Content-Type: multipart/mixed; boundary=b\n\n"
	    MA_PART("text/plain") MA_PART("image/gif") "--b--\n",
	    "MULTIPART_ALT_NON_TEXT"));
}

#define HTTPS_MM \
	"body HTTPS_HTTP_MISMATCH eval:check_https_http_mismatch('1','10')\n"

/* Whether name hits on a text/html message whose body holds html. */
static int
html_doc_hits(const char *rules, const char *html, const char *name)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "Content-Type: text/html\n\n<html><body>%s"
	    "</body></html>\n", html);
	return hits(rules, buf, name);
}

static int
https_hits(const char *html)
{
	return html_doc_hits(HTTPS_MM, html, "HTTPS_HTTP_MISMATCH");
}

static void
test_https_http_mismatch(void **state)
{
	char many[2048];
	size_t k, o;

	(void)state;
	/* (each case as spamassassin -t -D rules says) */
	assert_true(https_hits("<a href=\"http://evil.example.com/x\">"
	    "https://www.paypal.com/login</a>"));
	assert_false(https_hits("<a href=\"http://www.paypal.com/x\">"
	    "https://www.paypal.com/login</a>"));
	/* a link to an IP address is not looked at; an IP shown is */
	assert_false(https_hits("<a href=\"http://192.0.2.7/x\">"
	    "https://www.paypal.com/login</a>"));
	assert_true(https_hits("<a href=\"https://evil.example.org/x\">see "
	    "https://192.0.2.8/login</a>"));
	assert_true(https_hits("<a href=\"http://evil.example.com/x\">Visit "
	    "HTTPS://Secure.PayPal.com now</a> <a href=\"http://a.example."
	    "net/\">a</a>"));
	assert_false(https_hits("<a href=\"mailto:x@evil.example.com\">"
	    "https://www.paypal.com/</a>"));
	/* only "https://" in the text counts */
	assert_false(https_hits("<a href=\"http://evil.example.com/x\">"
	    "http://www.paypal.com/login</a>"));
	/* ten links or more: a newsletter, not counted */
	o = (size_t)snprintf(many, sizeof(many), "<a href=\"http://evil."
	    "example.com/x\">https://www.paypal.com/</a>");
	for (k = 0; k < 9; k++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "<a href=\""
		    "http://l%zu.example.com/\">l</a>", k);
	assert_false(https_hits(many));
	/* the same link again is one anchor */
	o = (size_t)snprintf(many, sizeof(many), "<a href=\"http://evil."
	    "example.com/x\">https://www.paypal.com/</a>");
	for (k = 0; k < 9; k++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "<a href=\""
		    "http://l.example.com/\">l</a>");
	assert_true(https_hits(many));
}

#define IPMM \
	"body HTTPS_IP_MISMATCH eval:check_https_ip_mismatch()\n" \
	"body HTML_IFRAME_SRC eval:check_iframe_src()\n"

static int
ipmm_hits(const char *html, const char *name)
{
	return html_doc_hits(IPMM, html, name);
}

static void
test_https_ip_iframe(void **state)
{
	(void)state;
	/* (each case as spamassassin -t -D rules says) */
	assert_true(ipmm_hits("<a href=\"http://192.0.2.7/x\">"
	    "https://www.paypal.com/login</a>", "HTTPS_IP_MISMATCH"));
	assert_false(ipmm_hits("<a href=\"http://192.0.2.7/x\">"
	    "https://192.0.2.7/login</a>", "HTTPS_IP_MISMATCH"));
	assert_false(ipmm_hits("<a href=\"http://www.example.com/x\">"
	    "https://www.paypal.com/login</a>", "HTTPS_IP_MISMATCH"));
	assert_true(ipmm_hits("<a href=\"http://user@192.0.2.7/x\">Go "
	    "to HTTPS: secure</a>", "HTTPS_IP_MISMATCH"));
	assert_true(ipmm_hits("hi <iframe src=\"http://evil.example."
	    "com/f\"></iframe> there", "HTML_IFRAME_SRC"));
	assert_false(ipmm_hits("hi <iframe src=\"\"></iframe> <img "
	    "src=\"http://a.example.com/i.gif\"> there", "HTML_IFRAME_SRC"));
}

#define URIHOST \
	"enlist_uri_host (SUSP) top click !good.click\n" \
	"enlist_uri_host (SHORT) cutpaid.com 192.0.2.7 gone-host.com\n" \
	"delist_uri_host (SHORT) gone-host.com\n" \
	"header BAD_TLD eval:check_uri_host_listed('SUSP')\n" \
	"header SHORTENER eval:check_uri_host_listed('SHORT')\n"

static void
test_uri_host_listed(void **state)
{
	(void)state;
	/* a listed TLD, any case, any depth */
	assert_true(hits(URIHOST, "Content-Type: text/html\n\n<a href=\""
	    "http://Benefits.Click/x\">x</a>\n", "BAD_TLD"));
	assert_true(hits(URIHOST, "Subject: s\n\nsee http://a.b.shop.top/p"
	    "?q=1 now\n", "BAD_TLD"));
	/* the most specific entry wins: "!good.click" excepts that host */
	assert_false(hits(URIHOST, "Subject: s\n\nsee http://good.click/ "
	    "now\n", "BAD_TLD"));
	assert_true(hits(URIHOST, "Subject: s\n\nsee http://www.bad.click/"
	    " now\n", "BAD_TLD"));
	/* a name that only ends like a listed one */
	assert_false(hits(URIHOST, "Subject: s\n\nsee http://www.desktop.com/"
	    " now\n", "BAD_TLD"));
	/* user info and port are not the host; mailto: is skipped */
	assert_false(hits(URIHOST, "Subject: s\n\nsee http://x.top@example"
	    ".com:8080/ now\n", "BAD_TLD"));
	assert_false(hits(URIHOST, "Content-Type: text/html\n\n<a href=\""
	    "mailto:me@spam.top\">x</a>\n", "BAD_TLD"));
	/* lists are separate; an address is looked up as it is */
	assert_true(hits(URIHOST, "Subject: s\n\nsee http://cutpaid.com/a "
	    "now\n", "SHORTENER"));
	assert_false(hits(URIHOST, "Subject: s\n\nsee http://cutpaid.com/a "
	    "now\n", "BAD_TLD"));
	assert_true(hits(URIHOST, "Subject: s\n\nsee http://192.0.2.7/a "
	    "now\n", "SHORTENER"));
	/* delist_uri_host removes an entry */
	assert_false(hits(URIHOST, "Subject: s\n\nsee http://gone-host.com/a"
	    " now\n", "SHORTENER"));
}

#define RPIMG \
	"util_rb_2tld co.uk\n" \
	"util_rb_3tld act.edu.au\n" \
	"header __RP_MATCHES_RCVD eval:check_mailfrom_matches_rcvd()\n" \
	"meta RP_MATCHES __RP_MATCHES_RCVD\n" \
	"body __ONE_IMG eval:image_count('all',1,1)\n" \
	"body __GIF_ATTACH_2P eval:image_count('gif','2')\n" \
	"meta ONE_IMG __ONE_IMG\n" \
	"meta TWO_GIFS __GIF_ATTACH_2P\n"

/* Return-Path, then one Postfix hop from host rdns (192.0.2.1) */
static int
rp_hits(const char *sender, const char *rdns)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "Return-Path: <%s>\nReceived: from x "
	    "(%s [192.0.2.1]) by mx.example.net (Postfix) with ESMTP id 1; "
	    "Mon, 2 Sep 2002 10:00:00 +0000\n\nb\n", sender, rdns);
	return hits(RPIMG, buf, "RP_MATCHES");
}

/* a multipart/mixed message with parts of these types, base64 or not */
static int
img_hits(const char *t1, const char *t2, const char *cte, const char *name)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "Content-Type: multipart/mixed; boundary=b"
	    "\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: "
	    "%s\nContent-Transfer-Encoding: %s\n\nR0lGODlh\n--b\n"
	    "Content-Type: %s\nContent-Transfer-Encoding: %s\n\nR0lGODlh\n"
	    "--b--\n", t1, cte, t2, cte);
	return hits(RPIMG, buf, name);
}

static void
test_rp_and_images(void **state)
{
	(void)state;
	/* the sender's registered domain is the relay's */
	assert_true(rp_hits("bounce@mail.example.com", "out7.example.com"));
	assert_true(rp_hits("a@shop.example.co.uk", "mx.example.co.uk"));
	assert_true(rp_hits("a@x.uni.act.edu.au", "mail.uni.act.edu.au"));
	/* another registered domain under the same suffix */
	assert_false(rp_hits("a@shop.example.co.uk", "mx.other.co.uk"));
	assert_false(rp_hits("a@example.com", "mail.example.net"));
	assert_false(rp_hits("a@example.com", "unknown"));
	/* a dotless domain is no domain */
	assert_false(rp_hits("a@localhost", "localhost"));
	/* only the first untrusted relay counts, not an older one */
	assert_false(hits(RPIMG, "Return-Path: <a@example.com>\nReceived: "
	    "from x (mx.other.net [192.0.2.2]) by mx.example.net (Postfix) "
	    "with ESMTP id 2; Mon, 2 Sep 2002 10:00:00 +0000\nReceived: from "
	    "y (out.example.com [192.0.2.1]) by mx.other.net (Postfix) with "
	    "ESMTP id 1; Mon, 2 Sep 2002 09:59:00 +0000\n\nb\n",
	    "RP_MATCHES"));
	/* images: base64 gif, png, jpeg (jpg) leaves */
	assert_false(img_hits("image/gif", "image/png", "base64", "ONE_IMG"));
	assert_true(img_hits("image/gif", "application/pdf", "base64",
	    "ONE_IMG"));
	assert_true(img_hits("image/jpg", "text/plain", "base64", "ONE_IMG"));
	assert_false(img_hits("image/gif", "image/gif", "7bit", "TWO_GIFS"));
	assert_true(img_hits("image/gif", "image/gif", "base64", "TWO_GIFS"));
	assert_false(img_hits("image/gif", "image/png", "base64", "TWO_GIFS"));
	assert_false(img_hits("image/bmp", "text/plain", "base64", "ONE_IMG"));
}

#define RATWARE \
	"util_rb_2tld co.uk\n" \
	"header RATWARE_NAME_ID eval:check_ratware_name_id()\n" \
	"header RATWARE_EFROM eval:check_ratware_envelope_from()\n"

static void
test_ratware(void **state)
{
	(void)state;
	/* <28 capitals.ADDR> and From "name" <ADDR> */
	assert_true(hits(RATWARE, "Message-ID: <ABCDEFGHIJKLMNOPQRSTUVWXYZAB."
	    "joe@example.com>\nFrom: \"Joe\" <joe@example.com>\n\nb\n",
	    "RATWARE_NAME_ID"));
	/* 27 capitals, or no quoted name, or another address */
	assert_false(hits(RATWARE, "Message-ID: <ABCDEFGHIJKLMNOPQRSTUVWXYZA."
	    "joe@example.com>\nFrom: \"Joe\" <joe@example.com>\n\nb\n",
	    "RATWARE_NAME_ID"));
	assert_false(hits(RATWARE, "Message-ID: <ABCDEFGHIJKLMNOPQRSTUVWXYZAB."
	    "joe@example.com>\nFrom: Joe <joe@example.com>\n\nb\n",
	    "RATWARE_NAME_ID"));
	assert_false(hits(RATWARE, "Message-ID: <ABCDEFGHIJKLMNOPQRSTUVWXYZAB."
	    "joe@example.com>\nFrom: \"Joe\" <ann@example.com>\n\nb\n",
	    "RATWARE_NAME_ID"));
	/* envelope sender made of the recipient: domain, a byte, user@ */
	assert_true(hits(RATWARE, "Return-Path: <example.co.uk-jsmith@bulk."
	    "example.net>\nTo: jsmith@mail.example.co.uk\n\nb\n",
	    "RATWARE_EFROM"));
	assert_false(hits(RATWARE, "Return-Path: <news@bulk.example.net>\n"
	    "To: jsmith@mail.example.co.uk\n\nb\n", "RATWARE_EFROM"));
	/* the domain must start at a word boundary; SRS is left alone */
	assert_false(hits(RATWARE, "Return-Path: <myexample.co.uk-jsmith@bulk."
	    "example.net>\nTo: jsmith@mail.example.co.uk\n\nb\n",
	    "RATWARE_EFROM"));
	assert_false(hits(RATWARE, "Return-Path: <SRS0=x=example.co.uk-jsmith@"
	    "bulk.example.net>\nTo: jsmith@mail.example.co.uk\n\nb\n",
	    "RATWARE_EFROM"));
}

#define HTML \
	"body HTML_MESSAGE eval:html_test('html')\n" \
	"body HTML_FONT_LOW_CONTRAST eval:html_test('font_low_contrast')\n" \
	"body HTML_FONT_FACE_BAD eval:html_test('font_face_bad')\n" \
	"body HTML_TAG_BALANCE_BODY eval:html_tag_balance('body', '!= 0')\n" \
	"body HTML_FONT_SIZE_HUGE eval:html_range('max_size', '6', 'inf')\n" \
	"body HTML_IMAGE_ONLY_08 eval:html_image_only('0400','0800')\n" \
	"body __COMMENT_EXISTS eval:html_text_match('comment', '<!.*?>')\n" \
	"body __HTML_LINK_IMAGE eval:html_text_match('anchor', '<img>')\n" \
	"body __TAG_EXISTS_CENTER eval:html_tag_exists('center')\n" \
	"meta HTML_LINKED_IMG __HTML_LINK_IMAGE\n" \
	"meta HTML_COMMENT __COMMENT_EXISTS\n" \
	"meta HTML_CENTER __TAG_EXISTS_CENTER\n"

static int
html_hits(const char *html, const char *name)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "Content-Type: text/html\n\n%s\n", html);
	return hits(HTML, buf, name);
}

static void
test_html(void **state)
{
	char img[1024];

	(void)state;
	assert_true(html_hits("<p>hello</p>", "HTML_MESSAGE"));
	assert_false(hits(HTML, "Content-Type: text/plain\n\n<p>hello</p>\n",
	    "HTML_MESSAGE"));
	/* white on white, and a near-invisible grey */
	assert_true(html_hits("<body>hi <font color=\"#ffffff\">hidden</font>"
	    "</body>", "HTML_FONT_LOW_CONTRAST"));
	assert_true(html_hits("<font color=\"#fefefe\">hidden</font>",
	    "HTML_FONT_LOW_CONTRAST"));
	assert_false(html_hits("<font color=\"#000080\">seen</font>",
	    "HTML_FONT_LOW_CONTRAST"));
	assert_true(html_hits("<font face=\"@@@\">x</font>",
	    "HTML_FONT_FACE_BAD"));
	assert_false(html_hits("<font face=\"Arial, Helvetica, sans-serif\">"
	    "x</font>", "HTML_FONT_FACE_BAD"));
	assert_true(html_hits("<body><body>x</body>", "HTML_TAG_BALANCE_BODY"));
	assert_false(html_hits("<body>x</body>", "HTML_TAG_BALANCE_BODY"));
	assert_true(html_hits("<font size=7>BIG</font>", "HTML_FONT_SIZE_HUGE"));
	assert_false(html_hits("<font size=4>big</font>",
	    "HTML_FONT_SIZE_HUGE"));
	/* an image and little else: 400 < length <= 800 */
	snprintf(img, sizeof(img), "<html><body><img src=\"http://x.example/"
	    "%0400d.gif\" width=500 height=400></body></html>", 0);
	assert_true(html_hits(img, "HTML_IMAGE_ONLY_08"));
	assert_false(html_hits("<img src=x.gif>", "HTML_IMAGE_ONLY_08"));
	assert_true(html_hits("<a href=\"http://x.example/\"><img src=y.gif>"
	    "</a>", "HTML_LINKED_IMG"));
	assert_false(html_hits("<img src=y.gif><a href=\"http://x/\">t</a>",
	    "HTML_LINKED_IMG"));
	assert_true(html_hits("a<!-- note -->b", "HTML_COMMENT"));
	assert_false(html_hits("ab", "HTML_COMMENT"));
	/* an end tag alone makes the tag exist, as HTML.pm counts it */
	assert_true(html_hits("x</center>", "HTML_CENTER"));
	assert_false(html_hits("x", "HTML_CENTER"));
}

static void
test_unknown_eval_skipped(void **state)
{
	struct rule_set *rs = load(
	    "header RCVD_IN_X eval:check_rbl('x', 'zen.example.')\n"
	    "header NO_SUCH eval:no_such_function()\n"
	    "header MISSING_HEADERS eval:check_for_missing_to_header()\n"
	    "meta META_X RCVD_IN_X || MISSING_HEADERS\n");
	struct rule_info ri;
	const struct rule_stats *st = rule_set_stats(rs);

	(void)state;
	rule_set_info(rs, (size_t)rule_set_find(rs, "RCVD_IN_X"), &ri);
	assert_false(ri.runs);
	assert_string_equal(ri.why, "eval");
	assert_null(ri.eval);
	rule_set_info(rs, (size_t)rule_set_find(rs, "MISSING_HEADERS"), &ri);
	assert_true(ri.runs);
	assert_string_equal(ri.eval, "check_for_missing_to_header");
	assert_int_equal(st->eval[RULE_ST_HEADER], 2);
	rule_set_unref(rs);
	/* the meta still runs over the ported half */
	assert_true(hits("header RCVD_IN_X eval:check_rbl('x', 'zen.')\n"
	    "header MISSING_HEADERS eval:check_for_missing_to_header()\n"
	    "meta META_X RCVD_IN_X || MISSING_HEADERS\n", "Subject: s\n\nb\n",
	    "META_X"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bayes),
		cmocka_unit_test(test_shifted_date),
		cmocka_unit_test(test_equal_from_domains),
		cmocka_unit_test(test_outlook_message_id),
		cmocka_unit_test(test_freemail),
		cmocka_unit_test(test_freemail_replyto),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_relays),
		cmocka_unit_test(test_relays_rdns),
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_mpart_alt_diff),
		cmocka_unit_test(test_small_evals),
		cmocka_unit_test(test_header_evals),
		cmocka_unit_test(test_faraway),
		cmocka_unit_test(test_forged_rcvd),
		cmocka_unit_test(test_forged_trail),
		cmocka_unit_test(test_abundant_unicode),
		cmocka_unit_test(test_uri_truncated),
		cmocka_unit_test(test_ma_non_text),
		cmocka_unit_test(test_https_http_mismatch),
		cmocka_unit_test(test_https_ip_iframe),
		cmocka_unit_test(test_uri_host_listed),
		cmocka_unit_test(test_rp_and_images),
		cmocka_unit_test(test_ratware),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_unknown_eval_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
