#!/usr/bin/env python3
"""The SMTP session: pipelining (all commands in one write, replies in
order), several transactions per session over one backend connection,
RSET, command sequencing, unknown commands, and client XCLIENT/XFORWARD
refused (RFC 5321, RFC 2920)."""

import os
import re
import smtplib
import sys
import threading

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402


class Session(mt.MoatTestCase):

    def test_pipelined_one_write(self):
        tok2 = mt.token()
        msg1 = mt.make_message(self.tok)
        msg2 = mt.make_message(tok2, to="carol@example.test")
        c = self.client()
        ehlo = c.greet()
        self.assertEqual(ehlo.code, 250)
        self.assertIn("PIPELINING", [l.split()[0].upper() for l in ehlo.lines
                                     if l.split()])
        c.send("MAIL FROM:<p@sender.test>\r\nRCPT TO:<alice@example.test>\r\n"
               "RCPT TO:<bob@example.test>\r\nDATA\r\n")
        rs = c.replies(4)
        self.assertEqual([r.code for r in rs], [250, 250, 250, 354], rs)
        c.send(mt.dot_stuff(msg1))
        self.assertReply(c.reply(), 250)
        # Second batch: a refused recipient in the middle keeps its place.
        c.send("MAIL FROM:<p@sender.test>\r\nRCPT TO:<nobody@example.test>\r\n"
               "RCPT TO:<carol@example.test>\r\nDATA\r\n")
        rs = c.replies(4)
        self.assertEqual([r.code for r in rs], [250, 550, 250, 354], rs)
        self.assertIn("nobody@example.test", rs[1].text)
        c.send(mt.dot_stuff(msg2))
        self.assertReply(c.reply(), 250)
        # Third batch: no valid recipient at all; DATA must fail and the
        # message lines that follow must not be taken as commands.
        c.send("MAIL FROM:<p@sender.test>\r\nRCPT TO:<nobody@example.test>\r\n"
               "DATA\r\nNOOP\r\n")
        rs = c.replies(4)
        self.assertEqual([r.code for r in rs[:2]], [250, 550], rs)
        self.assertEqual(rs[2].code // 100, 5, rs)     # 554 or 503
        self.assertEqual(rs[3].code, 250, rs)          # the NOOP
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)), 1)
        self.assertEqual(len(self.postfix.wait_messages("bob", self.tok)), 1)
        self.assertEqual(len(self.postfix.wait_messages("carol", tok2)), 1)

    def test_pipelined_with_quit(self):
        # RFC 2920: QUIT may follow the end of data in the same write.
        msg = mt.make_message(self.tok)
        c = self.client()
        c.greet()
        c.send("MAIL FROM:<p@sender.test>\r\nRCPT TO:<alice@example.test>\r\n"
               "DATA\r\n")
        rs = c.replies(3)
        self.assertEqual([r.code for r in rs], [250, 250, 354], rs)
        c.send(mt.dot_stuff(msg) + b"QUIT\r\n")
        self.assertReply(c.reply(), 250)
        self.assertReply(c.reply(), 221)
        c.wait_closed(5)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)), 1)

    def test_several_transactions_one_backend_connection(self):
        sender = self.tok.lower() + "@sender.test"
        s = smtplib.SMTP("127.0.0.1", self.moatd.port,
                         source_address=(mt.CLIENT_IP, 0), timeout=20)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        toks = [mt.token() for _ in range(4)]
        rcpts = [["alice@example.test"], ["bob@example.test"],
                 ["alice@example.test", "carol@example.test"],
                 ["bob@example.test"]]
        for i, (t, r) in enumerate(zip(toks, rcpts)):
            if i == 2:
                self.assertEqual(s.rset()[0], 250)
            self.assertEqual(s.sendmail(sender, r, mt.make_message(t)), {})
        s.quit()
        for t, r in zip(toks, rcpts):
            for addr in r:
                got = self.postfix.wait_messages(addr.split("@")[0], t)
                self.assertEqual(len(got), 1, (t, addr))
        txs = mt.poll(lambda: [x for x in self.moatd.txs()
                               if sender in x.get("from", "")]
                      if len([x for x in self.moatd.txs()
                              if sender in x.get("from", "")]) >= 4
                      else None)
        self.assertTrue(txs, self.moatd.log())
        self.assertEqual(len(txs), 4, txs)
        self.assertEqual(len({t["session"] for t in txs}), 1, txs)
        self.assertEqual(len({t.get("tx") for t in txs}), 4, txs)
        # One backend connection served the whole session.
        log = self.postfix.log_since(self.pf_mark)
        self.assertEqual(len(re.findall(r"postfix/smtpd\[\d+\]: connect from",
                                        log)), 1, log)
        # ... and was closed when the session ended.
        self.assertTrue(self.postfix.wait_log(
            r"disconnect from unknown\[%s\]" % re.escape(mt.CLIENT_IP),
            self.pf_mark, 5), self.postfix.log_since(self.pf_mark))

    def test_quit_or_disconnect_mid_transaction(self):
        for how in ("quit", "close"):
            with self.subTest(how=how):
                mark = self.postfix.log_mark()
                c = self.client()
                c.greet()
                self.assertReply(c.cmd("MAIL FROM:<mid@sender.test>"), 250)
                self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
                if how == "quit":
                    self.assertReply(c.cmd("QUIT"), 221)
                    c.wait_closed(5)
                c.close()
                # The backend connection goes too, without a message.
                self.assertTrue(self.postfix.wait_log(
                    r"disconnect from unknown\[%s\]" %
                    re.escape(mt.CLIENT_IP), mark, 5),
                    self.postfix.log_since(mark))
                self.assertNotIn("message-id=", self.postfix.log_since(mark))

    def test_long_pipeline_replies_in_order(self):
        # 30 RCPTs in one write, good and unknown interleaved: each reply
        # must be the one for its own command.
        rcpts = []
        # Fewer refusals than max_errors (default 20): refused RCPTs count.
        for i in range(30):
            rcpts.append(("%s@example.test" % mt.USERS[i % 3]) if i % 2 == 0
                         else "nobody%d@example.test" % i)
        c = self.client()
        c.greet()
        c.send("MAIL FROM:<p@sender.test>\r\n" +
               "".join("RCPT TO:<%s>\r\n" % r for r in rcpts) +
               "RSET\r\nNOOP\r\n")
        rs = c.replies(len(rcpts) + 3)
        self.assertEqual(rs[0].code, 250)
        for r, rcpt in zip(rs[1:], rcpts):
            if rcpt.startswith("nobody"):
                self.assertEqual(r.code, 550, (rcpt, r))
                self.assertIn(rcpt, r.text)
            else:
                self.assertEqual(r.code, 250, (rcpt, r))
        self.assertEqual([r.code for r in rs[-2:]], [250, 250])
        self.assertReply(c.cmd("QUIT"), 221)

    def test_concurrent_sessions(self):
        # Many clients at once over 2 workers: every message arrives once,
        # intact, at its own recipient; nothing crosses between sessions.
        n = 16
        jobs = []
        for i in range(n):
            t = mt.token()
            user = mt.USERS[i % 3]
            body = ("session %d %s\r\n" % (i, t)) * (50 + 200 * i)
            jobs.append((t, user, mt.make_message(
                t, to="%s@example.test" % user, body=body)))
        errors = []

        def run(job):
            t, user, msg = job
            try:
                s = smtplib.SMTP("127.0.0.1", self.moatd.port,
                                 source_address=(mt.CLIENT_IP, 0),
                                 timeout=30)
                try:
                    s.ehlo("client.test")
                    for _ in range(2):
                        s.sendmail("c@sender.test",
                                   ["%s@example.test" % user], msg)
                    s.quit()
                finally:
                    s.close()
            except Exception as e:      # reported below
                errors.append((t, repr(e)))
        threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        self.assertEqual(errors, [])
        for t, user, msg in jobs:
            got = self.postfix.wait_messages(user, t, 2)
            self.assertEqual(len(got), 2, (t, user))
            for g in got:
                self.assertEqual(mt.strip_trace(g)[1], mt.lf(msg))

    def test_sequence_errors(self):
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 503, "5.5.1")
        # RFC 5321 3.3: no recipient yet, 503 or 554 "no valid recipients".
        r = c.cmd("DATA")
        self.assertIn(r.code, (503, 554), r)
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("NOOP"), 250)
        # Still usable.
        rs = self.send_mail(c, ["alice@example.test"],
                            mt.make_message(self.tok))
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)), 1)

    def test_unknown_and_syntax(self):
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("FOO bar"), 500, "5.5.2")
        self.assertReply(c.cmd("MAIL FROM:alice"), 501)
        self.assertReply(c.cmd("MAIL TO:<a@sender.test>"), 501)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test> NOSUCHPARAM=1"), 5)
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        c.wait_closed(5)

    def test_helo_and_rset(self):
        c = self.client()
        self.assertReply(c.reply(), 220)
        self.assertReply(c.cmd("HELO client.test"), 250)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        # The reset transaction must not deliver anything.
        rs = self.send_mail(c, ["carol@example.test"],
                            mt.make_message(self.tok))
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(len(self.postfix.wait_messages("carol", self.tok)), 1)
        self.postfix.settle()
        self.assertEqual(self.postfix.messages("bob", self.tok), [])

    def test_client_xclient_xforward_refused(self):
        c = self.client()
        ehlo = c.greet()
        words = [l.split()[0].upper() for l in ehlo.lines if l.split()]
        self.assertNotIn("XCLIENT", words)
        self.assertNotIn("XFORWARD", words)
        self.assertReply(c.cmd("XCLIENT ADDR=10.9.8.7 NAME=spoofed.test"), 5)
        self.assertReply(c.cmd("XFORWARD ADDR=10.9.8.7 NAME=spoofed.test"), 5)
        # Also in the middle of a transaction and before EHLO elsewhere.
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("XCLIENT ADDR=10.9.8.6"), 5)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(mt.make_message(self.tok)))
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        rec, _ = mt.strip_trace(got[0], 2)
        self.assertIn("[%s]" % mt.CLIENT_IP, rec[0])
        log = self.postfix.log_since(self.pf_mark)
        self.assertNotIn("10.9.8.", log)
        self.assertNotIn("10.9.8.", got[0].decode(errors="replace"))

    def test_helo_cannot_inject_xclient_attributes(self):
        # The HELO name goes to the backend inside XCLIENT (HELO=...); if it
        # were not xtext-encoded, spaces and "=" would set other attributes.
        c = self.client()
        self.assertReply(c.reply(), 220)
        r = c.cmd("EHLO client.test ADDR=6.6.6.6 NAME=spoof.test")
        if r.code != 250:
            self.assertEqual(r.code // 100, 5, r)
            self.assertReply(c.cmd("EHLO client.test+ADDR=6.6.6.6"), 5)
            r = c.cmd("EHLO client.test")
        self.assertReply(r, 250)
        rs = self.send_mail(c, ["alice@example.test"],
                            mt.make_message(self.tok))
        self.assertEqual([x.code for x in rs], [250, 250, 354, 250], rs)
        c.cmd("QUIT")
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        rec, _ = mt.strip_trace(got[0], 2)
        self.assertIn("[%s]" % mt.CLIENT_IP, rec[0])
        log = self.postfix.log_since(self.pf_mark)
        self.assertNotIn("6.6.6.6]", log)
        self.assertNotIn("spoof.test[", log)
        self.assertNotIn("6.6.6.6]", rec[0])

    def test_helo_bare_cr_no_header_injection(self):
        # A bare CR inside the HELO name must not split moatd's Received:
        # header into a header of the client's choosing.
        c = self.client()
        self.assertReply(c.reply(), 220)
        r = c.cmd("EHLO evil.test\rX-Injected: %s" % self.tok)
        if r.code != 250:
            self.assertEqual(r.code // 100, 5, r)
            r = c.cmd("EHLO client.test")
        self.assertReply(r, 250)
        rs = self.send_mail(c, ["alice@example.test"],
                            mt.make_message(self.tok))
        self.assertEqual([x.code for x in rs], [250, 250, 354, 250], rs)
        c.cmd("QUIT")
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        hdrs, _ = mt.split_headers(got[0])
        self.assertNotIn("x-injected", [n for n, _ in hdrs])
        self.assertNotIn(b"\r", got[0])

    def test_smtputf8_sender(self):
        # RFC 6531: advertised because Postfix has it; a UTF-8 address
        # with the SMTPUTF8 parameter is passed on and delivered.
        sender = "j\u00f6rg.%s@sender.test" % self.tok.lower()
        c = self.client()
        ehlo = c.greet()
        self.assertIn("SMTPUTF8", [l.split()[0].upper() for l in ehlo.lines
                                   if l.split()])
        self.assertReply(c.cmd("MAIL FROM:<%s> SMTPUTF8" % sender), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        msg = mt.make_message(self.tok, sender=sender)
        c.send(mt.dot_stuff(msg))
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        self.assertIn(("Return-Path: <%s>" % sender).encode(), got[0])
        self.assertEqual(mt.strip_trace(got[0])[1], mt.lf(msg))

    def test_xclient_before_ehlo_refused(self):
        c = self.client()
        self.assertReply(c.reply(), 220)
        self.assertReply(c.cmd("XCLIENT ADDR=10.9.8.5"), 5)
        self.assertReply(c.cmd("EHLO client.test"), 250)
        self.assertReply(c.cmd("QUIT"), 221)


if __name__ == "__main__":
    mt.main()
