#!/usr/bin/env python3
"""Extensions moatd passes through follow the backend's EHLO (issue 12).

- Defect 6: 8BITMIME, SMTPUTF8 and DSN are offered only when the backend
  offers them (learned by backend_check at start, and again from every
  backend connection); a transaction that needs one the backend turned out
  to lack is deferred (451 4.3.0), never bounced, and the next EHLO no
  longer offers it.
- DSN (RFC 3461): RET, ENVID, NOTIFY, ORCPT checked and passed on; the
  success DSN comes from the backend Postfix and carries the ENVID.
- A second private Postfix as the sending MTA (relayhost = moatd): its
  NOTIFY=SUCCESS with ENVID gets the backend's success DSN, and its 8-bit
  mail arrives 8-bit.
- AUTH= (RFC 4954 5, defect 11): accepted where AUTH is, xtext checked,
  passed on to a backend that offers AUTH, as AUTH=<> for a client that
  did not log in to moatd.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest  # noqa: E402
from moattest import (FakeBackend, MoatTestCase, Postfix,  # noqa: E402
                      make_message, dot_stuff)
from test_auth import crypt_hash  # noqa: E402
from test_chunking import OwnPostfixCase  # noqa: E402


def set_main_cf(conf_dir, settings):
    """Rewrite main.cf with settings (dict) replacing or adding lines."""
    path = os.path.join(conf_dir, "main.cf")
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines()
                 if ln.split(" =")[0] not in settings]
    lines += ["%s = %s" % kv for kv in settings.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class LeanPostfix(Postfix):
    """The test Postfix without 8BITMIME, SMTPUTF8 and DSN, and with a
    smaller SIZE than moatd's."""

    def write_config(self):
        super().write_config()
        set_main_cf(self.conf, {
            "smtpd_discard_ehlo_keywords": "8bitmime, smtputf8, dsn",
            "message_size_limit": "1000000"})


class AuthDsnBackend(FakeBackend):
    """A FakeBackend that offers AUTH and DSN (and records what it got)."""

    EHLO = (b"250-backend.fake\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
            b"250-AUTH PLAIN\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n"
            b"250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN\r\n"
            b"250 SMTPUTF8\r\n")


class FollowBackendTest(OwnPostfixCase):
    """A backend without 8BITMIME, SMTPUTF8, DSN."""

    POSTFIX = LeanPostfix

    def test_not_advertised(self):
        m = self.start_moatd()
        self.assertTrue(m.wait_log(r"event=backend_check .*"
                                   r"passthrough=CHUNKING .*result=ok"))
        c = self.client(m)
        ehlo = c.greet()
        for ext in ("8BITMIME", "SMTPUTF8", "DSN"):
            self.assertNotIn(ext, ehlo.lines)
        # What moatd does itself stays.
        for ext in ("PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"):
            self.assertIn(ext, ehlo.lines)
        # SIZE: the backend's, being smaller (RFC 1870), checked at MAIL.
        self.assertIn("SIZE 1000000", ehlo.lines)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test> SIZE=1000001"),
                         552, "5.3.4")
        # Parameters of what was not offered are refused (RFC 5321 4.1.2).
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test> BODY=8BITMIME"),
                         555)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test> RET=HDRS"), 555)
        # 8-bit content without BODY= still goes through as before.
        msg = make_message(self.tok, body="caf\xe9 %s\r\n" % self.tok)
        rs = self.send_mail(c, ["alice@example.test"], msg)
        self.assertReply(rs[-1], 250)


class RelearnTest(MoatTestCase):
    """The backend drops 8BITMIME while moatd runs."""

    SHARED_MOATD = False

    def postconf(self, setting):
        pc = os.path.join(os.path.dirname(moattest.POSTFIX), "postconf")
        subprocess.run([pc, "-c", self.postfix.conf, "-e", setting],
                       check=True, timeout=30)
        subprocess.run([moattest.POSTFIX, "-c", self.postfix.conf, "reload"],
                       check=True, timeout=60, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)

    def test_relearned_from_a_backend_connection(self):
        m = self.start_moatd()
        self.assertTrue(m.wait_log(r"event=backend_check .*result=ok"))
        c = self.client(m)
        self.assertIn("8BITMIME", c.greet().lines)
        self.postconf("smtpd_discard_ehlo_keywords = 8bitmime")
        self.addCleanup(self.postconf, "smtpd_discard_ehlo_keywords =")
        # Offered from what moatd knew; the backend lacks it now: 4xx, so
        # the sender retries (a 5xx bounced the mail: defect 6).  Each try
        # is a new session (a new backend connection): the reload reaches
        # new smtpd processes only.
        r = c.cmd("MAIL FROM:<s@sender.test> BODY=8BITMIME")
        for _ in range(50):
            if r.code != 250:
                break
            c.close()
            time.sleep(0.2)
            c = self.client(m)
            self.assertIn("8BITMIME", c.greet().lines)
            r = c.cmd("MAIL FROM:<s@sender.test> BODY=8BITMIME")
        self.assertReply(r, 451, "4.3.0")
        self.assertTrue(m.wait_log(r"event=backend_exts "))
        c2 = self.client(m)
        self.assertNotIn("8BITMIME", c2.greet().lines)
        # A reload forgets, and backend_check learns again.
        m.signal(signal.SIGHUP)
        self.assertTrue(moattest.poll(
            lambda: len(m.events("backend_check")) >= 2))
        c3 = self.client(m)
        self.assertNotIn("8BITMIME", c3.greet().lines)


