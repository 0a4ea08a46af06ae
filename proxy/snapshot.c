/*
 * snapshot.c: the reference-counted snapshot moatd serves with (see
 * snapshot.h): config, rule set, TLS contexts, password file, sender map,
 * built together and swapped together.
 *
 * It is the one place that knows how to build and free each runtime
 * object, so struct config carries no pointers to them and no release
 * hooks: conf/ stays a parser that links none of rules/, auth/ or TLS.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moat_conf.h"
#include "passwd.h"
#include "policy.h"
#include "rule.h"
#include "sender_map.h"
#include "snapshot.h"
#include "tls.h"
#include "xmalloc.h"

static pthread_mutex_t		 snap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct moat_snapshot	*snap_cur;

/*
 * snap_tls: the server context for the listeners that use TLS and the
 * client context toward the backend (so a reload swaps certificates with
 * everything else, and a bad one refuses the whole reload).
 */
static int
snap_tls(struct moat_snapshot *s, char *err, size_t errsz)
{
	const struct config *cfg = s->cfg;
	struct tls_server_params p;
	char e[512];
	int i, need = 0;

	if (cfg->backend_tls != CFG_BTLS_OFF) {
		struct tls_client_params cp;

		memset(&cp, 0, sizeof(cp));
		cp.ca_file = cfg->backend_tls_ca;
		cp.verify_name = cfg->backend_tls_name;
		if ((s->backend_tls = tls_client_new(&cp, e,
		    sizeof(e))) == NULL) {
			snprintf(err, errsz, "%s: backend_tls: %s", cfg->path,
			    e);
			return -1;
		}
	}
	for (i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].tls != CFG_TLS_OFF)
			need = 1;
	if (!need)
		return 0;
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
		snprintf(err, errsz, "%s: a listener has tls= but tls_cert and "
		    "tls_key are not both set", cfg->path);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.cert_file = cfg->tls_cert;
	p.key_file = cfg->tls_key;
	p.min_version = cfg->tls_min_version;
	p.ciphers = cfg->tls_ciphers;
	if ((s->tls = tls_server_new(&p, e, sizeof(e))) == NULL) {
		snprintf(err, errsz, "%s: tls: %s", cfg->path, e);
		return -1;
	}
	return 0;
}

/* snap_auth: the credential file and the sender map (never per session). */
static int
snap_auth(struct moat_snapshot *s, char *err, size_t errsz)
{
	const struct config *cfg = s->cfg;
	int i, need = 0;

	for (i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].auth != CFG_AUTH_OFF)
			need = 1;
	if (need && cfg->passwd == NULL && cfg->auth_backend ==
	    CFG_AUTHBE_PASSWD) {
		snprintf(err, errsz, "%s: a listener has auth= but passwd is "
		    "not set", cfg->path);
		return -1;
	}
	if (cfg->passwd && passwd_db_load(cfg->passwd, &s->passwd_db, err,
	    errsz) == -1)
		return -1;
	if (cfg->sender_login_map && sender_map_load(cfg->sender_login_map,
	    &s->sender_map, err, errsz) == -1)
		return -1;
	return 0;
}

struct moat_snapshot *
snap_new(struct config *cfg, char *err, size_t errsz)
{
	struct moat_snapshot *s;

	if (cfg == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->cfg = cfg;
	if (policy_load(cfg, &s->rules, err, errsz) == -1 ||
	    snap_tls(s, err, errsz) == -1 || snap_auth(s, err, errsz) == -1) {
		snap_unref(s);
		return NULL;
	}
	return s;
}

struct moat_snapshot *
snap_build(const char *path, char *err, size_t errsz)
{
	return snap_new(cfg_load(path, err, errsz), err, errsz);
}

struct moat_snapshot *
snap_ref(struct moat_snapshot *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void
snap_unref(struct moat_snapshot *s)
{
	if (s == NULL)
		return;
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	rule_set_unref(s->rules);
	tls_server_unref(s->tls);
	tls_client_unref(s->backend_tls);
	passwd_db_free(s->passwd_db);
	sender_map_free(s->sender_map);
	cfg_unref(s->cfg);
	free(s);
}

struct moat_snapshot *
snap_current(void)
{
	struct moat_snapshot *s;

	pthread_mutex_lock(&snap_mu);
	s = snap_cur ? snap_ref(snap_cur) : NULL;
	pthread_mutex_unlock(&snap_mu);
	return s;
}

void
snap_install(struct moat_snapshot *s)
{
	struct moat_snapshot *old;

	pthread_mutex_lock(&snap_mu);
	old = snap_cur;
	snap_cur = s;
	pthread_mutex_unlock(&snap_mu);
	snap_unref(old);
}

struct config *
cfg_current(void)
{
	struct config *c = NULL;

	pthread_mutex_lock(&snap_mu);
	if (snap_cur)
		c = cfg_ref(snap_cur->cfg);
	pthread_mutex_unlock(&snap_mu);
	return c;
}
