#!/usr/bin/env python3
"""Rules and scoring through moatd (issue 3): a spam is refused at the end
of DATA and nothing reaches Postfix; a tagged message arrives with moat's
X-Spam-* fields (the sender's own stripped) and the Subject prefix; refusals
at connect, HELO, MAIL and RCPT never open a backend connection; a broken
rule file is named by moatd -t and refused on reload, and a session open
across a reload finishes on the rules it began with; with `hyperscan on`
the prefilter is built in the background, cached, read back from the cache
after a reload, and the verdicts stay the same."""

import os
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RULES = os.path.join(HERE, "..", "..", "rules", "default.rules")
GTUBE = ("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL"
         "*C.34X")

# Early-stage rules aimed at one test client address each (127.0.0.x).
EARLY_RULES = r"""
connect T_BLOCK_ADDR   addr =~ /^127\.0\.0\.3$/   score 50 "test: blocked address"
helo    T_BAD_HELO     =~ /^bad-helo\.test$/     score 50 "test: bad HELO"
mail    T_BAD_SENDER   =~ /^spammer@/            score 50 "test: bad sender"
rcpt    T_TRAP         =~ /^trap@/               score 50 "test: spam trap"
"""


def write_rules(text):
    fd, path = tempfile.mkstemp(prefix="moat-rules-", suffix=".rules")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class Rules(mt.MoatTestCase):
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.early = write_rules(EARLY_RULES)
        self.addCleanup(os.unlink, self.early)
        self.m = self.start_moatd(
            {"score_tag": "0.5", "reverse_dns": "off"},
            ["rules " + os.path.abspath(DEFAULT_RULES),
             "rules " + self.early, "subject_prefix [SPAM]"])
        # moatd's start-up probe of Postfix must be over before counting
        # Postfix's connections.
        self.m.wait_log("event=backend_check")
        self.postfix.settle()
        self.mark = self.postfix.log_mark()

    def no_backend_connection(self):
        self.postfix.settle()
        self.assertNotIn("connect from", self.postfix.log_since(self.mark))

    def test_gtube_refused_at_end_of_data(self):
        c = self.client(self.m)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
            self.tok, body=GTUBE + "\r\n"))
        self.assertReply(rs[-1], 550, "5.7.1")
        self.assertNotIn("GTUBE", rs[-1].text,
                         "rule names leak into the reply")
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertNothingDelivered(self.tok)
        self.assertNotIn(self.tok, self.postfix.log_since(self.mark))
        txs = self.m.wait_tx("sender@sender.test")
        self.assertTrue(txs, self.m.log())
        tx = txs[-1]
        self.assertEqual(tx.get("verdict"), "reject")
        self.assertIn("MOAT_GTUBE=1000", tx.get("rules", ""))

    def test_tagged_message_has_headers(self):
        c = self.client(self.m)
        c.greet()
        msg = ("From: sender@sender.test\r\nTo: alice@example.test\r\n"
               "X-Spam-Flag: NO\r\nX-Spam-Status: No, forged by the "
               "sender\r\n\tcontinued\r\nSubject: hello %s\r\n\r\n"
               "body line\r\n" % self.tok).encode()
        rs = self.send_mail(c, ["alice@example.test"], msg)
        self.assertReply(rs[-1], 250)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        head = got[0].split(b"\n\n", 1)[0].decode()
        self.assertIn("X-Spam-Flag: YES", head)
        self.assertIn("X-Spam-Status: Yes, score=", head)
        self.assertNotIn("forged by the sender", head)
        self.assertNotIn("continued", head)
        self.assertNotIn("X-Spam-Flag: NO", head)
        self.assertIn("Subject: [SPAM] hello " + self.tok, head)
        self.assertTrue(got[0].endswith(b"\nbody line\n"), got[0][-40:])

    def test_connect_reject(self):
        c = self.client(self.m, src="127.0.0.3")
        r = c.reply()
        self.assertReply(r, 554, "5.7.1")
        c.wait_closed(5)
        self.no_backend_connection()

    def test_helo_reject(self):
        c = self.client(self.m)
        c.reply()
        self.assertReply(c.cmd("EHLO bad-helo.test"), 550, "5.7.1")
        # Without an accepted HELO there is no transaction.
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 503)
        self.assertReply(c.cmd("EHLO good.test"), 250)
        c.cmd("QUIT")
        self.no_backend_connection()

    def test_mail_reject_never_opens_backend(self):
        c = self.client(self.m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<spammer@sender.test>"), 550,
                         "5.7.1")
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 503)
        c.cmd("QUIT")
        self.no_backend_connection()

    def test_rcpt_reject_spares_other_recipients(self):
        c = self.client(self.m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<trap@example.test>"), 550, "5.7.1")
        self.assertReply(c.cmd("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(mt.make_message(self.tok)))
        self.assertReply(c.reply(), 250)
        self.assertEqual(len(self.postfix.wait_messages("bob", self.tok)),
                         1)
        self.postfix.settle()
        self.assertNotIn("trap@", self.postfix.log_since(self.mark))

    def test_bad_rule_file_named_by_check_and_refused_on_reload(self):
        bad = write_rules("body OK_RULE /fine/ score 1 \"ok\"\n"
                          "body BROKEN /(unclosed/ score 1 \"bad\"\n")
        self.addCleanup(os.unlink, bad)
        good_conf = self.m.config_text()
        self.m.write_config(good_conf + "rules %s\n" % bad)
        rc, out = self.m.check()
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:2:" % bad, out)
        # The running moatd refuses it and keeps its rules.
        self.m.signal(signal.SIGHUP)
        self.m.wait_log("reload refused")
        self.assertTrue(self.m.alive())
        c = self.client(self.m)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
            self.tok, body=GTUBE + "\r\n"))
        self.assertReply(rs[-1], 550, "5.7.1")
        self.m.write_config(good_conf)

    def reload_and_wait(self):
        """SIGHUP, then wait for one more "in force" line than before."""
        n = self.m.log().count("reload: configuration ")
        self.m.signal(signal.SIGHUP)
        self.assertTrue(mt.poll(lambda: self.m.log().count(
            "reload: configuration ") > n), self.m.log())

    def test_session_open_across_a_reload_keeps_its_snapshot(self):
        # Config and rules are one snapshot per session, taken when it
        # starts: a reload in the middle of a transaction changes nothing
        # for it, and the next session gets the new rules.  The reload
        # changes both halves, so that a session taking either from the
        # snapshot in force at DATA passes the message: the rule that
        # scores 50 goes, and score_reject goes up past 50.
        old = write_rules('body T_OLD_ONLY /old-snapshot-marker/ score 50 '
                          '"test: only in the old rules"\n')
        self.addCleanup(os.unlink, old)
        good_conf = self.m.config_text()
        self.addCleanup(self.m.write_config, good_conf)
        self.m.write_config(good_conf + "rules %s\n" % old)
        self.reload_and_wait()
        msg = mt.make_message(self.tok, body="old-snapshot-marker\r\n")
        c = self.client(self.m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<sender@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        # The new config drops the rule and raises score_reject; moatd
        # takes it while c is open.
        self.m.write_config(good_conf + "score_reject 100\n")
        self.reload_and_wait()
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(msg))
        self.assertReply(c.reply(), 550, "5.7.1")
        self.assertReply(c.cmd("QUIT"), 221)
        # A session started after the reload: no such rule any more.
        c2 = self.client(self.m)
        c2.greet()
        rs = self.send_mail(c2, ["alice@example.test"], msg)
        self.assertReply(rs[-1], 250)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)


