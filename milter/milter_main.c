/*
 * milter_main.c: moat-milter's process (issue 15): options, the config
 * snapshot, privileges, the libmilter socket, reload and drain.
 *
 * libmilter owns SIGHUP, SIGTERM and SIGINT in the process that runs
 * smfi_main (its signal thread stops the filter on any of them), so a
 * reload cannot be a SIGHUP to that process.  moat-milter therefore always
 * splits as moatd does with `user` (privsep.c): the parent keeps the
 * signals, reads the config (and, as root, the secrets it names) on SIGHUP
 * and sends the bytes; the child runs libmilter and the engine thread,
 * which rebuilds its snapshot from them, or refuses a bad one and keeps
 * the old.  SIGTERM to the parent closes the socket: the child stops
 * accepting (smfi_stop) and lets the connections in progress finish, up
 * to drain_timeout.  Signal the parent (systemd's MAINPID), never the
 * child.
 *
 * What it does not do: the callbacks (milter_cb.c), the engine thread
 * (milter_bridge.c), any decision (milter_eng.c).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "clock.h"
#include "moat_conf.h"
#include "log.h"
#include "milter.h"
#include "policy.h"
#include "privsep.h"
#include "rule.h"
#include "snapshot.h"

static const char *cfg_path = SYSCONFDIR "/moat/moat.conf";

static void
usage_to(FILE *f, int status)
{
	fprintf(f, "usage: moat-milter [-t] [-c config] [-T trace] "
	    "[--dump-config] [-V|--version] [-h|--help]\n"
	    "  -c FILE        configuration file (default %s)\n"
	    "  -t             check the configuration and exit\n"
	    "  -T LIST        trace subsystems: config,rules,all\n"
	    "  --dump-config  print the effective configuration and exit\n"
	    "  -V, --version  print the version and exit\n"
	    "  -h, --help     print this and exit\n"
	    "See moat-milter(8).\n", cfg_path);
	exit(status);
}

/*
 * The unix socket's file goes to the user moat-milter runs as, mode 0660:
 * the MTA's user must be in that user's group (contrib/postfix.md).
 */
static void
socket_owner(const char *conn, const char *user)
{
	const char *path;
	struct passwd *pw;

	if (strncmp(conn, "unix:", 5) != 0 && strncmp(conn, "local:", 6) != 0)
		return;
	path = strchr(conn, ':') + 1;
	if (chmod(path, 0660) == -1)
		fatal("milter_listen %s: chmod: %s", conn, strerror(errno));
	if (user == NULL)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatal("user %s: no such user", user);
	if (chown(path, pw->pw_uid, pw->pw_gid) == -1)
		fatal("milter_listen %s: chown: %s", conn, strerror(errno));
}

/*
 * TCP_NODELAY on libmilter's listening socket, which Linux passes on to
 * every accepted one.  At end of message moat sends several small packets
 * in a row (header changes, then the reply) and the MTA answers none of
 * them: with Nagle each waits for the MTA's delayed ACK, 40 ms apiece
 * (90 ms a message, measured by bench/milter.py).  libmilter does not hand
 * out its socket, so it is found: the one listening TCP socket there is.
 */
static void
listen_nodelay(void)
{
	int fd, on = 1, v, n = 0;
	socklen_t len;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 ||
		    v == 0)
			continue;
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == -1 ||
		    (v != AF_INET && v != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on)) == 0)
			n++;
	}
	if (n != 1)
		log_warn("milter_listen: TCP_NODELAY set on %d listening "
		    "sockets, not 1", n);
}

/*
 * Over TCP the MTA must not skip the DATA step.  Postfix sends the macros
 * of every step, skipped or not (milter8.c), and for a skipped step they
 * go out as a write of their own, followed by the next step's packets as
 * a second write.  Postfix leaves Nagle on, so that second write waits
 * for the ACK of the first; moat-milter has nothing to answer a macro
 * packet with, so its kernel delays that ACK: 40 ms in every transaction
 * (tcpdump timestamps in bench/README.md).  Asked for DATA, Postfix sends
 * the macros with the command in one write and waits for the reply, one
 * round trip on the loopback (libmilter answers DATA itself: moat has no
 * callback for it).  A unix socket has no Nagle: the skip stays there.
 */
static sfsistat (*negotiate_cb)(SMFICTX *, unsigned long, unsigned long,
    unsigned long, unsigned long, unsigned long *, unsigned long *,
    unsigned long *, unsigned long *);

static sfsistat
negotiate_tcp(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	sfsistat rc;

	rc = negotiate_cb(ctx, f0, f1, f2, f3, pf0, pf1, pf2, pf3);
	*pf1 &= ~(unsigned long)SMFIP_NODATA;
	return rc;
}

