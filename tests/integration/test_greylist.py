#!/usr/bin/env python3
"""Greylisting through moatd (issue 4): a new triplet gets 451 4.7.1, a
retry before the delay too, a retry after it reaches Postfix; a recipient
greylisted after the backend accepted it is left out of the message the
backend gets; trusted clients skip greylisting; two moatd share one Redis,
and a Redis outage degrades to the configured policy and recovers by
itself."""

import os
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
from test_store_redis import Redis, REDIS  # noqa: E402

DELAY = 2.0


class GreyBase(mt.MoatTestCase):
    SHARED_MOATD = False

    def grey_moatd(self, extra=(), conf=None):
        c = {"greylist": "on", "greylist_delay": "2s",
             "reverse_dns": "off"}
        c.update(conf or {})
        return self.start_moatd(c, list(extra))

    def attempt(self, m, rcpts, sender="s@sender.test", src=mt.CLIENT_IP):
        """One transaction; returns (RCPT replies, final reply or None)."""
        c = self.client(m, src=src)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<%s>" % sender), 250)
        rr = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
        final = None
        if any(r.code == 250 for r in rr):
            self.assertReply(c.cmd("DATA"), 354)
            c.send(mt.dot_stuff(mt.make_message(self.tok)))
            final = c.reply()
        else:
            self.assertReply(c.cmd("DATA"), 554)
        c.cmd("QUIT")
        return rr, final


class Greylist(GreyBase):
    def test_first_attempt_retry_and_pass(self):
        m = self.grey_moatd()
        rr, _ = self.attempt(m, ["alice@example.test"])
        self.assertReply(rr[0], 451, "4.7.1")
        self.assertIn("try again in", rr[0].text)
        rr, _ = self.attempt(m, ["alice@example.test"])
        self.assertReply(rr[0], 451, "4.7.1")   # before the delay
        time.sleep(DELAY + 0.3)
        rr, final = self.attempt(m, ["alice@example.test"])
        self.assertReply(rr[0], 250)
        self.assertReply(final, 250)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)
        grey = [t.get("greylist") for t in m.txs()]
        self.assertEqual(grey[:3], ["new", "pending", "passed"], m.log())

    def test_greylisted_recipient_left_out_of_the_message(self):
        m = self.grey_moatd()
        self.attempt(m, ["alice@example.test"])
        time.sleep(DELAY + 0.3)
        # alice has passed; bob is new: the message reaches alice only,
        # although Postfix had accepted bob before moatd deferred him.
        rr, final = self.attempt(m, ["alice@example.test",
                                     "bob@example.test"])
        self.assertReply(rr[0], 250)
        self.assertReply(rr[1], 451, "4.7.1")
        self.assertReply(final, 250)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)
        self.assertNothingDeliveredTo("bob")

    def assertNothingDeliveredTo(self, user):
        self.postfix.settle()
        time.sleep(0.5)
        self.assertEqual(self.postfix.messages(user, self.tok), [])

    def test_auto_whitelist_after_passes(self):
        m = self.grey_moatd(conf={"greylist_awl_passes": "2",
                                  "greylist_awl_interval": "0"})
        for u in ("alice", "bob"):
            rr, _ = self.attempt(m, ["%s@example.test" % u])
            self.assertReply(rr[0], 451, "4.7.1")
        time.sleep(DELAY + 0.3)
        for u in ("alice", "bob"):        # two passed deliveries
            rr, final = self.attempt(m, ["%s@example.test" % u])
            self.assertReply(rr[0], 250)
        # The client network is now auto-whitelisted: a new triplet passes.
        rr, final = self.attempt(m, ["carol@example.test"],
                                 sender="new@sender.test")
        self.assertReply(rr[0], 250)
        self.assertReply(final, 250)
        self.assertEqual(m.txs()[-1].get("greylist"), "whitelisted")

    def test_trusted_client_skips(self):
        m = self.grey_moatd()
        rr, final = self.attempt(m, ["carol@example.test"], src="127.0.0.1")
        self.assertReply(rr[0], 250)
        self.assertReply(final, 250)
        self.assertEqual(m.txs()[-1].get("greylist"), "skipped")

    def test_min_score_spares_clean_senders(self):
        m = self.grey_moatd(conf={"greylist_min_score": "100"})
        rr, final = self.attempt(m, ["carol@example.test"])
        self.assertReply(rr[0], 250)
        self.assertEqual(m.txs()[-1].get("greylist"), "skipped")


class GreylistWhitelist(GreyBase):
    """The greylist_whitelist file, and its reload on SIGHUP."""

    def test_whitelist_file_and_reload(self):
        wl = os.path.join(tempfile.mkdtemp(prefix="moat-wl-"), "wl")
        self.addCleanup(mt.rmtree, os.path.dirname(wl))
        with open(wl, "w") as f:
            f.write("rcpt carol@example.test\nsender friend.test\n")
        m = self.grey_moatd(conf={"greylist_whitelist": wl})
        # An opted-out recipient, and a whitelisted sender domain (and its
        # subdomains), pass at once.
        rr, final = self.attempt(m, ["carol@example.test"])
        self.assertReply(rr[0], 250)
        self.assertEqual(m.txs()[-1].get("greylist"), "whitelisted")
        rr, _ = self.attempt(m, ["alice@example.test"],
                             sender="x@mx.friend.test")
        self.assertReply(rr[0], 250)
        rr, _ = self.attempt(m, ["alice@example.test"],
                             sender="x@unfriend.test")
        self.assertReply(rr[0], 451, "4.7.1")
        # The client network joins on reload, without a restart.
        with open(wl, "a") as f:
            f.write("client 127.0.0.0/24\n")
        m.signal(signal.SIGHUP)
        m.wait_log("reload: configuration")
        rr, _ = self.attempt(m, ["bob@example.test"], sender="y@other.test")
        self.assertReply(rr[0], 250)
        # A broken file is refused on reload, naming file and line; the
        # entries in force stay.
        with open(wl, "a") as f:
            f.write("clinet 10.0.0.0/8\n")
        m.signal(signal.SIGHUP)
        m.wait_log("reload refused")
        self.assertIn("%s:4:" % wl, m.log())
        rr, _ = self.attempt(m, ["bob@example.test"], sender="z@other.test")
        self.assertReply(rr[0], 250)


