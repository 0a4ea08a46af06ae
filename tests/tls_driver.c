/*
 * tls_driver.c: a tiny SMTP-shaped server (and client) over proxy/tls.c,
 * for tests/integration/test_tls.py.  Not part of moatd.
 *
 * Server:  tls_driver -c CERT -k KEY [-m MINVER] [-C CIPHERS] -p PORTFILE
 *   listens on 127.0.0.1, two ephemeral ports written to PORTFILE as
 *   "STARTTLS_PORT IMPLICIT_PORT\n".  Plaintext greeting; EHLO offers
 *   STARTTLS; STARTTLS wraps the socket (TLS_DISCARD_PLAINTEXT); on the
 *   implicit port the greeting follows the handshake.  INFO answers
 *   "250 tls=VERSION cipher=CIPHER"; QUIT closes; any other line is
 *   answered "250 echo LINE".  SIGHUP reloads CERT/KEY (tls_server_swap).
 *   Events go to stdout, one line each, flushed: "starttls discarded=N",
 *   "handshake ok ...", "handshake error: ...", "reload ok ...",
 *   "reload failed: ...".
 * Client:  tls_driver -P PORT [-a CAFILE] [-n NAME] [-m MINVER]
 *   connects to 127.0.0.1:PORT, EHLO, STARTTLS, tls_client_wrap, INFO;
 *   prints "client ok verified=V REPLY" and exits 0, or "client error:
 *   WHY" and exits 1.
 *
 * Deliberately minimal: no timeouts, no limits; it serves tests only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "tls.h"
#include "xmalloc.h"

static struct event_base *base;
static struct tls_server *srv;
static struct tls_server_params params;

struct conn {
	struct bufferevent	*bev;
	int			 tls;
};

static void conn_read_cb(struct bufferevent *, void *);
static void conn_write_cb(struct bufferevent *, void *);
static void conn_event_cb(struct bufferevent *, short, void *);

static void
say(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
conn_free(struct conn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

/* Write what is queued (221, a TLS alert), then close. */
static void
conn_close(struct conn *c)
{
	tls_free_after_flush(c->bev, 2000);
	free(c);
}

static void
reply(struct conn *c, const char *text)
{
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s\r\n", text);
}

static void
conn_starttls(struct conn *c)
{
	struct bufferevent *tb;
	size_t discarded;

	reply(c, "220 2.0.0 Ready to start TLS");
	tb = tls_server_wrap(srv, c->bev, TLS_DISCARD_PLAINTEXT, &discarded,
	    conn_read_cb, conn_write_cb, conn_event_cb, c);
	if (tb == NULL) {
		say("starttls wrap failed");
		conn_free(c);
		return;
	}
	c->bev = tb;
	c->tls = 1;
	say("starttls discarded=%zu", discarded);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct tls_info ti;
	char *line, buf[256];
	size_t n;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
	    EVBUFFER_EOL_CRLF)) != NULL) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			reply(c, c->tls ? "250 tls_driver" :
			    "250-tls_driver\r\n250 STARTTLS");
		} else if (strcasecmp(line, "STARTTLS") == 0) {
			free(line);
			if (c->tls) {
				reply(c, "503 5.5.1 TLS already active");
				continue;
			}
			/* The rest of the input is the attacker's. */
			conn_starttls(c);
			return;
		} else if (strcasecmp(line, "INFO") == 0) {
			tls_get_info(bev, &ti);
			snprintf(buf, sizeof(buf), "250 tls=%s cipher=%s",
			    ti.version[0] ? ti.version : "no",
			    ti.cipher[0] ? ti.cipher : "none");
			reply(c, buf);
		} else if (strcasecmp(line, "QUIT") == 0) {
			reply(c, "221 2.0.0 bye");
			free(line);
			conn_close(c);
			return;
		} else {
			snprintf(buf, sizeof(buf), "250 echo %.200s", line);
			reply(c, buf);
		}
		free(line);
	}
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	(void)c;
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct tls_info ti;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		tls_get_info(bev, &ti);
		say("handshake ok %s %s fd=%d", ti.version, ti.cipher,
		    tls_bev_fd(bev) >= 0);
		if (!c->tls) {
			/* Implicit TLS: the greeting comes now (RFC 8314). */
			c->tls = 1;
			reply(c, "220 tls_driver ready");
		}
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (tls_is_tls(bev)) {
			tls_error_string(bev, why, sizeof(why));
			say("handshake error: %s", why);
		}
		conn_close(c);
		return;
	}
	conn_free(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int implicit = arg != NULL;
	size_t discarded;

	(void)l;
	(void)sa;
	(void)salen;
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (implicit) {
		struct bufferevent *tb = tls_server_wrap(srv, c->bev,
		    TLS_KEEP_BUFFERED, &discarded, conn_read_cb,
		    conn_write_cb, conn_event_cb, c);

		if (tb == NULL) {
			conn_free(c);
			return;
		}
		c->bev = tb;
		return;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	reply(c, "220 tls_driver ready");
}

static void
hup_cb(evutil_socket_t fd, short what, void *arg)
{
	char err[512], desc[512];

	(void)fd;
	(void)what;
	(void)arg;
	if (tls_server_swap(&srv, &params, err, sizeof(err)) == -1) {
		say("reload failed: %s", err);
		return;
	}
	tls_server_describe(srv, desc, sizeof(desc));
	say("reload ok %s", desc);
}

static void
term_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

static struct evconnlistener *
listen_any(int implicit, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct evconnlistener *l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = evconnlistener_new_bind(base, accept_cb, implicit ? (void *)1 :
	    NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (l == NULL) {
		perror("listen");
		exit(1);
	}
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return l;
}

/* ---- client mode --------------------------------------------------------- */

static struct tls_client *cl;
static int client_step, client_rc = 1;

static void client_read_cb(struct bufferevent *, void *);

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	char why[256];

	(void)arg;
	if (what & BEV_EVENT_CONNECTED) {
		if (tls_is_tls(bev))
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "INFO\r\n");
		return;
	}
	if (tls_is_tls(bev)) {
		tls_error_string(bev, why, sizeof(why));
		say("client error: %s", why);
	} else
		say("client error: connection closed");
	event_base_loopbreak(base);
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct bufferevent *tb;
	struct tls_info ti;
	const char *host = arg;
	size_t n, discarded;
	char *line;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
	    EVBUFFER_EOL_CRLF)) != NULL) {
		if (line[3] == '-') {
			free(line);
			continue;
		}
		switch (client_step++) {
		case 0:		/* greeting */
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "EHLO client\r\n");
			break;
		case 1:		/* EHLO */
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "STARTTLS\r\n");
			break;
		case 2:		/* 220 to STARTTLS */
			if (strncmp(line, "220", 3) != 0) {
				say("client error: STARTTLS refused: %s",
				    line);
				event_base_loopbreak(base);
				break;
			}
			tb = tls_client_wrap(cl, bev, host, &discarded,
			    client_read_cb, NULL, client_event_cb, arg);
			free(line);
			if (tb == NULL) {
				say("client error: wrap failed");
				event_base_loopbreak(base);
			}
			return;
		default:	/* INFO */
			tls_get_info(bev, &ti);
			say("client ok verified=%d %s", ti.verified, line);
			client_rc = 0;
			event_base_loopbreak(base);
			break;
		}
		free(line);
	}
}

