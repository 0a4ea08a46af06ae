/*
 * ctl_stats.c: `moatctl stats [-c CONFIG] [--json]`.  Reads metrics_listen
 * from moatd's config, fetches GET /metrics over plain HTTP/1.0 (a socket
 * and a read to EOF: no HTTP library for one request), and prints the
 * counters as a table, or as one JSON object {"name{labels}": value}.
 * Histogram buckets are left out of the table (their _sum and _count
 * stay).  It reads; it never changes anything in moatd.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "moat_conf.h"
#include "ctl_stats.h"
#include "sbuf.h"

#define STATS_TIMEOUT_MS	10000
#define STATS_MAX_BYTES		(8 * 1024 * 1024)

void
stats_help(FILE *f)
{
	fprintf(f, "usage: moatctl stats [-c CONFIG] [--json]\n"
	    "  Fetch moatd's counters from the metrics_listen address of "
	    "CONFIG\n  (GET /metrics) and print them.\n"
	    "  -c CONFIG   moatd's configuration (default %s)\n"
	    "  --json      one JSON object, \"name{labels}\": value\n",
	    SYSCONFDIR "/moat/moat.conf");
}

/* Wildcard listen addresses are reached on the loopback. */
static void
stats_loopback(struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			s6->sin6_addr = in6addr_loopback;
	}
}

/* Wait for fd to be ready for ev; -1 on timeout or error. */
static int
stats_wait(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, STATS_TIMEOUT_MS) == 1 ? 0 : -1;
}

/* The body of GET /metrics at addr into body; 0, or -1 with err set. */
static int
stats_fetch(const char *addr, struct sbuf *body, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct sbuf resp = SBUF_INIT;
	char buf[16384], req[512];
	const char *p;
	size_t off = 0;
	ssize_t n;
	int fd, code, rc = -1;

	if (cfg_parse_hostport(addr, &ss, &sslen) == -1) {
		snprintf(err, errsz, "metrics_listen %s: not ADDR:PORT", addr);
		return -1;
	}
	stats_loopback(&ss);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
		snprintf(err, errsz, "%s: %s (is moatd running?)", addr,
		    strerror(errno));
		goto out;
	}
	snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: %s\r\n"
	    "Accept: text/plain\r\n\r\n", addr);
	while (off < strlen(req)) {
		if (stats_wait(fd, POLLOUT) == -1 ||
		    (n = write(fd, req + off, strlen(req) - off)) <= 0) {
			snprintf(err, errsz, "%s: cannot send the request",
			    addr);
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		if (stats_wait(fd, POLLIN) == -1) {
			snprintf(err, errsz, "%s: no answer in %d s", addr,
			    STATS_TIMEOUT_MS / 1000);
			goto out;
		}
		if ((n = read(fd, buf, sizeof(buf))) == 0)
			break;
		if (n < 0 || resp.len + (size_t)n > STATS_MAX_BYTES) {
			snprintf(err, errsz, "%s: %s", addr, n < 0 ?
			    strerror(errno) : "answer too long");
			goto out;
		}
		sbuf_add(&resp, buf, (size_t)n);
	}
	sbuf_addc(&resp, '\0');
	if (sscanf(resp.p, "HTTP/1.%*d %d", &code) != 1 ||
	    (p = strstr(resp.p, "\r\n\r\n")) == NULL) {
		snprintf(err, errsz, "%s: not an HTTP answer", addr);
		goto out;
	}
	if (code != 200) {
		snprintf(err, errsz, "%s: HTTP status %d", addr, code);
		goto out;
	}
	sbuf_adds(body, p + 4);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	sbuf_free(&resp);
	return rc;
}

static void
stats_json_str(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/*
 * One sample line "name{labels} value" of the table: the family without
 * moat_ and _total, then the label values, then the value.
 */
static void
stats_row(const char *line, size_t keylen, const char *value)
{
	char fam[128], vals[512];
	const char *lb = memchr(line, '{', keylen), *q;
	size_t fl = lb ? (size_t)(lb - line) : keylen, vl = 0;

	if (fl >= sizeof(fam))
		fl = sizeof(fam) - 1;
	memcpy(fam, line, fl);
	fam[fl] = '\0';
	if (fl > 6 && strcmp(fam + fl - 6, "_total") == 0)
		fam[fl - 6] = '\0';
	vals[0] = '\0';
	/* The values between the quotes, escapes kept as they are. */
	for (q = lb; q != NULL && q < line + keylen; q++) {
		const char *v0, *v1;

		if (*q != '"')
			continue;
		v0 = ++q;
		while (q < line + keylen && *q != '"')
			q += *q == '\\' ? 2 : 1;
		v1 = q;
		if (vl + (size_t)(v1 - v0) + 2 < sizeof(vals))
			vl += (size_t)snprintf(vals + vl, sizeof(vals) - vl,
			    "%s%.*s", vl ? " " : "", (int)(v1 - v0), v0);
	}
	printf("  %-34s %-40s %s\n", strncmp(fam, "moat_", 5) == 0 ? fam + 5 :
	    fam, vals, value);
}

int
stats_main(int argc, char **argv)
{
	const char *cfg_path = SYSCONFDIR "/moat/moat.conf";
	struct config *cfg;
	struct sbuf body = SBUF_INIT;
	char err[1024];
	char *line, *next, *sp;
	int i, json = 0, first = 1;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfg_path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			stats_help(stderr);
			return 2;
		}
	}
	if ((cfg = cfg_load(cfg_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "moatctl stats: %s\n", err);
		return 1;
	}
	if (cfg->metrics_listen == NULL) {
		fprintf(stderr, "moatctl stats: %s: metrics_listen is not set; "
		    "moatd serves no counters\n", cfg_path);
		cfg_unref(cfg);
		return 1;
	}
	if (stats_fetch(cfg->metrics_listen, &body, err, sizeof(err)) == -1) {
		fprintf(stderr, "moatctl stats: %s\n", err);
		cfg_unref(cfg);
		return 1;
	}
	if (json)
		putchar('{');
	else
		printf("moatd counters from http://%s/metrics\n",
		    cfg->metrics_listen);
	for (line = body.p; line != NULL && *line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* The value follows the last space (labels may hold some). */
		if (line[0] == '#' || (sp = strrchr(line, ' ')) == NULL)
			continue;
		if (json) {
			printf("%s\n ", first ? "" : ",");
			stats_json_str(line, (size_t)(sp - line));
			printf(": %s", sp + 1);
			first = 0;
		} else if (strstr(line, "_bucket{") == NULL)
			stats_row(line, (size_t)(sp - line), sp + 1);
	}
	if (json)
		printf("\n}\n");
	sbuf_free(&body);
	cfg_unref(cfg);
	return 0;
}
