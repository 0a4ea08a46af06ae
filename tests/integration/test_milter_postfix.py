#!/usr/bin/env python3
"""moat-milter behind a real private Postfix (issue 15): smtpd_milters
points at moat-milter, clients speak SMTP to Postfix itself.  A clean
message is delivered with moat's X-Spam headers (the sender's removed);
GTUBE is refused at the end of DATA with moat's own reply; a first
attempt from an unknown client is greylisted (451 4.7.1 for that
recipient) and the retry after the delay is delivered; an authenticated
submission (XCLIENT LOGIN=, which Postfix passes as {auth_authen}) is not
greylisted; with moat-milter stopped, milter_default_action = tempfail
gives the client a 4xx and nothing is delivered or lost.  And one message
scores the same through moatd, moat-milter and `moatctl scan` (Agree).

Needs root (a private Postfix), $MOAT_MILTER and postfix; Agree also
$MOATD and $MOATCTL.
"""

import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnstest  # noqa: E402
import moattest as mt  # noqa: E402
import mltest  # noqa: E402

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
RULES = os.path.join(mltest.LUA_DIR, "milter.rules")


class MilterPostfix(mt.Postfix):
    """The harness's private Postfix with moat-milter in smtpd_milters."""

    def __init__(self, milter_port):
        super().__init__()
        self.milter_port = milter_port

    def write_config(self):
        super().write_config()
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write("smtpd_milters = inet:127.0.0.1:%d\n"
                    "milter_protocol = 6\n"
                    "milter_default_action = tempfail\n"
                    "milter_connect_timeout = 2s\n"
                    "milter_command_timeout = 15s\n"
                    "milter_content_timeout = 30s\n"
                    "milter_mail_macros = i {auth_type} {auth_authen} "
                    "{auth_author} {mail_addr} {mail_host} {mail_mailer}\n"
                    % self.milter_port)


class Base(mt.MoatTestCase):
    NEED_POSTFIX = False
    SHARED_MOATD = False
    CONF = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        conf = {"rules": RULES, "score_tag": "3", "score_reject": "10",
                "trusted_networks": "127.0.0.1/32"}
        conf.update(cls.CONF)
        cls.milter = mltest.Milter(conf)
        try:
            cls.milter.start()
            cls.pf = MilterPostfix(cls.milter.port)
            cls.pf.start()
        except BaseException:
            cls.milter.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.pf.cleanup()
        finally:
            cls.milter.cleanup()
            super().tearDownClass()

    def smtp(self, rcpts, msg, sender="s@sender.test", xclient=None):
        """One transaction to Postfix from 127.0.0.2; returns (RCPT
        replies, the final reply or None)."""
        c = mt.Client(self.pf.port)
        self.addCleanup(c.close)
        c.greet()
        if xclient:
            # XCLIENT is allowed from 127.0.0.1 only: a second client.
            c.close()
            c = mt.Client(self.pf.port, src="127.0.0.1")
            self.addCleanup(c.close)
            c.greet()
            self.assertEqual(c.cmd("XCLIENT " + xclient).code, 220)
            c.cmd("EHLO client.test")
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % sender).code, 250)
        rr = [c.cmd("RCPT TO:<%s>" % r) for r in rcpts]
        final = None
        if any(r.code == 250 for r in rr):
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(mt.dot_stuff(msg))
            final = c.reply(timeout=40)
        c.cmd("QUIT")
        return rr, final