class DsnTest(MoatTestCase):
    """DSN through moatd to the real Postfix."""

    def test_success_dsn_from_the_backend(self):
        envid = "QQ%s+2Bx" % self.tok
        c = self.client()
        ehlo = c.greet()
        self.assertIn("DSN", ehlo.lines)
        msg = make_message(self.tok, sender="bob@example.test")
        self.assertReply(c.cmd("MAIL FROM:<bob@example.test> RET=HDRS "
                               "ENVID=%s" % envid), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test> "
                               "NOTIFY=SUCCESS "
                               "ORCPT=rfc822;alice@example.test"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(msg))
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)
        # The delivery report comes from the backend, to the sender, with
        # the ENVID (decoded from xtext: "+2B" is "+").
        want = "QQ%s+x" % self.tok
        dsn = self.postfix.wait_messages("bob", want, timeout=20)
        self.assertEqual(len(dsn), 1, "no success DSN for bob")
        self.assertIn(b"Original-Envelope-Id: " + want.encode(), dsn[0])
        self.assertIn(b"Action: delivered", dsn[0])
        self.assertIn(b"Original-Recipient: rfc822;alice@example.test",
                      dsn[0])

    def test_bad_values_refused(self):
        c = self.client()
        c.greet()
        for bad in ("RET=ALL", "ENVID=a=b", "ENVID=" + "x" * 101,
                    "RET=FULL RET=HDRS", "ENVID=a+2b"):
            self.assertReply(c.cmd("MAIL FROM:<s@sender.test> " + bad),
                             5, "5.5.4", bad)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        for bad in ("NOTIFY=NEVER,SUCCESS", "NOTIFY=SOMETIMES",
                    "ORCPT=alice@example.test", "ORCPT=rfc822;a=b",
                    "NOTIFY=DELAY NOTIFY=DELAY"):
            self.assertReply(c.cmd("RCPT TO:<alice@example.test> " + bad),
                             5, "5.5.4", bad)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test> FOO=1"), 555)
        self.assertReply(c.cmd("QUIT"), 221)


class SendingPostfix(Postfix):
    """A second private Postfix as the sending MTA: everything it sends
    goes through moatd (relayhost), from 127.0.0.2 (not trusted)."""

    def __init__(self, moat_port):
        super().__init__()
        self.moat_port = moat_port

    def write_config(self):
        super().write_config()
        set_main_cf(self.conf, {
            "myhostname": "sender.test", "virtual_mailbox_domains": "",
            "default_transport": "smtp", "relay_transport": "smtp",
            "relayhost": "[127.0.0.1]:%d" % self.moat_port,
            "smtp_bind_address": moattest.CLIENT_IP})

    def sendmail(self, msg, sender, rcpt, args=()):
        sm = os.path.join(os.path.dirname(moattest.POSTFIX), "sendmail")
        subprocess.run([sm, "-C", self.conf, "-f", sender] + list(args) +
                       ["--", rcpt], input=msg, check=True, timeout=60)


class SendingMtaTest(MoatTestCase):
    """A real MTA sending through moatd: its DSN request reaches the
    backend (the success report comes from there, with the ENVID, not a
    "relayed" one from the sender), and 8-bit mail is not downgraded."""

    def test_dsn_and_8bit_from_postfix(self):
        sender = SendingPostfix(self.moatd.port)
        self.addCleanup(sender.cleanup)
        sender.start()
        envid = "E" + self.tok
        body = ("Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n"
                "Subject: dsn %s\r\n\r\ncaf\u00e9 cr\u00e8me %s\r\n"
                % (self.tok, self.tok)).encode()
        sender.sendmail(body, "bob@example.test", "alice@example.test",
                        ["-N", "success", "-V", envid])
        got = self.postfix.wait_messages("alice", self.tok, timeout=30)
        self.assertEqual(len(got), 1, sender.log())
        # Offered 8BITMIME: no quoted-printable downgrade on the way.
        self.assertIn("caf\u00e9 cr\u00e8me".encode(), got[0])
        dsn = self.postfix.wait_messages("bob", envid, timeout=30)
        self.assertEqual(len(dsn), 1, sender.log())
        self.assertIn(b"Original-Envelope-Id: " + envid.encode(), dsn[0])
        self.assertIn(b"Reporting-MTA: dns; backend.test", dsn[0])
        self.assertIn(b"Action: delivered", dsn[0])
        self.assertNotIn(b"Action: relayed", dsn[0])
        self.assertRegex(sender.log(), r"relay=127\.0\.0\.1\[127\.0\.0\.1\]"
                         r":%d.*status=sent" % self.moatd.port)


    def test_smtputf8_sender_from_postfix(self):
        sender = SendingPostfix(self.moatd.port)
        self.addCleanup(sender.cleanup)
        sender.start()
        body = ("Subject: utf8 %s\r\n\r\nhello\r\n" % self.tok).encode()
        sender.sendmail(body, "s\u00ebnder@sender.test",
                        "alice@example.test")
        got = self.postfix.wait_messages("alice", self.tok, timeout=30)
        self.assertEqual(len(got), 1, sender.log())
        self.assertIn("Return-Path: <s\u00ebnder@sender.test>".encode(),
                      got[0])


