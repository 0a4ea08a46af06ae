/*
 * eng_dns.c: the client's name (dns.h: forward-confirmed reverse DNS).
 *
 * The lookup starts at connect (dns_start) and runs while the client
 * talks; MAIL waits for it (dns_wait), at most dns_timeout, because the
 * MAIL rules and the backend (XCLIENT NAME) hear the name.  Without an
 * answer in time the name is unknown (dns=timeout) and the transaction
 * goes on: the name is a nicety, never a reason to stall.
 * It does not judge the name: the rules do (no-rdns, rdns-mismatch).
 */
#include <stdlib.h>

#include <event2/event.h>

#include "moat_conf.h"
#include "eng_steps.h"
#include "engine.h"
#include "xmalloc.h"

static void
dns_wait_cancel(struct eng_tx *tx)
{
	if (tx->timer != NULL)
		evtimer_del(tx->timer);
}

static void
dns_cb(void *arg, const char *name, const char *ptr, enum dns_status status)
{
	struct eng_tx *tx = arg;

	tx->dnsq = NULL;
	tx->dns_status = status;
	if (name)
		tx->client_name = xstrdup(name);
	if (ptr)
		tx->client_ptr = xstrdup(ptr);
	if (tx->pending && tx->cancel == dns_wait_cancel) {
		dns_wait_cancel(tx);
		eng_resume(tx);
	}
}

/* Start the lookup; nobody waits for it yet. */
enum eng_ret
eng_dns_start(struct eng_tx *tx, struct eng_io *io)
{
	if (io->dns == NULL || !tx->client_known || tx->dnsq != NULL ||
	    tx->dns_status != DNS_ST_OFF)
		return ENG_DONE;
	tx->dns_status = DNS_ST_PENDING;
	tx->dnsq = dns_client_name(io->dns, &tx->client, dns_cb, tx);
	if (tx->dnsq == NULL)
		tx->dns_status = DNS_ST_ERROR;
	return ENG_DONE;
}

static void
dns_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct eng_tx *tx = arg;

	(void)fd;
	(void)what;
	dns_cancel(tx->dnsq);
	tx->dnsq = NULL;
	tx->dns_status = DNS_ST_TIMEOUT;
	eng_resume(tx);
}

/* MAIL waits, briefly, for a lookup still under way. */
enum eng_ret
eng_dns_wait(struct eng_tx *tx, struct eng_io *io)
{
	struct timeval tv;
	long ms = tx->cfg->dns_timeout_ms;

	if (tx->dnsq == NULL)
		return ENG_DONE;
	if (tx->timer == NULL)
		tx->timer = evtimer_new(io->base, dns_timeout_cb, tx);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(tx->timer, &tv);
	tx->cancel = dns_wait_cancel;
	return ENG_PENDING;
}