class RateLimits(GreyBase):
    """Rate limits hold, answer 421/451 4.7.0, and recover after the
    window; trusted clients are exempt."""

    def test_connections_per_ip(self):
        m = self.start_moatd({"ratelimit_conn_per_ip": "2/2s",
                              "ratelimit_window": "fixed",
                              "reverse_dns": "off"})
        for _ in range(2):
            c = self.client(m)
            self.assertReply(c.reply(), 220)
            c.cmd("QUIT")
        c = self.client(m)
        self.assertReply(c.reply(), 421, "4.7.0")
        self.assertIn("limit=conn_per_ip", m.log())
        # Trusted clients are not counted.
        c = self.client(m, src="127.0.0.1")
        self.assertReply(c.reply(), 220)
        c.cmd("QUIT")
        # A fixed window of 2 s: at most 4 s until the next one is empty.
        ok = mt.poll(lambda: self.client(m).reply().code == 220,
                     timeout=6, interval=0.5)
        self.assertTrue(ok)

    def test_messages_per_ip_and_recipients_per_sender(self):
        m = self.start_moatd({"ratelimit_msg_per_ip": "2/3s",
                              "ratelimit_rcpt_per_sender": "3/3s",
                              "ratelimit_window": "fixed",
                              "reverse_dns": "off"})
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<r@sender.test>"), 250)
        for u in ("alice", "bob", "carol"):
            self.assertReply(c.cmd("RCPT TO:<%s@example.test>" % u), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 451,
                         "4.7.0")
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("MAIL FROM:<q@sender.test>"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("MAIL FROM:<q@sender.test>"), 451, "4.7.0")
        c.cmd("QUIT")


class GreylistRedis(mt.MoatTestCase):
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        if not os.path.exists(REDIS):
            self.skipTest("redis-server not installed")
        self.tmp = tempfile.mkdtemp(prefix="moat-gr-")
        self.redis = Redis(self.tmp)
        self.redis.start()
        self.addCleanup(mt.rmtree, self.tmp)
        self.addCleanup(self.redis.stop)

    def grey_moatd(self):
        return self.start_moatd(
            {"greylist": "on", "greylist_delay": "2s", "reverse_dns": "off",
             "store": "redis", "redis_server": "unix:" + self.redis.sock,
             "redis_timeout": "250ms"})

    def attempt(self, m):
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        r = c.cmd("RCPT TO:<alice@example.test>")
        if r.code == 250:
            self.assertReply(c.cmd("DATA"), 354)
            c.send(mt.dot_stuff(mt.make_message(self.tok)))
            self.assertReply(c.reply(), 250)
        c.cmd("QUIT")
        return r

    def test_two_moatd_share_one_redis(self):
        a, b = self.grey_moatd(), self.grey_moatd()
        self.assertReply(self.attempt(a), 451, "4.7.1")
        self.assertReply(self.attempt(b), 451, "4.7.1")   # pending there
        time.sleep(DELAY + 0.3)
        self.assertReply(self.attempt(b), 250)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)

    def test_passed_triplets_are_cached_by_the_worker(self):
        m = self.start_moatd(
            {"greylist": "on", "greylist_delay": "2s", "reverse_dns": "off",
             "store": "redis", "redis_server": "unix:" + self.redis.sock,
             "workers": "1", "greylist_cache_ttl": "30s"})
        self.assertReply(self.attempt(m), 451, "4.7.1")
        time.sleep(DELAY + 0.3)
        self.assertReply(self.attempt(m), 250)      # from Redis, cached
        # Redis gone: a cached triplet still passes as passed (not as a
        # store failure), the worker did not ask.
        self.redis.kill()
        self.assertReply(self.attempt(m), 250)
        self.assertEqual(m.txs()[-1].get("greylist"), "passed")

    def test_outage_passes_then_recovers(self):
        m = self.grey_moatd()
        self.assertReply(self.attempt(m), 451, "4.7.1")
        self.redis.kill()
        t0 = time.monotonic()
        # greylist_on_store_failure pass (the default): the mail goes on.
        self.assertReply(self.attempt(m), 250)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(m.txs()[-1].get("greylist"), "store-failure")
        self.redis = Redis(self.tmp)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        # The same moatd reconnects by itself (backoff) and greylists
        # again: the restarted Redis knows nothing of the triplet.
        ok = mt.poll(lambda: self.attempt(m).code == 451, timeout=15,
                     interval=0.5)
        self.assertTrue(ok, m.log())


if __name__ == "__main__":
    mt.main()