class GreylistReplayTest(MoatTestCase):
    """A recipient greylisted after the backend took it: the backend
    transaction is replayed without it, and the replay keeps the other
    recipients' DSN parameters and sends the message by BDAT."""

    SHARED_MOATD = False

    def test_replay_keeps_dsn_and_bdat(self):
        m = self.start_moatd({"greylist": "on", "greylist_delay": "2s"})
        sender = "bob@example.test"
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<%s>" % sender), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 451,
                         "4.7.1")
        c.cmd("QUIT")
        time.sleep(2.3)
        envid = "R" + self.tok
        msg = make_message(self.tok, sender=sender)
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<%s> ENVID=%s" % (sender, envid)),
                         250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test> "
                               "NOTIFY=SUCCESS"), 250)
        self.assertReply(c.cmd("RCPT TO:<carol@example.test>"), 451, "4.7.1")
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)
        dsn = self.postfix.wait_messages("bob", envid, timeout=30)
        self.assertEqual(len(dsn), 1)
        self.assertIn(b"Action: delivered", dsn[0])
        self.postfix.settle()
        self.assertEqual(self.postfix.messages("carol", self.tok), [])
        self.assertTrue(self.postfix.wait_log(
            r"disconnect from .* rcpt=3 bdat=1 rset=1 ", self.pf_mark))


class AuthParamTest(MoatTestCase):
    """MAIL ... AUTH= on a listener with AUTH (issue 12, defect 11)."""

    SHARED_MOATD = False

    def moatd_for(self, backend_port):
        tmp = tempfile.mkdtemp(prefix="moat-authp-")
        self.addCleanup(moattest.rmtree, tmp)
        pw = os.path.join(tmp, "passwd")
        with open(pw, "w") as f:
            f.write("alice:%s\n" % crypt_hash("alice-secret"))
        m = moattest.Moatd(backend_port, {"passwd": pw})
        m.conf["listen"] = ("127.0.0.1:%d auth=optional auth_plaintext=on"
                            % m.port)
        self.addCleanup(m.cleanup)
        m.start()
        return m

    def test_passed_on(self):
        fb = AuthDsnBackend("ok")
        self.addCleanup(fb.close)
        m = self.moatd_for(fb.port)
        c = self.client(m)
        self.assertIn("AUTH PLAIN LOGIN", c.greet().lines)
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test> AUTH=a=b"), 5,
                         "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test> AUTH=a+zz"), 501,
                         "5.5.4")
        # Not logged in: the assertion is not ours to vouch for.
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test> "
                               "AUTH=e+3Dmc2@example.test"), 250)
        self.assertReply(c.cmd("RSET"), 250)
        # Logged in: passed on as given (RFC 4954 5).
        self.assertReply(c.cmd("AUTH PLAIN AGFsaWNlAGFsaWNlLXNlY3JldA=="),
                         235)
        self.assertReply(c.cmd("MAIL FROM:<alice@example.test> "
                               "AUTH=alice@example.test"), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        wire = moattest.poll(lambda: b"".join(fb.received).count(
            b"MAIL FROM") >= 2 and b"".join(fb.received))
        self.assertIn(b"MAIL FROM:<s@sender.test> AUTH=<>\r\n", wire)
        self.assertIn(b"MAIL FROM:<alice@example.test> "
                      b"AUTH=alice@example.test\r\n", wire)

    def test_dropped_for_a_backend_without_auth(self):
        m = self.moatd_for(self.postfix.port)
        c = self.client(m)
        c.greet()
        msg = make_message(self.tok)
        self.assertReply(c.cmd("MAIL FROM:<sender@sender.test> AUTH=<>"),
                         250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(msg))
        self.assertReply(c.reply(), 250)
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)


if __name__ == "__main__":
    moattest.main()
