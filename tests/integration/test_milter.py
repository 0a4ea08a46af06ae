#!/usr/bin/env python3
"""moat-milter through miltertest (issue 15): negotiation, every callback,
the verdicts at each stage (reject at connect, HELO, MAIL and one RCPT;
reject, tempfail, tag with header changes and quarantine at end of
message), greylisting per recipient, the authenticated policy, the log
lines with the MTA's queue id, aborts, two transactions on one
connection, a broken or truncated packet stream (logged, that connection
dropped, the next one served), the bounded wait when the engine does not
answer, the engine's rate limits, SIGHUP reload (a bad config refused)
and the SIGTERM drain.

Needs $MOAT_MILTER and Debian's miltertest; no root, no Postfix.
tests/milter/send.lua drives each connection.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnstest  # noqa: E402
import moattest as mt  # noqa: E402
import mltest  # noqa: E402

RULES = os.path.join(mltest.LUA_DIR, "milter.rules")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
CONF = {"rules": RULES, "score_tag": "3", "score_tempfail": "8",
        "score_reject": "10", "milter_quarantine_score": "5",
        "subject_prefix": "[SPAM]"}


def message(subject, body="Hello.\r\n", extra=()):
    hdr = ["From: <s@sender.test>", "To: <alice@example.test>",
           "Subject: " + subject, "Date: Tue, 24 Nov 2026 00:00:00 +0000",
           "Message-ID: <%s@sender.test>" % mt.token()] + list(extra)
    return ("\r\n".join(hdr) + "\r\n\r\n" + body).encode()


class Base(unittest.TestCase):
    CONF = CONF
    EXTRA = ()

    @classmethod
    def setUpClass(cls):
        cls.milter = mltest.Milter(cls.CONF, cls.EXTRA).start()

    @classmethod
    def tearDownClass(cls):
        cls.milter.cleanup()

    def setUp(self):
        self.mark = len(self.milter.log())
        self.tmp = mt.mkdtemp("moat-mt-")
        self.addCleanup(mt.rmtree, self.tmp)

    def send(self, msg=None, milter=None, **kw):
        if msg is not None:
            path = os.path.join(self.tmp, "m%s.eml" % mt.token())
            with open(path, "wb") as f:
                f.write(msg)
            kw["msg"] = path
        return mltest.miltertest(milter or self.milter, **kw)

    def events(self, event):
        """event= lines since setUp (waiting a moment for the close)."""
        self.milter.wait_log(r"event=session", self.mark, 5)
        return self.milter.events(event, self.mark)

    def one_tx(self):
        txs = self.events("tx")
        self.assertEqual(len(txs), 1, self.milter.log()[self.mark:])
        return txs[0]


class Callbacks(Base):
    def test_negotiation(self):
        r = self.send()
        for f in ("action SMFIF_ADDHDRS", "action SMFIF_CHGHDRS",
                  "action SMFIF_QUARANTINE", "action SMFIF_SETSYMLIST",
                  "option SMFIP_NOUNKNOWN", "option SMFIP_HDR_LEADSPC"):
            self.assertIn(f, r.flags)
        # Not over TCP, where a skipped DATA costs 40 ms (test_milter_tcp).
        self.assertNotIn("option SMFIP_NODATA", r.flags)
        # Headers and body are what moat scores: never skipped.
        self.assertNotIn("option SMFIP_NOHDRS", r.flags)
        self.assertNotIn("option SMFIP_NOBODY", r.flags)

    def test_clean_message(self):
        m = message("lunch", extra=["X-Spam-Flag: YES",
                                    "X-Spam-Status: Yes, score=99\r\n\tx"])
        r = self.send(m)
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertEqual(r.added.get("X-Spam-Score"), " 0.0")
        self.assertTrue(r.added["X-Spam-Status"].startswith(" No, score=0.0"))
        self.assertNotIn("X-Spam-Flag", r.added)
        # The sender's own X-Spam-* fields go.
        self.assertIn("deleted X-Spam-Flag", r.flags)
        self.assertIn("deleted X-Spam-Status", r.flags)
        self.assertNotIn("changed Subject", r.flags)
        self.assertNotIn("quarantine", r.flags)
        tx = self.one_tx()
        self.assertEqual(tx["verdict"], "accept")
        self.assertEqual(tx["status"], "passed")

    def test_log_keys_and_qid(self):
        self.send(message("lunch"), qid="Q7A", rcpts="alice@example.test,"
                  "bob@example.test")
        tx = self.one_tx()
        for k, v in (("client", "192.0.2.1"), ("helo", "mail.sender.test"),
                     ("from", "s@sender.test"), ("nrcpt", "2"),
                     ("rcpt", "alice@example.test,bob@example.test"),
                     ("qid", "Q7A1"), ("score", "0"), ("verdict", "accept"),
                     ("auth", "")):
            self.assertEqual(tx.get(k), v, tx)
        self.assertRegex(tx["session"], r"^[0-9a-f]{16}$")
        self.assertIn("rules", tx)
        s = self.events("session")
        self.assertEqual(len(s), 1)
        self.assertEqual(s[0]["session"], tx["session"])
        self.assertEqual(s[0]["txs"], "1")
        self.assertEqual(s[0]["daemon"], "mx-test")

    def test_connect_reject(self):
        r = self.send(ip="192.0.2.66")
        self.assertEqual(r.reply("connect"), "y", r.out)
        rej = self.events("reject")
        self.assertEqual(rej[0]["stage"], "connect")
        self.assertEqual(rej[0]["reply"], "554 5.7.1")

    def test_helo_reject(self):
        r = self.send(helo="bad.helo.test")
        self.assertEqual(r.reply("connect"), "c")
        self.assertEqual(r.reply("helo"), "y", r.out)
        rej = self.events("reject")
        self.assertEqual((rej[0]["stage"], rej[0]["reply"]),
                         ("helo", "550 5.7.1"))

    def test_mail_reject(self):
        r = self.send(**{"from": "spammer@sender.test"})
        self.assertEqual(r.reply("mail"), "y", r.out)
        rej = self.events("reject")
        self.assertEqual((rej[0]["stage"], rej[0]["reply"]),
                         ("mail", "550 5.7.1"))
        tx = self.one_tx()
        self.assertEqual((tx["verdict"], tx["status"]),
                         ("reject", "refused"))
        self.assertIn("MLT_BAD_SENDER=20", tx["rules"])

    def test_rcpt_reject_is_that_recipient_only(self):
        r = self.send(message("lunch"), rcpts="alice@example.test,"
                      "trap@example.test,bob@example.test")
        self.assertEqual(r.reply("rcpt alice@example.test"), "c")
        self.assertEqual(r.reply("rcpt trap@example.test"), "y", r.out)
        self.assertEqual(r.reply("rcpt bob@example.test"), "c")
        self.assertEqual(r.reply("eom"), "c")
        rej = self.events("reject")
        self.assertEqual((rej[0]["stage"], rej[0]["rcpt"], rej[0]["reply"]),
                         ("rcpt", "trap@example.test", "550 5.7.1"))
        tx = self.one_tx()
        self.assertEqual((tx["nrcpt"], tx["rcpt_refused"]), ("2", "1"))
        self.assertEqual(tx["rcpt"], "alice@example.test,bob@example.test")

    def test_reject_at_end_of_message(self):
        r = self.send(message("hi", body=GTUBE + "\r\n"), code="550",
                      ecode="5.7.1", text="Error: message refused by policy")
        self.assertEqual(r.reply("eom"), "y", r.out)
        self.assertIn("smtpreply ok", r.flags)
        self.assertEqual(r.added, {})
        tx = self.one_tx()
        self.assertEqual((tx["verdict"], tx["status"]),
                         ("reject", "refused"))
        self.assertEqual(self.events("reject")[0]["reply"], "550 5.7.1")

    def test_tempfail_at_end_of_message(self):
        r = self.send(message("DEFERME"), code="451", ecode="4.7.1",
                      text="Error: message refused by policy, try again "
                      "later")
        self.assertEqual(r.reply("eom"), "y", r.out)
        self.assertIn("smtpreply ok", r.flags)
        self.assertEqual(self.one_tx()["verdict"], "tempfail")

    def test_tag(self):
        m = message("TAGME now", extra=["X-Spam-Flag: NO"])
        r = self.send(m)
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertEqual(r.added["X-Spam-Flag"], " YES")
        self.assertEqual(r.added["X-Spam-Score"], " 3.5")
        self.assertIn("tests=MLT_TAG", r.added["X-Spam-Status"])
        self.assertIn("changed Subject", r.flags)
        self.assertIn("deleted X-Spam-Flag", r.flags)
        self.assertNotIn("quarantine", r.flags)
        tx = self.one_tx()
        self.assertEqual((tx["verdict"], tx["score"]), ("tag", "3.5"))

    def test_quarantine_band(self):
        r = self.send(message("HOLDME"))
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertIn("quarantine", r.flags)
        self.assertEqual(r.added["X-Spam-Flag"], " YES")
        self.assertEqual(self.one_tx()["verdict"], "quarantine")

    def test_authenticated_policy(self):
        # auth_score_reject is off by default: a user's own mail is
        # tagged, not refused nor held, whatever it scores.
        r = self.send(message("hi", body=GTUBE + "\r\n"), auth="alice")
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertEqual(r.added["X-Spam-Flag"], " YES")
        self.assertNotIn("quarantine", r.flags)
        tx = self.one_tx()
        self.assertEqual((tx["auth"], tx["verdict"]), ("alice", "tag"))

    def test_abort(self):
        r = self.send(abort="1")
        self.assertIn("abort", r.flags)
        tx = self.one_tx()
        self.assertEqual(tx["status"], "aborted")

    def test_two_transactions(self):
        self.send(message("lunch"), txs="2", qid="Q")
        txs = self.events("tx")
        self.assertEqual([(t["tx"], t["qid"]) for t in txs],
                         [("1", "Q1"), ("2", "Q2")])
        self.assertEqual(len({t["session"] for t in txs}), 1)


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


OPTNEG = packet(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff))
CONNECT = packet(b"C", b"mail.sender.test\0" + b"4" +
                 struct.pack(">H", 25) + b"192.0.2.1\0")
HELO = packet(b"H", b"mail.sender.test\0")
MAIL = packet(b"M", b"<s@sender.test>\0")
MAIL_QID = packet(b"D", b"Mi\0QRAW1\0")


class Broken(Base):
    def test_garbage_before_negotiation(self):
        mltest.raw_session(self.milter.port, b"GET / HTTP/1.0\r\n\r\n")
        self.assertTrue(self.milter.wait_log(
            r"ended before its connect stage", self.mark))
        r = self.send(message("lunch"))
        self.assertEqual(r.reply("eom"), "c", r.out)

    def broken_line(self):
        """The one warning a broken stream writes, parsed."""
        self.assertTrue(self.milter.wait_log(r"milter stream broke",
                                             self.mark), self.milter.log())
        lines = [mt.parse_logfmt(l) for l in
                 self.milter.log()[self.mark:].splitlines()
                 if "milter stream broke" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0]["level"], "warn")
        return lines[0]

    def test_truncated_packet_in_a_transaction(self):
        # A header packet that announces 100 bytes and brings 10, after
        # a MAIL that carried the queue id.
        data = OPTNEG + CONNECT + HELO + MAIL_QID + MAIL + \
            struct.pack(">I", 100) + b"L" + b"Subject\0hel"
        mltest.raw_session(self.milter.port, data)
        # libmilter ends the connection: one warning says what broke, in
        # which session and transaction (the MTA's queue id); the tx line
        # says broken, not aborted (an MTA's abort), and so does the
        # session's.
        line = self.broken_line()
        self.assertRegex(line["msg"], r"without QUIT")
        self.assertRegex(line["msg"], r"qid=QRAW1\b")
        self.assertTrue(self.milter.wait_log(
            r"event=session .*helo=mail\.sender\.test", self.mark))
        tx = self.events("tx")
        self.assertEqual(len(tx), 1, self.milter.log()[self.mark:])
        self.assertEqual((tx[0]["status"], tx[0]["qid"]),
                         ("broken", "QRAW1"))
        self.assertEqual(tx[0]["session"], line["session"])
        self.assertEqual(self.events("session")[0]["reason"], "broken")
        r = self.send(message("lunch"))
        self.assertEqual(r.reply("eom"), "c", r.out)

    def test_malformed_packet_in_a_transaction(self):
        # A header packet without its NULs: libmilter cannot decode it.
        data = OPTNEG + CONNECT + HELO + MAIL_QID + MAIL + \
            packet(b"L", b"Subject: hello")
        mltest.raw_session(self.milter.port, data)
        line = self.broken_line()
        self.assertRegex(line["msg"], r"'L' \(header\) packet")
        self.assertEqual(self.events("tx")[0]["status"], "broken")
        r = self.send(message("lunch"))
        self.assertEqual(r.reply("eom"), "c", r.out)

    def test_mta_abort_is_not_broken(self):
        # The MTA's own abort, then QUIT: no warning, status aborted.
        data = OPTNEG + CONNECT + HELO + MAIL_QID + MAIL + packet(b"A") + \
            packet(b"Q")
        mltest.raw_session(self.milter.port, data)
        self.assertTrue(self.milter.wait_log(r"event=session", self.mark))
        self.assertEqual(self.events("tx")[0]["status"], "aborted")
        self.assertEqual(self.events("session")[0]["reason"], "close")
        self.assertNotIn("milter stream broke",
                         self.milter.log()[self.mark:])

    def test_oversized_length(self):
        # A length of 2 GB: libmilter refuses it without allocating.
        mltest.raw_session(self.milter.port, OPTNEG + CONNECT +
                           struct.pack(">I", 0x7fffffff) + b"L")
        r = self.send(message("lunch"))
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertTrue(self.milter.wait_log(
            r"event=session .*client=192\.0\.2\.1", self.mark))


class Greylisting(Base):
    CONF = dict(CONF, greylist="on", greylist_delay="2s")

    def test_per_recipient(self):
        r = self.send(message("lunch"), rcpts="alice@example.test,"
                      "bob@example.test")
        self.assertEqual(r.reply("rcpt alice@example.test"), "y", r.out)
        self.assertEqual(r.reply("rcpt bob@example.test"), "y")
        self.assertIsNone(r.reply("eom"))     # no recipient left
        rej = self.events("reject")
        self.assertEqual([(x["rcpt"], x["reply"]) for x in rej],
                         [("alice@example.test", "451 4.7.1"),
                          ("bob@example.test", "451 4.7.1")])
        time.sleep(2.3)
        self.mark = len(self.milter.log())
        # alice's retry passes; carol is new and only she waits.
        r = self.send(message("lunch"), rcpts="alice@example.test,"
                      "carol@example.test")
        self.assertEqual(r.reply("rcpt alice@example.test"), "c", r.out)
        self.assertEqual(r.reply("rcpt carol@example.test"), "y")
        self.assertEqual(r.reply("eom"), "c")
        tx = self.one_tx()
        self.assertEqual((tx["rcpt"], tx["rcpt_refused"]),
                         ("alice@example.test", "1"))

    def test_authenticated_not_greylisted(self):
        r = self.send(message("lunch"), rcpts="dave@example.test",
                      auth="alice")
        self.assertEqual(r.reply("rcpt dave@example.test"), "c", r.out)
        self.assertEqual(r.reply("eom"), "c")


class RateLimit(Base):
    """The engine's rate limits apply through the milter too: the third
    message from one client within the window is deferred at MAIL."""
    CONF = dict(CONF, ratelimit_msg_per_ip="2/1m")

    def test_msg_per_ip(self):
        r = self.send(message("lunch"), txs="3", ip="192.0.2.9")
        self.assertEqual([x for s, x in r.steps if s == "mail"],
                         ["c", "c", "y"], r.out)
        rej = [x for x in self.events("reject") if x["stage"] == "mail"]
        self.assertEqual(len(rej), 1, self.milter.log()[self.mark:])
        self.assertTrue(rej[0]["reply"].startswith("451 4.7.0"), rej[0])
        # Another client is not held back.
        r = self.send(message("lunch"), ip="192.0.2.10")
        self.assertEqual(r.reply("mail"), "c", r.out)


class SilentStore(threading.Thread):
    """A "Redis" that accepts and never answers."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class Timeout(Base):
    @classmethod
    def setUpClass(cls):
        cls.store = SilentStore()
        cls.store.start()
        cls.CONF = dict(CONF, greylist="on", store="redis",
                        redis_server="127.0.0.1:%d" % cls.store.port,
                        redis_timeout="3s", milter_timeout="300ms")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.store.close()

    def test_no_answer_is_tempfail(self):
        t0 = time.monotonic()
        r = self.send(message("lunch"), rcpts="alice@example.test,"
                      "bob@example.test")
        # The first waits milter_timeout, the second finds the engine
        # still on the first: both tempfail, neither waits for the store.
        self.assertEqual(r.reply("rcpt alice@example.test"), "y", r.out)
        self.assertEqual(r.reply("rcpt bob@example.test"), "y")
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assertTrue(self.milter.wait_log(
            r"stage rcpt: no answer from the engine within 300 ms",
            self.mark))
        self.assertTrue(self.milter.wait_log(
            r"still on an earlier request", self.mark))
        # The engine's loop was never blocked: another connection is
        # served meanwhile, up to its own greylisting step.
        r = self.send(message("lunch"), abort="1")
        self.assertEqual(r.reply("mail"), "c", r.out)


