/*
 * main.c: moatd's process: options, config, listeners, privileges, worker
 * threads, signals (SIGHUP reload, SIGTERM drain), and the startup check of
 * the backend's capabilities.
 *
 * The main thread accepts connections and hands them to workers; it never
 * serves a session.  It does not parse SMTP.  Invariants: listeners are
 * bound before privileges are dropped and nothing from the network is read
 * before that; the snapshot in force (config, rules, TLS, AUTH files:
 * snapshot.c) is swapped only whole (snap_install), and only after the new
 * one loaded and validated completely.  With `user` set
 * the process splits after binding (privsep.c): this file's loop then runs
 * in the unprivileged child, whose reloads read the bytes the root parent
 * sent (ps_cb, filesrc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "bayes_live.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "smtp_reply.h"
#include "store.h"
#include "store_cfg.h"
#include "passwd.h"
#include "privsep.h"
#include "engine/eng_sauth.h"
#include "sauth_pool.h"
#include "filesrc.h"
#include "snapshot.h"
#include "upstream.h"
#include "xmalloc.h"

atomic_int		 moat_sessions;
atomic_int		 moat_draining;
struct store		*moat_store;
struct passwd_pool	*moat_passwd_pool;
struct sauth_pool	*moat_sauth_pool;

static struct event_base *main_base;
static struct evconnlistener *listeners[CFG_LISTEN_MAX];
static int		 nlisteners;
static const char	*cfg_path = SYSCONFDIR "/moat/moat.conf";
static struct event	*drain_timer, *drain_poll;
/* The socket to the root parent (privsep.c), -1 without `user`. */
static int		 ps_fd = -1;
static struct event	*ev_ps;

/* ---- sessions per client address ---------------------------------------- */

#define IPC_BUCKETS	4096

struct ipc_ent {
	struct netaddr	 a;
	int		 n;
	struct ipc_ent	*next;
};

static pthread_mutex_t	 ipc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ipc_ent	*ipc_tab[IPC_BUCKETS];

static unsigned
ipc_hash(const struct netaddr *a)
{
	unsigned h = 2166136261u;
	int i, n = a->family == AF_INET ? 4 : 16;

	for (i = 0; i < n; i++)
		h = (h ^ a->a[i]) * 16777619u;
	return h % IPC_BUCKETS;
}

static int
ipc_same(const struct netaddr *x, const struct netaddr *y)
{
	return x->family == y->family &&
	    memcmp(x->a, y->a, x->family == AF_INET ? 4 : 16) == 0;
}

int
ipcount_inc(const struct netaddr *a)
{
	unsigned h = ipc_hash(a);
	struct ipc_ent *e;
	int n;

	pthread_mutex_lock(&ipc_mu);
	for (e = ipc_tab[h]; e; e = e->next)
		if (ipc_same(&e->a, a))
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->a = *a;
		e->next = ipc_tab[h];
		ipc_tab[h] = e;
	}
	n = ++e->n;
	pthread_mutex_unlock(&ipc_mu);
	return n;
}

void
ipcount_dec(const struct netaddr *a)
{
	unsigned h = ipc_hash(a);
	struct ipc_ent *e, **pp;

	pthread_mutex_lock(&ipc_mu);
	for (pp = &ipc_tab[h]; (e = *pp) != NULL; pp = &e->next)
		if (ipc_same(&e->a, a)) {
			if (--e->n <= 0) {
				*pp = e->next;
				free(e);
			}
			break;
		}
	pthread_mutex_unlock(&ipc_mu);
}

/* ---- listeners -------------------------------------------------------- */

static int
listen_bind(const struct cfg_listen *l, int backlog)
{
	int fd, one = 1;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("listen %s: socket: %s", l->text, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1)
		fatal("listen %s: bind: %s", l->text, strerror(errno));
	if (listen(fd, backlog) == -1)
		fatal("listen %s: listen: %s", l->text, strerror(errno));
	return fd;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct handoff *h;

	(void)lev;
	if (atomic_load(&moat_draining)) {
		close(fd);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->fd = fd;
	h->listen_idx = (int)(intptr_t)arg;
	if (salen > 0 && (size_t)salen <= sizeof(h->peer))
		memcpy(&h->peer, sa, (size_t)salen);
	h->peerlen = (socklen_t)salen;
	atomic_fetch_add(&moat_sessions, 1);
	workers_dispatch(h);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	(void)arg;
	/* EMFILE and friends: log and go on; the listener stays up. */
	log_warn("accept: %s", evutil_socket_error_to_string(err));
}

/* ---- backend capability check -------------------------------------------- */

struct probe {
	struct upstream	*up;
	struct moat_snapshot *snap;
	struct event	*done;
	int		 asked;	/* sent MAIL FROM:<> to see if TLS is demanded */
};

/* The probe under way, if any: a reload's replaces it, exit frees it. */
static struct probe	*probe_cur;

static void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (probe_cur == p)
		probe_cur = NULL;
	up_free(p->up);
	event_free(p->done);
	snap_unref(p->snap);
	free(p);
}

