#!/usr/bin/env python3
"""CHUNKING/BDAT (RFC 3030) through moatd, with a BDAT client written here
(swaks cannot send BDAT).

What is proved: a chunk is exactly its byte count, never lines, never
dot-unstuffed and never a command, whether moatd takes it, refuses it, or
has CHUNKING switched off (issue 12, defect 5); the assembled message is
scored and delivered byte-exact, by BDAT to a Postfix that offers CHUNKING
and as dot-stuffed DATA to one that does not (Postfix with
smtpd_discard_ehlo_keywords = chunking, and a FakeBackend that records
what it got).
"""

import os
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest  # noqa: E402
from moattest import (FakeBackend, MoatTestCase, Postfix, lf,  # noqa: E402
                      make_message, strip_trace)


def bdat(c, payload, last=False):
    """One BDAT chunk: command and bytes in one write; returns the reply."""
    c.send(b"BDAT %d%s\r\n" % (len(payload), b" LAST" if last else b"")
           + payload)
    return c.reply()


def chunks_of(msg, sizes):
    """msg cut into pieces of the given sizes (the rest as a last piece)."""
    out, pos = [], 0
    for n in sizes:
        out.append(msg[pos:pos + n])
        pos += n
    if pos < len(msg):
        out.append(msg[pos:])
    return out


class NoChunkingPostfix(Postfix):
    """The test Postfix without CHUNKING in its EHLO."""

    def write_config(self):
        super().write_config()
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write("smtpd_discard_ehlo_keywords = chunking\n")


# A payload that is nothing but trouble for a line reader.
NASTY = (b"Subject: nasty %s\r\n\r\n"
         b"a\r\n.\r\nMAIL FROM:<evil@sender.test>\r\n"
         b"RCPT TO:<carol@example.test>\r\nDATA\r\n"
         b"..two dots\r\n.\r\nQUIT\r\nend\r\n")