class Delivery(Base):
    CONF = {"subject_prefix": "[SPAM]"}

    def test_clean_delivered_with_headers(self):
        msg = mt.make_message(self.tok, subject="lunch " + self.tok,
                              extra_headers=["X-Spam-Flag: YES"])
        rr, final = self.smtp(["alice@example.test"], msg)
        self.assertEqual(final.code, 250, final)
        got = self.pf.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        self.assertRegex(got[0], rb"\nX-Spam-Score: 0\.0\n")
        self.assertRegex(got[0], rb"\nX-Spam-Status: No, score=0\.0 ")
        # The sender's own label is gone.
        self.assertNotIn(b"X-Spam-Flag", got[0])
        tx = [t for t in self.milter.events("tx")
              if t.get("qid") and t.get("verdict") == "accept" and
              t.get("from") == "s@sender.test"]
        self.assertTrue(tx, self.milter.log())
        # The queue id is Postfix's own.
        self.assertRegex(self.pf.log(), r"%s: " % tx[-1]["qid"])

    def test_tagged_subject_prefix(self):
        msg = mt.make_message(self.tok, subject="TAGME " + self.tok)
        rr, final = self.smtp(["bob@example.test"], msg)
        self.assertEqual(final.code, 250, final)
        got = self.pf.wait_messages("bob", self.tok)
        self.assertEqual(len(got), 1)
        self.assertIn(b"\nX-Spam-Flag: YES\n", got[0])
        self.assertIn(b"\nSubject: [SPAM] TAGME " + self.tok.encode(),
                      got[0])

    def test_gtube_refused_at_end_of_data(self):
        msg = mt.make_message(self.tok, body="Hi.\r\n" + GTUBE + "\r\n")
        rr, final = self.smtp(["alice@example.test"], msg)
        self.assertEqual(final.code, 550, final)
        self.assertEqual(final.enhanced, "5.7.1")
        self.assertIn("Error: message refused by policy", final.text)
        self.pf.settle()
        self.assertEqual(self.pf.messages("alice", self.tok), [])


class Greylist(Base):
    CONF = {"greylist": "on", "greylist_delay": "2s"}

    def test_first_attempt_then_retry(self):
        msg = mt.make_message(self.tok)
        rr, final = self.smtp(["carol@example.test"], msg)
        self.assertEqual(rr[0].code, 451, rr[0])
        self.assertEqual(rr[0].enhanced, "4.7.1")
        self.assertIn("Greylisted", rr[0].text)
        time.sleep(2.3)
        rr, final = self.smtp(["carol@example.test"], msg)
        self.assertEqual(rr[0].code, 250, rr[0])
        self.assertEqual(final.code, 250, final)
        self.assertEqual(len(self.pf.wait_messages("carol", self.tok)), 1)

    def test_authenticated_not_greylisted(self):
        msg = mt.make_message(self.tok)
        rr, final = self.smtp(["bob@example.test"], msg,
                              sender="a%s@sender.test" % self.tok.lower(),
                              xclient="ADDR=192.0.2.7 LOGIN=alice")
        self.assertEqual(rr[0].code, 250, rr[0])
        self.assertEqual(final.code, 250, final)
        self.assertEqual(len(self.pf.wait_messages("bob", self.tok)), 1)
        tx = [t for t in self.milter.events("tx") if t.get("auth")]
        self.assertEqual(tx[-1]["auth"], "alice")
        self.assertEqual(tx[-1]["client"], "192.0.2.7")


class SenderAuth(Base):
    """What Postfix does with moat-milter's header changes of sender
    authentication (issue 16): our Authentication-Results in the queued
    message, the forged one with our id gone, another's kept (the
    deletion's index counted as Postfix counts it).  The client comes as
    192.0.2.1 through XCLIENT, which pass.test's SPF authorises."""

    @classmethod
    def setUpClass(cls):
        if not os.access(dnstest.DNSMASQ, os.X_OK):
            raise unittest.SkipTest("dnsmasq not installed")
        cls.dns = dnstest.DnsServer(
            [("pass.test", "TXT", "v=spf1 ip4:192.0.2.1 -all")],
            local=["test"]).start()
        cls.CONF = {"dns_resolver": cls.dns.address, "dns_timeout": "1s",
                    "spf": "on", "dkim": "on", "dmarc": "on"}
        try:
            super().setUpClass()
        except BaseException:
            cls.dns.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.dns.cleanup()

    def test_authentication_results_in_queued_message(self):
        msg = mt.make_message(self.tok, extra_headers=[
            "Authentication-Results: mx.other.test; dkim=pass",
            "Authentication-Results: %s; spf=pass smtp.mailfrom=forged.test"
            % mt.MOAT_NAME,
            "Authentication-Results: mx.third.test; spf=none"])
        rr, final = self.smtp(["alice@example.test"], msg,
                              sender="a@pass.test",
                              xclient="ADDR=192.0.2.1")
        self.assertEqual(final.code, 250, final)
        got = self.pf.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        self.assertRegex(got[0], rb"\nAuthentication-Results: %s;[^\n]*"
                         rb"(\n\s[^\n]*)*spf=pass smtp\.mailfrom=pass\.test"
                         % re.escape(mt.MOAT_NAME.encode()))
        self.assertNotIn(b"forged.test", got[0])
        self.assertIn(b"mx.other.test; dkim=pass", got[0])
        self.assertIn(b"mx.third.test; spf=none", got[0])
        # Ours on top of the header the client sent.
        self.assertLess(got[0].index(b"Authentication-Results: " +
                                     mt.MOAT_NAME.encode()),
                        got[0].index(b"mx.other.test"))


