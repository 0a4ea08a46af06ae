#!/usr/bin/env python3
"""SMTP AUTH through moatd (issue 5): AUTH only after STARTTLS (538 before),
MAIL before AUTH refused on an auth=required listener (530), PLAIN and LOGIN
succeed against a crypt(3) passwd file, a wrong password gets 535 and one
fail2ban-friendly log line, the login may only send as its own addresses
(553), an authenticated client may relay, skips greylisting, and past the
failure limit the client gets 421 and is refused on reconnect."""

import base64
import os
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
from test_starttls import make_cert, client_ctx  # noqa: E402


def crypt_hash(password):
    return subprocess.run(["openssl", "passwd", "-6", password],
                          check=True, stdout=subprocess.PIPE,
                          timeout=30).stdout.decode().strip()


class Auth(mt.MoatTestCase):
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="moat-auth-")
        self.addCleanup(mt.rmtree, self.tmp)
        self.crt, self.key = make_cert(self.tmp)
        self.passwd = os.path.join(self.tmp, "passwd")
        with open(self.passwd, "w") as f:
            f.write("alice:%s\nbob:%s\n" % (crypt_hash("alice-secret"),
                                          crypt_hash("bob-secret")))
        self.map = os.path.join(self.tmp, "senders")
        with open(self.map, "w") as f:
            f.write("alice alice@example.test, @alice.test\n"
                    "bob bob@example.test\n")

    def start(self, extra_conf=None):
        conf = {"reverse_dns": "off", "tls_cert": self.crt,
                "tls_key": self.key, "passwd": self.passwd,
                "sender_login_map": self.map, "greylist": "on",
                "greylist_delay": "1h"}
        conf.update(extra_conf or {})
        m = mt.Moatd(self.postfix.port, conf)
        m.conf["listen"] = "127.0.0.1:%d tls=starttls auth=required" % \
            m.port
        self.addCleanup(m.cleanup)
        m.start()
        return m

    def smtp(self, m, tls=True):
        c = smtplib.SMTP("127.0.0.1", m.port, timeout=20,
                         source_address=(mt.CLIENT_IP, 0))
        self.addCleanup(c.close)
        c.ehlo("sub.client.test")
        if tls:
            c.starttls(context=client_ctx())
            c.ehlo("sub.client.test")
        return c

    def test_auth_only_after_tls(self):
        m = self.start()
        c = self.smtp(m, tls=False)
        self.assertFalse(c.has_extn("auth"))
        code, msg = c.docmd("AUTH", "PLAIN " + base64.b64encode(
            b"\0alice\0alice-secret").decode())
        self.assertEqual((code, msg[:6]), (538, b"5.7.11"))
        c = self.smtp(m)
        self.assertIn("PLAIN", c.esmtp_features.get("auth", "").upper())

    def test_mail_before_auth_refused(self):
        m = self.start()
        c = self.smtp(m)
        code, msg = c.docmd("MAIL", "FROM:<alice@example.test>")
        self.assertEqual((code, msg[:5]), (530, b"5.7.0"))

    def test_plain_login_deliver_and_relay(self):
        m = self.start()
        c = self.smtp(m)
        c.login("alice", "alice-secret")    # smtplib tries PLAIN first
        mark = self.postfix.log_mark()
        # Authenticated: no greylisting, relaying is allowed by moatd (the
        # RCPT for another domain reaches Postfix, which decides itself).
        c.mail("alice@example.test")
        code, _ = c.rcpt("bob@example.test")
        self.assertEqual(code, 250)
        c.rcpt("someone@other.test")
        code, _ = c.data(mt.make_message(self.tok))
        self.assertEqual(code, 250)
        self.assertEqual(len(self.postfix.wait_messages("bob", self.tok)), 1)
        self.postfix.settle()
        self.assertIn("someone@other.test", self.postfix.seen_rcpts(mark))
        got = self.postfix.messages("bob", self.tok)[0]
        self.assertIn(b"with ESMTPSA id", got)
        self.assertIn("auth=alice", m.log())
        c2 = self.smtp(m)
        c2.docmd("AUTH", "LOGIN")
        c2.docmd(base64.b64encode(b"bob").decode())
        code, _ = c2.docmd(base64.b64encode(b"bob-secret").decode())
        self.assertEqual(code, 235)

    def test_messages_per_login(self):
        m = self.start({"ratelimit_msg_per_user": "2/1m"})
        c = self.smtp(m)
        c.login("bob", "bob-secret")
        for _ in range(2):
            self.assertEqual(c.docmd("MAIL", "FROM:<bob@example.test>")[0],
                             250)
            c.rset()
        code, msg = c.docmd("MAIL", "FROM:<bob@example.test>")
        self.assertEqual((code, msg[:5]), (451, b"4.7.0"))
        self.assertIn("limit=msg_per_user", m.log())

    def test_own_thresholds_tag_rather_than_refuse(self):
        rules = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "..", "rules", "default.rules")
        m = self.start({"rules": os.path.abspath(rules)})
        c = self.smtp(m)
        c.login("alice", "alice-secret")
        gtube = ("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-"
                 "EMAIL*C.34X")
        c.sendmail("alice@example.test", ["bob@example.test"],
                   mt.make_message(self.tok, body=gtube + "\r\n"))
        got = self.postfix.wait_messages("bob", self.tok)
        self.assertEqual(len(got), 1)
        self.assertIn(b"X-Spam-Flag: YES", got[0])

    def test_relay_tricks_refused_even_authenticated(self):
        from test_relay import TRICKS
        m = self.start()
        c = self.smtp(m)
        c.login("alice", "alice-secret")
        mark = self.postfix.log_mark()
        c.mail("alice@example.test")
        for trick in TRICKS:
            if "%" in trick or "!" in trick or trick.startswith("@") or \
                    trick.startswith('"'):
                code, _ = c.docmd("RCPT", "TO:<%s>" % trick)
                self.assertEqual(code // 100, 5, trick)
        c.rset()
        self.postfix.settle()
        seen = self.postfix.seen_rcpts(mark)
        self.assertFalse([r for r in seen if "%" in r or "!" in r or
                          '"' in r], seen)

    def test_failures_slow_the_login_down_not_the_right_password(self):
        m = self.start()

        def plain(c, user, pw):
            t0 = time.monotonic()
            r = c.docmd("AUTH", "PLAIN " + base64.b64encode(
                ("\0%s\0%s" % (user, pw)).encode()).decode())
            return r[0], time.monotonic() - t0

        # Failures from different clients (a distributed guesser).
        waits = []
        for i, src in enumerate(("127.0.0.11", "127.0.0.12", "127.0.0.13")):
            c = smtplib.SMTP("127.0.0.1", m.port, timeout=30,
                             source_address=(src, 0))
            self.addCleanup(c.close)
            c.ehlo("x.test")
            c.starttls(context=client_ctx())
            c.ehlo("x.test")
            code, took = plain(c, "bob", "guess-%d" % i)
            self.assertEqual(code, 535)
            waits.append(took)
        # The third failure waited about two penalty seconds; the first
        # did not wait.
        self.assertLess(waits[0], 1.0, waits)
        self.assertGreater(waits[2], 1.5, waits)
        # The right password, from a client that has not failed, at once.
        c = self.smtp(m)
        code, took = plain(c, "bob", "bob-secret")
        self.assertEqual(code, 235)
        self.assertLess(took, 1.0)

    def swaks(self, m, *args):
        import subprocess
        r = subprocess.run([mt.SWAKS, "--server", "127.0.0.1:%d" % m.port,
                            "--local-interface", mt.CLIENT_IP,
                            "--helo", "swaks.client.test",
                            "--header", "Subject: swaks %s" % self.tok] +
                           list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        return r.returncode, r.stdout.decode(errors="replace")

    def test_swaks_starttls_auth_plain_and_login(self):
        if not os.path.exists(mt.SWAKS):
            self.skipTest("swaks not installed")
        m = self.start()
        for mech, rcpt in (("PLAIN", "bob@example.test"),
                           ("LOGIN", "carol@example.test")):
            rc, out = self.swaks(m, "--tls", "--auth", mech,
                                 "--auth-user", "alice",
                                 "--auth-password", "alice-secret",
                                 "--from", "alice@example.test",
                                 "--to", rcpt)
            self.assertEqual(rc, 0, out)
            self.assertIn("235 2.7.0", out)
            user = rcpt.split("@")[0]
            self.assertEqual(
                len(self.postfix.wait_messages(user, "swaks " + self.tok)),
                1, out)
        # Wrong password: 535, swaks fails.
        rc, out = self.swaks(m, "--tls", "--auth", "PLAIN",
                             "--auth-user", "alice",
                             "--auth-password", "nope",
                             "--from", "alice@example.test",
                             "--to", "bob@example.test")
        self.assertNotEqual(rc, 0)
        self.assertIn("535 5.7.8", out)

    def test_swaks_tls_on_connect(self):
        if not os.path.exists(mt.SWAKS):
            self.skipTest("swaks not installed")
        m = mt.Moatd(self.postfix.port, {
            "reverse_dns": "off", "tls_cert": self.crt, "tls_key": self.key,
            "passwd": self.passwd})
        m.conf["listen"] = "127.0.0.1:%d tls=implicit auth=required" % \
            m.port
        self.addCleanup(m.cleanup)
        m.start(wait=False)
        self.assertTrue(mt.poll(lambda: "listening on" in m.log(), 10))
        rc, out = self.swaks(m, "--tls-on-connect", "--auth", "LOGIN",
                             "--auth-user", "bob",
                             "--auth-password", "bob-secret",
                             "--from", "bob@example.test",
                             "--to", "alice@example.test")
        self.assertEqual(rc, 0, out)
        self.assertEqual(
            len(self.postfix.wait_messages("alice", "swaks " + self.tok)), 1)

    def test_sender_not_owned_refused(self):
        m = self.start()
        c = self.smtp(m)
        c.login("bob", "bob-secret")
        code, msg = c.docmd("MAIL", "FROM:<alice@example.test>")
        self.assertEqual((code, msg[:5]), (553, b"5.7.1"))
        code, _ = c.docmd("MAIL", "FROM:<bob@example.test>")
        self.assertEqual(code, 250)

    def test_wrong_password_and_brute_force(self):
        m = self.start({"auth_fail_limit": "3/1m"})

        def plain(c, user, pw):
            return c.docmd("AUTH", "PLAIN " + base64.b64encode(
                ("\0%s\0%s" % (user, pw)).encode()).decode())

        c = self.smtp(m)
        for i in range(2):
            code, msg = plain(c, "alice", "wrong-%d" % i)
            self.assertEqual((code, msg[:5]), (535, b"5.7.8"))
        self.assertTrue(mt.poll(lambda: "event=auth_failed" in m.log(), 5))
        line = [l for l in m.log().splitlines() if "auth_failed" in l][0]
        self.assertIn("client=127.0.0.2", line)
        self.assertIn("login=alice", line)
        self.assertNotIn("wrong-", m.log())    # never a password in logs
        # The third failure reaches the limit: 535, then 421 and close.
        code, _ = plain(c, "alice", "wrong-2")
        self.assertEqual(code, 535)
        self.assertEqual(c.getreply()[0], 421)
        # A new connection from there is refused with 421.
        raw = self.client(m)
        self.assertReply(raw.reply(), 421, "4.7.0")
        # The real user, from a client that has not failed, still gets in.
        c = smtplib.SMTP("127.0.0.1", m.port, timeout=20,
                         source_address=("127.0.0.9", 0))
        self.addCleanup(c.close)
        c.ehlo("x.test")
        c.starttls(context=client_ctx())
        c.ehlo("x.test")
        code, _ = plain(c, "alice", "alice-secret")
        self.assertEqual(code, 235)


if __name__ == "__main__":
    mt.main()