static void
probe_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_free(arg);
}

static void
probe_cb(void *arg, enum up_event ev, const struct smtp_reply *r,
    const char *why)
{
	struct probe *p = arg;
	const struct config *cfg = p->snap->cfg;
	struct timeval tv = { 0, 0 };
	struct logline l;

	/*
	 * A backend that offers STARTTLS may demand it: with backend_tls off
	 * every MAIL would then get 530.  One MAIL FROM:<> tells (issue 12,
	 * defect 9); nothing follows it but QUIT.
	 */
	if (ev == UP_READY && cfg->backend_tls == CFG_BTLS_OFF && !p->asked &&
	    (up_ehlo(p->up)->exts & SMTP_EXT_STARTTLS)) {
		p->asked = 1;
		up_command(p->up, "MAIL FROM:<>", 0);
		return;
	}
	logline_begin(&l, "backend_check");
	logline_str(&l, "backend", cfg->backend);
	if (ev == UP_FAIL) {
		logline_str(&l, "result", "unreachable");
		logline_str(&l, "error", why);
	} else if (ev == UP_REPLY && r->code == 530) {
		logline_str(&l, "result", "tls-required");
		logline_str(&l, "error", "backend demands STARTTLS but "
		    "backend_tls is off");
		log_warn("backend %s demands STARTTLS (it answered MAIL with "
		    "530) but backend_tls is off: every transaction would be "
		    "deferred; set backend_tls on", cfg->backend);
	} else {
		const struct smtp_ehlo *e = up_ehlo(p->up);
		struct sbuf miss = SBUF_INIT;

		struct sbuf has = SBUF_INIT;

		/*
		 * 8BITMIME, SMTPUTF8 and DSN are offered to clients when the
		 * backend has them (up_backend_exts()): no mismatch, but the
		 * postmaster sees which.
		 */
		if (e->exts & SMTP_EXT_8BITMIME)
			sbuf_adds(&has, "8BITMIME,");
		if (e->exts & SMTP_EXT_SMTPUTF8)
			sbuf_adds(&has, "SMTPUTF8,");
		if (e->exts & SMTP_EXT_DSN)
			sbuf_adds(&has, "DSN,");
		if (e->exts & SMTP_EXT_CHUNKING)
			sbuf_adds(&has, "CHUNKING,");
		if (e->exts & SMTP_EXT_AUTH)
			sbuf_adds(&has, "AUTH,");
		if (has.len)
			has.p[--has.len] = '\0';
		logline_str(&l, "passthrough", has.len ? has.p : "");
		/* A smaller SIZE is announced to clients instead of ours. */
		logline_int(&l, "size", (long long)e->size);
		sbuf_free(&has);
		if (cfg->backend_identity == CFG_ID_XCLIENT &&
		    !(e->exts & SMTP_EXT_XCLIENT))
			sbuf_adds(&miss, "XCLIENT,");
		if (cfg->backend_identity == CFG_ID_XFORWARD &&
		    !(e->exts & SMTP_EXT_XFORWARD))
			sbuf_adds(&miss, "XFORWARD,");
		if (miss.len)
			miss.p[--miss.len] = '\0';
		logline_str(&l, "result", miss.len ? "mismatch" : "ok");
		logline_str(&l, "missing", miss.len ? miss.p : "");
		if (miss.len)
			log_warn("backend %s lacks what moatd offers or needs: "
			    "%s; transactions needing it are refused",
			    cfg->backend, miss.p);
		sbuf_free(&miss);
	}
	logline_emit(&l);
	evtimer_add(p->done, &tv);
}

