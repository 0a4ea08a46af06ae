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

#include "clock.h"
#include "msg.h"
#include "sbuf.h"
#include "xmalloc.h"
#include "engine/sauth.h"
#include "engine/sauth_check.h"
#include "engine/sauth_pool.h"

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

/* The list options as written; each job parses its own copy. */
struct lists {
	const char	*dnsbl, *rhsbl, *uribl;
	int		 any;
};

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
	struct sauth_ctx *c;
	struct lists *l = xcalloc(1, sizeof(*l));
	struct sauth_sites chk;
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
			*(ch == 'D' ? &l->dnsbl : ch == 'R' ? &l->rhsbl :
			    &l->uribl) = optarg;
			if (sauth_sites_parse(optarg, &chk, msg,
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
		struct sbuf sb = SBUF_INIT;
		struct sauth_job *j;
		const struct msg_str *u;
		struct msg *m;
		size_t nu;

		if (slurp(argv[i], &sb) == -1) {
			fprintf(stderr, "moatctl: %s: cannot read\n", argv[i]);
			rc = 1;
			continue;
		}
		/* One job, as the engine's steps make them per stage. */
		j = sauth_job_new(SAUTH_DO_SPF | SAUTH_DO_MSG | (l->any &&
		    cfg.resolver != NULL ? SAUTH_DO_DNSBL | SAUTH_DO_RHSBL |
		    SAUTH_DO_URIBL : 0));
		sauth_job_set(j, ip, helo, from, sb.p != NULL ? sb.p : "",
		    sb.len);
		if (cfg.deadline_ms > 0)
			j->deadline = clock_mono_ms() + cfg.deadline_ms;
		/* Parsed above already: these cannot fail. */
		(void)sauth_job_sites(j, SAUTH_DO_DNSBL, l->dnsbl, msg,
		    sizeof(msg));
		(void)sauth_job_sites(j, SAUTH_DO_RHSBL, l->rhsbl, msg,
		    sizeof(msg));
		(void)sauth_job_sites(j, SAUTH_DO_URIBL, l->uribl, msg,
		    sizeof(msg));
		if (j->uribl != NULL) {
			m = msg_parse(j->msg, j->len, NULL);
			u = msg_uris(m, &nu);
			sauth_job_uris(j, u, nu);
			msg_free(m);
		}
		sauth_job_run(c, j);
		if (j->what & SAUTH_DO_DNSBL)
			printf("lists: dnsbl=%d rhsbl=%d uribl=%d "
			    "temperror=%d\n", j->dnsbl_w, j->rhsbl_w,
			    j->uribl_w, j->list_temp);
		print_one(argv[i], &j->res, id, j->facts);
		sauth_job_free(j);
		sbuf_free(&sb);
	}
	if (stats) {
		sauth_ctx_stats(c, &hits, &misses);
		printf("dkim keys: decoded=%lu reused=%lu\n", misses, hits);
	}
	sauth_ctx_free(c);
	free(l);
	return rc;
}
