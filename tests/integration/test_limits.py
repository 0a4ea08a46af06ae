#!/usr/bin/env python3
"""Every input has a bound, and past it the client gets a clear SMTP error
while the session (or at least the daemon) goes on: command line length,
NUL bytes, DATA line length, message size (declared and actual),
recipients, errors, sessions per IP, the command timeout against a
dripping client, and pregreeting."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

CMD_MAX = 1000
DATA_LINE_MAX = 1000
SIZE_LIMIT = 100 * 1024
MAX_RCPT = 3
MAX_ERRORS = 5


class Limits(mt.MoatTestCase):
    MOATD_CONF = {
        "command_line_max": str(CMD_MAX),
        "data_line_max": str(DATA_LINE_MAX),
        "message_size_limit": "100k",
        "max_recipients": str(MAX_RCPT),
        "max_errors": str(MAX_ERRORS),
    }

    def greeted(self, moatd=None, src=mt.CLIENT_IP):
        c = self.client(moatd, src=src)
        c.greet()
        return c

    # -- command lines

    def after_too_long(self, c):
        """After a 500 5.5.0 for a long line moatd may go on or close the
        session (moatd closes: a client that sends such lines is not an
        MTA); either way nothing else may come back, and if it goes on the
        session must still work."""
        extra = c.pending(0.5)
        self.assertEqual(mt.parse_replies(extra), [],
                         "more replies after 500 5.5.0: %r" % extra)
        if c.eof:
            return False
        self.assertReply(c.cmd("NOOP"), 250)
        return True

    def test_command_line_too_long(self):
        c = self.greeted()
        c.send("NOOP " + "a" * (CMD_MAX * 3) + "\r\n")
        self.assertReply(c.reply(), 500, "5.5.0")
        self.after_too_long(c)
        c = self.greeted()
        mark = self.postfix.log_mark()
        long_mail = "MAIL FROM:<%s@sender.test>" % ("b" * (CMD_MAX * 2))
        self.assertReply(c.cmd(long_mail), 500, "5.5.0")
        if self.after_too_long(c):
            # Nothing of it took effect: no transaction is open.
            self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 503,
                             "5.5.1")
        self.postfix.settle()
        self.assertEqual(self.postfix.seen_senders(mark), [])

    def test_command_line_at_limit(self):
        # A line of exactly command_line_max octets before the CRLF is
        # accepted (NOOP takes a string, RFC 5321 4.1.1.9).
        c = self.greeted()
        self.assertReply(c.cmd("NOOP " + "n" * (CMD_MAX - 5)), 250)
        self.assertReply(c.cmd("NOOP"), 250)

    def test_command_line_tail_not_executed(self):
        # Whether the limit counts the CRLF or not, the bytes just past it
        # spell QUIT: a reader that cuts long lines into pieces would run
        # it.  Exactly one error reply, never a 221.
        for pad in (CMD_MAX - 5, CMD_MAX - 5 - 2, CMD_MAX - 5 + 1):
            with self.subTest(pad=pad):
                c = self.greeted()
                c.send("NOOP " + "a" * pad + "QUIT\r\n")
                self.assertReply(c.reply(), 500, "5.5.0")
                self.after_too_long(c)
                c.close()

    def test_endless_line_without_newline(self):
        c = self.greeted()
        t0 = time.monotonic()
        try:
            c.send("NOOP " + "z" * 200000)
            c.send("\r\n")
        except OSError:
            pass
        try:
            r = c.reply(10)
        except (mt.Closed, ConnectionResetError) as e:
            # A reset may discard the reply; the session must be gone
            # then, and moatd still serving.
            r = None
            self.assertTrue(c.eof or isinstance(e, ConnectionResetError))
        if r is not None:
            self.assertReply(r, 500, "5.5.0")
        self.assertLess(time.monotonic() - t0, 10)
        c2 = self.greeted()
        self.assertReply(c2.cmd("NOOP"), 250)

    def test_nul_in_commands(self):
        c = self.greeted()
        self.assertReply(c.cmd("MAIL FROM:<a\x00b@sender.test>"), 5)
        # The MAIL above did not happen.
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 503)
        self.assertReply(c.cmd("NOOP\x00"), 5)
        c.close()
        c = self.greeted()
        self.assertReply(c.cmd("EHLO cli\x00ent.test"), 5)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@exam\x00ple.test>"), 5)
        self.assertReply(c.cmd("QUIT"), 221)
        self.postfix.settle()
        self.assertNotIn("\\000", self.postfix.log_since(self.pf_mark))

    # -- DATA

    def test_nul_in_data(self):
        c = self.greeted()
        msg = mt.make_message(self.tok, body="before\r\nnul \x00 here\r\n")
        rs = self.send_mail(c, ["alice@example.test"], msg)
        self.assertEqual([r.code for r in rs[:3]], [250, 250, 354], rs)
        self.assertEqual(rs[3].code // 100, 5, rs[3])
        self.assertTrue(rs[3].enhanced.startswith("5."), rs[3])
        # The session goes on.
        ok = mt.make_message(self.tok, subject="clean")
        rs = self.send_mail(c, ["bob@example.test"], ok)
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertEqual(len(self.postfix.wait_messages("bob", self.tok)), 1)
        self.postfix.settle()
        self.assertEqual(self.postfix.messages("alice", self.tok), [])

    def test_data_line_too_long(self):
        c = self.greeted()
        msg = mt.make_message(self.tok,
                              body="short\r\n" + "L" * (DATA_LINE_MAX * 5) +
                              "\r\nshort again\r\n")
        rs = self.send_mail(c, ["alice@example.test"], msg)
        self.assertEqual([r.code for r in rs[:3]], [250, 250, 354], rs)
        self.assertEqual(rs[3].code // 100, 5, rs[3])
        self.assertTrue(rs[3].enhanced.startswith("5."), rs[3])
        # At the limit is fine (RFC 5322: 998 octets plus CRLF).
        ok = mt.make_message(self.tok, subject="at limit",
                             body="x" * 998 + "\r\n")
        rs = self.send_mail(c, ["bob@example.test"], ok)
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        got = self.postfix.wait_messages("bob", self.tok)
        self.assertEqual(len(got), 1)
        self.assertEqual(mt.strip_trace(got[0])[1], mt.lf(ok))
        self.postfix.settle()
        self.assertEqual(self.postfix.messages("alice", self.tok), [])

    def test_size_declared(self):
        c = self.client()
        self.assertReply(c.reply(), 220)
        ehlo = c.cmd("EHLO client.test")
        self.assertIn("SIZE %d" % SIZE_LIMIT, [l.upper() for l in ehlo.lines])
        mark = self.postfix.log_mark()
        self.assertReply(c.cmd("MAIL FROM:<big@sender.test> SIZE=%d" %
                               (SIZE_LIMIT * 2)), 552, "5.3.4")
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 503)
        self.assertReply(c.cmd("MAIL FROM:<small@sender.test> SIZE=1000"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        self.postfix.settle()
        self.assertNotIn("big@sender.test", self.postfix.seen_senders(mark))

    def test_size_actual(self):
        c = self.greeted()
        big = mt.make_message(self.tok, body=("y" * 70 + "\r\n") *
                              (SIZE_LIMIT * 2 // 72))
        rs = self.send_mail(c, ["alice@example.test"], big)
        self.assertEqual([r.code for r in rs[:3]], [250, 250, 354], rs)
        self.assertReply(rs[3], 552, "5.3.4")
        # Declared small, sent big.
        self.assertReply(c.cmd("MAIL FROM:<liar@sender.test> SIZE=100"), 250)
        self.assertReply(c.cmd("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(big))
        self.assertReply(c.reply(), 552, "5.3.4")
        # Just under the limit passes.
        fits = mt.make_message(self.tok, subject="fits",
                               body=("f" * 70 + "\r\n") *
                               (SIZE_LIMIT // 2 // 72))
        rs = self.send_mail(c, ["carol@example.test"], fits)
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertEqual(len(self.postfix.wait_messages("carol", self.tok)), 1)
        self.postfix.settle()
        self.assertEqual(self.postfix.messages("alice", self.tok), [])
        self.assertEqual(self.postfix.messages("bob", self.tok), [])

    # -- counts

    def test_too_many_recipients(self):
        c = self.greeted()
        mark = self.postfix.log_mark()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        for u in mt.USERS[:MAX_RCPT]:
            self.assertReply(c.cmd("RCPT TO:<%s@example.test>" % u), 250)
        self.assertReply(c.cmd("RCPT TO:<dave@example.test>"), 452, "4.5.3")
        self.assertReply(c.cmd("RCPT TO:<erin@example.test>"), 452, "4.5.3")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(mt.dot_stuff(mt.make_message(self.tok)))
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        for u in mt.USERS[:MAX_RCPT]:
            self.assertEqual(len(self.postfix.wait_messages(u, self.tok)), 1)
        seen = self.postfix.seen_rcpts(mark)
        self.assertNotIn("dave@example.test", seen)
        self.assertNotIn("erin@example.test", seen)

    def test_too_many_errors(self):
        c = self.greeted()
        codes = []
        for _ in range(MAX_ERRORS + 3):
            try:
                r = c.cmd("FOO%d" % len(codes))
            except (mt.Closed, OSError):
                break
            codes.append((r.code, r.enhanced))
            if r.code == 421:
                break
        self.assertIn((421, "4.7.0"), codes, codes)
        self.assertEqual(codes[-1], (421, "4.7.0"), codes)
        self.assertLessEqual(len(codes), MAX_ERRORS + 1, codes)
        self.assertTrue(all(x == (500, "5.5.2") for x in codes[:-1]), codes)
        c.wait_closed(5)

    def test_too_many_sessions_per_ip(self):
        m = self.start_moatd({"max_sessions_per_ip": "2"})
        src = "127.0.0.3"
        c1 = self.client(m, src=src)
        self.assertReply(c1.reply(), 220)
        c2 = self.client(m, src=src)
        self.assertReply(c2.reply(), 220)
        c3 = self.client(m, src=src)
        r = c3.reply()
        self.assertReply(r, 421, msg="third session from one address")
        c3.wait_closed(5)
        # Other addresses are not affected.
        c4 = self.client(m, src="127.0.0.4")
        self.assertReply(c4.reply(), 220)
        # The old ones still work.
        self.assertReply(c1.cmd("EHLO client.test"), 250)
        self.assertReply(c2.cmd("NOOP"), 250)
        # A slot freed is a slot again.
        self.assertReply(c1.cmd("QUIT"), 221)
        c1.wait_closed(5)

        def again():
            c = mt.Client(m.port, src=src)
            try:
                return c.reply().code == 220
            finally:
                c.close()
        self.assertTrue(mt.poll(again, 5, 0.2))

    # -- time

    def test_command_timeout_dripping_client(self):
        # timeout_command 2s bounds a whole command line: one byte every
        # 0.3 s never completes a line, and must be cut near 2 s.
        m = self.start_moatd({"timeout_command": "2s"})
        c = self.client(m)
        self.assertReply(c.reply(), 220)
        closed, took, got = self.drip_until_closed(c, b"EHLO " + b"d" * 200,
                                                   2 + 6)
        self.assertTrue(closed, "a dripping client was never cut (%.1fs)" %
                        took)
        self.assertLess(took, 2 + 3, "cut after %.1fs" % took)
        rs = mt.parse_replies(got)
        self.assertTrue(rs, "cut without a reply")
        self.assertEqual(rs[-1].code, 421, rs)
        self.assertTrue(m.alive())

    def test_command_timeout_dripping_after_ehlo(self):
        m = self.start_moatd({"timeout_command": "2s"})
        c = self.client(m)
        c.greet()
        closed, took, got = self.drip_until_closed(
            c, b"MAIL FROM:<" + b"d" * 200, 2 + 6)
        self.assertTrue(closed, "a dripping client was never cut")
        self.assertLess(took, 2 + 3, "cut after %.1fs" % took)
        rs = mt.parse_replies(got)
        self.assertTrue(rs and rs[-1].code == 421, got)

    def drip_until_closed(self, c, data, limit):
        """Send data one byte every 0.3 s until the server closes or
        limit seconds pass; returns (closed, seconds, bytes received)."""
        t0 = time.monotonic()
        got = b""
        i = 0
        while time.monotonic() - t0 < limit:
            try:
                c.send(data[i:i + 1])
            except OSError:
                break
            i = (i + 1) % len(data)
            got += c.pending(0.3)
            if c.eof:
                break
        took = time.monotonic() - t0
        if not c.eof:
            try:
                got += c.wait_closed(1)
            except (socket.timeout, OSError):
                pass
        return c.eof, took, got

    def test_data_timeout_dripping_client(self):
        # timeout_data bounds the whole DATA phase, not the gap between
        # two bytes.
        m = self.start_moatd({"timeout_data": "2s",
                              "timeout_command": "20s"})
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<drip@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        closed, took, got = self.drip_until_closed(
            c, mt.make_message(self.tok, body="d" * 500), 2 + 6)
        self.assertTrue(closed, "a dripping DATA phase was never cut")
        self.assertLess(took, 2 + 3, "cut after %.1fs" % took)
        rs = mt.parse_replies(got)
        self.assertTrue(rs and rs[-1].code == 421, got)
        self.assertNothingDelivered(self.tok, settle=0.5)

    def test_total_sessions(self):
        # max_sessions counts every session of the daemon, whatever the
        # address: the third client from another address gets 421 4.3.2.
        m = self.start_moatd({"max_sessions": "2",
                              "max_sessions_per_ip": "100"})
        # The harness's own start-up connection must be gone first.
        self.assertTrue(mt.poll(lambda: len(m.sessions()) >= 1, 5))
        held = []
        for src in ("127.0.0.2", "127.0.0.3"):
            c = self.client(m, src=src)
            self.assertReply(c.reply(), 220)
            held.append(c)
        c = self.client(m, src="127.0.0.4")
        self.assertReply(c.reply(), 421, "4.3.2")
        c.close()
        for c in held:
            c.cmd("QUIT")
            c.close()

        def room():
            # A refused session counts until its lingering close ends:
            # close each try at once.
            t = mt.Client(m.port, src="127.0.0.4")
            try:
                return t.reply().code == 220
            finally:
                t.close()
        # Once they are gone, there is room again.
        self.assertTrue(mt.poll(room, 10, interval=0.3))

    def test_commands_per_session(self):
        m = self.start_moatd({"max_commands": "10", "max_errors": "100"})
        c = self.client(m)
        c.greet()                          # command 1
        for _ in range(9):
            self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd("NOOP"), 421, "4.7.0")
        c.wait_closed(5)

    def test_idle_timeout(self):
        m = self.start_moatd({"timeout_command": "2s"})
        c = self.client(m)
        self.assertReply(c.reply(), 220)
        t0 = time.monotonic()
        data = c.wait_closed(8)
        self.assertLess(time.monotonic() - t0, 4.5)
        rs = mt.parse_replies(data)
        self.assertTrue(rs and rs[-1].code == 421, data)

    def test_pregreet(self):
        m = self.start_moatd({"greet_wait": "1s"})
        mark = self.postfix.log_mark()
        c = self.client(m)
        c.send("EHLO pregreet.test\r\nMAIL FROM:<pregreet@sender.test>\r\n"
               "RCPT TO:<alice@example.test>\r\nDATA\r\n" +
               mt.make_message(self.tok).decode() + ".\r\nQUIT\r\n")
        data = c.wait_closed(15)
        rs = mt.parse_replies(data)
        self.assertTrue(rs, data)
        self.assertEqual(rs[0].code, 554, rs)
        for r in rs[1:]:
            self.assertFalse(r.code // 100 in (2, 3) and r.code != 221,
                             "a pregreeter's command was answered: %r" % rs)
        self.assertNothingDelivered(self.tok, settle=0.5)
        self.assertNotIn("pregreet@sender.test",
                         self.postfix.seen_senders(mark))
        self.assertNotIn("pregreet", self.postfix.log_since(mark))
        self.assertEqual(m.txs(), [])
        # A client that waits gets the banner after greet_wait.
        c2 = self.client(m)
        t0 = time.monotonic()
        self.assertReply(c2.reply(), 220)
        self.assertGreater(time.monotonic() - t0, 0.5)
        self.assertReply(c2.cmd("EHLO client.test"), 250)


if __name__ == "__main__":
    mt.main()
