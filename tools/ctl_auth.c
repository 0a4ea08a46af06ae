/*
 * ctl_auth.c: `moatctl authcheck`: SPF, DKIM and DMARC for message files,
 * offline, with the engine's checks (engine/sauth_check.c), printing per
 * message the results, the rule facts and the Authentication-Results
 * header moatd would add.
 *
 * Does not: ask the system resolver.  Every check needs DNS, so without
 * --dns HOST:PORT nothing is looked up and the output says which checks
 * were skipped; with it, every query goes to that server only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"
#include "engine/sauth.h"
#include "engine/sauth_check.h"

int	ctl_auth_main(int, char **);

static void
auth_usage(void)
{
	fprintf(stderr, "usage: moatctl authcheck [--dns HOST:PORT] "
	    "[--client-ip IP] [--helo H] [--mail-from A]\n"
	    "                         [--authserv-id ID] [--timeout MS] "
	    "[--deadline MS]\n"
	    "                         [--stats] FILE...\n");
	exit(2);
}

static int
slurp(const char *path, struct sbuf *sb)
{
	char buf[65536];
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(sb, buf, n);
	fclose(f);
	return 0;
}

struct lists {
	struct sauth_sites dnsbl, rhsbl, uribl;
	int		 any;
};

/* Ask a domain list about each of names[0..n), skipping repeats. */
static void
ask_domains(struct sauth_ctx *c, const struct sauth_sites *s,
    const char *kind, char names[][SAUTH_DOMAIN_MAX], int n,
    struct sbuf *facts, int *w, int *temp)
{
	int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				break;
		if (j == i && names[i][0] != '\0')
			(void)sauth_lists(c, s, kind, names[i], facts, w, temp);
	}
}

/*
 * The DNS lists for one message: the client address, the sender, HELO
 * and From domains, and the organizational domains of at most
 * SAUTH_URI_MAX URI hosts.  Prints "lists:" with the summed weights and
 * appends the list facts to facts.
 */
static void
run_lists(struct sauth_ctx *c, const struct lists *l, const char *ip,
    const char *helo, const char *mail_from, const struct sauth_results *r,
    const char *raw, size_t len, struct sbuf *facts)
{
	char names[SAUTH_URI_MAX][SAUTH_DOMAIN_MAX], host[SAUTH_DOMAIN_MAX];
	const struct msg_str *u;
	const char *at;
	struct msg *m;
	int wd = 0, wr = 0, wu = 0, temp = 0, n = 0;
	size_t nu, i;

	if (ip != NULL && l->dnsbl.n > 0)
		(void)sauth_lists(c, &l->dnsbl, "dnsbl", ip, facts, &wd, &temp);
	if (l->rhsbl.n > 0) {
		if (mail_from != NULL && (at = strrchr(mail_from, '@')) != NULL)
			snprintf(names[n++], SAUTH_DOMAIN_MAX, "%s", at + 1);
		if (helo != NULL && strchr(helo, '.') != NULL)
			snprintf(names[n++], SAUTH_DOMAIN_MAX, "%s", helo);
		if (r->from_domain[0] != '\0')
			snprintf(names[n++], SAUTH_DOMAIN_MAX, "%s",
			    r->from_domain);
		ask_domains(c, &l->rhsbl, "rhsbl", names, n, facts, &wr, &temp);
	}
	if (l->uribl.n > 0) {
		m = msg_parse(raw, len, NULL);
		u = msg_uris(m, &nu);
		for (i = 0, n = 0; i < nu && n < SAUTH_URI_MAX; i++)
			if (sauth_uri_host(u[i].p, u[i].len, host,
			    sizeof(host)) == 0 && sauth_org_domain(c, host,
			    names[n], SAUTH_DOMAIN_MAX) == 0)
				n++;
		ask_domains(c, &l->uribl, "uribl", names, n, facts, &wu, &temp);
		msg_free(m);
	}
	printf("lists: dnsbl=%d rhsbl=%d uribl=%d temperror=%d\n", wd, wr,
	    wu, temp);
}

static void
print_one(const char *path, const struct sauth_results *r, const char *id,
    struct sbuf *lfacts)
{
	struct sbuf sb = SBUF_INIT;
	int i;

