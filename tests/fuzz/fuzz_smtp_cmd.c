/*
 * fuzz_smtp_cmd.c: client bytes -> smtp_line_scan -> smtp_cmd_parse, as the
 * session does, plus smtp_path_parse with the smallest store its contract
 * allows and smtp_domain_valid on each line.  Beyond memory errors (ASan,
 * UBSan) it traps when a parsed result breaks a documented invariant: line
 * lengths and flags, the RFC 5321 4.5.3.1 bounds on a parsed path, pointers
 * outside store[], an accepted parameter that does not match the grammar.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp_cmd.h"
#include "smtp_line.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static struct smtp_cmd cmd;

static int
in_store(const struct smtp_cmd *c, const char *p)
{
	return p >= c->store && p < c->store + sizeof(c->store) &&
	    p + strlen(p) < c->store + sizeof(c->store);
}

static void
check_line(const char *buf, size_t n, size_t limit)
{
	struct smtp_line l;
	const char *lf = memchr(buf, '\n', n);

	switch (smtp_line_scan(buf, n, limit, &l)) {
	case SMTP_LINE_OK:
		CHECK(lf != NULL);
		CHECK(l.consumed == (size_t)(lf - buf) + 1);
		CHECK(l.len <= limit);
		CHECK(l.consumed == l.len + 1 || l.consumed == l.len + 2);
		CHECK(((l.flags & SMTP_LINE_BARE_LF) != 0) ==
		    (l.consumed == l.len + 1));
		CHECK(((l.flags & SMTP_LINE_NUL) != 0) ==
		    (memchr(buf, '\0', l.len) != NULL));
		CHECK(((l.flags & SMTP_LINE_BARE_CR) != 0) ==
		    (memchr(buf, '\r', l.len) != NULL));
		break;
	case SMTP_LINE_PARTIAL:
		CHECK(lf == NULL);
		CHECK(n <= limit || (n == limit + 1 && buf[n - 1] == '\r'));
		break;
	case SMTP_LINE_TOO_LONG:
		if (lf == NULL)
			CHECK(l.consumed == 0 && n > limit);
		else
			CHECK(l.consumed == (size_t)(lf - buf) + 1 &&
			    l.len > limit);
		break;
	default:
		abort();
	}
}

static void
check_cmd(const char *line, size_t len)
{
	const unsigned char *v;
	size_t i;

	if (smtp_cmd_parse(line, len, &cmd) != SMTP_CMD_OK)
		return;
	CHECK(cmd.verb > SMTP_CMD_UNKNOWN && cmd.verb < SMTP_CMD__COUNT);
	CHECK(in_store(&cmd, cmd.arg));
	CHECK(memchr(line, '\0', len) == NULL);
	if (cmd.verb != SMTP_CMD_MAIL && cmd.verb != SMTP_CMD_RCPT) {
		CHECK(cmd.nparams == 0 && cmd.path.addr == NULL);
		return;
	}
	CHECK(cmd.path.addr != NULL && cmd.path.local != NULL);
	CHECK(in_store(&cmd, cmd.path.addr) && in_store(&cmd, cmd.path.local));
	CHECK(strlen(cmd.path.addr) < SMTP_PATH_MAX);
	CHECK(strlen(cmd.path.local) <= SMTP_LOCAL_MAX);
	if (cmd.path.null)
		CHECK(cmd.verb == SMTP_CMD_MAIL && cmd.path.addr[0] == '\0');
	if (cmd.path.domain != NULL) {
		CHECK(in_store(&cmd, cmd.path.domain));
		CHECK(smtp_domain_valid(cmd.path.domain, 1));
		CHECK(strlen(cmd.path.domain) <= SMTP_DOMAIN_MAX);
		CHECK(cmd.path.domain[strlen(cmd.path.domain) - 1] != '.');
	} else if (!cmd.path.null)
		CHECK(cmd.verb == SMTP_CMD_RCPT &&
		    strcasecmp(cmd.path.addr, "postmaster") == 0);
	if (!cmd.path.quoted && !cmd.path.null)
		CHECK(strchr(cmd.path.local, '@') == NULL);
	for (i = 0; i < strlen(cmd.path.addr); i++)
		CHECK((unsigned char)cmd.path.addr[i] >= 32 &&
		    cmd.path.addr[i] != 127);
	CHECK(cmd.nparams <= SMTP_PARAMS_MAX);
	for (i = 0; i < cmd.nparams; i++) {
		CHECK(in_store(&cmd, cmd.params[i].keyword));
		CHECK(cmd.params[i].keyword[0] != '\0');
		if (cmd.params[i].value == NULL)
			continue;
		CHECK(in_store(&cmd, cmd.params[i].value));
		CHECK(cmd.params[i].value[0] != '\0');
		for (v = (const unsigned char *)cmd.params[i].value; *v; v++)
			CHECK(*v > 32 && *v != '=' && *v != 127);
	}
}

static void
check_path(const char *s, size_t len)
{
	struct smtp_path p;
	char *store;
	size_t end = 0, sz = 2 * len + 8;

	/* Exactly the store size the contract promises is enough. */
	store = malloc(sz);
	CHECK(store != NULL);
	if (smtp_path_parse(s, len, store, sz, &p, &end) == 0) {
		CHECK(end >= 2 && end <= len && end <= SMTP_PATH_MAX);
		CHECK(s[0] == '<' && s[end - 1] == '>');
		CHECK(p.addr != NULL && p.local != NULL);
		CHECK(p.null || p.domain != NULL ||
		    strcasecmp(p.local, "postmaster") == 0);
		(void)smtp_path_relay_suspect(&p);
	}
	free(store);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char *z;
	size_t off = 0;
	struct smtp_line l;
	enum smtp_line_status st;

	check_line(buf, size, size % 67);
	check_path(buf, size);
	z = malloc(size + 1);
	CHECK(z != NULL);
	memcpy(z, data, size);
	z[size] = '\0';
	(void)smtp_domain_valid(z, size & 1);
	free(z);

	while (off < size) {
		check_line(buf + off, size - off, SMTP_CMD_LINE_MAX);
		st = smtp_line_scan(buf + off, size - off, SMTP_CMD_LINE_MAX,
		    &l);
		if (st == SMTP_LINE_PARTIAL) {
			/* What a client sends before closing still parses. */
			check_cmd(buf + off, size - off);
			break;
		}
		if (l.consumed == 0)
			break;
		if (st == SMTP_LINE_OK) {
			check_cmd(buf + off, l.len);
			if (l.len > 0 && buf[off] == '<')
				check_path(buf + off, l.len);
		}
		off += l.consumed;
	}
	return 0;
}
