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
	    "FILE...\n");
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

static void
print_one(const char *path, const struct sauth_results *r, const char *id)
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
		{ NULL, 0, NULL, 0 }
	};
	struct sauth_cfg cfg = { .timeout_ms = 2000, .spf = 1, .dkim = 1,
	    .dmarc = 1 };
	const char *ip = NULL, *helo = NULL, *from = NULL, *id = "moat";
	struct sauth_results r;
	struct sauth_ctx *c;
	char msg[256];
	int ch, i, rc = 0;

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
		return 1;
	}
	if (cfg.resolver == NULL)
		printf("skipped: spf dkim dmarc (no --dns: every check needs "
		    "DNS)\n");
	else if (ip == NULL)
		printf("skipped: spf dmarc (no --client-ip)\n");
	for (i = optind; i < argc; i++) {
		struct sbuf sb = SBUF_INIT;

		if (slurp(argv[i], &sb) == -1) {
			fprintf(stderr, "moatctl: %s: cannot read\n", argv[i]);
			rc = 1;
			continue;
		}
		sauth_check(c, ip, helo, from, sb.p != NULL ? sb.p : "",
		    sb.len, &r);
		print_one(argv[i], &r, id);
		sbuf_free(&sb);
	}
	sauth_ctx_free(c);
	return rc;
}
