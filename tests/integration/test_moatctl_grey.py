#!/usr/bin/env python3
"""`moatctl greylist` against the Redis a real moatd greylists through
(issue 4, Operations).

A private redis-server on a unix socket, a private Postfix, and moatd with
`greylist on`, `store redis`.  moatd greylists a triplet (451 4.7.1); then
moatctl, reading the same config file: `count` shows one pending triplet,
`list` shows it (and filters by pattern), `lookup` derives the same
triplet from the client address and envelope (another address of the
same /24 and a differently cased sender too) and finds it pending;
`pass` makes the next attempt through moatd get 250 and reach Postfix;
`delete` removes it, after which the next attempt is new again (451);
`whitelist 127.0.0.2` lets a new triplet from that client through at
once, and deleting the w: key ends that.  Without Postfix: the memory
store exits 2 with a clear message, a bad config exits 1 naming file and
line, an unreachable Redis exits 1 at once, bad arguments exit 1.

The delay is a minute, not the 2 s of test_greylist.py: here a retry must
pass because of `moatctl greylist pass`, never because the delay ran out.

moatctl is $MOATCTL, else the moatctl next to $MOATD (both are built in
the top build directory).  Every process is stopped by its pid.  SKIP (77)
unless root, with postfix, redis-server, moatd and moatctl.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
from test_store_redis import Redis, REDIS, Resp  # noqa: E402

SENDER = "s@sender.test"
NET = "127.0.0.0/24"                # mt.CLIENT_IP's client part (/24)
RETRY_WINDOW_S = 2 * 86400


def moatctl_path():
    p = os.environ.get("MOATCTL")
    if p:
        return p
    moatd_dir = os.path.dirname(os.environ.get("MOATD", ""))
    for cand in (os.path.join(moatd_dir, "moatctl"),
                 os.path.join(moatd_dir, "..", "..", "moatctl")):
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(moatd_dir, "moatctl")


class Ctl:
    """One moatctl run: exit status, stdout lines parsed as logfmt, and
    the raw texts."""

    def __init__(self, conf, *args, timeout=30):
        t0 = time.monotonic()
        r = subprocess.run([moatctl_path(), "greylist", "-c", conf] +
                           [str(a) for a in args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        self.secs = time.monotonic() - t0
        self.rc = r.returncode
        self.out = r.stdout.decode(errors="replace")
        self.err = r.stderr.decode(errors="replace")
        self.lines = [mt.parse_logfmt(line) for line in
                      self.out.splitlines()]

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out,
                                                    self.err)


class CtlMixin:
    def ctl(self, conf, *args, rc=0):
        c = Ctl(conf, *args)
        self.assertEqual(c.rc, rc, c)
        return c

    def assertItems(self, c, n):
        self.assertEqual(len(c.lines), n, c)


class MoatctlGreylist(CtlMixin, mt.MoatTestCase):
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="moat-ctl-")
        self.addCleanup(mt.rmtree, self.tmp)
        self.redis = Redis(self.tmp)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.m = self.start_moatd(
            {"greylist": "on", "greylist_delay": "1m", "reverse_dns": "off",
             # What moatctl changes must show at once: no local cache.
             "greylist_cache_ttl": "0",
             "store": "redis", "redis_server": "unix:" + self.redis.sock})
        self.conf = self.m.conf_path

    def attempt(self, rcpt, sender=SENDER):
        """One transaction from mt.CLIENT_IP (the message is sent if the
        RCPT was accepted).  Returns the RCPT reply; self.grey is the
        greylist= of moatd's tx line for it."""
        before = len(self.m.txs())
        c = self.client(self.m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<%s>" % sender), 250)
        r = c.cmd("RCPT TO:<%s>" % rcpt)
        if r.code == 250:
            self.assertReply(c.cmd("DATA"), 354)
            c.send(mt.dot_stuff(mt.make_message(self.tok)))
            self.assertReply(c.reply(), 250)
        else:
            self.assertReply(c.cmd("DATA"), 554)
        c.cmd("QUIT")
        # moatd writes the tx line when the transaction ends, which may be
        # a moment after the reply the client saw: wait for this one.
        txs = mt.poll(lambda: self.m.txs()[before:], 10)
        self.assertEqual(len(txs), 1, self.m.log())
        self.grey = txs[0].get("greylist")
        return r

    def count(self):
        c = self.ctl(self.conf, "count")
        self.assertItems(c, 1)
        return {k: int(v) for k, v in c.lines[0].items()}

    def test_count_list_lookup_pass_delete(self):
        key = "t:%s %s alice@example.test" % (NET, SENDER)
        self.assertReply(self.attempt("alice@example.test"), 451, "4.7.1")
        self.assertEqual(self.grey, "new")

        self.assertEqual(self.count(), {
            "triplets": 1, "pending": 1, "passed": 0, "expired": 0,
            "whitelisted": 0, "auto_whitelisted": 0, "awl_counting": 0})

        c = self.ctl(self.conf, "list")
        self.assertItems(c, 1)
        e = c.lines[0]
        self.assertEqual((e["type"], e["key"], e["client"], e["sender"],
                          e["rcpt"], e["state"], e["pass_count"],
                          e["passed_until"]),
                         ("triplet", key, NET, SENDER, "alice@example.test",
                          "pending", "0", "-"), c)
        self.assertRegex(e["first_seen"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        wait = int(e["wait"].rstrip("s"))
        self.assertTrue(50 <= wait <= 60, c)
        ttl = int(e["ttl"].rstrip("s"))
        self.assertTrue(RETRY_WINDOW_S - 60 <= ttl <= RETRY_WINDOW_S, c)
        # PATTERN: a substring of the key, or a glob over the whole key.
        self.assertItems(self.ctl(self.conf, "list", "alice@"), 1)
        self.assertItems(self.ctl(self.conf, "list", "t:*example.test"), 1)
        self.assertItems(self.ctl(self.conf, "list", "bob@"), 0)
        self.assertItems(self.ctl(self.conf, "list", "w:*"), 0)
        self.assertItems(self.ctl(self.conf, "list", "--limit", "1"), 1)

        # lookup derives the key as moatd does: the client's /24, the
        # sender normalised (case, angle brackets).
        for ip, sender in (("127.0.0.2", SENDER),
                           ("127.0.0.77", "<S@Sender.TEST>")):
            c = self.ctl(self.conf, "lookup", ip, sender,
                         "alice@example.test")
            self.assertItems(c, 1)
            self.assertEqual((c.lines[0]["key"], c.lines[0]["state"],
                              c.lines[0]["next"]), (key, "pending",
                                                    "pending"), c)
        c = self.ctl(self.conf, "lookup", "127.0.1.2", SENDER,
                     "alice@example.test")
        self.assertEqual((c.lines[0]["client"], c.lines[0]["state"],
                          c.lines[0]["next"]), ("127.0.1.0/24", "none",
                                                "new"), c)

        # Retried too early: still greylisted (the delay is a minute).
        self.assertReply(self.attempt("alice@example.test"), 451, "4.7.1")
        self.assertEqual(self.grey, "pending")

        c = self.ctl(self.conf, "pass", mt.CLIENT_IP, SENDER,
                     "alice@example.test")
        self.assertItems(c, 1)
        self.assertEqual((c.lines[0]["key"], c.lines[0]["state"],
                          c.lines[0]["pass_count"], c.lines[0]["next"]),
                         (key, "passed", "1", "passed"), c)
        self.assertEqual(self.count()["passed"], 1)

        self.assertReply(self.attempt("alice@example.test"), 250)
        self.assertEqual(self.grey, "passed")
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)
        c = self.ctl(self.conf, "lookup", mt.CLIENT_IP, SENDER,
                     "alice@example.test")
        self.assertEqual(c.lines[0]["pass_count"], "2", c)

        # delete by the key list printed (one argument, spaces and all).
        c = self.ctl(self.conf, "delete", key)
        self.assertItems(c, 1)
        self.assertEqual((c.lines[0]["key"], c.lines[0]["state"]),
                         (key, "deleted"), c)
        r = Resp(self.redis.sock)
        try:
            self.assertEqual(r.cmd("EXISTS", "moat:" + key), 0)
        finally:
            r.close()
        self.assertEqual(self.count()["triplets"], 0)
        c = self.ctl(self.conf, "delete", key)
        self.assertEqual(c.lines[0]["state"], "none", c)
        # The next attempt is a new triplet again.
        self.assertReply(self.attempt("alice@example.test"), 451, "4.7.1")
        self.assertEqual(self.grey, "new")
        # delete by CLIENT_IP SENDER RCPT, as lookup takes them.
        c = self.ctl(self.conf, "delete", mt.CLIENT_IP, SENDER,
                     "alice@example.test")
        self.assertEqual((c.lines[0]["key"], c.lines[0]["state"]),
                         (key, "deleted"), c)
        self.assertEqual(self.count()["triplets"], 0)

    def test_whitelist(self):
        c = self.ctl(self.conf, "whitelist", mt.CLIENT_IP, "--ttl", "10m")
        self.assertItems(c, 1)
        e = c.lines[0]
        self.assertEqual((e["type"], e["key"], e["client"], e["state"]),
                         ("whitelist", "w:" + NET, NET, "whitelisted"), c)
        self.assertTrue(590 <= int(e["ttl"].rstrip("s")) <= 600, c)
        # A triplet moatd never saw passes at once.
        self.assertReply(self.attempt("bob@example.test"), 250)
        self.assertEqual(self.grey, "whitelisted")
        self.assertEqual(len(self.postfix.wait_messages("bob", self.tok)), 1)
        cnt = self.count()
        self.assertEqual((cnt["whitelisted"], cnt["triplets"]), (1, 0))
        self.assertItems(self.ctl(self.conf, "list", "w:*"), 1)
        c = self.ctl(self.conf, "lookup", mt.CLIENT_IP, SENDER,
                     "carol@example.test")
        self.assertItems(c, 2)          # the triplet, then the w: entry
        self.assertEqual((c.lines[0]["state"], c.lines[0]["next"]),
                         ("none", "whitelisted"), c)
        self.assertEqual(c.lines[1]["key"], "w:" + NET, c)
        # Without the entry, greylisting is back.
        c = self.ctl(self.conf, "delete", "w:" + NET)
        self.assertEqual(c.lines[0]["state"], "deleted", c)
        self.assertReply(self.attempt("carol@example.test"), 451, "4.7.1")
        # A network wider than the client part is every /24 in it.
        c = self.ctl(self.conf, "whitelist", "10.1.0.0/23")
        self.assertEqual([e["client"] for e in c.lines],
                         ["10.1.0.0/24", "10.1.1.0/24"], c)
        # The default TTL is greylist_pass_lifetime (35 days).
        self.assertTrue(35 * 86400 - 60 <= int(c.lines[0]["ttl"][:-1]) <=
                        35 * 86400, c)

    def test_refusals(self):
        c = self.ctl(self.conf, "lookup", "not-an-ip", SENDER,
                     "alice@example.test", rc=1)
        self.assertIn("not-an-ip: not an IP address", c.err)
        c = self.ctl(self.conf, "whitelist", "127.0.0.128/25", rc=1)
        self.assertIn("narrower than a client part", c.err)
        c = self.ctl(self.conf, "whitelist", "10.0.0.0/8", rc=1)
        self.assertIn("greylist_whitelist", c.err)
        c = self.ctl(self.conf, "delete", "nonsense", rc=1)
        self.assertIn("not a key", c.err)
        self.ctl(self.conf, "frobnicate", rc=2)
        self.ctl(self.conf, "lookup", mt.CLIENT_IP, rc=2)
        self.assertEqual(self.count()["whitelisted"], 0)


class MoatctlGreylistConfig(CtlMixin, mt.MoatTestCase):
    """The config and store errors: no Postfix, no moatd needed."""

    SHARED_MOATD = False
    NEED_POSTFIX = False

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="moat-ctl-")
        self.addCleanup(mt.rmtree, self.tmp)

    def write(self, name, lines):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(["listen 127.0.0.1:%d" % mt.free_port(),
                               "backend 127.0.0.1:%d" % mt.free_port(),
                               "spool_dir " + self.tmp] + lines) + "\n")
        return path

    def test_memory_store_exits_2(self):
        for lines in (["greylist on", "store memory"], ["greylist on"]):
            c = self.ctl(self.write("mem.conf", lines), "count", rc=2)
            self.assertIn("memory store lives inside the moatd process",
                          c.err)
            self.assertIn("store redis", c.err)
            self.assertEqual(c.out, "")

    def test_bad_config_names_file_and_line(self):
        path = self.write("bad.conf", ["greylist on", "greylist_delay soon"])
        c = self.ctl(path, "count", rc=1)
        self.assertIn("%s:5:" % path, c.err)
        self.assertIn("greylist_delay", c.err)
        c = self.ctl(os.path.join(self.tmp, "missing.conf"), "count", rc=1)
        self.assertIn("missing.conf", c.err)

    def test_redis_down_exits_1_at_once(self):
        sock = os.path.join(self.tmp, "no-redis.sock")
        path = self.write("down.conf", ["greylist on", "store redis",
                                        "redis_server unix:" + sock])
        c = self.ctl(path, "list", rc=1)
        self.assertIn("cannot reach Redis", c.err)
        self.assertIn(sock, c.err)
        self.assertLess(c.secs, 5)
        self.assertEqual(c.out, "")


def main():
    for what, path in (("redis-server", REDIS), ("moatctl", moatctl_path())):
        if not os.access(path, os.X_OK):
            print("SKIP: %s not found (%s)" % (what, path))
            sys.exit(mt.SKIP)
    mt.main()


if __name__ == "__main__":
    main()
