/*
 * privsep.c: privilege separation, OpenSMTPD's and Postfix's model sized
 * to moatd (issue 17).  With `user` set, moatd forks once the listeners
 * are bound and everything was read as root at start:
 *
 *   parent  stays root; holds no listener and reads nothing from the
 *           network.  On SIGHUP (its own, or one the child forwards) it
 *           reads the config file, parses it only to learn which secret
 *           files it names (tls_cert, tls_key, backend_tls_ca, passwd,
 *           sender_login_map), reads those, and sends all their bytes.
 *   child   drops to `user` and is today's daemon.  It rebuilds its
 *           snapshot from the bytes exactly as a reload did (filesrc.c),
 *           so a bad new file is refused and the old snapshot keeps
 *           serving.  Rule, domain and whitelist files are not secret:
 *           the child reads them itself, as the user, as before.
 *
 * The child has no way to ask for a file by name: it can only ask for "a
 * reload", and the parent decides what to read, so a compromised child
 * gains nothing beyond the secrets it already held.  One message type
 * each way, a fixed header (type, length) and a length checked against
 * PRIVSEP_MSG_MAX before anything is allocated.  SIGTERM/SIGINT to the
 * parent closes the socket: the child sees EOF and drains as on SIGTERM
 * (the parent needs no CAP_KILL to stop a process of another uid), and
 * the parent exits when the child has.  When the child dies the parent
 * exits too, with a failure status, for systemd's Restart= to act on.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "moat_conf.h"
#include "fdio.h"
#include "filesrc.h"
#include "log.h"
#include "privsep.h"
#include "xmalloc.h"

enum privsep_msg {
	PRIVSEP_RELOAD = 1,	/* child -> parent, empty */
	PRIVSEP_FILES = 2,	/* parent -> child, filesrc_encode'd bytes */
};

struct privsep_hdr {
	uint32_t	type;
	uint32_t	len;
};

/* A bundle's bound: every file at its maximum plus paths. */
#define PRIVSEP_MSG_MAX	(FILESRC_FILES_MAX * (FILESRC_FILE_MAX + 4096 + 12))

static volatile sig_atomic_t	ps_hup, ps_term, ps_chld;

static void
ps_sig(int sig)
{
	if (sig == SIGHUP)
		ps_hup = 1;
	else if (sig == SIGCHLD)
		ps_chld = 1;
	else
		ps_term = 1;
}