class Stopped(Base):
    def test_default_action_tempfail(self):
        self.assertEqual(self.milter.stop(), 0)
        c = mt.Client(self.pf.port)
        self.addCleanup(c.close)
        r = c.reply()
        # Postfix applies milter_default_action at the first stage it
        # asks the milter about; with tempfail every answer is 4xx.
        codes = [r.code]
        if r.code == 220:
            codes.append(c.cmd("EHLO client.test").code)
            codes.append(c.cmd("MAIL FROM:<s@sender.test>").code)
        self.assertTrue(any(400 <= x < 500 for x in codes), codes)
        self.assertNotIn(250, codes[2:])
        self.pf.settle()
        self.assertEqual(self.pf.all_messages(self.tok),
                         {u: [] for u in mt.USERS})


class Agree(mt.MoatTestCase):
    """The same rules give the same score through the three front ends:
    moatd (over SMTP, to a fake backend), moat-milter (miltertest) and
    `moatctl scan`, for the messages of test_score_agree.py."""
    NEED_POSTFIX = False
    SHARED_MOATD = False

    def test_same_score_three_ways(self):
        import test_score_agree as sa
        moatctl = os.environ.get("MOATCTL", "")
        if not os.access(moatctl, os.X_OK) or \
                not os.access(os.environ.get("MOATD", ""), os.X_OK):
            raise unittest.SkipTest("no $MOATD or $MOATCTL")
        d = mt.mkdtemp("moat-agree-")
        self.addCleanup(mt.rmtree, d)
        rules = os.path.join(d, "agree.cf")
        with open(rules, "w") as f:
            f.write(sa.RULES)
        conf = {"rules": rules, "received_header": "off",
                "score_reject": "off"}
        fb = self.fake_backend("ok")
        moatd = self.start_moatd(conf=conf, backend_port=fb.port)
        milter = mltest.Milter(dict(conf, received_header=None))
        self.addCleanup(milter.cleanup)
        milter.start()
        scores = set()
        for i, text in enumerate(sa.MESSAGES):
            path = os.path.join(d, "m%d.eml" % i)
            with open(path, "w", newline="") as f:
                f.write(text)
            p = subprocess.run([moatctl, "scan", "-r", rules, path],
                               capture_output=True, text=True, timeout=60)
            got = re.search(r"^%s score=(-?[0-9.]+) " % re.escape(path),
                            p.stdout, re.M)
            self.assertIsNotNone(got, p.stdout + p.stderr)
            ctl = float(got.group(1))

            sender = "s%d.%s@sender.test" % (i, self.tok.lower())
            c = self.client(moatd)
            c.greet()
            self.assertReply(c.cmd("MAIL FROM:<%s>" % sender), 250)
            self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(mt.dot_stuff(text.encode()))
            self.assertReply(c.reply(), 250)
            c.cmd("QUIT")
            txs = moatd.wait_tx(sender)
            self.assertEqual(len(txs), 1, moatd.log())

            r = mltest.miltertest(milter, msg=path, **{"from": sender})
            self.assertEqual(r.reply("eom"), "c", r.out)
            mtx = [t for t in milter.events("tx") if t["from"] == sender]
            self.assertEqual(len(mtx), 1, milter.log())

            msg = "message %d: moatctl %s, moatd %s, moat-milter %s/%s" % (
                i, ctl, txs[0]["score"], mtx[0]["score"],
                r.added.get("X-Spam-Score"))
            self.assertAlmostEqual(float(txs[0]["score"]), ctl, 3, msg)
            self.assertAlmostEqual(float(mtx[0]["score"]), ctl, 3, msg)
            self.assertAlmostEqual(float(r.added["X-Spam-Score"]), ctl, 3,
                                   msg)
            self.assertEqual(mtx[0]["rules"], txs[0]["rules"], msg)
            scores.add(ctl)
        # The messages do not all score alike: the test can tell.
        self.assertEqual(len(scores), len(sa.MESSAGES))


if __name__ == "__main__":
    mltest.main()
