/*
 * store_cfg.h: the greylist parameters and the store as a config asks for
 * them, for moatd and moatctl alike (one reading of the greylist_*, store
 * and redis_* keys, so the tool sees exactly the state the daemon writes).
 */
#ifndef MOAT_STORE_CFG_H
#define MOAT_STORE_CFG_H

#include <stddef.h>

#include "moat_conf.h"
#include "greylist.h"
#include "store.h"

/* The greylisting policy of cfg (greylist_* keys). */
void	store_cfg_grey_params(const struct config *cfg, struct grey_params *p);

/*
 * store_cfg_open: the store cfg names (store memory|redis, redis_*); the
 * Redis password file is read here, once, and wiped after use.  Returns
 * 0 with *out set (owned by the caller, store_free), or -1 with err set
 * ("redis_server X: ...", "redis_password_file F: ...").
 */
int	store_cfg_open(const struct config *cfg, struct store **out,
	    char *err, size_t errsz);

#endif
