/*
 * metrics_http.c: the metrics_listen endpoint.  libevent's evhttp on the
 * main thread's event_base (the acceptor's loop, which does nothing heavy):
 * GET /metrics answers the exposition of metrics_format(), anything else
 * is a 404.  It binds after privileges are dropped (no port below 1024
 * needed) and is bound once, at start: a reload does not move it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "moat_conf.h"
#include "metrics.h"
#include "sbuf.h"

static struct evhttp *met_http;

static void
met_http_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body;
	const char *uri = evhttp_request_get_uri(req);
	struct sbuf out = SBUF_INIT;

	(void)arg;
	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET ||
	    uri == NULL || (strcmp(uri, "/metrics") != 0 &&
	    strncmp(uri, "/metrics?", 9) != 0)) {
		evbuffer_add_printf(body, "not found; try GET /metrics\n");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
		evbuffer_free(body);
		return;
	}
	metrics_format(&out);
	evbuffer_add(body, out.p ? out.p : "", out.len);
	sbuf_free(&out);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

int
metrics_start(struct event_base *base, const char *addr, char *err,
    size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct evconnlistener *lev;

	if (cfg_parse_hostport(addr, &ss, &sslen) == -1) {
		snprintf(err, errsz, "metrics_listen %s: not ADDR:PORT", addr);
		return -1;
	}
	if ((met_http = evhttp_new(base)) == NULL) {
		snprintf(err, errsz, "metrics_listen: evhttp_new failed");
		return -1;
	}
	evhttp_set_allowed_methods(met_http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(met_http, 10);
	evhttp_set_gencb(met_http, met_http_cb, NULL);
	lev = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    16, (struct sockaddr *)&ss, (int)sslen);
	if (lev == NULL || evhttp_bind_listener(met_http, lev) == NULL) {
		snprintf(err, errsz, "metrics_listen %s: %s", addr,
		    strerror(errno));
		if (lev != NULL)
			evconnlistener_free(lev);
		evhttp_free(met_http);
		met_http = NULL;
		return -1;
	}
	return 0;
}

void
metrics_stop(void)
{
	if (met_http != NULL)
		evhttp_free(met_http);
	met_http = NULL;
}
