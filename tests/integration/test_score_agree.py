#!/usr/bin/env python3
"""moatd and `moatctl scan` give the same score for the same message
(issue 13): both turn rule hits into a score through the one call
score_rules() in scoring/.  moatd gets each message over SMTP and passes
it to a fake backend; its X-Spam-Score header and the score= of its
event=tx line must equal the score= moatctl scan prints for the same
bytes with the same rule file.  The rules cover a header rule, body
rules, sub-rules that must never count, a meta over them, a negative
score, and a rule that hits several times.  `moatctl scan -c` with
moatd's own config (two rule files, thresholds other than the defaults)
gives the score and verdict moatd logs (issue 17).

Needs root (moattest's rule) and $MOATD, $MOATCTL; no Postfix is used.
"""

import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

MOATCTL = os.environ.get("MOATCTL", os.path.abspath("moatctl"))

RULES = r"""
header SUBJ_HI     Subject =~ /^hi\b/i
score SUBJ_HI      0.7
body __LOTTO       /\blottery\b/i
body __WINNER      /\bwinner\b/i
score __WINNER     3.0
meta LOTTO_WINNER  __LOTTO && __WINNER
score LOTTO_WINNER 6.0
body GAPPY /(?:\b|\s)[_\W]{0,3}v[_\W]{0,3}i[_\W]{0,3}a\b/i
score GAPPY 1.5
body FRIENDLY      /\bregards\b/i
score FRIENDLY     -1.2
"""

MESSAGES = [
    "From: a@b.example\r\nTo: c@d.example\r\nSubject: hi there\r\n\r\n"
    "You are the winner of our lottery: v.i.a\r\nregards\r\n",
    "From: a@b.example\r\nTo: c@d.example\r\nSubject: lunch\r\n\r\n"
    "See you at noon, regards\r\n",
    "From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\n"
    "winner winner, no lottery here\r\n",
]


class Agree(mt.MoatTestCase):
    NEED_POSTFIX = False
    SHARED_MOATD = False

    def send(self, m, sender, text):
        """One transaction through moatd; its reply to the end of DATA."""
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<%s>" % sender), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(text.encode()))
        r = c.reply()
        c.cmd("QUIT")
        return r

    def test_same_score(self):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        rules = os.path.join(d.name, "agree.cf")
        with open(rules, "w") as f:
            f.write(RULES)
        fb = self.fake_backend("ok")
        m = self.start_moatd(conf={"rules": rules, "received_header": "off",
                                   "score_reject": "off"},
                             backend_port=fb.port)
        for i, text in enumerate(MESSAGES):
            path = os.path.join(d.name, "m%d.eml" % i)
            with open(path, "w", newline="") as f:
                f.write(text)
            p = subprocess.run([MOATCTL, "scan", "-r", rules, path],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = re.search(r"^%s score=(-?[0-9.]+) " % re.escape(path),
                            p.stdout, re.M)
            self.assertIsNotNone(got, p.stdout)
            ctl = float(got.group(1))

            sender = "s%d.%s@sender.test" % (i, self.tok.lower())
            self.assertReply(self.send(m, sender, text), 250)
            txs = m.wait_tx(sender)
            self.assertEqual(len(txs), 1, m.log())
            self.assertAlmostEqual(float(txs[0]["score"]), ctl, places=3,
                                   msg="message %d: moatd %s, moatctl %s"
                                   % (i, txs[0]["score"], ctl))
            hdr = re.findall(rb"X-Spam-Score: (-?[0-9.]+)",
                             b"".join(fb.received))
            self.assertEqual(len(hdr), i + 1, fb.received)
            self.assertAlmostEqual(float(hdr[i]), ctl, places=3)
        # The three messages do not all score alike: the test can tell.
        self.assertEqual(len(set(re.findall(
            rb"X-Spam-Score: (-?[0-9.]+)", b"".join(fb.received)))), 3)

    def test_same_verdict_from_config(self):
        # `moatctl scan -c moat.conf` reads moatd's own config: two rule
        # files in order (the second re-scores SUBJ_HI) and thresholds
        # other than the defaults, so each message gets another verdict.
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        first = os.path.join(d.name, "first.cf")
        second = os.path.join(d.name, "second.cf")
        with open(first, "w") as f:
            f.write(RULES)
        with open(second, "w") as f:
            f.write("score SUBJ_HI 2.5\n")
        fb = self.fake_backend("ok")
        m = self.start_moatd(conf={"rules": first, "received_header": "off",
                                   "score_tag": "1", "score_tempfail": "6",
                                   "score_reject": "8.6"},
                             extra=["rules " + second], backend_port=fb.port)
        texts = MESSAGES + [
            "From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\n"
            "v.i.a\r\n"]
        verdicts = set()
        for i, text in enumerate(texts):
            path = os.path.join(d.name, "c%d.eml" % i)
            with open(path, "w", newline="") as f:
                f.write(text)
            p = subprocess.run([MOATCTL, "scan", "-c", m.conf_path, path],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = re.search(r"^%s score=(-?[0-9.]+) verdict=(\w+) "
                            % re.escape(path), p.stdout, re.M)
            self.assertIsNotNone(got, p.stdout)

            sender = "c%d.%s@sender.test" % (i, self.tok.lower())
            self.send(m, sender, text)
            txs = m.wait_tx(sender)
            self.assertEqual(len(txs), 1, m.log())
            self.assertAlmostEqual(float(txs[0]["score"]),
                                   float(got.group(1)), places=3,
                                   msg="message %d: %s" % (i, p.stdout))
            self.assertEqual(txs[0]["verdict"], got.group(2),
                             "message %d: %s" % (i, p.stdout))
            verdicts.add(got.group(2))
        self.assertEqual(verdicts, {"accept", "tag", "tempfail", "reject"})


if __name__ == "__main__":
    mt.main()
