/*
 * sender_map.c: which envelope senders a login may use (see sender_map.h).
 *
 * Purpose: let an authenticated user relay, but only as themselves, so a
 * stolen or shared password cannot send as the CEO.
 *
 * Deliberately not done here: no SMTP replies, no logging, no re-reading
 * (the config reloads it as a whole); no address parsing beyond splitting
 * at the last '@' (the session hands over what smtp_cmd already parsed).
 *
 * Invariants: immutable after load; logins sorted and unique, so lookup is
 * a binary search; entries stored as written, compared with ASCII case
 * folding only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filesrc.h"
#include "sbuf.h"
#include "sender_map.h"
#include "smtp_cmd.h"
#include "xmalloc.h"

#define SM_ANY	"*"

struct sm_login {
	char	 *login;
	char	**ent;		/* "addr", "@domain" or "*" */
	size_t	  nent;
};

struct sender_map {
	struct sm_login	*l;
	size_t		 n;
};

static int
login_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sm_login *)a)->login,
	    ((const struct sm_login *)b)->login);
}

/* 0 if e (NUL-terminated) is a valid entry, else -1 with *why. */
static int
entry_ok(const char *e, const char **why)
{
	const char *at;

	if (strcmp(e, SM_ANY) == 0)
		return 0;
	at = strrchr(e, '@');
	if (at == NULL) {
		*why = "entry is not an address, @domain or *";
		return -1;
	}
	if (!smtp_domain_valid(at + 1, 1) || at[1] == '[') {
		*why = "invalid domain in entry";
		return -1;
	}
	if (at != e && memchr(e, '@', (size_t)(at - e)) != NULL) {
		*why = "more than one '@' in entry";
		return -1;
	}
	return 0;
}

static struct sm_login *
find_or_add(struct sender_map *m, const char *login, size_t *alloc)
{
	size_t i;

	/* Loading is not hot; a linear search keeps insertion simple. */
	for (i = 0; i < m->n; i++)
		if (strcmp(m->l[i].login, login) == 0)
			return &m->l[i];
	if (m->n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 16;
		m->l = xreallocarray(m->l, *alloc, sizeof(*m->l));
	}
	memset(&m->l[m->n], 0, sizeof(m->l[m->n]));
	m->l[m->n].login = xstrdup(login);
	return &m->l[m->n++];
}

static int
is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

/* One line, NUL-terminated, without its end; 0 or -1 with *why. */
static int
parse_line(struct sender_map *m, char *p, size_t *alloc, const char **why)
{
	struct sm_login *l;
	char *login, *tok;
	size_t i;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	login = p;
	while (*p != '\0' && !is_sep(*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	if (strlen(login) > SMTP_PATH_MAX) {
		*why = "login too long";
		return -1;
	}
	for (i = 0; login[i] != '\0'; i++)
		if ((unsigned char)login[i] < ' ' || login[i] == 0x7f) {
			*why = "control character in login";
			return -1;
		}
	l = NULL;
	for (;;) {
		while (is_sep(*p))
			p++;
		if (*p == '\0')
			break;
		tok = p;
		while (*p != '\0' && !is_sep(*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		if (entry_ok(tok, why) == -1)
			return -1;
		if (l == NULL)
			l = find_or_add(m, login, alloc);
		l->ent = xreallocarray(l->ent, l->nent + 1, sizeof(*l->ent));
		l->ent[l->nent++] = xstrdup(tok);
	}
	if (l == NULL) {
		*why = "login without any sender address";
		return -1;
	}
	return 0;
}

int
sender_map_parse(const char *text, size_t len, const char *name,
    struct sender_map **out, char *err, size_t errlen)
{
	struct sender_map *m = xcalloc(1, sizeof(*m));
	const char *p = text, *end = text + len, *nl, *why;
	size_t alloc = 0, n;
	char *line;
	int lineno = 0;

	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > SENDER_MAP_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line too long", name,
			    lineno);
			goto fail;
		}
		if (memchr(p, '\0', n) != NULL) {
			snprintf(err, errlen, "%s:%d: NUL byte in line", name,
			    lineno);
			goto fail;
		}
		line = xstrndup(p, n);
		if (parse_line(m, line, &alloc, &why) == -1) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			free(line);
			goto fail;
		}
		free(line);
		p = nl ? nl + 1 : end;
	}
	if (m->n > 0)
		qsort(m->l, m->n, sizeof(*m->l), login_cmp);
	*out = m;
	return 0;
fail:
	sender_map_free(m);
	return -1;
}

int
sender_map_load(const char *path, struct sender_map **out, char *err,
    size_t errlen)
{
	struct sbuf b = SBUF_INIT;
	char buf[8192];
	size_t n;
	FILE *fp;
	int rc;

	if ((fp = filesrc_fopen(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(&b, buf, n);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		sbuf_free(&b);
		return -1;
	}
	fclose(fp);
	rc = sender_map_parse(b.p ? b.p : "", b.len, path, out, err, errlen);
	sbuf_free(&b);
	return rc;
}

void
sender_map_free(struct sender_map *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		for (j = 0; j < m->l[i].nent; j++)
			free(m->l[i].ent[j]);
		free(m->l[i].ent);
		free(m->l[i].login);
	}
	free(m->l);
	free(m);
}

/* Does one entry cover sender?  sat: sender's last '@' (or NULL). */
static int
entry_match(const char *e, const char *sender, const char *sat)
{
	if (strcmp(e, SM_ANY) == 0)
		return 1;
	if (sat == NULL)
		return 0;
	if (e[0] == '@')
		return strcasecmp(e + 1, sat + 1) == 0;
	return strcasecmp(e, sender) == 0;
}

int
sender_map_allowed(const struct sender_map *m, const char *login,
    const char *sender)
{
	const struct sm_login *l;
	struct sm_login key;
	const char *sat;
	size_t i;

	/* <>: no address to impersonate. */
	if (sender[0] == '\0')
		return 1;
	sat = strrchr(sender, '@');
	if (sat != NULL && sat != sender && strcasecmp(login, sender) == 0 &&
	    strchr(login, '@') != NULL)
		return 1;
	if (m == NULL || m->n == 0)
		return 0;
	key.login = (char *)login;
	l = bsearch(&key, m->l, m->n, sizeof(*m->l), login_cmp);
	if (l == NULL)
		return 0;
	for (i = 0; i < l->nent; i++)
		if (entry_match(l->ent[i], sender, sat))
			return 1;
	return 0;
}