static int
client_main(int port, const char *ca, const char *name, const char *minv)
{
	struct tls_client_params cp;
	struct sockaddr_in sin;
	struct bufferevent *bev;
	char err[512];

	memset(&cp, 0, sizeof(cp));
	cp.ca_file = ca;
	cp.verify_name = name;
	cp.min_version = minv;
	if ((cl = tls_client_new(&cp, err, sizeof(err))) == NULL) {
		say("client error: %s", err);
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, client_read_cb, NULL, client_event_cb,
	    (void *)"127.0.0.1");
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1) {
		say("client error: connect");
		return 1;
	}
	event_base_dispatch(base);
	tls_client_unref(cl);
	return client_rc;
}

int
main(int argc, char **argv)
{
	const char *portfile = NULL, *ca = NULL, *name = NULL;
	struct evconnlistener *l1, *l2;
	struct event *hup, *term;
	char err[512];
	int ch, p1, p2, cport = 0;
	FILE *fp;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "c:k:m:C:p:P:a:n:")) != -1) {
		switch (ch) {
		case 'c':
			params.cert_file = optarg;
			break;
		case 'k':
			params.key_file = optarg;
			break;
		case 'm':
			params.min_version = optarg;
			break;
		case 'C':
			params.ciphers = optarg;
			break;
		case 'p':
			portfile = optarg;
			break;
		case 'P':
			cport = atoi(optarg);
			break;
		case 'a':
			ca = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		default:
			fprintf(stderr, "usage: see tests/tls_driver.c\n");
			return 2;
		}
	}
	base = event_base_new();
	if (cport)
		return client_main(cport, ca, name, params.min_version);
	if (portfile == NULL) {
		fprintf(stderr, "tls_driver: -p PORTFILE needed\n");
		return 2;
	}
	if ((srv = tls_server_new(&params, err, sizeof(err))) == NULL) {
		say("start failed: %s", err);
		return 1;
	}
	l1 = listen_any(0, &p1);
	l2 = listen_any(1, &p2);
	hup = evsignal_new(base, SIGHUP, hup_cb, NULL);
	event_add(hup, NULL);
	/* A clean exit, so that LeakSanitizer looks at us. */
	term = evsignal_new(base, SIGTERM, term_cb, NULL);
	event_add(term, NULL);
	if ((fp = fopen(portfile, "w")) == NULL) {
		perror(portfile);
		return 1;
	}
	fprintf(fp, "%d %d\n", p1, p2);
	fclose(fp);
	say("listening %d %d", p1, p2);
	event_base_dispatch(base);
	evconnlistener_free(l1);
	evconnlistener_free(l2);
	event_free(hup);
	event_free(term);
	tls_server_unref(srv);
	event_base_free(base);
	return 0;
}
