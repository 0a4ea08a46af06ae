#!/usr/bin/env python3
"""SMTP smuggling (the 2023 family): a message whose body holds a
non-standard end-of-data sequence followed by a whole second SMTP
transaction must never turn into two messages, and the smuggled commands
must never be answered.  Only <CRLF>.<CRLF> ends the data; bare CR/LF are
normalized (never passed on raw) or the message is refused."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

# The fake "end of data" sequences.
VARIANTS = [
    ("lf_dot_lf", b"\n.\n"),
    ("crlf_dot_cr", b"\r\n.\r"),
    ("cr_dot_crlf", b"\r.\r\n"),
    ("lf_dot_crlf", b"\n.\r\n"),
    ("crlf_dot_lf", b"\r\n.\n"),
    ("cr_dot_cr", b"\r.\r"),
    ("lf_dot_cr", b"\n.\r"),
    ("cr_dot_lf", b"\r.\n"),
    ("crlf_dot_crcrlf", b"\r\n.\r\r\n"),
    ("crlf_dot_lfcrlf", b"\r\n.\n\r\n"),
    ("lf_dot_lf_after_crlf", b"\r\n\n.\n"),
]


def smuggling_message(tok, seq):
    """First message, the fake end, a complete smuggled transaction
    (with its own terminator spelled the same fake way), then the body
    goes on; the caller adds the real end."""
    first = mt.make_message(tok, sender="honest@sender.test")
    # make_message ends in CRLF; the fake sequence follows the last line
    # directly where it brings its own line break.
    body = first[:-2] if seq.startswith((b"\r", b"\n")) else first
    smuggled = (b"MAIL FROM:<smuggler@evil.test>\r\n"
                b"RCPT TO:<bob@example.test>\r\n"
                b"DATA\r\n"
                b"From: <admin@example.test>\r\n"
                b"To: <bob@example.test>\r\n"
                b"Subject: SMUGGLED " + tok.encode() + b"\r\n"
                b"\r\n"
                b"second message " + tok.encode())
    return body + seq + smuggled + seq + b"after the fake end\r\n"


class SmugglingNormalize(mt.MoatTestCase):
    MOATD_CONF = {"bare_newline": "normalize"}

    def run_variant(self, name, seq, split=False):
        tok = mt.token()
        mark = self.postfix.log_mark()
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<honest@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        data = smuggling_message(tok, seq)
        # Sent raw: no dot-stuffing of our own, the real end at last.
        data += b"\r\n.\r\n"
        if split:
            # Every byte around the fake and the real ends in a segment of
            # its own: the reader must not depend on how input is cut.
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            cut = data.index(seq) - 2
            c.send(data[:cut])
            for i in range(cut, cut + len(seq) + 6):
                c.send(data[i:i + 1])
                time.sleep(0.01)
            rest = data[cut + len(seq) + 6:]
            c.send(rest[:-5])
            for i in range(len(rest) - 5, len(rest)):
                time.sleep(0.01)
                c.send(rest[i:i + 1])
        else:
            c.send(data)
        final = c.reply()
        # The next reply must be the QUIT's: nothing smuggled was answered.
        c.send(b"QUIT\r\n")
        after = c.reply()
        self.assertEqual(after.code, 221,
                         "extra reply after the message: %r" % after)
        rest = c.wait_closed(5)
        self.assertEqual(mt.parse_replies(rest), [],
                         "replies after QUIT: %r" % rest)
        return tok, mark, final

    def test_variants(self):
        for name, seq in VARIANTS:
            with self.subTest(variant=name):
                tok, mark, final = self.run_variant(name, seq)
                self.assertReply(final, 250, msg=name)
                got = self.postfix.wait_messages("alice", tok)
                self.assertEqual(len(got), 1, name)
                self.postfix.settle()
                self.assertEqual(len(self.postfix.messages("alice", tok)), 1,
                                 "%s: a second message for alice" % name)
                self.assertEqual(self.postfix.messages("bob", tok), [],
                                 "%s: the smuggled message arrived" % name)
                # It all stayed inside the first message, and no bare CR
                # was passed on raw (Postfix keeps CRs it is given).
                self.assertIn(b"SMUGGLED " + tok.encode(), got[0])
                self.assertIn(b"after the fake end", got[0])
                self.assertNotIn(b"\r", got[0])
                self.assertNotIn("smuggler@evil.test",
                                 self.postfix.seen_senders(mark))
                self.assertNotIn("bob@example.test",
                                 self.postfix.seen_rcpts(mark))
                self.assertEqual(
                    self.postfix.log_since(mark).count(
                        "message-id=<%s@sender.test>" % tok), 1)


    def test_variants_split_writes(self):
        for name, seq in VARIANTS[:6]:
            with self.subTest(variant=name):
                tok, mark, final = self.run_variant(name, seq, split=True)
                self.assertReply(final, 250, msg=name)
                got = self.postfix.wait_messages("alice", tok)
                self.assertEqual(len(got), 1, name)
                self.postfix.settle()
                self.assertEqual(len(self.postfix.messages("alice", tok)), 1)
                self.assertEqual(self.postfix.messages("bob", tok), [])
                self.assertIn(b"SMUGGLED " + tok.encode(), got[0])
                self.assertNotIn(b"\r", got[0])


class SmugglingReject(SmugglingNormalize):
    MOATD_CONF = {"bare_newline": "reject"}

    def test_variants(self):
        for name, seq in VARIANTS:
            with self.subTest(variant=name):
                tok, mark, final = self.run_variant(name, seq)
                self.assertEqual(final.code // 100, 5,
                                 "%s: bare CR/LF accepted: %r" % (name, final))
                self.assertNothingDelivered(tok, settle=0.2)
                self.assertNotIn("smuggler@evil.test",
                                 self.postfix.seen_senders(mark))
                self.assertNotIn("bob@example.test",
                                 self.postfix.seen_rcpts(mark))

    def test_variants_split_writes(self):
        for name, seq in VARIANTS[:6]:
            with self.subTest(variant=name):
                tok, mark, final = self.run_variant(name, seq, split=True)
                self.assertEqual(final.code // 100, 5, final)
                self.assertNothingDelivered(tok, settle=0.2)

    def test_clean_message_still_accepted(self):
        tok = mt.token()
        c = self.client()
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], mt.make_message(tok))
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertEqual(len(self.postfix.wait_messages("alice", tok)), 1)


if __name__ == "__main__":
    mt.main()
