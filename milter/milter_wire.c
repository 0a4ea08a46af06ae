/*
 * milter_wire.c: why libmilter gave up on an MTA connection (issue 15),
 * so that a broken or truncated milter stream is logged as such and not
 * as the MTA's own abort.
 *
 * libmilter calls xxfi_abort and xxfi_close both when the MTA asks
 * (SMFIC_ABORT, QUIT) and when it fails on the stream itself: a packet
 * cut short or the MTA gone (end of file without QUIT), a read timeout, a
 * length over its limit, a command it does not know or a packet it cannot
 * decode.  The callbacks are not told which, and libmilter itself logs
 * only some of these, to syslog, without our session.  Its packet reader,
 * mi_rd_cmd(), is exported by libmilter.so and called by its engine
 * through the PLT on the connection's own thread, just before the
 * callbacks of that packet (or of its failure) run there: moat-milter
 * defines it, calls libmilter's (dlsym RTLD_NEXT) and keeps the command
 * byte it read, or its error code, in thread-local storage.  The
 * callbacks then ask mlt_wire_broken().
 *
 * What it relies on: mi_rd_cmd's signature and its error codes (below
 * SMFIC_VALIDCMD), unchanged in libmilter since sendmail 8.12, and a
 * shared libmilter (Debian's libmilter-dev links libmilter.so).  Were the
 * hook never called, nothing would be reported as broken (the old
 * status=aborted), and tests/integration/test_milter.py's Broken tests
 * fail.  It changes nothing libmilter does: same arguments, same result.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "log.h"
#include "milter.h"

/* libmilter's reader (libmilter/comm.c), and its error codes. */
char	*mi_rd_cmd(int sd, struct timeval *timeout, char *cmd, size_t *rlen,
	    char *name);

#define WIRE_TIMEOUT	1
#define WIRE_SELECT	2
#define WIRE_MALLOC	3
#define WIRE_RECVERR	4
#define WIRE_EOF	5
#define WIRE_UNKNERR	6
#define WIRE_TOOBIG	7
#define WIRE_VALIDCMD	' '

typedef char *rd_cmd_fn(int, struct timeval *, char *, size_t *, char *);

/* The last command byte (or error code) read on this thread; 0: none. */
static _Thread_local char wire_last;

char *
mi_rd_cmd(int sd, struct timeval *timeout, char *cmd, size_t *rlen,
    char *name)
{
	/* Atomic: connection threads race to look it up first (they all
	 * store the same pointer, but a plain store would be a data race). */
	static _Atomic(rd_cmd_fn *) real_fn;
	rd_cmd_fn *real;
	char *buf;

	real = atomic_load_explicit(&real_fn, memory_order_relaxed);
	if (real == NULL) {
		if ((real = (rd_cmd_fn *)dlsym(RTLD_NEXT, "mi_rd_cmd")) == NULL)
			fatal("libmilter: mi_rd_cmd not found: %s", dlerror());
		atomic_store_explicit(&real_fn, real, memory_order_relaxed);
	}
	buf = real(sd, timeout, cmd, rlen, name);
	wire_last = *cmd;
	return buf;
}

/* The milter commands an MTA sends (mfdef.h), named for the log. */
static const struct {
	char		 c;
	const char	*name;
} wire_cmds[] = {
	{ 'A', "abort" }, { 'B', "body" }, { 'C', "connect" },
	{ 'D', "macro" }, { 'E', "end of body" }, { 'H', "helo" },
	{ 'K', "quit_nc" }, { 'L', "header" }, { 'M', "mail" },
	{ 'N', "end of header" }, { 'O', "option negotiation" },
	{ 'Q', "quit" }, { 'R', "rcpt" }, { 'T', "data" }, { 'U', "unknown" },
};

static const char *
cmd_name(char c)
{
	size_t i;

	for (i = 0; i < sizeof(wire_cmds) / sizeof(wire_cmds[0]); i++)
		if (wire_cmds[i].c == c)
			return wire_cmds[i].name;
	return NULL;
}

/*
 * mlt_wire_broken: see milter.h.  The MTA's abort ('A') and its QUIT ('Q',
 * 'K') are the normal reasons; anything else read last means libmilter
 * failed on the stream.
 */
const char *
mlt_wire_broken(void)
{
	static _Thread_local char why[128];
	char c = wire_last;

	switch (c) {
	case 0:
	case 'A':
	case 'Q':
	case 'K':
		return NULL;
	case WIRE_TIMEOUT:
		return "no packet from the MTA within libmilter's timeout";
	case WIRE_SELECT:
	case WIRE_RECVERR:
	case WIRE_UNKNERR:
		return "a read error on the MTA's connection";
	case WIRE_MALLOC:
		return "no memory for the MTA's packet";
	case WIRE_EOF:
		return "the MTA's connection ended without QUIT (a truncated "
		    "packet, or the MTA went away)";
	case WIRE_TOOBIG:
		return "a packet longer than libmilter takes";
	}
	if (c < WIRE_VALIDCMD || cmd_name(c) == NULL)
		snprintf(why, sizeof(why), "an unknown milter command 0x%02x",
		    (unsigned char)c);
	else
		snprintf(why, sizeof(why), "a '%c' (%s) packet libmilter could "
		    "not take here (malformed, or out of order)", c,
		    cmd_name(c));
	return why;
}