/* read_all: exactly n bytes; 1, 0 at EOF before any, -1 on error/short. */
static int
read_all(int fd, void *p, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		if ((r = read(fd, (char *)p + off, n - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return off == 0 ? 0 : -1;
		off += (size_t)r;
	}
	return 1;
}

static int
send_msg(int fd, uint32_t type, const char *p, size_t len)
{
	struct privsep_hdr h = { type, (uint32_t)len };

	if (fdio_write_all(fd, &h, sizeof(h)) == -1 ||
	    (len && fdio_write_all(fd, p, len) == -1))
		return -1;
	return 0;
}

static void
add_file(struct filesrc_file *f, int *n, const char *path)
{
	int i;

	if (path == NULL || *n == FILESRC_FILES_MAX)
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(f[i].path, path) == 0)
			return;
	memset(&f[*n], 0, sizeof(f[*n]));
	f[*n].path = xstrdup(path);
	if (filesrc_read_disk(path, &f[*n].data, &f[*n].len) == -1) {
		f[*n].err = errno;
		f[*n].data = NULL;
		f[*n].len = 0;
	}
	(*n)++;
}

/*
 * send_files: read the config and the secrets it names, as root, and send
 * them.  A config that does not parse goes alone: the child's reload
 * refuses it with the parser's message.
 */
static int
send_files(int fd, const char *cfg_path)
{
	struct filesrc_file f[FILESRC_FILES_MAX], cf;
	struct config *c;
	char err[1024], *buf;
	size_t len;
	int n = 0, i, rc;

	add_file(f, &n, cfg_path);
	if (f[0].err == 0) {
		/* Parse the very bytes being sent, not a second read. */
		cf.path = xstrdup(f[0].path);
		cf.err = 0;
		cf.data = xmalloc(f[0].len + 1);
		memcpy(cf.data, f[0].data, f[0].len + 1);
		cf.len = f[0].len;
		filesrc_install(&cf, 1);
		if ((c = cfg_load(cfg_path, err, sizeof(err))) != NULL) {
			add_file(f, &n, c->tls_cert);
			add_file(f, &n, c->tls_key);
			add_file(f, &n, c->backend_tls_ca);
			add_file(f, &n, c->passwd);
			add_file(f, &n, c->sender_login_map);
			cfg_unref(c);
		}
		filesrc_clear();
	}
	rc = filesrc_encode(f, n, &buf, &len);
	for (i = 0; i < n; i++) {
		free(f[i].path);
		if (f[i].data) {
			explicit_bzero(f[i].data, f[i].len);
			free(f[i].data);
		}
	}
	if (rc == -1) {
		log_warn("privsep: reload: the files do not fit a message");
		return 0;
	}
	rc = send_msg(fd, PRIVSEP_FILES, buf, len);
	explicit_bzero(buf, len);
	free(buf);
	log_info("privsep: reload: sent %s and %d file(s) it names", cfg_path,
	    n - 1);
	return rc;
}

static int
child_status(pid_t child, int block)
{
	int st;

	if (waitpid(child, &st, block ? 0 : WNOHANG) != child)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	log_warn("privsep: session process %ld killed by signal %d",
	    (long)child, WTERMSIG(st));
	return 1;
}

static void __attribute__((noreturn))
parent_exit(const char *pidfile, int status)
{
	if (pidfile)
		unlink(pidfile);
	log_info("privsep: parent exits (%d)", status);
	exit(status);
}

static void __attribute__((noreturn))
parent_loop(int fd, pid_t child, const char *cfg_path, const char *pidfile)
{
	struct privsep_hdr h;
	struct pollfd pfd;
	sigset_t none;
	int st, r;

	sigemptyset(&none);
	for (;;) {
		if (ps_term) {
			/* EOF tells the child to drain; wait till it has. */
			close(fd);
			st = child_status(child, 1);
			parent_exit(pidfile, st == -1 ? 1 : st);
		}
		if (ps_chld && (st = child_status(child, 0)) != -1) {
			log_warn("privsep: session process %ld exited (%d); "
			    "the parent follows", (long)child, st);
			parent_exit(pidfile, st == 0 ? 1 : st);
		}
		ps_chld = 0;
		if (ps_hup) {
			ps_hup = 0;
			if (send_files(fd, cfg_path) == -1)
				log_warn("privsep: reload: %s",
				    strerror(errno));
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, NULL, &none) == -1) {
			if (errno == EINTR)
				continue;
			fatal("privsep: ppoll: %s", strerror(errno));
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((r = read_all(fd, &h, sizeof(h))) == 1 &&
		    h.type == PRIVSEP_RELOAD && h.len == 0) {
			ps_hup = 1;
			continue;
		}
		if (r == 1)
			log_warn("privsep: bad message type %u length %u from "
			    "the session process", h.type, h.len);
		/*
		 * The child went away or speaks nonsense: closing tells it
		 * to stop (EOF); then follow it.
		 */
		close(fd);
		st = child_status(child, 1);
		log_warn("privsep: session process %ld exited (%d); the "
		    "parent follows", (long)child, st);
		parent_exit(pidfile, st <= 0 ? 1 : st);
	}
}

int
privsep_split(const char *cfg_path, const char *pidfile, const int *fds,
    int nfds)
{
	struct sigaction sa;
	sigset_t block;
	int sv[2], i;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("privsep: socketpair: %s", strerror(errno));
	/* Blocked from here; the parent takes them only inside ppoll. */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if ((pid = fork()) == -1)
		fatal("privsep: fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		/* libevent's evsignal takes these over in the child. */
		sigprocmask(SIG_UNBLOCK, &block, NULL);
		return sv[1];
	}
	close(sv[1]);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ps_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	log_info("privsep: parent %ld stays root; session process %ld",
	    (long)getpid(), (long)pid);
	parent_loop(sv[0], pid, cfg_path, pidfile);
}

void
privsep_drop(const char *user)
{
	struct passwd *pw;

	if (user == NULL)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatal("user %s: no such user", user);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("dropping privileges to %s: %s", user, strerror(errno));
	/* A way back would defeat the point: make sure there is none. */
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatal("dropping privileges to %s: could regain root", user);
}

int
privsep_request_reload(int fd)
{
	return send_msg(fd, PRIVSEP_RELOAD, NULL, 0);
}

int
privsep_recv(int fd, char *err, size_t errsz)
{
	struct filesrc_file f[FILESRC_FILES_MAX];
	struct privsep_hdr h;
	char *buf;
	int r, n;

	if ((r = read_all(fd, &h, sizeof(h))) == 0)
		return 0;
	if (r == -1) {
		snprintf(err, errsz, "read: %s", strerror(errno));
		return -1;
	}
	if (h.type != PRIVSEP_FILES || h.len > PRIVSEP_MSG_MAX) {
		snprintf(err, errsz, "bad message type %u length %u", h.type,
		    h.len);
		return -1;
	}
	buf = xmalloc(h.len ? h.len : 1);
	if (read_all(fd, buf, h.len) != 1 && h.len != 0) {
		snprintf(err, errsz, "short message");
		free(buf);
		return -1;
	}
	r = filesrc_decode(buf, h.len, f, &n);
	explicit_bzero(buf, h.len);
	free(buf);
	if (r == -1) {
		snprintf(err, errsz, "malformed file list");
		return -1;
	}
	filesrc_install(f, n);
	return 1;
}
