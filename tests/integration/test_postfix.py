#!/usr/bin/env python3
"""The harness itself: the private Postfix works as the other tests assume
(delivery to maildirs, XCLIENT from 127.0.0.1, the unknown-user and
header_checks rejects, the log of what reached it).  Needs no moatd, so a
failure here is the environment's, not moatd's."""

import os
import smtplib
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402


class PostfixHarness(mt.MoatTestCase):
    SHARED_MOATD = False

    def test_smtplib_xclient_delivery(self):
        msg = mt.make_message(self.tok)
        s = smtplib.SMTP("127.0.0.1", self.postfix.port,
                         source_address=("127.0.0.1", 0), timeout=15)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertIn("xclient", s.esmtp_features)
        code, _ = s.docmd("XCLIENT", "ADDR=127.0.0.9 NAME=[UNAVAILABLE]")
        self.assertEqual(code, 220)
        s.ehlo("client2.test")
        s.sendmail("sender@sender.test", ["alice@example.test"], msg)
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            s.sendmail("sender@sender.test", ["nobody@example.test"], msg)
        code, text = cm.exception.recipients["nobody@example.test"]
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1 "), text)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            s.sendmail("sender@sender.test", ["bob@example.test"],
                       mt.make_message(self.tok, subject="x REJECTME"))
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertEqual(cm.exception.smtp_error, b"5.7.1 rejected by test")
        s.quit()

        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        rec, rest = mt.strip_trace(got[0], 1)
        self.assertEqual(rest, mt.lf(msg))
        self.assertIn("(unknown [127.0.0.9])", rec[0])
        self.assertIn("by %s (Postfix)" % mt.BACKEND_NAME, rec[0])
        self.assertNothingDelivered(self.tok.replace("T", "x"), settle=0)
        self.assertEqual(self.postfix.messages("bob", self.tok), [])
        self.assertIn("nobody@example.test",
                      self.postfix.seen_rcpts(self.pf_mark))
        self.assertIn("sender@sender.test",
                      self.postfix.seen_senders(self.pf_mark))
        self.assertIn("reject: header Subject: x REJECTME",
                      self.postfix.log_since(self.pf_mark))

    def test_swaks_delivery(self):
        msg = mt.make_message(self.tok, to="carol@example.test")
        r = mt.swaks(self.postfix.port, to="carol@example.test", data=msg,
                     src="127.0.0.1")
        self.assertEqual(r.returncode, 0, r.stdout)
        got = self.postfix.wait_messages("carol", self.tok)
        self.assertEqual(len(got), 1)
        rec, rest = mt.strip_trace(got[0], 1)
        self.assertEqual(rest, mt.lf(msg))
        self.assertIn("[127.0.0.1]", rec[0])


if __name__ == "__main__":
    mt.main(need_moatd=False)