class RulesHyperscan(mt.MoatTestCase):
    SHARED_MOATD = False

    def test_built_in_background_cached_and_reused(self):
        cache = tempfile.mkdtemp(prefix="moat-hs-cache-")
        self.addCleanup(shutil.rmtree, cache, True)
        m = self.start_moatd(
            {"reverse_dns": "off", "hyperscan": "on",
             "hyperscan_cache": cache},
            ["rules " + os.path.abspath(DEFAULT_RULES)])
        line = m.wait_log(r"event=hyperscan |hyperscan on, but")
        self.assertTrue(line, m.log())
        if "built without it" in m.log():
            self.skipTest("moatd built without Hyperscan")
        ready = m.events("hyperscan")
        self.assertEqual(ready[-1].get("state"), "ready", m.log())
        self.assertEqual(ready[-1].get("source"), "compiled")
        self.assertGreater(int(ready[-1].get("patterns")), 0)
        self.assertEqual(len(os.listdir(cache)), 1)
        c = self.client(m)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
            self.tok, body=GTUBE + "\r\n"))
        self.assertReply(rs[-1], 550, "5.7.1")
        self.assertReply(c.cmd("QUIT"), 221)
        # The same rules after a reload: read back from the cache.
        m.signal(signal.SIGHUP)
        self.assertTrue(mt.poll(lambda: len(m.events("hyperscan")) == 2,
                                10), m.log())
        again = m.events("hyperscan")[-1]
        self.assertEqual(again.get("state"), "ready", m.log())
        self.assertEqual(again.get("source"), "cache")
        self.assertEqual(again.get("patterns"), ready[-1].get("patterns"))
        self.assertEqual(len(os.listdir(cache)), 1)
        c = self.client(m)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
            self.tok + "b", body=GTUBE + "\r\n"))
        self.assertReply(rs[-1], 550, "5.7.1")
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertNothingDelivered(self.tok)


if __name__ == "__main__":
    mt.main()