class ChunkingTest(MoatTestCase):

    MOATD_CONF = {"message_size_limit": "1K"}

    def transaction(self, c, rcpt="alice@example.test"):
        self.assertReply(c.cmd("MAIL FROM:<sender@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % rcpt), 250)

    def deliver(self, pieces, user="alice"):
        """Send pieces as BDAT chunks (LAST on the last), return the
        delivered message with moatd's and Postfix's traces removed."""
        c = self.client()
        ehlo = c.greet()
        self.assertIn("CHUNKING", ehlo.text)
        self.transaction(c, "%s@example.test" % user)
        for p in pieces[:-1]:
            self.assertReply(bdat(c, p), 250, "2.0.0")
        self.assertReply(bdat(c, pieces[-1], last=True), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        got = self.postfix.wait_messages(user, self.tok)
        self.assertEqual(len(got), 1)
        return strip_trace(got[0])[1]

    def test_exact_odd_and_one_byte_chunks(self):
        msg = make_message(self.tok)
        for sizes in ([len(msg)], [1] * 40, [7, 13, 1, 64], [3, 0, 5]):
            self.tok = moattest.token()
            msg = make_message(self.tok)
            self.assertEqual(self.deliver(chunks_of(msg, sizes)), lf(msg),
                             sizes)

    def test_payload_is_never_a_command(self):
        msg = NASTY % self.tok.encode()
        for sizes in ([len(msg)], [5, 9, 2, 31]):
            self.tok = moattest.token()
            msg = NASTY % self.tok.encode()
            self.assertEqual(self.deliver(chunks_of(msg, sizes)), lf(msg))
        # Nothing inside reached Postfix as a command.
        self.assertNotIn("evil@sender.test",
                         self.postfix.seen_senders(self.pf_mark))
        self.assertNotIn("carol@example.test",
                         self.postfix.seen_rcpts(self.pf_mark))
        # Postfix offers CHUNKING: the message went on by BDAT.
        self.assertTrue(self.postfix.wait_log(
            r"disconnect from .* bdat=1[ /]", self.pf_mark))

    def test_bdat_0_last(self):
        msg = make_message(self.tok)
        self.assertEqual(self.deliver([msg, b""]), lf(msg))

    def test_bare_lf_and_cr_normalised(self):
        t = self.tok.encode()
        got = self.deliver([b"Subject: bare %s\r\n\r\nlf\nthen cr\rsplit\r" % t,
                            b"\nend"])
        self.assertEqual(got, b"Subject: bare %s\n\nlf\nthen cr\nsplit\nend\n"
                         % t)

    def test_pipelined(self):
        msg = make_message(self.tok)
        c = self.client()
        c.greet()
        a, b = msg[:100], msg[100:]
        c.send(b"MAIL FROM:<sender@sender.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"BDAT %d\r\n%sBDAT %d LAST\r\n%sQUIT\r\n" %
               (len(a), a, len(b), b))
        rs = c.replies(5)
        self.assertEqual([r.code for r in rs], [250, 250, 250, 250, 221],
                         rs)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(strip_trace(got[0])[1], lf(msg))

    def test_refused_chunks_are_consumed(self):
        c = self.client()
        c.greet()
        evil = b"MAIL FROM:<evil@sender.test>\r\nNOOP\r\n"
        # No transaction: 503, and the payload is not run.
        self.assertReply(bdat(c, evil), 503, "5.5.1")
        # Bad syntax with a count: 501, skipped all the same.
        c.send(b"BDAT %d FIRST\r\n" % len(evil) + evil)
        self.assertReply(c.reply(), 501, "5.5.4")
        self.transaction(c)
        # Bigger than the size limit: 552, consumed, transaction over.
        big = b"x" * 2048
        c.send(b"BDAT %d\r\n" % len(big) + big)
        self.assertReply(c.reply(), 552, "5.3.4")
        self.assertReply(c.cmd("NOOP"), 250)
        # A new transaction works on the same connection.
        self.transaction(c)
        msg = make_message(self.tok)
        self.assertReply(bdat(c, msg, last=True), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertNotIn("evil@sender.test",
                         self.postfix.seen_senders(self.pf_mark))
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)

    def test_data_after_bdat_refused(self):
        c = self.client()
        c.greet()
        self.transaction(c)
        self.assertReply(bdat(c, b"Subject: x\r\n"), 250)
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("RCPT TO:<bob@example.test>"), 503)
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_no_count_closes(self):
        c = self.client()
        c.greet()
        self.transaction(c)
        c.send(b"BDAT LAST\r\nMAIL FROM:<evil@sender.test>\r\n")
        self.assertReply(c.reply(), 521)
        c.wait_closed()
        self.assertNotIn("evil@sender.test",
                         self.postfix.seen_senders(self.pf_mark))

    def test_malformed_bdat_line_closes(self):
        # A BDAT line refused as a line (NUL, bare CR) cannot be skipped.
        for junk in (b"BDAT 36\0\r\n", b"BDAT 36\rx\r\n"):
            c = self.client()
            c.greet()
            self.transaction(c)
            c.send(junk + b"MAIL FROM:<evil@sender.test>\r\nNOOP\r\n")
            self.assertReply(c.reply(), 521)
            c.wait_closed()
        self.assertNotIn("evil@sender.test",
                         self.postfix.seen_senders(self.pf_mark))

    def test_size_limit_counts_the_message(self):
        # Under the declared limit per chunk, over it together.
        c = self.client()
        c.greet()
        self.transaction(c)
        self.assertReply(bdat(c, b"x" * 600), 250)
        self.assertReply(bdat(c, b"y" * 600, last=True), 552, "5.3.4")
        self.assertReply(c.cmd("QUIT"), 221)


class BigChunksTest(MoatTestCase):
    """5 MB in 1 MB chunks: spooled to disk, passed on by BDAT."""

    MOATD_CONF = {"message_memory_max": "256k"}

    def test_five_megabytes(self):
        line = b"0123456789abcdefghijklmnopqrstuvwxyz.\r\n"
        msg = (b"Subject: big %s\r\n\r\n" % self.tok.encode() +
               line * (5 * 1024 * 1024 // len(line)))
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<sender@sender.test> SIZE=%d" %
                               len(msg)), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        step = 1024 * 1024 + 7
        for off in range(0, len(msg), step):
            last = off + step >= len(msg)
            self.assertReply(bdat(c, msg[off:off + step], last), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        got = self.postfix.wait_messages("alice", self.tok, timeout=30)
        self.assertEqual(len(got), 1)
        self.assertEqual(strip_trace(got[0])[1], lf(msg))


class ChunkingOffTest(MoatTestCase):
    """chunking off: not offered; BDAT gets 502, its payload is dropped
    (defect 5: a MAIL inside it once got 250)."""

    MOATD_CONF = {"chunking": "off"}

    def test_bdat_refused_and_consumed(self):
        c = self.client()
        ehlo = c.greet()
        self.assertNotIn("CHUNKING", ehlo.text)
        self.transaction_reply = c.cmd("MAIL FROM:<sender@sender.test>")
        self.assertReply(self.transaction_reply, 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        evil = b"MAIL FROM:<evil@sender.test>\r\nRSET\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(evil) + evil + b"NOOP\r\n")
        self.assertReply(c.reply(), 502, "5.5.1")
        # The next reply is NOOP's, not the chunk's MAIL or RSET.
        r = c.reply()
        self.assertReply(r, 250, "2.0.0")
        self.assertIn("Ok", r.text)
        self.assertEqual(c.pending(0.3), b"")
        self.assertReply(c.cmd("QUIT"), 221)


class OwnPostfixCase(MoatTestCase):
    """A test case whose Postfix is cls.POSTFIX (a Postfix subclass with
    its own main.cf settings), and no shared moatd."""

    SHARED_MOATD = False
    POSTFIX = Postfix

    @classmethod
    def setUpClass(cls):
        cls.postfix = None
        cls.moatd = None
        try:
            cls.postfix = cls.POSTFIX()
            cls.postfix.start()
        except BaseException:
            cls._class_cleanup()
            raise


class ChunkingToDataBackendTest(OwnPostfixCase):
    """A backend without CHUNKING gets the message as dot-stuffed DATA."""

    POSTFIX = NoChunkingPostfix

    def test_postfix_without_chunking(self):
        m = self.start_moatd()
        msg = NASTY % self.tok.encode()
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<sender@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        for p in chunks_of(msg, [1, 2, 3, 50])[:-1]:
            self.assertReply(bdat(c, p), 250)
        self.assertReply(bdat(c, chunks_of(msg, [56])[1], last=True), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        self.assertEqual(strip_trace(got[0])[1], lf(msg))
        self.assertTrue(self.postfix.wait_log(
            r"disconnect from .* data=1[ /]", self.pf_mark))
        self.assertNotRegex(self.postfix.log_since(self.pf_mark), r"bdat=")

    def test_fake_backend_gets_stuffed_data(self):
        fb = FakeBackend("ok")
        self.addCleanup(fb.close)
        m = self.start_moatd(conf={"received_header": "off"},
                             backend_port=fb.port)
        msg = b"Subject: t\r\n\r\n.\r\n..x\r\nbare\nlf\r\n"
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<sender@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(bdat(c, msg[:10]), 250)
        self.assertReply(bdat(c, msg[10:], last=True), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        got = moattest.poll(lambda: b"\r\n.\r\n" in b"".join(fb.received))
        self.assertTrue(got, fb.received)
        wire = b"".join(fb.received)
        self.assertNotIn(b"BDAT", wire)
        body = wire.split(b"DATA\r\n", 1)[1].split(b"\r\n.\r\n", 1)[0]
        self.assertEqual(body + b"\r\n",
                         b"Subject: t\r\n\r\n..\r\n...x\r\nbare\r\nlf\r\n")


if __name__ == "__main__":
    moattest.main()
