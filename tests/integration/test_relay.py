#!/usr/bin/env python3
"""Never an open relay: for a client outside trusted_networks, recipients
outside local_domains, and every classic trick to smuggle one in (percent
hack, bang path, source route, quoted local part, a@b@c, trailing dot,
address literal, subdomain), are refused by moatd with a 5xx and never
reach Postfix (Postfix logs every RCPT that reaches it)."""

import os
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

# What goes between the angle brackets of RCPT TO:<...>.
TRICKS = [
    "user%other.test@example.test",
    "alice%other.test@example.test",
    "other.test!user@example.test",
    "other.test!alice@example.test",
    "@example.test:user@other.test",
    "@example.test,@example.test:user@other.test",
    '"user@other.test"@example.test',
    '"alice@other.test"@example.test',
    "user@other.test@example.test",
    "alice@example.test@other.test",
    "user@other.test",
    "alice@other.test",
    "user@example.test.",
    "alice@example.test.",
    "user@other.test.",
    "user@sub.example.test",
    "user@example.test.other.test",
    "user@[127.0.0.1]",
    "user@[10.1.2.3]",
    "user%other.test",
    "other.test!user",
    "user",
]


class Relay(mt.MoatTestCase):
    # The test client (127.0.0.2) is not trusted.
    MOATD_CONF = {"trusted_networks": "10.255.255.255/32"}

    def test_tricks_refused_and_never_forwarded(self):
        for trick in TRICKS:
            with self.subTest(rcpt=trick):
                tok = mt.token()
                mark = self.postfix.log_mark()
                c = self.client()
                c.greet()
                self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
                r = c.cmd("RCPT TO:<%s>" % trick)
                self.assertEqual(r.code // 100, 5,
                                 "%s accepted: %r" % (trick, r))
                # A good recipient in the same transaction still works and
                # puts the transaction on record at Postfix.
                self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
                self.assertReply(c.cmd("DATA"), 354)
                c.send(mt.dot_stuff(mt.make_message(tok)))
                self.assertReply(c.reply(), 250)
                self.assertReply(c.cmd("QUIT"), 221)
                self.assertEqual(
                    len(self.postfix.wait_messages("alice", tok)), 1)
                self.postfix.settle()
                self.assertEqual(set(self.postfix.seen_rcpts(mark)),
                                 {"alice@example.test"},
                                 "%s reached Postfix" % trick)
                log = self.postfix.log_since(mark)
                self.assertNotIn("other.test", log)
                self.assertNotIn("relay=error", log)
                for u in ("bob", "carol"):
                    self.assertEqual(self.postfix.messages(u, tok), [])

    def test_relay_denied_code(self):
        c = self.client()
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<user@other.test>"), 554, "5.7.1")
        self.assertReply(c.cmd("RCPT TO:<user%other.test@example.test>"), 5)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_swaks_relay_refused(self):
        mark = self.postfix.log_mark()
        r = mt.swaks(self.moatd.port, to="victim@other.test",
                     data=mt.make_message(self.tok, to="victim@other.test"))
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"<\*\* +5\d\d")
        self.postfix.settle()
        self.assertEqual(self.postfix.seen_rcpts(mark), [])

    def test_domain_case_insensitive(self):
        c = self.client()
        c.greet()
        rs = self.send_mail(c, ["alice@EXAMPLE.TEST", "bob@Example.Test"],
                            mt.make_message(self.tok))
        self.assertEqual([r.code for r in rs], [250, 250, 250, 354, 250], rs)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)), 1)
        self.assertEqual(len(self.postfix.wait_messages("bob", self.tok)), 1)

    def test_null_sender_to_local_ok(self):
        c = self.client()
        c.greet()
        rs = self.send_mail(c, ["carol@example.test"],
                            mt.make_message(self.tok), sender="")
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertEqual(len(self.postfix.wait_messages("carol", self.tok)), 1)

    def test_trusted_network_may_relay(self):
        # Positive control: from a trusted address the same recipient is
        # passed to the backend, which has the last word (here: Postfix's
        # own relay refusal, passed through).
        m = self.start_moatd({"trusted_networks": "127.0.0.0/8"})
        mark = self.postfix.log_mark()
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        r = c.cmd("RCPT TO:<user@other.test>")
        self.assertEqual(r.code, 554, r)
        self.assertIn("Relay access denied", r.text)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertTrue(self.postfix.wait_log(
            "rcpt-seen.*to=<user@other.test>", mark, 5))


if __name__ == "__main__":
    mt.main()
