/*
 * test_config.c: moat.conf parsing, defaults, errors, dump, restart diff
 * (conf/moat_conf.c).  Each test writes small files into a private mkdtemp
 * directory, removed at the end; error messages are compared whole,
 * "FILE:LINE: key: message", because a postmaster reads them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "moat_conf.h"
#include "netaddr.h"
#include "proxy_proto.h"

#define BASE	"listen 127.0.0.1:2525\nbackend 127.0.0.1:10025\n" \
		"hostname mx.example.com\n"

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char conf[256];		/* tmpdir/moat.conf */
static char err[1024];

static void
write_file(const char *name, const char *text, size_t n)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static struct config *
load(const char *text)
{
	write_file("moat.conf", text, strlen(text));
	return cfg_load(conf, err, sizeof(err));
}

static struct config *
load_ok(const char *text)
{
	struct config *c = load(text);

	if (c == NULL)
		fail_msg("load failed: %s", err);
	assert_string_equal(err, "");
	return c;
}

/* The load fails with "conf:LINE: msg" (LINE 0: "conf: msg"). */
static void
load_err(const char *text, int line, const char *msg)
{
	char want[8192];
	struct config *c;

	c = load(text);
	if (c != NULL) {
		cfg_unref(c);
		fail_msg("accepted: %s", text);
	}
	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", conf, line, msg);
	else
		snprintf(want, sizeof(want), "%s: %s", conf, msg);
	assert_string_equal(err, want);
}

/* BASE plus one line, which must fail as line 4 with msg. */
static void
line_err(const char *line, const char *msg)
{
	char text[4096];

	snprintf(text, sizeof(text), BASE "%s\n", line);
	load_err(text, 4, msg);
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(conf, sizeof(conf), "%s/moat.conf", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	static const char *files[] = { "moat.conf", "domains", "dump",
	    "dump.conf", "big", "wl", "c.conf" };
	char path[PATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", tmpdir);
	rmdir(path);
	assert_int_equal(rmdir(tmpdir), 0);
	return 0;
}

static const char *
sa_str(const struct sockaddr_storage *ss, char *buf, size_t bufsz)
{
	struct netaddr na;
	char a[64];
	unsigned port;

	assert_int_equal(netaddr_from_sockaddr(&na,
	    (const struct sockaddr *)ss), 0);
	port = ss->ss_family == AF_INET ?
	    ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port) :
	    ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
	snprintf(buf, bufsz, "%d %s %u", ss->ss_family == AF_INET ? 4 : 6,
	    netaddr_str(&na, a, sizeof(a)), port);
	return buf;
}

static int
trusted(const struct config *c, const char *addr)
{
	struct netaddr na;

	assert_int_equal(netaddr_parse(&na, addr), 0);
	return cidr_list_match(&c->trusted_networks, &na);
}

static void
test_defaults(void **state)
{
	struct config *c = cfg_defaults();
	char host[256] = "";

	(void)state;
	gethostname(host, sizeof(host));
	assert_int_equal(c->refs, 1);
	assert_null(c->path);
	assert_int_equal(c->workers, 0);
	assert_null(c->user);
	assert_null(c->pidfile);
	assert_int_equal(c->nlisten, 0);
	assert_int_equal(c->listen_backlog, 1024);
	assert_int_equal(c->log_syslog, 0);
	assert_int_equal(c->log_facility, LOG_MAIL);
	assert_int_equal(c->log_json, 0);
	assert_string_equal(c->hostname, host);
	assert_string_equal(c->banner, "ESMTP moat");
	assert_int_equal(c->greet_wait_ms, 3000);
	assert_int_equal(c->pregreet, CFG_PREGREET_REJECT);
	assert_int_equal(c->ext_pipelining, 1);
	assert_int_equal(c->ext_8bitmime, 1);
	assert_int_equal(c->ext_smtputf8, 1);
	assert_int_equal(c->ext_chunking, 1);
	assert_true(c->message_size_limit == 25ULL * 1024 * 1024);
	assert_non_null(c->local_domains);
	assert_int_equal(domain_set_count(c->local_domains), 0);
	assert_null(c->local_domains_file);
	/* Nothing trusted unless configured (issue 12, defect 10). */
	assert_int_equal(c->trusted_networks.n, 0);
	assert_false(trusted(c, "127.0.0.1"));
	assert_false(trusted(c, "::1"));
	assert_false(trusted(c, "::ffff:127.0.0.1"));
	assert_false(trusted(c, "128.0.0.1"));
	assert_false(trusted(c, "::2"));
	assert_int_equal(c->received_header, 1);
	assert_int_equal(c->reverse_dns, 1);
	assert_null(c->dns_resolver);
	assert_int_equal(c->dns_timeout_ms, 5000);
	assert_null(c->backend);
	assert_int_equal(c->backend_identity, CFG_ID_XCLIENT);
	assert_string_equal(c->backend_helo, host);
	assert_int_equal(c->backend_connect_timeout_ms, 30000);
	assert_int_equal(c->backend_reply_timeout_ms, 300000);
	assert_int_equal(c->backend_data_timeout_ms, 600000);
	assert_int_equal(c->backend_check, 1);
	assert_int_equal(c->bare_newline, CFG_BARE_NORMALIZE);
	assert_int_equal(c->data_line_max, 32768);
	assert_int_equal(c->message_memory_max, 1024 * 1024);
	assert_string_equal(c->spool_dir, LOCALSTATEDIR "/spool/moat");
	assert_int_equal(c->command_line_max, 1024);
	assert_int_equal(c->max_recipients, 1000);
	assert_int_equal(c->max_commands, 10000);
	assert_int_equal(c->max_errors, 20);
	assert_int_equal(c->max_sessions, 10000);
	assert_int_equal(c->max_sessions_per_ip, 50);
	assert_int_equal(c->timeout_command_ms, 300000);
	assert_int_equal(c->timeout_data_ms, 600000);
	assert_int_equal(c->drain_timeout_ms, 30000);
	cfg_unref(c);
}

static void
test_minimal(void **state)
{
	struct config *c;
	char buf[128];

	(void)state;
	c = load_ok(BASE);
	assert_string_equal(c->path, conf);
	assert_int_equal(c->refs, 1);
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0].text, "127.0.0.1:2525");
	assert_string_equal(c->listen[0].name, "smtp");
	assert_int_equal(c->listen[0].proxy_accept, 0);
	assert_int_equal(c->listen[0].addrlen, sizeof(struct sockaddr_in));
	assert_string_equal(sa_str(&c->listen[0].addr, buf, sizeof(buf)),
	    "4 127.0.0.1 2525");
	assert_string_equal(c->backend, "127.0.0.1:10025");
	assert_string_equal(sa_str(&c->backend_addr, buf, sizeof(buf)),
	    "4 127.0.0.1 10025");
	assert_int_equal(c->backend_addrlen, sizeof(struct sockaddr_in));
	assert_string_equal(c->hostname, "mx.example.com");
	/* backend_helo follows hostname unless set */
	assert_string_equal(c->backend_helo, "mx.example.com");
	assert_true(cfg_ref(c) == c);
	assert_int_equal(c->refs, 2);
	cfg_unref(c);
	assert_int_equal(c->refs, 1);
	cfg_unref(c);
	cfg_unref(NULL);
}

static const char full_conf[] =
	"# every key, none at its default\n"
	"workers 4\n"
	"user moat\n"
	"pidfile /run/moatd.pid\n"
	"listen 0.0.0.0:25 name=mx\n"
	"listen [::]:25 proxy=any name=mx6\n"
	"listen_backlog 511\n"
	"log stderr\n"
	"log_facility local3\n"
	"log_format json\n"
	"hostname MX1.Example.ORG\n"
	"banner  Welcome  to  moat  \n"
	"greet_wait 500ms\n"
	"pregreet_action ignore\n"
	"pipelining off\n"
	"8bitmime no\n"
	"smtputf8 false\n"
	"message_size_limit 10M\n"
	"local_domains example.org .example.org\n"
	"trusted_networks 10.0.0.0/8\n"
	"received_header 0\n"
	"reverse_dns off\n"
	"dns_resolver [::1]:5353\n"
	"dns_timeout 250ms\n"
	"backend [2001:db8::25]:10025\n"
	"backend_identity proxy-v2\n"
	"backend_helo gw.example.org\n"
	"backend_connect_timeout 5s\n"
	"backend_reply_timeout 2m\n"
	"backend_data_timeout 1h\n"
	"backend_check off\n"
	"bare_newline reject\n"
	"data_line_max 1000\n"
	"message_memory_max 64k\n"
	"spool_dir /var/tmp/moat\n"
	"command_line_max 4096\n"
	"max_recipients 100\n"
	"max_commands 500\n"
	"max_errors 5\n"
	"max_sessions 2000\n"
	"max_sessions_per_ip 10\n"
	"timeout_command 1m\n"
	"timeout_data 15m\n"
	"drain_timeout 0\n";