static void
probe_backend(void)
{
	struct probe *p = xcalloc(1, sizeof(*p));

	probe_free(probe_cur);
	probe_cur = p;
	p->snap = snap_current();
	if (!p->snap->cfg->backend_check) {
		probe_cur = NULL;
		snap_unref(p->snap);
		free(p);
		return;
	}
	p->done = evtimer_new(main_base, probe_free_cb, p);
	p->up = up_new(main_base, p->snap, probe_cb, p, "probe");
	up_connect(p->up, NULL);
}

/* ---- signals ---------------------------------------------------------- */

/*
 * syslog_reachable: does a daemon listen on _PATH_LOG?  syslog(3) tries a
 * datagram socket, then a stream one; so do we.  1, or 0 with the reason.
 */
static int
syslog_reachable(char *why, size_t whysz)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sun;
	size_t i;
	int fd, ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	snprintf(why, whysz, "no socket");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0)) == -1)
			continue;
		ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (!ok)
			snprintf(why, whysz, "%s", strerror(errno));
		close(fd);
		if (ok)
			return 1;
	}
	return 0;
}

static void
log_setup(const struct config *cfg)
{
	int to_syslog = cfg->log_syslog;
	char why[128];

	/*
	 * syslog(3) drops lines silently when no daemon listens on /dev/log
	 * (a container, a minimal install): say so, and keep the lines on
	 * stderr instead (issue 17).
	 */
	if (to_syslog && !syslog_reachable(why, sizeof(why))) {
		log_init(0, cfg->log_facility, "moatd", cfg->log_json ?
		    LOG_FMT_JSON : LOG_FMT_LOGFMT);
		log_warn("log syslog: no syslog daemon at %s (%s); logging to "
		    "stderr instead", _PATH_LOG, why);
		to_syslog = 0;
	}
	log_init(to_syslog, cfg->log_facility, "moatd",
	    cfg->log_json ? LOG_FMT_JSON : LOG_FMT_LOGFMT);
}

/*
 * do_reload: a new snapshot from the files, or from the bytes the root
 * parent sent (filesrc.c) under privilege separation; the old one stays
 * unless all of it loads.
 */
static void
do_reload(void)
{
	char err[1024], diff[512];
	struct moat_snapshot *ns, *old;

	if ((ns = snap_build(cfg_path, err, sizeof(err))) == NULL) {
		log_warn("reload refused, the old configuration and rules stay "
		    "in force: %s", err);
		metrics_reload(0, time(NULL));
		return;
	}
	old = snap_current();
	cfg_restart_diff(old->cfg, ns->cfg, diff, sizeof(diff));
	if (diff[0])
		log_warn("reload: %s changed; that takes a restart, the "
		    "running value stays", diff);
	snap_unref(old);
	snap_install(snap_ref(ns));
	log_setup(ns->cfg);
	log_info("reload: configuration %s in force", cfg_path);
	metrics_reload(1, time(NULL));
	policy_log_stats(ns->rules);
	policy_start_hs(ns->cfg, ns->rules);
	snap_unref(ns);
	/* The backend may have changed: learn its extensions anew. */
	up_backend_forget();
	probe_backend();
}

static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	/* The parent reads the files as root and sends them (ps_cb). */
	if (ps_fd != -1) {
		if (privsep_request_reload(ps_fd) == -1)
			log_warn("reload: cannot reach the privileged parent: "
			    "%s", strerror(errno));
		return;
	}
	do_reload();
}

static void	term_cb(evutil_socket_t, short, void *);

/* ps_cb: a message from the root parent, or its end (then drain). */
static void
ps_cb(evutil_socket_t fd, short what, void *arg)
{
	char err[256];
	int r;

	(void)what;
	(void)arg;
	if ((r = privsep_recv(fd, err, sizeof(err))) == 1) {
		do_reload();
		filesrc_clear();
		return;
	}
	if (r == -1)
		log_warn("privsep: from the parent: %s", err);
	else
		log_info("privsep: the parent has gone or asks to stop");
	event_del(ev_ps);
	term_cb(SIGTERM, 0, NULL);
}

static void
drain_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (atomic_load(&moat_sessions) == 0)
		event_base_loopexit(main_base, NULL);
}

static void
drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_info("drain deadline reached: closing %d session(s)",
	    atomic_load(&moat_sessions));
	workers_stop(2);
	event_base_loopexit(main_base, NULL);
}