	printf("%s: spf=%s spf_helo=%s", path, sauth_res_name(r->spf),
	    sauth_res_name(r->spf_helo));
	if (r->nsigs == 0)
		printf(" dkim=%s", r->dmarc == SAUTH_SKIPPED &&
		    r->spf == SAUTH_SKIPPED ? "skipped" : "none");
	for (i = 0; i < r->nsigs; i++)
		printf(" dkim=%s(d=%s)", sauth_res_name(r->sigs[i].res),
		    r->sigs[i].domain);
	printf(" dmarc=%s", sauth_res_name(r->dmarc));
	if (r->dmarc == SAUTH_FAIL)
		printf("(p=%s)", r->dmarc_policy == SAUTH_P_REJECT ? "reject" :
		    r->dmarc_policy == SAUTH_P_QUARANTINE ? "quarantine" :
		    "none");
	printf(" from=%s\n", r->from_domain[0] ? r->from_domain : "-");
	sauth_facts(r, &sb);
	if (lfacts->len > 0)
		sbuf_add(&sb, lfacts->p, lfacts->len);
	sbuf_addc(&sb, '\0');
	printf("facts:%s\n", sb.p);
	sbuf_reset(&sb);
	sauth_ar_write(id, r, &sb);
	fwrite(sb.p, 1, sb.len, stdout);
	sbuf_free(&sb);
}

int
ctl_auth_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dns", required_argument, NULL, 'd' },
		{ "client-ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'h' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "authserv-id", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "psl", required_argument, NULL, 'p' },
		{ "dnsbl", required_argument, NULL, 'D' },
		{ "rhsbl", required_argument, NULL, 'R' },
		{ "uribl", required_argument, NULL, 'U' },
		{ "stats", no_argument, NULL, 'S' },
		{ "deadline", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	struct sauth_cfg cfg = { .timeout_ms = 2000, .spf = 1, .dkim = 1,
	    .dmarc = 1 };
	const char *ip = NULL, *helo = NULL, *from = NULL, *id = "moat";
	struct sauth_results r;
	struct sauth_ctx *c;
	struct lists *l = xcalloc(1, sizeof(*l));
	struct sauth_sites *dst;
	char msg[256];
	int ch, i, rc = 0, stats = 0;
	unsigned long hits, misses;

	/* argv[0] is the first argument after "authcheck". */
	optind = 0;
	argc++;
	argv--;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			cfg.resolver = optarg;
			break;
		case 'i':
			ip = optarg;
			break;
		case 'h':
			helo = optarg;
			break;
		case 'm':
			from = optarg;
			break;
		case 'a':
			id = optarg;
			break;
		case 'p':
			cfg.psl = optarg;
			break;
		case 'D':
		case 'R':
		case 'U':
			dst = ch == 'D' ? &l->dnsbl : ch == 'R' ? &l->rhsbl :
			    &l->uribl;
			if (sauth_sites_parse(optarg, dst, msg,
			    sizeof(msg)) == -1) {
				fprintf(stderr, "moatctl: %s\n", msg);
				free(l);
				return 2;
			}
			l->any = 1;
			break;
		case 'S':
			stats = 1;
			break;
		case 'T':
			cfg.deadline_ms = strtol(optarg, NULL, 10);
			if (cfg.deadline_ms < 1)
				auth_usage();
			break;
		case 't':
			cfg.timeout_ms = strtol(optarg, NULL, 10);
			if (cfg.timeout_ms < 1)
				auth_usage();
			break;
		default:
			auth_usage();
		}
	}
	if (optind >= argc)
		auth_usage();
	if ((c = sauth_ctx_new(&cfg, msg, sizeof(msg))) == NULL) {
		fprintf(stderr, "moatctl: %s\n", msg);
		free(l);
		return 1;
	}
	if (cfg.resolver == NULL)
		printf("skipped: spf dkim dmarc (no --dns: every check needs "
		    "DNS)\n");
	else if (ip == NULL)
		printf("skipped: spf dmarc (no --client-ip)\n");
	for (i = optind; i < argc; i++) {
		struct sbuf sb = SBUF_INIT, lf = SBUF_INIT;

		if (slurp(argv[i], &sb) == -1) {
			fprintf(stderr, "moatctl: %s: cannot read\n", argv[i]);
			rc = 1;
			continue;
		}
		sauth_check(c, ip, helo, from, sb.p != NULL ? sb.p : "",
		    sb.len, &r);
		if (l->any && cfg.resolver != NULL)
			run_lists(c, l, ip, helo, from, &r,
			    sb.p != NULL ? sb.p : "", sb.len, &lf);
		print_one(argv[i], &r, id, &lf);
		sbuf_free(&sb);
		sbuf_free(&lf);
	}
	if (stats) {
		sauth_ctx_stats(c, &hits, &misses);
		printf("dkim keys: decoded=%lu reused=%lu\n", misses, hits);
	}
	sauth_ctx_free(c);
	free(l);
	return rc;
}