static void
test_full(void **state)
{
	struct config *c;
	char buf[128];

	(void)state;
	c = load_ok(full_conf);
	assert_int_equal(c->workers, 4);
	assert_string_equal(c->user, "moat");
	assert_string_equal(c->pidfile, "/run/moatd.pid");
	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->listen[0].name, "mx");
	assert_string_equal(sa_str(&c->listen[0].addr, buf, sizeof(buf)),
	    "4 0.0.0.0 25");
	assert_string_equal(c->listen[1].name, "mx6");
	assert_string_equal(c->listen[1].text, "[::]:25");
	assert_int_equal(c->listen[1].proxy_accept,
	    PROXY_ACCEPT_V1 | PROXY_ACCEPT_V2);
	assert_int_equal(c->listen[1].addrlen, sizeof(struct sockaddr_in6));
	assert_string_equal(sa_str(&c->listen[1].addr, buf, sizeof(buf)),
	    "6 :: 25");
	assert_int_equal(c->listen_backlog, 511);
	assert_int_equal(c->log_syslog, 0);
	assert_int_equal(c->log_facility, LOG_LOCAL3);
	assert_int_equal(c->log_json, 1);
	assert_string_equal(c->hostname, "MX1.Example.ORG");
	assert_string_equal(c->banner, "Welcome  to  moat");
	assert_int_equal(c->greet_wait_ms, 500);
	assert_int_equal(c->pregreet, CFG_PREGREET_IGNORE);
	assert_int_equal(c->ext_pipelining, 0);
	assert_int_equal(c->ext_8bitmime, 0);
	assert_int_equal(c->ext_smtputf8, 0);
	assert_true(c->message_size_limit == 10ULL * 1024 * 1024);
	assert_int_equal(domain_set_count(c->local_domains), 2);
	assert_true(domain_set_match(c->local_domains, "EXAMPLE.org"));
	assert_true(domain_set_match(c->local_domains, "a.example.org"));
	assert_false(domain_set_match(c->local_domains, "example.com"));
	/* the key replaced the default list */
	assert_int_equal(c->trusted_networks.n, 1);
	assert_true(trusted(c, "10.1.1.1"));
	assert_false(trusted(c, "127.0.0.1"));
	assert_false(trusted(c, "::1"));
	assert_int_equal(c->received_header, 0);
	assert_int_equal(c->reverse_dns, 0);
	assert_string_equal(c->dns_resolver, "[::1]:5353");
	assert_int_equal(c->dns_timeout_ms, 250);
	assert_string_equal(c->backend, "[2001:db8::25]:10025");
	assert_int_equal(c->backend_addrlen, sizeof(struct sockaddr_in6));
	assert_string_equal(sa_str(&c->backend_addr, buf, sizeof(buf)),
	    "6 2001:db8::25 10025");
	assert_int_equal(c->backend_identity, CFG_ID_PROXY_V2);
	assert_string_equal(c->backend_helo, "gw.example.org");
	assert_int_equal(c->backend_connect_timeout_ms, 5000);
	assert_int_equal(c->backend_reply_timeout_ms, 120000);
	assert_int_equal(c->backend_data_timeout_ms, 3600000);
	assert_int_equal(c->backend_check, 0);
	assert_int_equal(c->bare_newline, CFG_BARE_REJECT);
	assert_int_equal(c->data_line_max, 1000);
	assert_int_equal(c->message_memory_max, 65536);
	assert_string_equal(c->spool_dir, "/var/tmp/moat");
	assert_int_equal(c->command_line_max, 4096);
	assert_int_equal(c->max_recipients, 100);
	assert_int_equal(c->max_commands, 500);
	assert_int_equal(c->max_errors, 5);
	assert_int_equal(c->max_sessions, 2000);
	assert_int_equal(c->max_sessions_per_ip, 10);
	assert_int_equal(c->timeout_command_ms, 60000);
	assert_int_equal(c->timeout_data_ms, 900000);
	assert_int_equal(c->drain_timeout_ms, 0);
	cfg_unref(c);
}

static void
test_enums(void **state)
{
	static const struct { const char *line; size_t off; int v; } t[] = {
		{ "log syslog", offsetof(struct config, log_syslog), 1 },
		{ "log_facility mail", offsetof(struct config, log_facility),
		    LOG_MAIL },
		{ "log_facility daemon", offsetof(struct config,
		    log_facility), LOG_DAEMON },
		{ "log_facility user", offsetof(struct config, log_facility),
		    LOG_USER },
		{ "log_facility local0", offsetof(struct config,
		    log_facility), LOG_LOCAL0 },
		{ "log_facility local7", offsetof(struct config,
		    log_facility), LOG_LOCAL7 },
		{ "log_format logfmt", offsetof(struct config, log_json), 0 },
		{ "pregreet_action reject", offsetof(struct config, pregreet),
		    CFG_PREGREET_REJECT },
		{ "backend_identity xclient", offsetof(struct config,
		    backend_identity), CFG_ID_XCLIENT },
		{ "backend_identity xforward", offsetof(struct config,
		    backend_identity), CFG_ID_XFORWARD },
		{ "backend_identity proxy-v1", offsetof(struct config,
		    backend_identity), CFG_ID_PROXY_V1 },
		{ "backend_identity none", offsetof(struct config,
		    backend_identity), CFG_ID_NONE },
		{ "bare_newline normalize", offsetof(struct config,
		    bare_newline), CFG_BARE_NORMALIZE },
	};
	char text[512];
	struct config *c;
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), BASE "%s\n", t[i].line);
		c = load_ok(text);
		memcpy(&v, (char *)c + t[i].off, sizeof(v));
		assert_int_equal(v, t[i].v);
		cfg_unref(c);
	}
}

static void
test_syntax(void **state)
{
	struct config *c;

	(void)state;
	/* comments, blanks, tabs, CRLF, '#' inside a word */
	c = load_ok("# a comment\n\n   \t \n#workers 9\n"
	    "  listen\t127.0.0.1:2525   # trailing\r\n"
	    "backend 127.0.0.1:10025 #comment\n");
	cfg_unref(c);
	load_err(BASE "backend_helo a#b\n", 4, "backend_helo: \"a#b\" is not a "
	    "valid domain name (letters, digits, hyphens and dots)");
	c = load_ok(BASE "workers 3\t# threads\r\n\r\n");
	assert_int_equal(c->workers, 3);
	cfg_unref(c);
	c = load_ok(BASE "banner Hello #1 # and a comment");
	assert_string_equal(c->banner, "Hello");
	cfg_unref(c);
	c = load_ok(BASE "banner Hello#1 there\t # comment\n");
	assert_string_equal(c->banner, "Hello#1 there");
	cfg_unref(c);
	/* no newline at the end of the file */
	c = load_ok(BASE "workers 2");
	assert_int_equal(c->workers, 2);
	cfg_unref(c);
}

static void
test_backend_port(void **state)
{
	(void)state;
	/* that '#' was part of the word, so the port was garbage */
	load_err("listen 127.0.0.1:2525\nbackend 127.0.0.1:10025#x\n", 2,
	    "backend: \"127.0.0.1:10025#x\" is not ADDR:PORT (numeric, e.g. "
	    "127.0.0.1:10025 or [::1]:10025)");
}

