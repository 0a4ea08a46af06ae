/*
 * snapshot.h: what moatd serves with, as one reference-counted whole: the
 * parsed config and the runtime objects built from it (the compiled rule
 * set, the TLS contexts, the password file, the sender-login map).
 *
 * A reload builds a complete new snapshot (snap_build) or nothing: a bad
 * config, rule file, certificate or password file is refused with its
 * "FILE:LINE: reason" and the snapshot in force keeps serving.  The new one
 * is swapped in whole (snap_install); each session takes a reference to
 * the one in force when it starts (snap_current) and drops it when it
 * ends, so a session never sees half of one config and half of another.
 * A snapshot is never written after snap_build returns, except its count.
 */
#ifndef MOAT_SNAPSHOT_H
#define MOAT_SNAPSHOT_H

#include <stddef.h>

struct config;
struct rule_set;
struct tls_server;
struct tls_client;
struct passwd_db;
struct sender_map;

struct moat_snapshot {
	int			 refs;	/* snap_ref/snap_unref, atomic */
	struct config		*cfg;	/* one reference, owned */
	struct rule_set		*rules;	/* NULL: no rules configured */
	struct tls_server	*tls;	/* NULL: no listener has tls= */
	struct tls_client	*backend_tls;	/* NULL: backend_tls off */
	struct passwd_db	*passwd_db;	/* NULL: no passwd file */
	struct sender_map	*sender_map;	/* NULL: no sender map */
};

/*
 * snap_build: read path (cfg_load) and build everything it names.  A new
 * snapshot with one reference, or NULL with "FILE[:LINE]: reason" in err.
 */
struct moat_snapshot *snap_build(const char *path, char *err, size_t errsz);

/*
 * snap_new: the same from a parsed config; takes over the caller's
 * reference to cfg, also on failure (NULL, err set).
 */
struct moat_snapshot *snap_new(struct config *cfg, char *err, size_t errsz);

struct moat_snapshot *snap_ref(struct moat_snapshot *);
void	snap_unref(struct moat_snapshot *);	/* frees at zero; NULL ok */

/*
 * The snapshot in force, shared by every thread.  snap_current: a new
 * reference to it (NULL before the first install); the caller must
 * snap_unref() it.  snap_install: make s the one in force, taking over the
 * caller's reference (NULL: none); the old one lives on until the last
 * session holding it ends.
 */
struct moat_snapshot *snap_current(void);
void	snap_install(struct moat_snapshot *s);

/* cfg_current: a new reference to the config in force (cfg_unref it). */
struct config *cfg_current(void);

#endif