/*
 * After smfi_main: the connections in progress finish, or the deadline.
 * Returns how many are left.
 */
static int
drain(long ms)
{
	int64_t until = clock_mono_ms() + ms;
	struct timespec poll = { 0, 50 * 1000000L };
	int n;

	if ((n = mlt_conns()) == 0)
		return 0;
	log_info("no longer accepting; draining %d connection(s) for up to "
	    "%ld ms", n, ms);
	while ((n = mlt_conns()) > 0 && clock_mono_ms() < until)
		nanosleep(&poll, NULL);
	if (n > 0)
		log_info("drain deadline reached with %d connection(s) open; "
		    "the MTA applies milter_default_action", n);
	return n;
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
	static struct smfiDesc desc;
	struct moat_snapshot *snap;
	struct config *cfg;
	char err[1024];
	int ch, test = 0, dump = 0, trace = 0, ps_fd, rc;
	long drain_ms;

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
				usage_to(stderr, 2);
			break;
		case 'D':
			dump = 1;
			break;
		case 'V':
			printf("moat-milter %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage_to(stdout, 0);
			break;
		default:
			usage_to(stderr, 2);
		}
	}
	if (optind != argc)
		usage_to(stderr, 2);

	log_init(0, LOG_MAIL, "moat-milter", LOG_FMT_LOGFMT);
	log_set_trace((unsigned)trace);
	/* The config and everything built from it, as moatd builds it,
	   but listen and backend are moatd's own (conf/moat_conf.h). */
	cfg_set_front(CFG_FRONT_MILTER);
	if ((snap = snap_build(cfg_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "moat-milter: %s\n", err);
		return 1;
	}
	cfg = cfg_ref(snap->cfg);
	if (cfg->user != NULL && getpwnam(cfg->user) == NULL) {
		fprintf(stderr, "moat-milter: %s: user %s: no such user\n",
		    cfg_path, cfg->user);
		cfg_unref(cfg);
		snap_unref(snap);
		return 1;
	}
	if (test) {
		printf("moat-milter: configuration %s is valid", cfg_path);
		if (snap->rules)
			printf(" (%zu rules)", rule_set_count(snap->rules));
		printf("\n");
		cfg_unref(cfg);
		snap_unref(snap);
		return 0;
	}
	if (dump) {
		cfg_dump(cfg, STDOUT_FILENO);
		cfg_unref(cfg);
		snap_unref(snap);
		return 0;
	}
	log_init(cfg->log_syslog, cfg->log_facility, "moat-milter",
	    cfg->log_json ? LOG_FMT_JSON : LOG_FMT_LOGFMT);
	signal(SIGPIPE, SIG_IGN);
	if (cfg->pidfile != NULL) {
		FILE *f = fopen(cfg->pidfile, "w");

		if (f == NULL)
			fatal("pidfile %s: %s", cfg->pidfile, strerror(errno));
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	/* The parent keeps the signals; it never returns. */
	ps_fd = privsep_split(cfg_path, cfg->pidfile, NULL, 0);

	desc = mlt_desc;
	if (strncmp(cfg->milter_listen, "inet", 4) == 0) {
		negotiate_cb = desc.xxfi_negotiate;
		desc.xxfi_negotiate = negotiate_tcp;
	}
	if (smfi_setconn(cfg->milter_listen) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS)
		fatal("milter_listen %s: libmilter refuses it",
		    cfg->milter_listen);
	/* Bound as root (a socket in a root-owned directory), then drop. */
	if (smfi_opensocket(1) != MI_SUCCESS)
		fatal("milter_listen %s: cannot listen (in use, or the "
		    "directory is missing or not writable)",
		    cfg->milter_listen);
	socket_owner(cfg->milter_listen, cfg->user);
	if (strncmp(cfg->milter_listen, "inet", 4) == 0)
		listen_nodelay();
	privsep_drop(cfg->user);

	mlt_bridge_start(snap, ps_fd);
	log_info("moat-milter %s started on %s", PACKAGE_VERSION,
	    cfg->milter_listen);
	policy_log_stats(snap->rules);
	policy_start_hs(cfg, snap->rules);
	snap_unref(snap);
	cfg_unref(cfg);

	rc = smfi_main() == MI_SUCCESS ? 0 : 1;

	cfg = mlt_config();
	drain_ms = cfg->drain_timeout_ms;
	cfg_unref(cfg);
	/* Connections left at the deadline end with the process. */
	if (drain(drain_ms) == 0)
		mlt_bridge_stop();
	log_info("moat-milter stopped");
	return rc;
}