static void
test_errors(void **state)
{
	(void)state;
	line_err("foo 1", "unknown key \"foo\"");
	line_err("Workers 1", "unknown key \"Workers\"");
	line_err("workers", "workers: missing value");
	line_err("workers   # nothing", "workers: missing value");
	line_err("workers 1 2", "workers: takes one value, got 2");
	line_err("workers abc", "workers: \"abc\" is not a number");
	line_err("workers 1k", "workers: \"1k\" is not a number");
	line_err("workers +1", "workers: \"+1\" is not a number");
	line_err("workers 0x10", "workers: \"0x10\" is not a number");
	line_err("workers 1.5", "workers: \"1.5\" is not a number");
	line_err("workers -", "workers: \"-\" is not a number");
	line_err("workers 257", "workers: 257 is out of range (0..256)");
	line_err("workers -1", "workers: -1 is out of range (0..256)");
	line_err("workers 99999999999999999999999",
	    "workers: 99999999999999999999999 is out of range (0..256)");
	line_err("listen_backlog 0",
	    "listen_backlog: 0 is out of range (1..65535)");
	line_err("max_recipients 100001",
	    "max_recipients: 100001 is out of range (1..100000)");
	line_err("max_errors 0", "max_errors: 0 is out of range (1..1000)");
	line_err("greet_wait 3x", "greet_wait: \"3x\" is not a duration (e.g. "
	    "250ms, 30s, 5m, 2h, 1d)");
	line_err("greet_wait 61s", "greet_wait: 61s is out of range (0s..1m)");
	line_err("greet_wait 99999999999999999999d",
	    "greet_wait: 99999999999999999999d is out of range (0s..1m)");
	line_err("backend_connect_timeout 99ms", "backend_connect_timeout: "
	    "99ms is out of range (100ms..10m)");
	line_err("message_size_limit 10MB", "message_size_limit: \"10MB\" is "
	    "not a size (bytes, or with k, M, G)");
	line_err("message_size_limit 3G",
	    "message_size_limit: 3G is out of range (1k..2G)");
	line_err("message_size_limit 1023",
	    "message_size_limit: 1023 is out of range (1k..2G)");
	line_err("message_size_limit 99999999999G",
	    "message_size_limit: 99999999999G is out of range (1k..2G)");
	line_err("data_line_max 999",
	    "data_line_max: 999 is out of range (1000..1M)");
	line_err("command_line_max 511",
	    "command_line_max: 511 is out of range (512..4k)");
	line_err("message_memory_max 257M",
	    "message_memory_max: 257M is out of range (4k..256M)");
	line_err("pipelining maybe", "pipelining: \"maybe\" is not on or off "
	    "(also yes/no, true/false, 1/0)");
	line_err("pipelining On", "pipelining: \"On\" is not on or off "
	    "(also yes/no, true/false, 1/0)");
	line_err("log_format xml",
	    "log_format: \"xml\" is not one of logfmt, json");
	line_err("backend_identity proxy",
	    "backend_identity: \"proxy\" is not one of xclient, xforward, "
	    "proxy-v1, proxy-v2, none");
	line_err("log_facility kern", "log_facility: \"kern\" is not one of "
	    "mail, daemon, user, local0, local1, local2, local3, local4, "
	    "local5, local6, local7");
	load_err("listen 127.0.0.1:25\nbackend 127.0.0.1:1\nhostname my_host\n",
	    3, "hostname: \"my_host\" is not a valid domain name (letters, "
	    "digits, hyphens and dots)");
	load_err("hostname a b\n", 1, "hostname: takes one value, got 2");
	line_err("backend_helo -x.example", "backend_helo: \"-x.example\" is "
	    "not a valid domain name (letters, digits, hyphens and dots)");
	line_err("banner a\tb", "banner: byte 0x09 at offset 1 is not "
	    "printable ASCII");
	line_err("banner caf\xc3\xa9", "banner: byte 0xc3 at offset 3 is not "
	    "printable ASCII");
	line_err("pidfile run/moatd.pid",
	    "pidfile: \"run/moatd.pid\" is not an absolute path");
	line_err("spool_dir spool", "spool_dir: \"spool\" is not an absolute "
	    "path");
	line_err("user a:b", "user: \"a:b\" is not a user name");
	line_err("dns_resolver ns.example", "dns_resolver: \"ns.example\" is "
	    "not IP, IPV4:PORT or [IPV6]:PORT");
	line_err("dns_resolver *:53", "dns_resolver: \"*:53\" is not IP, "
	    "IPV4:PORT or [IPV6]:PORT");
	line_err("dns_timeout 61s", "dns_timeout: 61s is out of range "
	    "(100ms..1m)");
	line_err("user -rf", "user: \"-rf\" is not a user name");
	/* garbage in a message is shown printable and short */
	line_err("\x01\x02\xff 1", "unknown key \"???\"");
	line_err("workers 12345678901234567890123456789012345678901234567890"
	    "12345678901234567890", "workers: 1234567890123456789012345678901"
	    "234567890123456789012345678901234... is out of range (0..256)");
}

static void
test_duplicates(void **state)
{
	(void)state;
	load_err(BASE "workers 1\n# x\nworkers 2\n", 6,
	    "workers: duplicate key (first set at line 4)");
	load_err("backend 127.0.0.1:1\nlisten 127.0.0.1:2\n"
	    "backend 127.0.0.1:1\n", 3,
	    "backend: duplicate key (first set at line 1)");
	load_err(BASE "banner a\nbanner a\n", 5,
	    "banner: duplicate key (first set at line 4)");
}

static void
test_required(void **state)
{
	(void)state;
	load_err("listen 127.0.0.1:25\n", 0,
	    "backend: required key is missing");
	load_err("backend 127.0.0.1:25\n", 0,
	    "listen: at least one listen line is required");
	load_err("", 0, "backend: required key is missing");
	load_err("# only comments\n", 0, "backend: required key is missing");
}