static void
term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct config *cfg = cfg_current();
	struct timeval tv, poll = { 0, 100000 };
	int i;

	(void)what;
	(void)arg;
	if (atomic_exchange(&moat_draining, 1)) {
		cfg_unref(cfg);
		return;
	}
	for (i = 0; i < nlisteners; i++) {
		evconnlistener_free(listeners[i]);
		listeners[i] = NULL;
	}
	log_info("signal %d: no longer accepting; draining %d session(s) "
	    "for up to %ld ms", (int)sig, atomic_load(&moat_sessions),
	    cfg->drain_timeout_ms);
	workers_stop(1);
	tv.tv_sec = cfg->drain_timeout_ms / 1000;
	tv.tv_usec = (cfg->drain_timeout_ms % 1000) * 1000;
	drain_timer = evtimer_new(main_base, drain_deadline_cb, NULL);
	evtimer_add(drain_timer, &tv);
	drain_poll = event_new(main_base, -1, EV_PERSIST, drain_poll_cb, NULL);
	event_add(drain_poll, &poll);
	cfg_unref(cfg);
}

/* ---- libevent's own messages ---------------------------------------------- */

/* libevent and evdns print to stderr unless told; keep one log format. */
static void
libevent_log_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_trace(LOG_T_IO, "libevent: %s", msg);
}

static void
evdns_log_cb(int is_warn, const char *msg)
{
	if (is_warn)
		log_warn("resolver: %s", msg);
	else
		log_trace(LOG_T_IO, "resolver: %s", msg);
}

/* ---- the greylist store ------------------------------------------------- */

/*
 * store_setup: the store greylisting, rate limits and AUTH failure counts
 * use, made once (store, redis_* are RESTART keys); NULL when none of
 * them is on.
 */
static struct store *
store_setup(const struct config *cfg)
{
	struct store *st;
	char err[512];
	int i, auth = 0;

	for (i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].auth != CFG_AUTH_OFF)
			auth = 1;
	if (!cfg->greylist && cfg->ratelimit_conn_per_ip.n == 0 &&
	    cfg->ratelimit_msg_per_ip.n == 0 &&
	    cfg->ratelimit_rcpt_per_sender.n == 0 &&
	    cfg->ratelimit_msg_per_user.n == 0 && !auth)
		return NULL;
	/* The password file is read here, before dropping privileges. */
	if (store_cfg_open(cfg, &st, err, sizeof(err)) == -1)
		fatal("store: %s", err);
	return st;
}

/* ---- privileges --------------------------------------------------------- */


/*
 * dir_usable_by: may a process running as uid/gid (no supplementary
 * groups: privsep_drop sets none) create files in dir?  It needs search
 * permission on every parent and write and search on dir itself.  Checked
 * from the modes rather than with access(2), because -t and the start run
 * as root, for whom access() says yes to everything.  0, or -1 with the
 * reason in err.
 */
