#!/usr/bin/env python3
"""The backend's word is passed on: its 4xx/5xx at RCPT and at the end of
DATA reach the client unchanged; a backend that is down, silent, stalled or
gone mid-DATA gives the client a 4xx (421/451 4.4.x) within the configured
timeouts, never a 250; a client that disconnects mid-DATA delivers nothing.
"""

import os
import smtplib
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

CONNECT_TIMEOUT = 2.0
REPLY_TIMEOUT = 3.0
DATA_TIMEOUT = 5.0
SLACK = 3.0


class BackendReplies(mt.MoatTestCase):
    """Against the real Postfix."""

    def postfix_says(self, rcpt, msg=None):
        """What Postfix itself answers (RCPT reply, final DATA reply),
        asked directly, to compare with what moatd passes on."""
        c = mt.Client(self.postfix.port, src="127.0.0.1")
        self.addCleanup(c.close)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<direct@sender.test>"), 250)
        r = c.cmd("RCPT TO:<%s>" % rcpt)
        final = None
        if msg is not None and r.code == 250:
            self.assertReply(c.cmd("DATA"), 354)
            c.send(mt.dot_stuff(msg))
            final = c.reply()
        c.cmd("QUIT")
        return r, final

    def test_rcpt_rejects_pass_through(self):
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        for rcpt, code, enh in (("nobody@example.test", 550, "5.1.1"),
                                ("tempfail@example.test", 450, "4.2.1"),
                                ("permfail@example.test", 553, "5.7.9")):
            with self.subTest(rcpt=rcpt):
                direct, _ = self.postfix_says(rcpt)
                self.assertEqual((direct.code, direct.enhanced), (code, enh))
                got = c.cmd("RCPT TO:<%s>" % rcpt)
                self.assertEqual(got.code, direct.code, got)
                self.assertEqual(got.lines, direct.lines)
        # The transaction goes on with a good recipient.
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(mt.make_message(self.tok)))
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)), 1)

    def test_end_of_data_reject_passes_through(self):
        sender = self.tok.lower() + "@sender.test"
        msg = mt.make_message(self.tok, sender=sender,
                              subject="please REJECTME %s" % self.tok)
        _, direct = self.postfix_says("bob@example.test", msg)
        self.assertEqual(direct.code, 550)
        self.assertEqual(direct.lines, ["5.7.1 rejected by test"])
        c = self.client()
        c.greet()
        rs = self.send_mail(c, ["alice@example.test", "bob@example.test"],
                            msg, sender=sender)
        self.assertEqual([r.code for r in rs[:4]], [250, 250, 250, 354], rs)
        self.assertEqual(rs[4].code, 550, rs[4])
        self.assertEqual(rs[4].lines, direct.lines)
        # The session survives; the next transaction is delivered.
        good = mt.make_message(self.tok, sender=sender, subject="fine")
        rs = self.send_mail(c, ["carol@example.test"], good, sender=sender)
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(len(self.postfix.wait_messages("carol", self.tok)), 1)
        self.postfix.settle()
        self.assertEqual(self.postfix.messages("alice", self.tok), [])
        self.assertEqual(self.postfix.messages("bob", self.tok), [])
        txs = mt.poll(lambda: len(self.moatd.txs()) and [
            t for t in self.moatd.txs() if sender in t.get("from", "")
            and t.get("backend_reply", "").startswith("550")])
        self.assertTrue(txs, self.moatd.log())
        self.assertIn("5.7.1 rejected by test", txs[0]["backend_reply"])
        # Both transactions of the session are logged, each with its own
        # number.
        both = mt.poll(lambda: len([t for t in self.moatd.txs()
                                    if sender in t.get("from", "")]) == 2)
        self.assertTrue(both, self.moatd.log())
        txs = [t for t in self.moatd.txs() if sender in t.get("from", "")]
        self.assertEqual(txs[0]["session"], txs[1]["session"])
        self.assertNotEqual(txs[0].get("tx"), txs[1].get("tx"),
                            "two transactions logged with one number")

    def test_mail_reject_passes_through(self):
        d = mt.Client(self.postfix.port, src="127.0.0.1")
        self.addCleanup(d.close)
        d.greet()
        direct = d.cmd("MAIL FROM:<badsender@sender.test>")
        self.assertEqual((direct.code, direct.enhanced), (553, "5.7.8"))
        c = self.client()
        c.greet()
        got = c.cmd("MAIL FROM:<badsender@sender.test>")
        self.assertEqual((got.code, got.lines), (direct.code, direct.lines))
        # No transaction was opened.
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 503)
        self.assertReply(c.cmd("MAIL FROM:<good@sender.test>"), 250)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_end_of_data_tempfail_passes_through(self):
        msg = mt.make_message(self.tok, subject="DEFERME %s" % self.tok)
        _, direct = self.postfix_says("bob@example.test", msg)
        self.assertEqual((direct.code, direct.lines),
                         (451, ["4.7.1 deferred by test"]))
        c = self.client()
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], msg)
        self.assertEqual([r.code for r in rs[:3]], [250, 250, 354], rs)
        self.assertEqual((rs[3].code, rs[3].lines),
                         (direct.code, direct.lines))
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertNothingDelivered(self.tok)

    def test_smtplib_sees_rejects(self):
        s = smtplib.SMTP("127.0.0.1", self.moatd.port,
                         source_address=(mt.CLIENT_IP, 0), timeout=20)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            s.sendmail("s@sender.test", ["nobody@example.test"],
                       mt.make_message(self.tok))
        code, text = cm.exception.recipients["nobody@example.test"]
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1 "), text)
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            s.sendmail("s@sender.test", ["alice@example.test"],
                       mt.make_message(self.tok, subject="x REJECTME"))
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertEqual(cm.exception.smtp_error, b"5.7.1 rejected by test")
        s.quit()
        self.assertNothingDelivered(self.tok)

    def test_client_disconnect_mid_data(self):
        before = len(self.moatd.sessions())
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<gone@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        msg = mt.make_message(self.tok, body="part one\r\n" * 2000)
        c.send(msg[:len(msg) // 2])
        time.sleep(0.3)
        c.close()
        self.assertTrue(mt.poll(lambda: len(self.moatd.sessions()) > before),
                        "no session line after the client left:\n" +
                        self.moatd.log())
        self.assertNothingDelivered(self.tok)
        self.assertNotIn(self.tok, self.postfix.log_since(self.pf_mark))

    def test_client_disconnect_after_dot_without_crlf(self):
        # "\r\n." without the final CRLF is not the end of data.
        before = len(self.moatd.sessions())
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<gone@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.make_message(self.tok) + b".")
        time.sleep(0.3)
        c.close()
        self.assertTrue(mt.poll(lambda: len(self.moatd.sessions()) > before))
        self.assertNothingDelivered(self.tok)


class BackendTrouble(mt.MoatTestCase):
    """Backends that misbehave; no Postfix needed."""

    NEED_POSTFIX = False
    SHARED_MOATD = False

    CONF = {"backend_connect_timeout": "%ds" % CONNECT_TIMEOUT,
            "backend_reply_timeout": "%ds" % REPLY_TIMEOUT,
            "backend_data_timeout": "%ds" % DATA_TIMEOUT}

    def fake_backend_with(self, **kw):
        fb = mt.FakeBackend("ok", **kw)
        self.addCleanup(fb.close)
        return fb

    def assertBackendTrouble(self, r, what):
        self.assertIn(r.code, (421, 451), "%s: %r" % (what, r))
        self.assertTrue(r.enhanced.startswith("4.4."), "%s: %r" % (what, r))

    def walk_to_trouble(self, m, bound):
        """Banner, EHLO, MAIL, RCPT: the first reply that is not 2xx must
        be 421/451 4.4.x, within bound seconds of the command."""
        c = self.client(m, timeout=bound + 5)
        t0 = time.monotonic()
        r = c.reply()
        if r.code == 421:           # refusing at connect is fine too
            self.assertLess(time.monotonic() - t0, bound)
            return c, r
        self.assertReply(r, 220)
        for cmd in ("EHLO client.test", "MAIL FROM:<s@sender.test>",
                    "RCPT TO:<alice@example.test>"):
            t0 = time.monotonic()
            r = c.cmd(cmd)
            took = time.monotonic() - t0
            if r.code // 100 != 2:
                self.assertBackendTrouble(r, cmd)
                self.assertLess(took, bound, "%s answered after %.1fs" %
                                (cmd, took))
                return c, r
        self.fail("backend trouble never reported; last reply %r" % r)

    def test_backend_down(self):
        m = self.start_moatd(self.CONF, backend_port=mt.free_port())
        c, r = self.walk_to_trouble(m, CONNECT_TIMEOUT + SLACK)
        if r.code == 421:
            c.wait_closed(5)
        self.assertTrue(m.alive())

    def test_backend_silent(self):
        fb = self.fake_backend("silent")
        m = self.start_moatd(self.CONF, backend_port=fb.port)
        self.walk_to_trouble(m, CONNECT_TIMEOUT + REPLY_TIMEOUT + SLACK)
        self.assertTrue(m.alive())

    def test_backend_stalls_at_mail(self):
        fb = self.fake_backend("stall-mail")
        m = self.start_moatd(self.CONF, backend_port=fb.port)
        self.walk_to_trouble(m, REPLY_TIMEOUT + SLACK)
        self.assertTrue(m.alive())
        # moatd did talk to it: XCLIENT with the real client address (the
        # first connection may be moatd's startup probe, EHLO and QUIT).
        xc = [r for r in fb.received if b"XCLIENT" in r]
        self.assertEqual(len(xc), 1, fb.received)
        self.assertIn(b"ADDR=" + mt.CLIENT_IP.encode(), xc[0])

    def data_trouble(self, mode):
        fb = self.fake_backend(mode)
        m = self.start_moatd(self.CONF, backend_port=fb.port)
        c = self.client(m, timeout=DATA_TIMEOUT + SLACK + 5)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        t0 = time.monotonic()
        c.send(mt.dot_stuff(mt.make_message(mt.token())))
        r = c.reply()
        took = time.monotonic() - t0
        self.assertBackendTrouble(r, "end of data (%s)" % mode)
        self.assertLess(took, DATA_TIMEOUT + SLACK)
        self.assertTrue(m.alive())
        tx = mt.poll(lambda: m.txs())
        self.assertTrue(tx, m.log())
        self.assertNotEqual(tx[0].get("verdict"), None)

    def test_multiline_replies_pass_through(self):
        rcpt = (b"550-5.1.1 first line of a long refusal\r\n"
                b"550-5.1.1 second line\r\n"
                b"550 5.1.1 last line\r\n")
        final = (b"554-5.7.1 message refused\r\n"
                 b"554 5.7.1 see you never\r\n")
        fb = self.fake_backend_with(rcpt_reply=rcpt, final_reply=final)
        m = self.start_moatd(self.CONF, backend_port=fb.port)
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        r = c.cmd("RCPT TO:<alice@example.test>")
        self.assertEqual((r.code, r.lines),
                         (550, ["5.1.1 first line of a long refusal",
                                "5.1.1 second line", "5.1.1 last line"]))
        fb.rcpt_reply = b"250 2.1.5 ok\r\n"
        self.assertReply(c.cmd("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(mt.make_message(mt.token())))
        r = c.reply()
        self.assertEqual((r.code, r.lines),
                         (554, ["5.7.1 message refused",
                                "5.7.1 see you never"]))

    def test_backend_gone_between_transactions(self):
        # The backend closes its connection after the first message (as a
        # restarting MTA would).  The next transaction must get a 250
        # (moatd reconnected) or a 4xx, promptly; never a hang.
        fb = self.fake_backend_with(close_after_final=True)
        m = self.start_moatd(self.CONF, backend_port=fb.port)
        c = self.client(m, timeout=REPLY_TIMEOUT + SLACK + 5)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"],
                            mt.make_message(mt.token()))
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        time.sleep(0.3)
        t0 = time.monotonic()
        r = c.cmd("MAIL FROM:<s2@sender.test>")
        self.assertLess(time.monotonic() - t0, REPLY_TIMEOUT + SLACK)
        if r.code == 250:
            self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(mt.dot_stuff(mt.make_message(mt.token())))
            self.assertReply(c.reply(), 250)
        else:
            self.assertBackendTrouble(r, "MAIL after the backend left")
        self.assertTrue(m.alive())

    def test_backend_421_at_mail(self):
        fb = self.fake_backend_with(
            mail_reply=b"421 4.3.2 backend shutting down\r\n")
        m = self.start_moatd(self.CONF, backend_port=fb.port)
        c = self.client(m, timeout=REPLY_TIMEOUT + SLACK + 5)
        c.greet()
        r = c.cmd("MAIL FROM:<s@sender.test>")
        self.assertEqual(r.code // 100, 4, r)
        self.assertNotEqual(r.code, 250)
        if not c.eof:
            # Whatever comes next is answered, 4xx, not a hang.
            try:
                r2 = c.cmd("MAIL FROM:<s@sender.test>",
                           timeout=REPLY_TIMEOUT + SLACK)
                self.assertNotEqual(r2.code // 100, 2, r2)
            except mt.Closed:
                pass
        self.assertTrue(m.alive())

    def test_backend_stalls_after_data(self):
        self.data_trouble("stall-data")

    def test_backend_closes_after_data(self):
        self.data_trouble("close-data")


if __name__ == "__main__":
    mt.main()
