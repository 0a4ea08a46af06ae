#!/usr/bin/env python3
"""Mail through moatd arrives in Postfix's maildir byte for byte (apart from
Postfix's own trace headers and moatd's Received:), the real client address
reaches Postfix through XCLIENT, and moatd's Received: header names the
client and the session id that moatd logged."""

import os
import re
import smtplib
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

SESSION_RX = re.compile(r"^[0-9a-f]{16}$")


def awkward_body(tok):
    """Lines a careless relay gets wrong: dots, blank lines, whitespace,
    a line of 998 octets (RFC 5322 2.1.1 maximum), tabs, 8-bit UTF-8."""
    return ("first line %s\r\n"
            "\r\n"
            ".\r\n"
            "..\r\n"
            ". one dot and space\r\n"
            "...three\r\n"
            "\ttab-led line\t\r\n"
            "trailing blanks  \t \r\n"
            " leading blank\r\n"
            "\r\n"
            "\r\n"
            "%s\r\n"
            "From the start of a line\r\n"
            "r\u00e9sum\u00e9 \u2603 na\u00efve\r\n"
            "last line\r\n" % (tok, "x" * 998))


class Delivery(mt.MoatTestCase):
    MOATD_CONF = {"message_size_limit": "20M"}

    def delivered_one(self, user, msg, received=2):
        """Wait for the one message with the token; check it is msg
        byte for byte; return its Received: headers (top first)."""
        got = self.postfix.wait_messages(user, self.tok)
        self.assertEqual(len(got), 1, "delivered copies for %s" % user)
        rec, rest = mt.strip_trace(got[0], received)
        self.assertEqual(len(rec), received, got[0][:2000])
        self.assertEqual(rest, mt.lf(msg))
        return rec

    def check_trace(self, rec, sender, client_ip=mt.CLIENT_IP):
        """rec[0] is Postfix's Received (client via XCLIENT), rec[1]
        moatd's (client address and the logged session id)."""
        self.assertIn("by %s (Postfix)" % mt.BACKEND_NAME, rec[0])
        # The client's HELO name reached Postfix too (XCLIENT HELO=).
        self.assertTrue(rec[0].startswith("Received: from client.test ("),
                        rec[0])
        self.assertIn("[%s]" % client_ip, rec[0],
                      "Postfix did not get the client address via XCLIENT")
        self.assertNotIn("[127.0.0.1]", rec[0])
        self.assertIn("by %s" % mt.MOAT_NAME, rec[1])
        self.assertIn(client_ip, rec[1])
        txs = self.moatd.wait_tx(sender)
        self.assertEqual(len(txs), 1, self.moatd.log())
        tx = txs[0]
        sid = tx.get("session", "")
        self.assertRegex(sid, SESSION_RX)
        self.assertIn(sid, rec[1], "session id not in moatd's Received")
        self.assertTrue(tx.get("backend_reply", "").startswith("250"), tx)
        self.assertIn(tx.get("verdict"), ("accept", "tag"), tx)
        # The session line comes when the session ends.
        s = mt.poll(lambda: [x for x in self.moatd.sessions()
                             if x.get("session") == sid])
        self.assertTrue(s, "no event=session for %s:\n%s" %
                        (sid, self.moatd.log()))
        self.assertIn(client_ip, s[0].get("client", ""))
        return sid

    def test_swaks_byte_identical(self):
        sender = self.tok.lower() + "@sender.test"
        msg = mt.make_message(self.tok, sender=sender,
                              body=awkward_body(self.tok))
        r = mt.swaks(self.moatd.port, sender=sender, data=msg)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("<-  250", r.stdout)
        rec = self.delivered_one("alice", msg)
        self.check_trace(rec, sender)
        self.assertIn("client=unknown[%s]" % mt.CLIENT_IP,
                      self.postfix.log_since(self.pf_mark))

    def test_swaks_other_client_address(self):
        # Another loopback address, so the address seen is not a constant.
        sender = self.tok.lower() + "@sender.test"
        msg = mt.make_message(self.tok, sender=sender, to="bob@example.test")
        r = mt.swaks(self.moatd.port, to="bob@example.test", sender=sender,
                     data=msg, src="127.0.0.7")
        self.assertEqual(r.returncode, 0, r.stdout)
        rec = self.delivered_one("bob", msg)
        self.check_trace(rec, sender, client_ip="127.0.0.7")

    def test_swaks_two_recipients_pipelined(self):
        sender = self.tok.lower() + "@sender.test"
        msg = mt.make_message(self.tok, sender=sender)
        r = mt.swaks(self.moatd.port,
                     to="alice@example.test,carol@example.test",
                     sender=sender, data=msg, extra=["--pipeline"])
        self.assertEqual(r.returncode, 0, r.stdout)
        self.delivered_one("alice", msg)
        self.delivered_one("carol", msg)

    def test_smtplib_byte_identical_8bit(self):
        sender = self.tok.lower() + "@sender.test"
        msg = mt.make_message(
            self.tok, sender=sender, body=awkward_body(self.tok),
            extra_headers=("MIME-Version: 1.0",
                           "Content-Type: text/plain; charset=utf-8",
                           "Content-Transfer-Encoding: 8bit"))
        s = smtplib.SMTP("127.0.0.1", self.moatd.port,
                         source_address=(mt.CLIENT_IP, 0), timeout=20)
        self.addCleanup(s.close)
        code, _ = s.ehlo("client.test")
        self.assertEqual(code, 250)
        for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes"):
            self.assertIn(ext, s.esmtp_features)
        self.assertEqual(s.esmtp_features["size"].strip(),
                         str(20 * 1024 * 1024))
        refused = s.sendmail(sender, ["alice@example.test"], msg,
                             mail_options=["BODY=8BITMIME"])
        self.assertEqual(refused, {})
        s.quit()
        rec = self.delivered_one("alice", msg)
        self.check_trace(rec, sender)

    def test_smtplib_big_message_spooled(self):
        # Several MB: beyond any sensible in-memory bound, so the spool
        # file path is exercised too.
        sender = self.tok.lower() + "@sender.test"
        line = ("%s " % self.tok) + "0123456789abcdef" * 4 + "\r\n"
        body = line * (3 * 1024 * 1024 // len(line))
        msg = mt.make_message(self.tok, sender=sender, body=body)
        s = smtplib.SMTP("127.0.0.1", self.moatd.port,
                         source_address=(mt.CLIENT_IP, 0), timeout=60)
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertEqual(s.sendmail(sender, ["carol@example.test"], msg), {})
        s.quit()
        self.delivered_one("carol", msg)
        self.assertEqual(os.listdir(self.moatd.spool), [],
                         "spool file left behind")

    def test_raw_client_dot_stuffing(self):
        sender = self.tok.lower() + "@sender.test"
        msg = mt.make_message(self.tok, sender=sender,
                              body=awkward_body(self.tok))
        c = self.client()
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], msg, sender=sender)
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertReply(c.cmd("QUIT"), 221)
        rec = self.delivered_one("alice", msg)
        self.check_trace(rec, sender)

    def test_received_header_off(self):
        m = self.start_moatd({"received_header": "off"})
        sender = self.tok.lower() + "@sender.test"
        msg = mt.make_message(self.tok, sender=sender)
        r = mt.swaks(m.port, sender=sender, data=msg)
        self.assertEqual(r.returncode, 0, r.stdout)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        rec, rest = mt.strip_trace(got[0], 5)
        self.assertEqual(len(rec), 1, rec)   # Postfix's only
        self.assertIn("[%s]" % mt.CLIENT_IP, rec[0])
        self.assertEqual(rest, mt.lf(msg))


if __name__ == "__main__":
    mt.main()