class SenderAuth(Base):
    """SPF, DMARC and the DNS lists in the milter (issue 16), against a
    private dnsmasq (dnstest.py), as test_sauth_moatd.py runs them
    through moatd.  The client address is what the MTA says, so no
    loopback free ride: GOOD is authorised by the SPF records, BAD is
    listed with weight 3, OTHER is on no list and authorised by none."""

    GOOD, BAD, OTHER = "192.0.2.1", "198.51.100.9", "198.51.100.20"
    ZONE = [
        ("pass.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
        ("reject.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
        ("_dmarc.reject.test", "TXT", "v=DMARC1; p=reject"),
        ("9.100.51.198.bl.test", "A", "127.0.0.2"),
        ("9.100.51.198.pbl.test", "A", "127.0.0.10"),
    ]

    @classmethod
    def setUpClass(cls):
        if not os.access(dnstest.DNSMASQ, os.X_OK):
            raise unittest.SkipTest("dnsmasq not installed")
        cls.dns = dnstest.DnsServer(cls.ZONE, local=["test"]).start()
        cls.CONF = dict(CONF, dns_resolver=cls.dns.address,
                        dns_timeout="1s", spf="on", dkim="on", dmarc="on",
                        dmarc_enforce="on", spf_fail_action="reject",
                        dnsbl_sites="bl.test=127.0.0.2*2 pbl.test*1",
                        dnsbl_threshold="3")
        try:
            super().setUpClass()
        except BaseException:
            cls.dns.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.dns.cleanup()

    def auth_message(self, from_dom, extra=()):
        return message("auth", extra=extra).replace(
            b"From: <s@sender.test>", ("From: <a@%s>" % from_dom).encode())

    def test_forged_sender_refused_at_eom(self):
        # SPF passes for the envelope (pass.test) but is not aligned with
        # From: reject.test, and nothing signs: DMARC fail under p=reject.
        r = self.send(self.auth_message("reject.test"), ip=self.GOOD,
                      **{"from": "a@pass.test"})
        self.assertEqual(r.reply("eom"), "y", r.out)
        tx = self.one_tx()
        self.assertEqual(tx.get("status"), "refused", tx)
        self.assertEqual(tx.get("spf"), "pass", tx)
        self.assertEqual(tx.get("dmarc"), "fail(p=reject)", tx)
        rej = self.events("reject")
        self.assertIn("550 5.7.1", rej[-1].get("reply", ""), rej)

    def test_spf_fail_refused_at_rcpt(self):
        r = self.send(self.auth_message("pass.test"), ip=self.OTHER,
                      **{"from": "a@pass.test"})
        self.assertEqual(r.reply("mail"), "c", r.out)
        self.assertEqual(r.reply("rcpt alice@example.test"), "y", r.out)
        rej = self.events("reject")
        self.assertIn("550 5.7.23", rej[-1].get("reply", ""), rej)
        self.assertEqual(rej[-1].get("stage"), "rcpt", rej)
        # The same sender from an authorised address goes through.
        self.mark = len(self.milter.log())
        r = self.send(self.auth_message("pass.test"), ip=self.GOOD,
                      **{"from": "a@pass.test"})
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertEqual(self.one_tx().get("spf"), "pass")

    def test_listed_client_refused_at_connect(self):
        r = self.send(ip=self.BAD)
        self.assertEqual(r.reply("connect"), "y", r.out)
        rej = self.events("reject")
        self.assertIn("554 5.7.1", rej[-1].get("reply", ""), rej)
        self.assertEqual(rej[-1].get("stage"), "connect", rej)

    def test_authentication_results_added_and_forgery_stripped(self):
        forged = ("Authentication-Results: %s; spf=pass "
                  "smtp.mailfrom=forged.test" % mt.MOAT_NAME)
        other = "Authentication-Results: mx.other.test; dkim=pass"
        r = self.send(self.auth_message("pass.test", [forged, other]),
                      ip=self.GOOD, **{"from": "a@pass.test"})
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertIn("inserted Authentication-Results", r.flags, r.out)
        self.assertIn("deleted Authentication-Results", r.flags, r.out)
        ar = r.added.get("Authentication-Results", "")
        self.assertTrue(ar.startswith(" %s;" % mt.MOAT_NAME), r.out)
        self.assertIn("spf=pass smtp.mailfrom=pass.test", ar, r.out)
        tx = self.one_tx()
        self.assertEqual(tx.get("spf"), "pass", tx)
        # Another's field stays: nothing deleted.
        self.mark = len(self.milter.log())
        r = self.send(self.auth_message("pass.test", [other]), ip=self.GOOD,
                      **{"from": "a@pass.test"})
        self.assertIn("inserted Authentication-Results", r.flags, r.out)
        self.assertNotIn("deleted Authentication-Results", r.flags, r.out)


class UnixSocket(unittest.TestCase):
    def test_unix_socket(self):
        m = mltest.Milter(CONF)
        self.addCleanup(m.cleanup)
        m.conn_override = "unix:" + os.path.join(m.dir, "milter.sock")
        m.start()
        # Mode 0660: the MTA's user reaches it through the group.
        st = os.stat(os.path.join(m.dir, "milter.sock"))
        self.assertEqual(st.st_mode & 0o777, 0o660)
        r = mltest.miltertest(m)
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertEqual(r.added.get("X-Spam-Score"), " 0.0")


class Process(unittest.TestCase):
    def test_reload_and_drain(self):
        m = mltest.Milter(CONF)
        self.addCleanup(m.cleanup)
        m.start()
        tmp = mt.mkdtemp("moat-mt-")
        self.addCleanup(mt.rmtree, tmp)
        path = os.path.join(tmp, "m.eml")
        with open(path, "wb") as f:
            f.write(message("lunch"))
        r = mltest.miltertest(m, msg=path)
        self.assertEqual(r.added.get("X-Spam-Score"), " 0.0")
        # A broken config is refused; the old one keeps serving.
        mark = len(m.log())
        m.write_config(m.config_text() + "score_tag nonsense\n")
        m.signal(signal.SIGHUP)
        self.assertTrue(m.wait_log(r"reload refused", mark), m.log())
        r = mltest.miltertest(m, msg=path)
        self.assertEqual(r.reply("eom"), "c")
        # A good one is taken: every message now scores 2 more.
        rules = os.path.join(tmp, "more.rules")
        with open(rules, "w") as f:
            f.write('header MLT_LUNCH Subject =~ /lunch/ score 2 "x"\n')
        m.extra = ["rules " + rules]
        mark = len(m.log())
        m.write_config()
        m.signal(signal.SIGHUP)
        self.assertTrue(m.wait_log(r"reload: configuration .* in force",
                                   mark), m.log())
        r = mltest.miltertest(m, msg=path)
        self.assertEqual(r.added.get("X-Spam-Score"), " 2.0")
        # SIGTERM: no new connections, the process ends.
        self.assertEqual(m.stop(), 0, m.log())
        self.assertIn("moat-milter stopped", m.log())

    def test_check_config(self):
        m = mltest.Milter(dict(CONF, milter_listen=None))
        self.addCleanup(mt.rmtree, m.dir)
        m.write_config(m.config_text().replace(
            m.conn, "inet:8894@localhost"))
        p = subprocess.run([mltest.milter_path(), "-t", "-c", m.conf_path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("milter_listen", p.stderr)
        m.write_config()
        p = subprocess.run([mltest.milter_path(), "-t", "-c", m.conf_path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is valid", p.stdout)


class MilterOnlyConfig(unittest.TestCase):
    """A moat.conf written for moat-milter alone: milter_listen, rules and
    thresholds, no listen and no backend.  moat-milter runs on it; moatd
    refuses it, naming the file, the milter_listen line and why."""

    def test_milter_only_config(self):
        m = mltest.Milter(dict(CONF, listen=None, backend=None))
        self.addCleanup(m.cleanup)
        m.write_config()
        self.assertNotRegex(m.config_text(), r"(?m)^(listen|backend)\s")
        p = subprocess.run([mltest.milter_path(), "-t", "-c", m.conf_path],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is valid", p.stdout)
        m.start()
        r = mltest.miltertest(m)
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertEqual(r.added.get("X-Spam-Score"), " 0.0")
        tmp = mt.mkdtemp("moat-mt-")
        self.addCleanup(mt.rmtree, tmp)
        path = os.path.join(tmp, "g.eml")
        with open(path, "wb") as f:
            f.write(message("lunch", GTUBE + "\r\n"))
        r = mltest.miltertest(m, msg=path)
        self.assertEqual(r.reply("eom"), "y", r.out)
        # moatctl takes it too (scan, learn, greylist read it offline).
        moatctl = os.environ.get("MOATCTL", "")
        if os.access(moatctl, os.X_OK):
            p = subprocess.run([moatctl, "scan", "-c", m.conf_path, path],
                               capture_output=True, text=True)
            self.assertIn("verdict=reject", p.stdout, p.stderr)
        moatd = os.environ.get("MOATD", "")
        if not os.access(moatd, os.X_OK):
            self.skipTest("moatd binary not found (MOATD=%r)" % moatd)
        line = 1 + m.config_text().splitlines().index(
            "milter_listen " + m.conn)
        p = subprocess.run([moatd, "-t", "-c", m.conf_path],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("%s:%d: backend: required key is missing: moatd "
                      "needs listen and backend (milter_listen here is for "
                      "moat-milter" % (m.conf_path, line), p.stderr)


if __name__ == "__main__":
    reason = mltest.skip_reason()
    if reason:
        print("SKIP: " + reason)
        sys.exit(mt.SKIP)
    unittest.main(verbosity=2)
