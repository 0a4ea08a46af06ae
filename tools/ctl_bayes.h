/*
 * ctl_bayes.h: moatctl's Bayes commands (tools/ctl_bayes.c) and what
 * `moatctl scan` needs of them.
 */
#ifndef MOAT_CTL_BAYES_H
#define MOAT_CTL_BAYES_H

#include <stddef.h>

#include "bayes.h"
#include "bayes_db.h"
#include "bayes_tok.h"
#include "sbuf.h"

/* moatctl learn --spam|--ham|--forget [-c CFG] [--bayes-db DIR] FILE... */
int	ctl_learn(int argc, char **argv);
/* moatctl bayes stats|dump|restore|tokens [-c CFG] [--bayes-db DIR] ... */
int	ctl_bayes(int argc, char **argv);

/*
 * For scan: open dir (or, when dir is NULL, cfg's bayes_path; cfg may be
 * NULL for the default config) read only, and fill *p from cfg's
 * bayes_min_* keys.  Exits with a message naming the file on failure.
 */
struct bayes_db	*ctl_bayes_open_ro(const char *dir, const char *cfg,
		    struct bayes_params *p);

/* Does the config at path say `bayes on`?  Exits on a bad config. */
int	ctl_bayes_on(const char *path);

/* In moatctl.c: the file reader and the FILE|DIR|maildir walker. */
int	ctl_read_file(const char *path, struct sbuf *out);
void	ctl_collect(const char *path, char ***v, size_t *n);

#endif