static int
dir_usable_by(const char *dir, uid_t uid, gid_t gid, char *err, size_t errsz)
{
	char path[PATH_MAX], *p;
	struct stat st;
	mode_t need;
	int last;

	if (strlen(dir) >= sizeof(path) || dir[0] == '\0') {
		snprintf(err, errsz, "bad path");
		return -1;
	}
	memcpy(path, dir, strlen(dir) + 1);
	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0' || p[1] == '\0';
		*p = '\0';
		if (stat(path, &st) == -1) {
			snprintf(err, errsz, "%.300s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (last && !S_ISDIR(st.st_mode)) {
			snprintf(err, errsz, "not a directory");
			return -1;
		}
		need = last ? 03 : 01;	/* wx on dir, x on its parents */
		if (uid != 0 && !(st.st_uid == uid ?
		    ((st.st_mode >> 6) & need) == need : st.st_gid == gid ?
		    ((st.st_mode >> 3) & need) == need :
		    (st.st_mode & need) == need)) {
			snprintf(err, errsz, "%.300s: mode %04o owner %ld:%ld "
			    "lets uid %ld gid %ld no %s", path,
			    (unsigned)(st.st_mode & 07777), (long)st.st_uid,
			    (long)st.st_gid, (long)uid, (long)gid,
			    last ? "write" : "search");
			return -1;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/*
 * check_runtime: what the running daemon will need beyond a valid file
 * (issue 17): the user exists, and spool_dir and hyperscan_cache are
 * directories that user can write.  Run by -t (the unit's ExecStartPre and
 * ExecReload) and at start, so a config -t passes does not then die after
 * the drop (and get restarted by systemd every 2 s).  The rule files are
 * checked by policy_load.  0, or -1 with err set.
 */
static int
check_runtime(const struct config *cfg, char *err, size_t errsz)
{
	struct passwd *pw = NULL;
	char why[512];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (cfg->user != NULL) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, errsz, "user %s: no such user",
			    cfg->user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (dir_usable_by(cfg->spool_dir, uid, gid, why, sizeof(why)) == -1) {
		snprintf(err, errsz, "spool_dir %s: not usable%s%s: %s",
		    cfg->spool_dir, pw ? " by user " : "", pw ? cfg->user : "",
		    why);
		return -1;
	}
	if (cfg->hyperscan && cfg->hyperscan_cache != NULL &&
	    dir_usable_by(cfg->hyperscan_cache, uid, gid, why,
	    sizeof(why)) == -1) {
		snprintf(err, errsz, "hyperscan_cache %s: not usable%s%s: %s",
		    cfg->hyperscan_cache, pw ? " by user " : "",
		    pw ? cfg->user : "", why);
		return -1;
	}
	return 0;
}

static void
write_pidfile(const char *path)
{
	FILE *f;

	if (path == NULL)
		return;
	if ((f = fopen(path, "w")) == NULL)
		fatal("pidfile %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

static void
usage_to(FILE *f, int status)
{
	fprintf(f, "usage: moatd [-t] [-c config] [-T trace] "
	    "[--dump-config] [-V|--version] [-h|--help]\n"
	    "  -c FILE        configuration file (default %s)\n"
	    "  -t             check the configuration and exit\n"
	    "  -T LIST        trace subsystems: io,smtp,backend,config,rules,"
	    "engine,all\n"
	    "  --dump-config  print the effective configuration and exit\n"
	    "  -V, --version  print the version and exit\n"
	    "  -h, --help     print this and exit\n"
	    "See moatd(8).\n", cfg_path);
	exit(status);
}

static void
usage(void)
{
	usage_to(stderr, 2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dump-config", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct moat_snapshot *snap;
	struct config *cfg;
	char err[1024];
	int ch, test = 0, dump = 0, trace = 0, i, nw;
	struct event *ev_hup, *ev_term, *ev_int;
	sigset_t early_sigs;

	while ((ch = getopt_long(argc, argv, "c:tT:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg_path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			if ((trace = log_trace_parse(optarg)) == -1)
				usage();
			break;
		case 'D':
			dump = 1;
			break;
		case 'V':
			printf("moatd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage_to(stdout, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(0, LOG_MAIL, "moatd", LOG_FMT_LOGFMT);
	log_set_trace((unsigned)trace);
	if ((snap = snap_build(cfg_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "moatd: %s\n", err);
		return 1;
	}
	cfg = snap->cfg;	/* snap's, for as long as snap is held */
	if (check_runtime(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "moatd: %s: %s\n", cfg_path, err);
		snap_unref(snap);
		return 1;
	}
	if (test) {
		printf("moatd: configuration %s is valid", cfg_path);
		if (snap->rules)
			printf(" (%zu rules)", rule_set_count(snap->rules));
		printf("\n");
		snap_unref(snap);
		return 0;
	}
	if (dump) {
		cfg_dump(cfg, STDOUT_FILENO);
		snap_unref(snap);
		return 0;
	}
	log_setup(cfg);
	event_set_log_callback(libevent_log_cb);
	evdns_set_log_fn(evdns_log_cb);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() == -1)
		fatal("libevent: no thread support");
	/*
	 * From the first listen until libevent's handlers are in place
	 * (below), SIGHUP, SIGTERM and SIGINT wait instead of killing the
	 * daemon with their default action: a client may already connect
	 * and a supervisor signal.  Threads started meanwhile inherit the
	 * mask, so the main thread alone takes them.  (With `user`, the
	 * privsep child unblocks them itself, as before.)
	 */
	sigemptyset(&early_sigs);
	sigaddset(&early_sigs, SIGHUP);
	sigaddset(&early_sigs, SIGTERM);
	sigaddset(&early_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &early_sigs, NULL);
	/* Bind while still privileged (ports < 1024), then drop. */
	{
		int fds[CFG_LISTEN_MAX];

		for (i = 0; i < cfg->nlisten; i++)
			fds[i] = listen_bind(&cfg->listen[i],
			    cfg->listen_backlog);
		write_pidfile(cfg->pidfile);
		moat_store = store_setup(cfg);
		/*
		 * With a user to drop to, a root parent stays behind to read
		 * secrets on reload (privsep.c); it never returns.  Fork
		 * before any thread starts.
		 */
		if (cfg->user != NULL)
			ps_fd = privsep_split(cfg_path, cfg->pidfile, fds,
			    cfg->nlisten);
		privsep_drop(cfg->user);
		/* Password hashes run here, never on a worker's loop. */
		if ((moat_passwd_pool = passwd_pool_new(cfg->auth_threads,
		    1024)) == NULL)
			fatal("auth: cannot start the hashing threads");
		moat_sauth_pool = eng_sauth_pool_setup(cfg);
		if (access(cfg->spool_dir, W_OK | X_OK) == -1)
			fatal("spool_dir %s: not writable%s%s: %s",
			    cfg->spool_dir, cfg->user ? " by user " : "",
			    cfg->user ? cfg->user : "", strerror(errno));

		snap_install(snap_ref(snap));
		nw = cfg->workers > 0 ? cfg->workers :
		    (int)sysconf(_SC_NPROCESSORS_ONLN);
		if (nw < 1)
			nw = 1;
		workers_start(nw);

		if ((main_base = event_base_new()) == NULL)
			fatal("event_base_new failed");
		for (i = 0; i < cfg->nlisten; i++) {
			/*
			 * 0: the socket already listens with listen_backlog;
			 * libevent would call listen(2) again with 128 for -1.
			 */
			listeners[i] = evconnlistener_new(main_base, accept_cb,
			    (void *)(intptr_t)i, LEV_OPT_CLOSE_ON_FREE, 0,
			    fds[i]);
			if (listeners[i] == NULL)
				fatal("listen %s: evconnlistener failed",
				    cfg->listen[i].text);
			evconnlistener_set_error_cb(listeners[i],
			    accept_error_cb);
			log_info("listening on %s (%s)%s", cfg->listen[i].text,
			    cfg->listen[i].name,
			    cfg->listen[i].proxy_accept ? " with PROXY" : "");
		}
		nlisteners = cfg->nlisten;
		metrics_build_info(PACKAGE_VERSION);
		metrics_reload(-1, time(NULL));
		if (cfg->metrics_listen != NULL) {
			char merr[512];

			if (metrics_start(main_base, cfg->metrics_listen, merr,
			    sizeof(merr)) == -1)
				fatal("%s", merr);
			log_info("metrics on http://%s/metrics",
			    cfg->metrics_listen);
		}
	}
	log_info("moatd %s started: %d worker(s), backend %s",
	    PACKAGE_VERSION, nw, cfg->backend);
	policy_log_stats(snap->rules);
	policy_start_hs(cfg, snap->rules);
	snap_unref(snap);

	ev_hup = evsignal_new(main_base, SIGHUP, reload_cb, NULL);
	ev_term = evsignal_new(main_base, SIGTERM, term_cb, NULL);
	ev_int = evsignal_new(main_base, SIGINT, term_cb, NULL);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	pthread_sigmask(SIG_UNBLOCK, &early_sigs, NULL);
	if (ps_fd != -1) {
		ev_ps = event_new(main_base, ps_fd, EV_READ | EV_PERSIST,
		    ps_cb, NULL);
		event_add(ev_ps, NULL);
	}
	probe_backend();

	event_base_dispatch(main_base);

	probe_free(probe_cur);
	workers_stop(atomic_load(&moat_sessions) ? 2 : 1);
	workers_join();
	bayes_live_shutdown();
	passwd_pool_free(moat_passwd_pool);
	sauth_pool_free(moat_sauth_pool);
	store_free(moat_store);
	for (i = 0; i < nlisteners; i++)
		if (listeners[i])
			evconnlistener_free(listeners[i]);
	metrics_stop();
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	if (ev_ps) {
		event_free(ev_ps);
		close(ps_fd);
	}
	if (drain_timer)
		event_free(drain_timer);
	if (drain_poll)
		event_free(drain_poll);
	event_base_free(main_base);
	cfg = cfg_current();
	/* Under privsep the parent, which wrote it, removes it. */
	if (cfg->pidfile && ps_fd == -1)
		unlink(cfg->pidfile);
	cfg_unref(cfg);
	snap_install(NULL);
	log_info("moatd stopped");
	return 0;
}