static void
test_files(void **state)
{
	char buf[9000], want[512], nope[256];
	struct config *c;

	(void)state;
	/* missing file, directory */
	snprintf(nope, sizeof(nope), "%s/nope.conf", tmpdir);
	assert_null(cfg_load(nope, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", nope);
	assert_string_equal(err, want);
	assert_null(cfg_load(tmpdir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);

	/* a long line and a NUL byte */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, BASE "banner ", strlen(BASE "banner "));
	buf[sizeof(buf) - 1] = '\0';
	load_err(buf, 4, "line longer than 8192 bytes");
	write_file("moat.conf", BASE "workers 1\0 2\n", strlen(BASE) + 13);
	assert_null(cfg_load(conf, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:4: NUL byte in line", conf);
	assert_string_equal(err, want);

	/* a tiny error buffer is still a string */
	c = cfg_load(tmpdir, err, 5);
	assert_null(c);
	assert_int_equal(strlen(err), 4);
}

static void
test_garbage(void **state)
{
	char buf[2048];
	struct config *c;
	unsigned seed = 12345;
	size_t i, n;
	int round;

	(void)state;
	/* Random bytes, random words of real keys: errors, never a crash. */
	for (round = 0; round < 300; round++) {
		n = 0;
		while (n < sizeof(buf) - 64) {
			seed = seed * 1103515245 + 12345;
			switch ((seed >> 16) % 6) {
			case 0:
				n += (size_t)snprintf(buf + n, 64, "listen ");
				break;
			case 1:
				n += (size_t)snprintf(buf + n, 64, "%u ",
				    seed % 70000);
				break;
			case 2:
				buf[n++] = '\n';
				break;
			case 3:
				n += (size_t)snprintf(buf + n, 64,
				    "local_domains ");
				break;
			default:
				buf[n++] = (char)(seed >> 8);
				break;
			}
			if ((seed >> 20) % 97 == 0)
				break;
		}
		buf[n] = '\0';
		for (i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		c = load(buf);
		if (c != NULL)
			cfg_unref(c);
		else
			assert_true(strncmp(err, conf, strlen(conf)) == 0);
	}
}

static void
test_listen(void **state)
{
	struct config *c;
	char buf[128];

	(void)state;
	c = load_ok("backend 127.0.0.1:10025\n"
	    "listen *:25\n"
	    "listen [2001:db8::1]:587 name=submission\n"
	    "listen 192.0.2.1:2525 proxy=v1 name=lb1\n"
	    "listen 192.0.2.1:2526 name=lb2 proxy=v2\n"
	    "listen [::ffff:192.0.2.9]:25\n");
	assert_int_equal(c->nlisten, 5);
	assert_string_equal(sa_str(&c->listen[0].addr, buf, sizeof(buf)),
	    "4 0.0.0.0 25");
	assert_string_equal(c->listen[0].text, "*:25");
	assert_string_equal(c->listen[0].name, "smtp");
	assert_string_equal(sa_str(&c->listen[1].addr, buf, sizeof(buf)),
	    "6 2001:db8::1 587");
	assert_string_equal(c->listen[1].name, "submission");
	assert_int_equal(c->listen[1].proxy_accept, 0);
	assert_int_equal(c->listen[2].proxy_accept, PROXY_ACCEPT_V1);
	assert_string_equal(c->listen[2].name, "lb1");
	assert_int_equal(c->listen[3].proxy_accept, PROXY_ACCEPT_V2);
	assert_string_equal(c->listen[3].name, "lb2");
	/* v4-mapped is folded to v4 */
	assert_int_equal(c->listen[4].addrlen, sizeof(struct sockaddr_in));
	assert_string_equal(sa_str(&c->listen[4].addr, buf, sizeof(buf)),
	    "4 192.0.2.9 25");
	cfg_unref(c);

	line_err("listen", "listen: missing value");
	line_err("listen 127.0.0.1", "listen: \"127.0.0.1\" is not ADDR:PORT "
	    "(numeric IPv4, [IPv6] or *, port 1..65535)");
	line_err("listen localhost:25", "listen: \"localhost:25\" is not "
	    "ADDR:PORT (numeric IPv4, [IPv6] or *, port 1..65535)");
	line_err("listen ::1:25", "listen: \"::1:25\" is not ADDR:PORT "
	    "(numeric IPv4, [IPv6] or *, port 1..65535)");
	line_err("listen 127.0.0.1:2525", "listen: 127.0.0.1:2525: address "
	    "already listed");
	line_err("metrics_listen localhost:9225", "metrics_listen: "
	    "\"localhost:9225\" is not ADDR:PORT (numeric IPv4, [IPv6] or *, "
	    "port 1..65535)");
	line_err("metrics_listen 127.0.0.1:70000", "metrics_listen: "
	    "\"127.0.0.1:70000\" is not ADDR:PORT (numeric IPv4, [IPv6] or *, "
	    "port 1..65535)");
	line_err("listen [::ffff:127.0.0.1]:2525", "listen: "
	    "[::ffff:127.0.0.1]:2525: address already listed");
	line_err("listen 127.0.0.1:26 tls=on",
	    "listen: \"tls=on\": tls= takes off, starttls, required or "
	    "implicit");
	line_err("listen 127.0.0.1:26 foo=1",
	    "listen: unknown option \"foo=1\" (proxy=, name=, tls=, auth=, "
	    "auth_plaintext=)");
	line_err("listen 127.0.0.1:26 auth=yes",
	    "listen: \"auth=yes\": auth= takes off, optional or required");
	line_err("listen 127.0.0.1:26 proxy=v3", "listen: \"proxy=v3\": "
	    "proxy= takes v1, v2 or any");
	line_err("listen 127.0.0.1:26 proxy=", "listen: \"proxy=\": proxy= "
	    "takes v1, v2 or any");
	line_err("listen 127.0.0.1:26 proxy=v1 proxy=v2", "listen: "
	    "\"proxy=v2\": option given twice");
	line_err("listen 127.0.0.1:26 name=a name=b", "listen: \"name=b\": "
	    "option given twice");
	line_err("listen 127.0.0.1:26 name=", "listen: \"name=\": name= takes "
	    "a word of 1..31 letters, digits, '.', '_' or '-'");
	line_err("listen 127.0.0.1:26 name=a/b", "listen: \"name=a/b\": name= "
	    "takes a word of 1..31 letters, digits, '.', '_' or '-'");
	line_err("listen 127.0.0.1:26 name=0123456789012345678901234567890"
	    "1", "listen: \"name=01234567890123456789012345678901\": name= "
	    "takes a word of 1..31 letters, digits, '.', '_' or '-'");
	c = load_ok(BASE "listen 127.0.0.1:26 name=0123456789012345678901234"
	    "567890\n");
	assert_string_equal(c->listen[1].name,
	    "0123456789012345678901234567890");
	cfg_unref(c);
}

static void
test_listen_max(void **state)
{
	char text[4096];
	size_t n;
	int i;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "backend 127.0.0.1:1\n");
	for (i = 0; i < CFG_LISTEN_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "listen 127.0.0.1:%d\n", 1000 + i);
	cfg_unref(load_ok(text));
	snprintf(text + n, sizeof(text) - n, "listen 127.0.0.1:999\n");
	load_err(text, CFG_LISTEN_MAX + 2, "listen: at most 32 listen lines");
}

static void
test_backend(void **state)
{
	struct config *c;
	char buf[128];

	(void)state;
	c = load_ok("listen 127.0.0.1:25\nbackend [::1]:10025\n");
	assert_string_equal(sa_str(&c->backend_addr, buf, sizeof(buf)),
	    "6 ::1 10025");
	cfg_unref(c);
	c = load_ok("listen 127.0.0.1:25\nbackend [::ffff:10.0.0.2]:25\n");
	assert_string_equal(sa_str(&c->backend_addr, buf, sizeof(buf)),
	    "4 10.0.0.2 25");
	assert_int_equal(c->backend_addrlen, sizeof(struct sockaddr_in));
	cfg_unref(c);

#define BAD_BACKEND(v, why) load_err("listen 127.0.0.1:25\nbackend " v "\n", \
	2, "backend: \"" v "\" " why)
#define NOT_HP	"is not ADDR:PORT (numeric, e.g. 127.0.0.1:10025 or " \
	"[::1]:10025)"
#define WILD	": the backend needs a real address, not a wildcard"
	BAD_BACKEND("localhost:25", NOT_HP);
	BAD_BACKEND("127.0.0.1", NOT_HP);
	BAD_BACKEND("[::1]:0", NOT_HP);
	BAD_BACKEND("127.0.0.1:65536", NOT_HP);
	BAD_BACKEND("::1:25", NOT_HP);
	load_err("listen 127.0.0.1:25\nbackend 127.0.0.1:25 x\n", 2,
	    "backend: takes one value, got 2");
	load_err("listen 127.0.0.1:25\nbackend *:25\n", 2,
	    "backend: \"*:25\"" WILD);
	load_err("listen 127.0.0.1:25\nbackend 0.0.0.0:25\n", 2,
	    "backend: \"0.0.0.0:25\"" WILD);
	load_err("listen 127.0.0.1:25\nbackend [::]:25\n", 2,
	    "backend: \"[::]:25\"" WILD);
}

static void
test_hostport(void **state)
{
	static const char *bad[] = {
		"", ":25", "*", "*:", "*:0", "*:65536", "*:025", "*:+25",
		"*:25x", "* :25", "1.2.3.4:", "1.2.3:25", "1.2.3.4.5:25",
		"[::1]", "[::1]25", "[::1:25", "::1]:25", "[]:25",
		"[1.2.3.4]:25", "[fe80::1%eth0]:25", "[::1]:25 ", " 1.2.3.4:25",
		"host:25", "1.2.3.4:99999999999999999999", "[::1]:-1",
		"**:25",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[128];
	size_t i;

	(void)state;
	assert_int_equal(cfg_parse_hostport("1.2.3.4:1", &ss, &len), 0);
	assert_string_equal(sa_str(&ss, buf, sizeof(buf)), "4 1.2.3.4 1");
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(cfg_parse_hostport("*:65535", &ss, &len), 0);
	assert_string_equal(sa_str(&ss, buf, sizeof(buf)), "4 0.0.0.0 65535");
	assert_int_equal(cfg_parse_hostport("[::]:25", &ss, &len), 0);
	assert_string_equal(sa_str(&ss, buf, sizeof(buf)), "6 :: 25");
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(cfg_parse_hostport("[2001:DB8::a]:10025", &ss, &len),
	    0);
	assert_string_equal(sa_str(&ss, buf, sizeof(buf)),
	    "6 2001:db8::a 10025");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_parse_hostport(bad[i], &ss, &len) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_parse_duration(void **state)
{
	static const struct { const char *s; long ms; } ok[] = {
		{ "0", 0 }, { "0s", 0 }, { "0ms", 0 }, { "250ms", 250 },
		{ "30", 30000 }, { "30s", 30000 }, { "5m", 300000 },
		{ "2h", 7200000 }, { "1d", 86400000 }, { "007s", 7000 },
		{ "9223372036854775807ms", 9223372036854775807L },
		{ "9223372036854775s", 9223372036854775000L },
	};
	static const char *bad[] = {
		"", "s", "ms", "-1s", "+1s", "1.5s", "1 s", " 1s", "1s ",
		"1sx", "1S", "1M", "1w", "1y", "1m30s", "1mss",
		"9223372036854775808ms", "9223372036854776s",
		"99999999999999999999999", "106751991167301d",
	};
	long ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = -1;
		if (cfg_parse_duration_ms(ok[i].s, &ms) != 0)
			fail_msg("rejected \"%s\"", ok[i].s);
		assert_int_equal(ms, ok[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_parse_duration_ms(bad[i], &ms) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_parse_size(void **state)
{
	static const struct { const char *s; unsigned long long v; } ok[] = {
		{ "0", 0 }, { "1", 1 }, { "10k", 10240 }, { "10K", 10240 },
		{ "25M", 26214400 }, { "25m", 26214400 },
		{ "1G", 1073741824 }, { "2g", 2147483648ULL },
		{ "16777215G", 16777215ULL << 30 },
		{ "18446744073709551615", 18446744073709551615ULL },
		{ "17179869183G", 17179869183ULL << 30 },
	};
	static const char *bad[] = {
		"", "k", "-1", "+1", "1kb", "1KB", "1 k", "1.5M", "1T", "0x10",
		"17179869184G", "18446744073709551616", "18014398509481984M",
		"99999999999999999999999999",
	};
	unsigned long long v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (cfg_parse_size(ok[i].s, &v) != 0)
			fail_msg("rejected \"%s\"", ok[i].s);
		assert_true(v == ok[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_parse_size(bad[i], &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_parse_bool(void **state)
{
	static const char *on[] = { "on", "yes", "true", "1" };
	static const char *off[] = { "off", "no", "false", "0" };
	static const char *bad[] = { "", "On", "YES", "2", "onn", "o", " on",
	    "enabled" };
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < 4; i++) {
		v = -1;
		assert_int_equal(cfg_parse_bool(on[i], &v), 0);
		assert_int_equal(v, 1);
		assert_int_equal(cfg_parse_bool(off[i], &v), 0);
		assert_int_equal(v, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cfg_parse_bool(bad[i], &v), -1);
}

static void
test_bounds_edges(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok(BASE "workers 256\ngreet_wait 60s\nmessage_size_limit 2G\n"
	    "data_line_max 1048576\ncommand_line_max 512\n"
	    "message_memory_max 4k\nmax_recipients 1\n");
	assert_int_equal(c->workers, 256);
	assert_int_equal(c->greet_wait_ms, 60000);
	assert_true(c->message_size_limit == 2ULL << 30);
	assert_int_equal(c->data_line_max, 1048576);
	assert_int_equal(c->command_line_max, 512);
	assert_int_equal(c->message_memory_max, 4096);
	assert_int_equal(c->max_recipients, 1);
	cfg_unref(c);
	c = load_ok(BASE "dns_resolver ::1\n");
	assert_string_equal(c->dns_resolver, "::1");
	cfg_unref(c);
	c = load_ok(BASE "dns_resolver 192.0.2.53:5353\n");
	cfg_unref(c);
	c = load_ok(BASE "greet_wait 0\ndata_line_max 1k\n");
	assert_int_equal(c->greet_wait_ms, 0);
	assert_int_equal(c->data_line_max, 1024);
	cfg_unref(c);
}

static void
test_trusted(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok(BASE "trusted_networks 192.0.2.0/24 2001:db8::/32\n"
	    "# appended\ntrusted_networks 198.51.100.7 ::ffff:10.0.0.0/104\n");
	assert_int_equal(c->trusted_networks.n, 4);
	assert_true(trusted(c, "192.0.2.200"));
	assert_true(trusted(c, "2001:db8:1::1"));
	assert_true(trusted(c, "198.51.100.7"));
	assert_false(trusted(c, "198.51.100.8"));
	assert_true(trusted(c, "10.2.3.4"));
	assert_false(trusted(c, "127.0.0.1"));
	assert_false(trusted(c, "::1"));
	cfg_unref(c);

	line_err("trusted_networks", "trusted_networks: missing value");
	line_err("trusted_networks 10.1.2.3/8", "trusted_networks: "
	    "\"10.1.2.3/8\" has host bits set beyond the prefix");
	line_err("trusted_networks 10.0.0.0/8 2001:db8::1/32",
	    "trusted_networks: \"2001:db8::1/32\" has host bits set beyond "
	    "the prefix");
	line_err("trusted_networks 10.0.0.0/33", "trusted_networks: "
	    "\"10.0.0.0/33\" is not an address or ADDR/BITS network");
	line_err("trusted_networks 10.0.0.0/8x", "trusted_networks: "
	    "\"10.0.0.0/8x\" is not an address or ADDR/BITS network");
	line_err("trusted_networks localhost", "trusted_networks: "
	    "\"localhost\" is not an address or ADDR/BITS network");
	line_err("trusted_networks 10.0.0.0/", "trusted_networks: "
	    "\"10.0.0.0/\" is not an address or ADDR/BITS network");
	line_err("trusted_networks /8", "trusted_networks: "
	    "\"/8\" is not an address or ADDR/BITS network");
}

static void
test_local_domains(void **state)
{
	struct config *c;
	char want[PATH_MAX + 128];
	static const char dom[] = "# our domains\n\nExample.NET\n"
	    "  .lists.example.net   # subdomains\nexample.info\n";

	(void)state;
	write_file("domains", dom, strlen(dom));
	c = load_ok(BASE "local_domains Example.COM example.org\n"
	    "local_domains .sub.example.com\nlocal_domains_file domains\n");
	assert_int_equal(domain_set_count(c->local_domains), 6);
	assert_true(domain_set_match(c->local_domains, "example.com"));
	assert_true(domain_set_match(c->local_domains, "EXAMPLE.ORG"));
	assert_true(domain_set_match(c->local_domains, "a.sub.example.com"));
	assert_false(domain_set_match(c->local_domains, "sub.example.com"));
	assert_true(domain_set_match(c->local_domains, "example.net"));
	assert_true(domain_set_match(c->local_domains, "x.lists.example.net"));
	assert_true(domain_set_match(c->local_domains, "example.info"));
	assert_false(domain_set_match(c->local_domains, "www.example.info"));
	assert_string_equal(c->local_domains_file, "domains");
	cfg_unref(c);

	/* absolute path works too */
	snprintf(want, sizeof(want), BASE "local_domains_file %s/domains\n",
	    tmpdir);
	c = load_ok(want);
	assert_int_equal(domain_set_count(c->local_domains), 3);
	cfg_unref(c);

	line_err("local_domains", "local_domains: missing value");
#define BAD_DOMAIN(d) line_err("local_domains ok.example " d, \
	"local_domains: \"" d "\" is not a domain (letters, digits, " \
	"hyphens, dots; \".example.com\" for subdomains)")
	BAD_DOMAIN("exa_mple.com");
	BAD_DOMAIN("-a.com");
	BAD_DOMAIN("a-.com");
	BAD_DOMAIN("a..com");
	BAD_DOMAIN("example.com.");
	BAD_DOMAIN("..example.com");
	BAD_DOMAIN(".");
	BAD_DOMAIN("*.example.com");
	BAD_DOMAIN("user@example.com");
	line_err("local_domains 0123456789012345678901234567890123456789012"
	    "345678901234567890123.com", "local_domains: \"01234567890123456"
	    "78901234567890123456789012345678901234567890123...\" is not a "
	    "domain (letters, digits, hyphens, dots; \".example.com\" for "
	    "subdomains)");
	/* 63-byte labels are fine, 253 bytes in all too */
	c = load_ok(BASE "local_domains 012345678901234567890123456789012345"
	    "678901234567890123456789012.com a-b.c0m\n");
	cfg_unref(c);
}

/* Errors in the domains file name that file and its line. */
static void
test_domains_file_errors(void **state)
{
	char want[PATH_MAX + 256], text[PATH_MAX + 64];
	struct config *c;

	(void)state;
	write_file("domains", "ok.example\n# c\nbad_one\n", 22);
	c = load(BASE "local_domains_file domains\n");
	assert_null(c);
	snprintf(want, sizeof(want), "%s/domains:3: \"bad_one\" is not a "
	    "domain (letters, digits, hyphens, dots; \".example.com\" for "
	    "subdomains)", tmpdir);
	assert_string_equal(err, want);

	write_file("domains", "a.example b.example\n", 20);
	assert_null(load(BASE "local_domains_file domains\n"));
	snprintf(want, sizeof(want), "%s/domains:1: one domain per line, got "
	    "2 words", tmpdir);
	assert_string_equal(err, want);

	snprintf(text, sizeof(text), BASE "local_domains_file nothere\n");
	assert_null(load(text));
	snprintf(want, sizeof(want), "%s/nothere: No such file or directory",
	    tmpdir);
	assert_string_equal(err, want);

	/* an empty domains file is fine */
	write_file("domains", "", 0);
	c = load_ok(BASE "local_domains_file domains\n");
	assert_int_equal(domain_set_count(c->local_domains), 0);
	cfg_unref(c);
}

static void
test_restart_diff(void **state)
{
	struct config *a, *b;
	char buf[256];

	(void)state;
	a = load_ok(BASE);
	b = load_ok(BASE "greet_wait 1s\nbanner other\nlocal_domains x.org\n");
	cfg_restart_diff(a, b, buf, sizeof(buf));
	assert_string_equal(buf, "");
	cfg_unref(b);

	b = load_ok("listen 127.0.0.1:2526\nbackend 127.0.0.1:10025\n"
	    "workers 2\nuser moat\n");
	cfg_restart_diff(a, b, buf, sizeof(buf));
	assert_string_equal(buf, "workers, user, listen");
	cfg_restart_diff(a, b, buf, 14);	/* "workers, user" + NUL */
	assert_string_equal(buf, "workers, user");
	cfg_restart_diff(a, b, buf, 13);
	assert_string_equal(buf, "workers");
	cfg_restart_diff(a, b, buf, 3);
	assert_string_equal(buf, "");
	cfg_unref(b);

	/* a listen option is a restart too; so are pidfile and backlog */
	b = load_ok(BASE "pidfile /run/x.pid\nlisten_backlog 5\n"
	    "reverse_dns off\ndns_resolver 127.0.0.53\n");
	cfg_restart_diff(a, b, buf, sizeof(buf));
	assert_string_equal(buf, "pidfile, listen_backlog, reverse_dns, "
	    "dns_resolver");
	cfg_unref(b);
	b = load_ok("listen 127.0.0.1:2525 proxy=v1\n"
	    "backend 127.0.0.1:10025\n");
	cfg_restart_diff(a, b, buf, sizeof(buf));
	assert_string_equal(buf, "listen");
	cfg_unref(b);
	b = load_ok("listen 127.0.0.1:2525 name=x\nbackend 127.0.0.1:10025\n");
	cfg_restart_diff(a, b, buf, sizeof(buf));
	assert_string_equal(buf, "listen");
	cfg_unref(b);
	b = load_ok("listen 127.0.0.1:2525\nlisten 127.0.0.1:2\n"
	    "backend 127.0.0.1:10025\n");
	cfg_restart_diff(a, b, buf, sizeof(buf));
	assert_string_equal(buf, "listen");
	cfg_restart_diff(b, b, buf, sizeof(buf));
	assert_string_equal(buf, "");
	cfg_unref(b);
	cfg_unref(a);
}

static char *
slurp(const char *path)
{
	static char buf[65536];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0 && (size_t)n < sizeof(buf) - 1);
	buf[n] = '\0';
	return buf;
}

static void
dump_to(const struct config *c, const char *name, char *out, size_t outsz)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	cfg_dump(c, fd);
	close(fd);
	snprintf(out, outsz, "%s", slurp(path));
}

static void
test_dump(void **state)
{
	static char first[65536], second[65536];
	struct config *c;

	(void)state;
	c = load_ok(full_conf);
	dump_to(c, "dump", first, sizeof(first));
	cfg_unref(c);
	assert_string_equal(first, "workers 4\nuser moat\n"
	    "pidfile /run/moatd.pid\nlisten 0.0.0.0:25 name=mx\n"
	    "listen [::]:25 proxy=any name=mx6\nlisten_backlog 511\n"
	    "# metrics_listen (not set)\n"
	    "log stderr\nlog_facility local3\nlog_format json\n"
	    "hostname MX1.Example.ORG\nbanner Welcome  to  moat\n"
	    "greet_wait 500ms\npregreet_action ignore\npipelining off\n"
	    "8bitmime off\nsmtputf8 off\nchunking on\nmessage_size_limit 10M\n"
	    "local_domains .example.org example.org\n"
	    "# local_domains_file (not set)\n"
	    "trusted_networks 10.0.0.0/8\nreceived_header off\n"
	    "reverse_dns off\ndns_resolver [::1]:5353\ndns_timeout 250ms\n"
	    "# rules (none)\nsa_rules off\n# sa_rules_dir (not set)\n"
	    "# sa_site_dir (not set)\nhyperscan off\n"
	    "# hyperscan_cache (not set)\nscore_tag 5\nscore_tempfail off\n"
	    "score_reject 10\nauth_score_tag 5\nauth_score_tempfail off\n"
	    "auth_score_reject off\n# subject_prefix (not set)\n"
	    "reply_show_rules off\n"
	    "bayes off\nbayes_store lmdb\nbayes_path " LOCALSTATEDIR
	    "/lib/moat/bayes\nbayes_min_spam 200\nbayes_min_ham 200\n"
	    "bayes_autolearn off\nbayes_autolearn_spam 12\n"
	    "bayes_autolearn_ham 0.1\n"
	    "bayes_timeout 250ms\nbayes_redis_seen_ttl 365d\n"
	    "greylist off\ngreylist_delay 5m\ngreylist_retry_window 2d\n"
	    "greylist_pass_lifetime 35d\ngreylist_awl_passes 5\n"
	    "greylist_awl_interval 1h\ngreylist_ipv4_prefix 24\n"
	    "greylist_ipv6_prefix 64\ngreylist_fcrdns on\n"
	    "greylist_min_score 0\ngreylist_on_store_failure pass\n"
	    "greylist_cache_ttl 1m\n# greylist_whitelist (not set)\n"
	    "store memory\nstore_memory_max_entries 1000000\n"
	    "redis_server 127.0.0.1:6379\n# redis_user (not set)\n"
	    "# redis_password_file (not set)\nredis_db 0\n"
	    "redis_prefix moat:\nredis_timeout 250ms\n"
	    "ratelimit_conn_per_ip off\nratelimit_msg_per_ip off\n"
	    "ratelimit_rcpt_per_sender off\nratelimit_msg_per_user off\n"
	    "ratelimit_window sliding\n"
	    "ratelimit_on_store_failure pass\n"
	    "# tls_cert (not set)\n# tls_key (not set)\n"
	    "tls_min_version TLSv1.2\n# tls_ciphers (not set)\n"
	    "tls_handshake_timeout 30s\n"
	    "auth_backend passwd\n"
	    "# passwd (not set)\n# sender_login_map (not set)\n"
	    "auth_threads 2\nauth_fail_limit 10/10m\n"
	    "auth_fail_net_limit 30/10m\n"
	    "backend [2001:db8::25]:10025\nbackend_identity proxy-v2\n"
	    "backend_helo gw.example.org\nbackend_connect_timeout 5s\n"
	    "backend_reply_timeout 2m\nbackend_data_timeout 1h\n"
	    "backend_check off\nbackend_tls off\n# backend_tls_ca (not set)\n"
	    "# backend_tls_name (not set)\nbare_newline reject\ndata_line_max 1000\n"
	    "message_memory_max 64k\nspool_dir /var/tmp/moat\n"
	    "command_line_max 4k\nmax_recipients 100\nmax_commands 500\n"
	    "max_errors 5\nmax_sessions 2000\nmax_sessions_per_ip 10\n"
	    "timeout_command 1m\ntimeout_data 15m\ndrain_timeout 0s\n"
	    "spf on\nspf_fail_action tag\ndkim on\ndmarc on\n"
	    "dmarc_enforce off\n# authserv_id (not set)\n"
	    "# dnsbl_sites (not set)\ndnsbl_threshold 1\n"
	    "# rhsbl_sites (not set)\n# uribl_sites (not set)\n"
	    "auth_deadline 10s\nauth_temperror accept\n"
	    "# dmarc_forwarders (not set)\n"
	    "milter_listen inet:8894@127.0.0.1\nmilter_max_inflight 1000\n"
	    "milter_timeout 10s\nmilter_quarantine_score off\n");

	/* what dump writes, load reads back to the same config */
	write_file("dump.conf", first, strlen(first));
	snprintf(second, sizeof(second), "%s/dump.conf", tmpdir);
	c = cfg_load(second, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	dump_to(c, "dump", second, sizeof(second));
	cfg_unref(c);
	assert_string_equal(first, second);

	/* defaults, unset keys as comments, domains eight to a line */
	c = load_ok(BASE "local_domains a.example b.example c.example "
	    "d.example e.example f.example g.example h.example i.example\n");
	dump_to(c, "dump", first, sizeof(first));
	cfg_unref(c);
	assert_non_null(strstr(first, "\n# user (not set)\n# pidfile (not "
	    "set)\nlisten 127.0.0.1:2525 name=smtp\nlisten_backlog 1024\n"
	    "# metrics_listen (not set)\n"
	    "log stderr\nlog_facility mail\nlog_format logfmt\n"));
	assert_non_null(strstr(first, "\ngreet_wait 3s\n"));
	assert_non_null(strstr(first, "\nmessage_size_limit 25M\n"));
	assert_non_null(strstr(first, "\n# trusted_networks (none)\n"));
	assert_non_null(strstr(first, "\nlocal_domains a.example b.example "
	    "c.example d.example e.example f.example g.example h.example\n"
	    "local_domains i.example\n"));
	assert_non_null(strstr(first, "\ndata_line_max 32k\n"));
	assert_non_null(strstr(first, "\ntimeout_command 5m\n"));
	assert_non_null(strstr(first, "\nbackend_data_timeout 10m\n"));

	c = cfg_defaults();
	dump_to(c, "dump", first, sizeof(first));
	cfg_unref(c);
	assert_non_null(strstr(first, "\n# listen (none)\n"));
	assert_non_null(strstr(first, "\n# local_domains (none)\n"));
	assert_non_null(strstr(first, "\n# backend (not set)\n"));
}

/* The greylist whitelist file: every kind of line, and its errors. */
static void
test_greylist_whitelist(void **state)
{
	struct config *c;
	struct netaddr a;
	char path[PATH_MAX];

	(void)state;
	write_file("wl", "# clients, names, senders, recipients\n"
	    "client 192.0.2.0/24\nclient 2001:db8::1\n"
	    "name .Mail.Example.COM\nsender example.org\n"
	    "rcpt Postmaster@example.test\nrcpt @opt-out.test\n",
	    strlen("# clients, names, senders, recipients\n"
	    "client 192.0.2.0/24\nclient 2001:db8::1\n"
	    "name .Mail.Example.COM\nsender example.org\n"
	    "rcpt Postmaster@example.test\nrcpt @opt-out.test\n"));
	c = load_ok(BASE "greylist_whitelist wl\n");
	assert_int_equal(netaddr_parse(&a, "192.0.2.77"), 0);
	assert_true(cidr_list_match(&c->grey_wl_clients, &a));
	assert_int_equal(netaddr_parse(&a, "192.0.3.1"), 0);
	assert_false(cidr_list_match(&c->grey_wl_clients, &a));
	assert_true(domain_set_match(c->grey_wl_names, "mail.example.com"));
	assert_true(domain_set_match(c->grey_wl_senders, "example.org"));
	assert_true(domain_set_match(c->grey_wl_rcpts,
	    "postmaster@example.test"));
	assert_true(domain_set_match(c->grey_wl_rcpts, "@opt-out.test"));
	cfg_unref(c);

	write_file("wl", "client 192.0.2.0/24\nhost foo\n",
	    strlen("client 192.0.2.0/24\nhost foo\n"));
	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	write_file("c.conf", BASE "greylist_whitelist wl\n",
	    strlen(BASE "greylist_whitelist wl\n"));
	assert_null(cfg_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "/wl:2: unknown kind"));

	write_file("wl", "rcpt nobody\n", strlen("rcpt nobody\n"));
	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	assert_null(cfg_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "/wl:1: rcpt:"));

	write_file("wl", "client 10.1.2.3/8\n",
	    strlen("client 10.1.2.3/8\n"));
	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	assert_null(cfg_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "/wl:1: client:"));
}

/* Sender authentication keys (issue 16): DNS lists in postscreen's
 * syntax are checked with the parser the checks use. */
static void
test_sender_auth(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok(BASE "spf off\nspf_fail_action reject\ndmarc_enforce on\n"
	    "authserv_id mx.example.com\n"
	    "dnsbl_sites zen.example*3 bl.example=127.0.0.[2;4..7]*-2\n"
	    "dnsbl_threshold 3\nuribl_sites multi.uribl.example\n"
	    "auth_deadline 3s\nauth_temperror tempfail\n"
	    "dmarc_forwarders lists.example.org  fwd.example.net\n");
	assert_int_equal(c->auth_deadline_ms, 3000);
	assert_int_equal(c->auth_temperror, CFG_AUTH_TEMP_TEMPFAIL);
	assert_string_equal(c->dmarc_forwarders,
	    "lists.example.org  fwd.example.net");
	assert_int_equal(c->spf, 0);
	assert_int_equal(c->spf_fail_action, 2);
	assert_int_equal(c->dkim, 1);
	assert_int_equal(c->dmarc_enforce, 1);
	assert_string_equal(c->authserv_id, "mx.example.com");
	assert_string_equal(c->dnsbl_sites,
	    "zen.example*3 bl.example=127.0.0.[2;4..7]*-2");
	assert_int_equal(c->dnsbl_threshold, 3);
	assert_null(c->rhsbl_sites);
	assert_string_equal(c->uribl_sites, "multi.uribl.example");
	cfg_unref(c);
	load_err(BASE "dnsbl_sites zen.example*x\n", 4,
	    "dnsbl_sites: \"x\": weight is not an integer in -1000..1000");
	load_err(BASE "rhsbl_sites dbl.example=127.0.1\n", 4,
	    "rhsbl_sites: \"127.0.1\": not an answer like 127.0.0.2 or "
	    "127.0.0.[2;4..7]");
	load_err(BASE "uribl_sites nodot\n", 4,
	    "uribl_sites: \"nodot\": not a DNS zone");
	load_err(BASE "dmarc_forwarders ok.example bad_dom!\n", 4,
	    "dmarc_forwarders: \"bad_dom!\" is not a valid domain name "
	    "(letters, digits, hyphens and dots)");
	load_err(BASE "spf_fail_action bounce\n", 4,
	    "spf_fail_action: \"bounce\" is not one of off, tag, reject");
}

/*
 * Scores are numbers from the load on (never strings parsed per message):
 * "off", negative and fractional values, and a dump that reads back to the
 * same double; anything else is refused with file and line.
 */
static void
test_scores(void **state)
{
	struct config *c;
	char out[16384];
	struct cfg_score sc;

	(void)state;
	c = load_ok(BASE "score_tag -2.5\nscore_reject off\n"
	    "score_tempfail 7.125\nauth_score_reject 0.1\n"
	    "bayes_autolearn_ham -0.001\ngreylist_min_score off\n");
	assert_true(c->score_tag.on);
	assert_true(c->score_tag.v == -2.5);
	assert_false(c->score_reject.on);
	assert_true(c->score_tempfail.on && c->score_tempfail.v == 7.125);
	assert_true(c->auth_score_reject.on && c->auth_score_reject.v == 0.1);
	assert_true(c->bayes_autolearn_ham.v == -0.001);
	assert_false(c->greylist_min_score.on);
	assert_true(c->greylist_min_score.v == 0);
	/* the defaults, parsed from the table's text */
	assert_true(c->bayes_autolearn_spam.on &&
	    c->bayes_autolearn_spam.v == 12);
	assert_false(c->auth_score_tempfail.on);
	dump_to(c, "dump", out, sizeof(out));
	assert_non_null(strstr(out, "\nscore_tag -2.5\n"));
	assert_non_null(strstr(out, "\nscore_reject off\n"));
	assert_non_null(strstr(out, "\nauth_score_reject 0.1\n"));
	assert_non_null(strstr(out, "\nbayes_autolearn_ham -0.001\n"));
	cfg_unref(c);

	line_err("score_tag high", "score_tag: \"high\" is not a number or "
	    "\"off\"");
	line_err("score_reject 10points", "score_reject: \"10points\" is not "
	    "a number or \"off\"");
	line_err("auth_score_tag inf", "auth_score_tag: \"inf\" is not a "
	    "number or \"off\"");
	line_err("bayes_autolearn_spam 1e999", "bayes_autolearn_spam: "
	    "\"1e999\" is not a number or \"off\"");
	line_err("greylist_min_score OFF", "greylist_min_score: \"OFF\" is "
	    "not a number or \"off\"");
	assert_int_equal(cfg_parse_score("nan", &sc), -1);
	assert_int_equal(cfg_parse_score("", &sc), -1);
	assert_int_equal(cfg_parse_score("3", &sc), 0);
	assert_true(sc.on && sc.v == 3);
}

/*
 * Enum settings are enums, each value named in its table; a bad word is
 * refused with file and line and the words it takes.
 */
static void
test_enum_names(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok("listen 127.0.0.1:2525 auth=required\n"
	    "listen 127.0.0.1:2526 auth=optional\n"
	    "backend 127.0.0.1:10025\nhostname mx.example.com\n"
	    "backend_tls required\nauth_backend backend\nstore redis\n"
	    "bayes_store redis\ngreylist_on_store_failure tempfail\n"
	    "ratelimit_on_store_failure tempfail\nspf_fail_action reject\n");
	assert_int_equal(c->listen[0].auth, CFG_AUTH_REQUIRED);
	assert_int_equal(c->listen[1].auth, CFG_AUTH_OPTIONAL);
	assert_int_equal(c->backend_tls, CFG_BTLS_REQUIRED);
	assert_int_equal(c->auth_backend, CFG_AUTHBE_MTA);
	assert_int_equal(c->store_kind, CFG_STORE_REDIS);
	assert_int_equal(c->bayes_store, CFG_BAYES_REDIS);
	assert_int_equal(c->greylist_on_store_failure, CFG_FAIL_TEMPFAIL);
	assert_int_equal(c->ratelimit_on_store_failure, CFG_FAIL_TEMPFAIL);
	assert_int_equal(c->spf_fail_action, CFG_SPF_REJECT);
	cfg_unref(c);
	c = load_ok(BASE "backend_tls opportunistic\n");
	assert_int_equal(c->backend_tls, CFG_BTLS_OPPORTUNISTIC);
	assert_int_equal(c->listen[0].auth, CFG_AUTH_OFF);
	assert_int_equal(c->auth_backend, CFG_AUTHBE_PASSWD);
	assert_int_equal(c->store_kind, CFG_STORE_MEMORY);
	assert_int_equal(c->bayes_store, CFG_BAYES_LMDB);
	assert_int_equal(c->greylist_on_store_failure, CFG_FAIL_PASS);
	cfg_unref(c);

	line_err("backend_tls 2", "backend_tls: \"2\" is not one of off, "
	    "opportunistic, required");
	line_err("store disk", "store: \"disk\" is not one of memory, redis");
	line_err("auth_backend mta", "auth_backend: \"mta\" is not one of "
	    "passwd, backend");
	line_err("bayes_store 1", "bayes_store: \"1\" is not one of lmdb, "
	    "redis");
	line_err("greylist_on_store_failure 1", "greylist_on_store_failure: "
	    "\"1\" is not one of pass, tempfail");
}

/* moat-milter's keys: the socket as libmilter takes it, numeric only. */
static void
test_milter_keys(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok(BASE "milter_listen unix:/run/moat/milter.sock\n"
	    "milter_max_inflight 50\nmilter_timeout 2s\n"
	    "milter_quarantine_score 7.5\n");
	assert_string_equal(c->milter_listen, "unix:/run/moat/milter.sock");
	assert_int_equal(c->milter_max_inflight, 50);
	assert_int_equal(c->milter_timeout_ms, 2000);
	assert_true(c->milter_quarantine_score.on &&
	    c->milter_quarantine_score.v == 7.5);
	cfg_unref(c);
	cfg_unref(load_ok(BASE "milter_listen inet6:8894@::1\n"));
	load_err(BASE "milter_listen inet:8894\n", 4, "milter_listen: "
	    "\"inet:8894\" is not unix:/PATH, inet:PORT@IPv4 or "
	    "inet6:PORT@IPv6");
	load_err(BASE "milter_listen inet:8894@localhost\n", 4, "milter_listen: "
	    "\"inet:8894@localhost\" is not unix:/PATH, inet:PORT@IPv4 or "
	    "inet6:PORT@IPv6");
	line_err("milter_listen inet:0@127.0.0.1", "milter_listen: "
	    "\"inet:0@127.0.0.1\" is not unix:/PATH, inet:PORT@IPv4 or "
	    "inet6:PORT@IPv6");
	load_err(BASE "milter_listen unix:rel/sock\n", 4, "milter_listen: "
	    "\"rel/sock\" is not an absolute path");
	assert_null(load(BASE "milter_timeout 10ms\n"));
	assert_null(load(BASE "milter_quarantine_score high\n"));
}

/*
 * A file for moat-milter alone (milter_listen, rules, thresholds; no
 * listen, no backend): moat-milter takes it, moatd refuses it and says
 * which line makes it a milter file.
 */
static void
test_milter_only(void **state)
{
#define MILTER_ONLY	"hostname mx.example.com\nscore_reject 10\n" \
			"milter_listen inet:8894@127.0.0.1\n"
	const char *text = MILTER_ONLY;
	struct config *c;

	(void)state;
	load_err(text, 3, "backend: required key is missing: moatd needs "
	    "listen and backend (milter_listen here is for moat-milter; "
	    "run `moat-milter -c` with this file)");
	load_err("hostname mx.example.com\nbackend 127.0.0.1:25\n"
	    "milter_listen inet:8894@127.0.0.1\n", 0,
	    "listen: at least one listen line is required");
	cfg_set_front(CFG_FRONT_MILTER);
	c = load_ok(text);
	assert_string_equal(c->milter_listen, "inet:8894@127.0.0.1");
	assert_int_equal(c->nlisten, 0);
	assert_null(c->backend);
	cfg_unref(c);
	/* milter_listen has a default: not even it is required. */
	cfg_unref(load_ok("hostname mx.example.com\n"));
	/* moatd's keys are still checked when they are there. */
	load_err("hostname mx.example.com\nbackend nowhere\n", 2,
	    "backend: \"nowhere\" is not ADDR:PORT (numeric, e.g. "
	    "127.0.0.1:10025 or [::1]:10025)");
	/* Every other check stays: a bad value is refused the same way. */
	load_err(MILTER_ONLY "milter_timeout 10ms\n", 4, "milter_timeout: 10ms is "
	    "out of range (100ms..5m)");
	/* moatctl reads either kind of file. */
	cfg_set_front(CFG_FRONT_TOOL);
	cfg_unref(load_ok(text));
	cfg_set_front(CFG_FRONT_MOATD);
	assert_null(load(text));
}

/* Rate limits: N/DURATION or off, bounded. */
static void
test_rates(void **state)
{
	struct config *c;

	(void)state;
	c = load_ok(BASE "ratelimit_conn_per_ip 30/1m\n"
	    "ratelimit_rcpt_per_sender off\n");
	assert_int_equal(c->ratelimit_conn_per_ip.n, 30);
	assert_int_equal(c->ratelimit_conn_per_ip.window_ms, 60000);
	assert_int_equal(c->ratelimit_rcpt_per_sender.n, 0);
	assert_int_equal(c->ratelimit_msg_per_ip.n, 0);
	cfg_unref(c);
	load_err(BASE "ratelimit_msg_per_ip 30\n", 4,
	    "ratelimit_msg_per_ip: \"30\" is not N/DURATION"
	    " (e.g. 100/1h; N 1..100000000, DURATION 1s..30d) or off");
	load_err(BASE "ratelimit_msg_per_ip 0/1m\n", 4,
	    "ratelimit_msg_per_ip: \"0/1m\" is not N/DURATION"
	    " (e.g. 100/1h; N 1..100000000, DURATION 1s..30d) or off");
	load_err(BASE "ratelimit_msg_per_ip 5/100ms\n", 4,
	    "ratelimit_msg_per_ip: \"5/100ms\" is not N/DURATION"
	    " (e.g. 100/1h; N 1..100000000, DURATION 1s..30d) or off");
	load_err(BASE "ratelimit_msg_per_ip x/1m\n", 4,
	    "ratelimit_msg_per_ip: \"x/1m\" is not N/DURATION"
	    " (e.g. 100/1h; N 1..100000000, DURATION 1s..30d) or off");
	load_err(BASE "ratelimit_msg_per_ip 5/1m 6/1m\n", 4,
	    "ratelimit_msg_per_ip: takes one value, got 2");
}

/* Lines that start "| `": a key's row in a Markdown table. */
static int
count_key_rows(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s = strchr(s, '\n'), s = s ? s + 1 :
	    NULL)
		if (strncmp(s, "| `", 3) == 0)
			n++;
	return n;
}

/* doc/config.md carries cfg_doc()'s table verbatim: the docs cannot drift. */
static void
test_doc(void **state)
{
	static char table[65536];
	const char *srcdir = getenv("srcdir");
	char path[PATH_MAX];
	char *doc;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	cfg_doc(fd);
	close(fd);
	snprintf(table, sizeof(table), "%s", slurp(path));
	assert_non_null(strstr(table, "| `workers` | int | 0 | 0..256 | "
	    "RESTART | worker threads; 0 = one per online CPU |\n"));
	assert_non_null(strstr(table, "| `greet_wait` | duration | 3s | "
	    "0s..1m | RELOADABLE |"));
	if (srcdir == NULL)
		srcdir = ".";
	snprintf(path, sizeof(path), "%s/doc/config.md", srcdir);
	doc = slurp(path);
	if (doc == NULL) {
		print_message("skipped: no %s\n", path);
		return;
	}
	if (strstr(doc, table) == NULL)
		fail_msg("%s does not hold cfg_doc()'s table; regenerate it",
		    path);
	/* Nor a key row the table does not have (a key that went away). */
	if (count_key_rows(doc) != count_key_rows(table))
		fail_msg("%s has %d key rows, the table %d", path,
		    count_key_rows(doc), count_key_rows(table));
}

/* The example in contrib/ stays a valid configuration. */
static void
test_contrib_example(void **state)
{
	const char *srcdir = getenv("srcdir");
	char path[PATH_MAX], buf[128];
	struct config *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/contrib/moat.conf",
	    srcdir ? srcdir : ".");
	if (access(path, R_OK) != 0) {
		print_message("skipped: no %s\n", path);
		return;
	}
	c = cfg_load(path, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nlisten, 2);
	assert_string_equal(sa_str(&c->listen[0].addr, buf, sizeof(buf)),
	    "4 0.0.0.0 25");
	assert_string_equal(sa_str(&c->backend_addr, buf, sizeof(buf)),
	    "4 127.0.0.1 10025");
	assert_int_equal(c->backend_identity, CFG_ID_XCLIENT);
	assert_true(domain_set_match(c->local_domains, "example.com"));
	cfg_unref(c);

	/* The milter-only example: moat-milter's, refused by moatd. */
	snprintf(path, sizeof(path), "%s/contrib/moat-milter.conf",
	    srcdir ? srcdir : ".");
	assert_null(cfg_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "milter_listen here is for moat-milter"));
	cfg_set_front(CFG_FRONT_MILTER);
	c = cfg_load(path, err, sizeof(err));
	cfg_set_front(CFG_FRONT_MOATD);
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(c->milter_listen, "inet:8894@127.0.0.1");
	assert_int_equal(c->nlisten, 0);
	cfg_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_backend_port),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_milter_only),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_listen_max),
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_bounds_edges),
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_local_domains),
		cmocka_unit_test(test_domains_file_errors),
		cmocka_unit_test(test_restart_diff),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_greylist_whitelist),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_scores),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_sender_auth),
		cmocka_unit_test(test_milter_keys),
		cmocka_unit_test(test_doc),
		cmocka_unit_test(test_contrib_example),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
