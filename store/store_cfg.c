/*
 * store_cfg.c: config -> greylist parameters and store (see store_cfg.h).
 * It does not decide whether the daemon needs a store (main.c does) and
 * talks to no server: store_redis_new() only records where to connect.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_cfg.h"
#include "xmalloc.h"

void
store_cfg_grey_params(const struct config *cfg, struct grey_params *p)
{
	grey_params_default(p);
	p->v4_prefix = cfg->greylist_ipv4_prefix;
	p->v6_prefix = cfg->greylist_ipv6_prefix;
	p->use_fcrdns = cfg->greylist_fcrdns;
	p->delay_ms = cfg->greylist_delay_ms;
	p->retry_window_ms = cfg->greylist_retry_window_ms;
	p->pass_lifetime_ms = cfg->greylist_pass_lifetime_ms;
	p->awl_passes = cfg->greylist_awl_passes;
	p->awl_interval_ms = cfg->greylist_awl_interval_ms;
}

/* The Redis password: the first line of a file. */
static char *
read_secret(const char *path, char *err, size_t errsz)
{
	char buf[1024];
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "redis_password_file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

int
store_cfg_open(const struct config *cfg, struct store **out, char *err,
    size_t errsz)
{
	struct store_redis_params rp;
	struct store_mem_params mp;
	char *host = NULL, *pass = NULL, *colon;
	int rc = -1;

	if (cfg->store_kind == CFG_STORE_MEMORY) {
		memset(&mp, 0, sizeof(mp));
		mp.max_entries = (size_t)cfg->store_memory_max_entries;
		*out = store_mem_new(&mp);
		return 0;
	}
	store_redis_params_default(&rp);
	if (strncmp(cfg->redis_server, "unix:", 5) == 0)
		rp.unix_path = cfg->redis_server + 5;
	else {
		host = xstrdup(cfg->redis_server);
		if ((colon = strrchr(host, ':')) == NULL) {
			snprintf(err, errsz, "redis_server %s: want IP:PORT, "
			    "[IPV6]:PORT or unix:/path", cfg->redis_server);
			goto done;
		}
		*colon = '\0';
		rp.port = atoi(colon + 1);
		if (host[0] == '[' && colon > host && colon[-1] == ']') {
			colon[-1] = '\0';
			memmove(host, host + 1, strlen(host));
		}
		rp.host = host;
	}
	if (cfg->redis_password_file &&
	    (rp.password = pass = read_secret(cfg->redis_password_file, err,
	    errsz)) == NULL)
		goto done;
	rp.user = cfg->redis_user;
	rp.db = cfg->redis_db;
	rp.key_prefix = cfg->redis_prefix;
	rp.deadline_ms = cfg->redis_timeout_ms;
	if ((*out = store_redis_new(&rp, err, errsz)) != NULL)
		rc = 0;
done:
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		free(pass);
	}
	free(host);
	return rc;
}
