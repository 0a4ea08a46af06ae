#!/usr/bin/env python3
"""The Bayes store in Redis (issue 14, `bayes_store redis`) against a real
redis-server started here on a unix socket in a temporary directory and
stopped by its pid: moatctl learn / forget / relearn through a config
that says bayes_store redis; two learners at once keep the totals exact;
a Redis that refuses writes gives an error naming the server; the keys
are where doc/rules.md says and expire.  Then moatd: a learned spam is
tagged; Redis stopped mid-test -> mail still flows without Bayes and the
log says so once.

Needs root (the moatd part, Postfix) and redis-server.
"""

import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
import test_bayes as tb  # noqa: E402  (gen, run, BAYES_CF, CONF_HEAD)
import test_store_redis as tsr  # noqa: E402  (Redis, its RESP client)


def skip_reason():
    if not os.access(tsr.REDIS, os.X_OK):
        return "redis-server not installed"
    if not os.access(tb.MOATCTL, os.X_OK):
        return "no moatctl"
    return None


class RedisStore:
    """A private redis-server and a moat.conf that points Bayes at it."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.redis = tsr.Redis(self.dir.name)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.rc = self.redis.client()
        self.addCleanup(self.rc.close)
        self.rnd = random.Random(1414)
        self.conf = self.path("moat.conf", tb.CONF_HEAD % self.dir.name +
                              "bayes on\nbayes_store redis\n"
                              "redis_server unix:%s\nredis_prefix t14:\n"
                              % self.redis.sock)

    def path(self, name, text):
        p = os.path.join(self.dir.name, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def msgs(self, kind, n, start=0):
        return [self.path("%s/%d" % (kind, i), tb.gen(kind, i, self.rnd))
                for i in range(start, start + n)]

    def learn(self, how, *files):
        rc, out, err = tb.run("learn", "--" + how, "-c", self.conf, *files)
        self.assertEqual(rc, 0, err)
        return out

    def stats(self):
        rc, out, err = tb.run("bayes", "stats", "-c", self.conf)
        self.assertEqual(rc, 0, err)
        return dict(kv.split("=", 1) for kv in out.split()[1:]
                    if "=" in kv)


@unittest.skipIf(skip_reason(), skip_reason())
class Learn(RedisStore, unittest.TestCase):
    def test_learn_forget_relearn(self):
        spam = self.msgs("spam", 3)
        self.assertIn("3 messages: learned 3,", self.learn("spam", *spam))
        self.assertIn("learned 0, already 3,", self.learn("spam", *spam))
        st = self.stats()
        self.assertEqual((st["nspam"], st["nham"], st["seen"]),
                         ("3", "0", "3"))
        self.assertGreater(int(st["tokens"]), 10)
        self.assertIn("moved 1,", self.learn("ham", spam[0]))
        st = self.stats()
        self.assertEqual((st["nspam"], st["nham"]), ("2", "1"))
        self.assertIn("forgotten 1,", self.learn("forget", spam[0]))
        self.assertIn("unknown 1,", self.learn("forget", spam[0]))
        st = self.stats()
        self.assertEqual((st["nspam"], st["nham"], st["seen"]),
                         ("2", "0", "2"))
        # forgetting everything leaves no token behind
        self.learn("forget", *spam[1:])
        self.assertEqual(self.stats()["tokens"], "0")
        self.assertEqual(self.rc.cmd("KEYS", "t14:bayes:t:*"), [])

    def test_layout_and_expiry(self):
        self.learn("spam", *self.msgs("spam", 2))
        keys = self.rc.cmd("KEYS", "t14:*")
        buckets = [k for k in keys if k.startswith("t14:bayes:t:")]
        seen = [k for k in keys if k.startswith("t14:bayes:seen:")]
        self.assertEqual(len(seen), 2)
        self.assertIn("t14:bayes:totals", keys)
        self.assertTrue(buckets)
        for k in buckets:
            self.assertEqual(len(k), len("t14:bayes:t:") + 4, k)
        for k in buckets + seen:
            ttl = self.rc.cmd("TTL", k)
            self.assertGreater(ttl, 364 * 86400, k)
        v = self.rc.cmd("HGETALL", buckets[0])[1]
        self.assertRegex(v, r"^\d+:\d+:\d+$")

    def test_concurrent_learners_totals_exact(self):
        a, b = self.msgs("spam", 30), self.msgs("ham", 30)
        procs = [subprocess.Popen(
            [tb.MOATCTL, "learn", "--" + how, "-q", "-c", self.conf] + fs,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for how, fs in (("spam", a), ("ham", b), ("spam", a[:15]))]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        st = self.stats()
        self.assertEqual((st["nspam"], st["nham"], st["seen"]),
                         ("30", "30", "60"))
        # the token count agrees with the buckets
        n = sum(self.rc.cmd("HLEN", k)
                for k in self.rc.cmd("KEYS", "t14:bayes:t:*"))
        self.assertEqual(int(st["tokens"]), n)

    def test_refused_writes_named(self):
        self.rc.cmd("CONFIG", "SET", "min-replicas-to-write", "1")
        rc, out, err = tb.run("learn", "--spam", "-c", self.conf,
                              *self.msgs("spam", 1))
        self.assertNotEqual(rc, 0)
        self.assertIn("redis unix:%s" % self.redis.sock, err)
        self.assertIn("NOREPLICAS", err)

    def test_down_named(self):
        self.redis.stop()
        rc, out, err = tb.run("bayes", "stats", "-c", self.conf)
        self.assertNotEqual(rc, 0)
        self.assertIn("redis unix:%s" % self.redis.sock, err)


@unittest.skipIf(skip_reason(), skip_reason())
class Daemon(RedisStore, mt.MoatTestCase):
    SHARED_MOATD = False

    def setUp(self):
        mt.MoatTestCase.setUp(self)
        RedisStore.setUp(self)
        self.rules = self.path("bayes.cf", tb.BAYES_CF)
        for kind in ("spam", "ham"):
            self.learn(kind, "-q", *self.msgs(kind, 25))

    def bayes_moatd(self, timeout="300ms"):
        return self.start_moatd(
            {"score_tag": "5", "score_reject": "off", "bayes": "on",
             "bayes_store": "redis", "redis_server": "unix:" +
             self.redis.sock, "redis_prefix": "t14:", "bayes_min_spam": "20",
             "bayes_min_ham": "20", "bayes_timeout": timeout},
            ["rules " + self.rules])

    def test_learned_spam_tagged_then_redis_down(self):
        m = self.bayes_moatd()
        c = self.client(m)
        c.greet()
        spam = tb.gen("spam", 77, self.rnd, self.tok).replace("\n", "\r\n")
        rs = self.send_mail(c, ["alice@example.test"], spam.encode())
        self.assertReply(rs[-1], 250)
        txs = mt.poll(lambda: len(m.txs()) >= 1 and m.txs())
        self.assertTrue(txs, m.log())
        self.assertGreater(float(txs[0]["bayes"]), 0.99, txs[0])
        self.assertIn("BAYES_99", txs[0].get("rules", ""))
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertIn("X-Spam-Flag: YES", got[0].split(b"\n\n", 1)[0]
                      .decode())
        # Redis goes away: mail flows without Bayes, logged once
        self.redis.stop()
        for i in range(3):
            rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
                "%s-%d" % (self.tok, i)))
            self.assertReply(rs[-1], 250)
        c.cmd("QUIT")
        for i in range(3):
            self.assertEqual(len(self.postfix.wait_messages(
                "alice", "%s-%d" % (self.tok, i))), 1)
        txs = mt.poll(lambda: len(m.txs()) >= 4 and m.txs())
        self.assertTrue(txs, m.log())
        self.assertEqual([t.get("bayes") for t in txs[1:]], ["-"] * 3)
        errs = [l for l in m.log_lines() if "bayes:" in l and
                self.redis.sock in l]
        self.assertEqual(len(errs), 1, m.log())
        self.assertTrue(m.alive())

    def test_hung_redis_bounded(self):
        """A Redis that accepts and never answers (SIGSTOP): each message
        waits at most bayes_timeout, and the dropped connection is not
        retried for 5 s, so three messages cost one timeout (1 s), not
        three."""
        m = self.bayes_moatd(timeout="1s")
        c = self.client(m)
        c.greet()
        self.redis.kill(tsr.signal.SIGSTOP)
        t0 = tsr.time.monotonic()
        for i in range(3):
            rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
                "%s-%d" % (self.tok, i)))
            self.assertReply(rs[-1], 250)
        took = tsr.time.monotonic() - t0
        c.cmd("QUIT")
        self.redis.kill(tsr.signal.SIGCONT)
        for i in range(3):
            self.assertEqual(len(self.postfix.wait_messages(
                "alice", "%s-%d" % (self.tok, i))), 1)
        txs = mt.poll(lambda: len(m.txs()) >= 3 and m.txs())
        self.assertTrue(txs, m.log())
        self.assertEqual([t.get("bayes") for t in txs], ["-"] * 3)
        print("hung redis: 3 messages took %.3f s" % took, file=sys.stderr)
        self.assertGreaterEqual(took, 1.0)     # it did wait, once
        self.assertLess(took, 2.5)             # and only once
        errs = [l for l in m.log_lines() if "bayes:" in l and
                self.redis.sock in l]
        self.assertEqual(len(errs), 1, m.log())


class StalledRedis:
    """A unix socket that accepts connections, reads what comes and never
    answers: a Redis hung in a way SIGSTOP does not show (the kernel
    still accepts).  Its thread is stopped and joined by stop()."""

    def __init__(self, path):
        import socket
        import threading
        self.path = path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(16)
        self.srv.settimeout(0.1)
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        import select
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
                self.conns.append(c)
            except OSError:
                pass
            r, _, _ = select.select(self.conns, [], [], 0) \
                if self.conns else ([], [], [])
            for c in r:
                try:
                    c.recv(65536)
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.srv.close()


class Stalled(mt.MoatTestCase):
    """Issue 13: with bayes_store redis the token read is asynchronous on
    the worker's loop.  While one message waits for a Redis that never
    answers, another session on the same (only) worker is served at once;
    the waiting message goes on without Bayes after bayes_timeout."""
    SHARED_MOATD = False

    def test_stalled_redis_does_not_stop_the_loop(self):
        import threading
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        fake = StalledRedis(os.path.join(d.name, "redis.sock"))
        self.addCleanup(fake.stop)
        rules = os.path.join(d.name, "bayes.cf")
        with open(rules, "w") as f:
            f.write(tb.BAYES_CF)
        m = self.start_moatd(
            {"workers": "1", "bayes": "on", "bayes_store": "redis",
             "redis_server": "unix:" + fake.path, "bayes_timeout": "3s",
             "score_reject": "off"}, ["rules " + rules])
        a = self.client(m)
        a.greet()
        res = {}

        def send_a():
            t0 = time.monotonic()
            res["a"] = self.send_mail(a, ["alice@example.test"],
                                      mt.make_message(self.tok + "-a"))
            res["a_s"] = time.monotonic() - t0

        ta = threading.Thread(target=send_a)
        ta.start()
        # A's message reached the end of DATA: its Bayes read is pending.
        self.assertTrue(mt.poll(lambda: fake.conns, timeout=5),
                        "moatd never connected to the fake Redis")
        time.sleep(0.3)
        t0 = time.monotonic()
        b = self.client(m)
        rb = b.greet()
        b_s = time.monotonic() - t0
        ta.join(15)
        self.assertReply(rb, 250)
        print("stalled redis: another session greeted in %.3f s, the "
              "waiting message took %.3f s" % (b_s, res.get("a_s", -1)),
              file=sys.stderr)
        self.assertLess(b_s, 1.5, "the worker's loop was blocked")
        self.assertReply(res["a"][-1], 250)
        self.assertGreaterEqual(res["a_s"], 2.5)    # it waited for Redis
        txs = mt.poll(lambda: len(m.txs()) >= 1 and m.txs())
        self.assertTrue(txs, m.log())
        self.assertEqual(txs[0].get("bayes"), "-")
        errs = [l for l in m.log_lines() if "bayes:" in l and
                fake.path in l]
        self.assertEqual(len(errs), 1, m.log())
        self.assertTrue(m.alive())


if __name__ == "__main__":
    mt.main()
