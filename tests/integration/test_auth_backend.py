#!/usr/bin/env python3
"""auth_backend backend (issue 5): moatd runs the client's SASL exchange and
has the MTA judge the credentials with one AUTH PLAIN on its backend
connection; the client gets 235 only on the backend's 235.  The backend is
the harness's private Postfix with Dovecot SASL (smtpd_sasl_type dovecot),
and Dovecot is a private auth-only instance with a passwd-file, both started
and stopped by the test."""

import base64
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
from test_starttls import make_cert, client_ctx  # noqa: E402

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

DOVECOT_CONF = """\
protocols =
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={d}
}}
service auth {{
  unix_listener {d}/auth {{
    mode = 0666
  }}
}}
"""


class DovecotPostfix(mt.Postfix):
    """The harness's private Postfix, with SASL from a private Dovecot."""

    def __init__(self, auth_socket):
        super().__init__()
        self.auth_socket = auth_socket

    def write_config(self):
        super().write_config()
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write("smtpd_sasl_auth_enable = yes\n"
                    "smtpd_sasl_type = dovecot\nsmtpd_sasl_path = %s\n"
                    % self.auth_socket)


class AuthBackend(mt.MoatTestCase):
    SHARED_MOATD = False
    NEED_POSTFIX = False

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(DOVECOT):
            raise __import__("unittest").SkipTest("dovecot not installed")
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="moat-authbe-")
        os.chmod(cls.tmp, 0o755)
        for sub in ("run", "state"):
            os.makedirs(os.path.join(cls.tmp, sub))
        with open(os.path.join(cls.tmp, "users"), "w") as f:
            f.write("carol:{PLAIN}carol-secret\n")
        conf = os.path.join(cls.tmp, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=cls.tmp))
        cls.dovecot = subprocess.Popen([DOVECOT, "-F", "-c", conf],
                                       stdout=subprocess.DEVNULL,
                                       stderr=subprocess.STDOUT)
        sock = os.path.join(cls.tmp, "auth")
        try:
            if not mt.poll(lambda: os.path.exists(sock), 10):
                raise RuntimeError("dovecot did not start")
            cls.crt, cls.key = make_cert(cls.tmp)
            cls.postfix = DovecotPostfix(sock)
            cls.postfix.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if getattr(cls, "postfix", None):
                cls.postfix.cleanup()
        finally:
            cls.dovecot.send_signal(signal.SIGTERM)
            cls.dovecot.wait(10)
            mt.rmtree(cls.tmp)

    def setUp(self):
        super().setUp()
        m = mt.Moatd(self.postfix.port, {
            "reverse_dns": "off", "tls_cert": self.crt, "tls_key": self.key,
            "auth_backend": "backend", "backend_reply_timeout": "20s"})
        m.conf["listen"] = "127.0.0.1:%d tls=starttls auth=required" % \
            m.port
        self.addCleanup(m.cleanup)
        self.m = m.start()

    def smtp(self):
        c = smtplib.SMTP("127.0.0.1", self.m.port, timeout=20,
                         source_address=(mt.CLIENT_IP, 0))
        self.addCleanup(c.close)
        c.ehlo("sub.client.test")
        c.starttls(context=client_ctx())
        c.ehlo("sub.client.test")
        return c

    def test_backend_accepts(self):
        c = self.smtp()
        # LOGIN from the client; the backend gets AUTH PLAIN all the same.
        c.docmd("AUTH", "LOGIN")
        c.docmd(base64.b64encode(b"carol").decode())
        code, _ = c.docmd(base64.b64encode(b"carol-secret").decode())
        self.assertEqual(code, 235)
        # Authenticated at the backend too: relaying is Postfix's call, and
        # it says yes to its own SASL user.
        c.sendmail("carol@example.test", ["alice@example.test"],
                   mt.make_message(self.tok))
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)),
                         1)
        self.postfix.settle()
        self.assertIn("sasl_username=carol", self.postfix.log_since(
            self.pf_mark))
        self.assertTrue(mt.poll(lambda: "auth=carol" in self.m.log(), 5))

    def test_backend_refuses(self):
        c = self.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            c.login("carol", "wrong")
        self.assertEqual(cm.exception.smtp_code, 535)
        self.assertIn("event=auth_failed", self.m.log())
        self.assertNotIn("wrong", self.m.log())
        self.assertEqual(c.docmd("MAIL", "FROM:<carol@example.test>")[0],
                         530)


if __name__ == "__main__":
    mt.main()
