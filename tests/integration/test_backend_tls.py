#!/usr/bin/env python3
"""STARTTLS toward the backend (issue 5): with backend_tls required moatd
reaches a TLS-capable Postfix over TLS (Postfix's Received: says so),
verifies it against a CA file and name when told to, gives the client a
4xx when the backend cannot do TLS or its certificate does not verify, and
with opportunistic goes on in clear where TLS is not offered."""

import os
import sys
import tempfile

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
from test_starttls import make_cert  # noqa: E402


class TLSPostfix(mt.Postfix):
    """The harness's private Postfix, offering STARTTLS."""

    def __init__(self, crt, key):
        super().__init__()
        self.crt, self.key = crt, key

    def write_config(self):
        super().write_config()
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write("smtpd_tls_security_level = may\n"
                    "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"
                    "smtpd_tls_received_header = yes\n" % (self.crt,
                                                          self.key))
        with open(os.path.join(self.conf, "master.cf"), "a") as f:
            f.write("tlsmgr unix - - n 1000? 1 tlsmgr\n")


class BackendTLS(mt.MoatTestCase):
    SHARED_MOATD = False

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="moat-btls-")
        os.chmod(cls.tmp, 0o755)
        cls.crt, cls.key = make_cert(cls.tmp, "backend.test")
        os.chmod(cls.key, 0o644)
        super().setUpClass()          # the plain Postfix
        cls.tls_postfix = TLSPostfix(cls.crt, cls.key)
        try:
            cls.tls_postfix.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.tls_postfix.cleanup()
        finally:
            super().tearDownClass()
            mt.rmtree(cls.tmp)

    def send(self, m):
        c = self.client(m)
        c.greet()
        return self.send_mail(c, ["alice@example.test"],
                              mt.make_message(self.tok))

    def test_required_reaches_a_tls_backend(self):
        m = self.start_moatd({"backend_tls": "required",
                              "backend_tls_ca": self.crt,
                              "backend_tls_name": "backend.test"},
                             backend_port=self.tls_postfix.port)
        rs = self.send(m)
        self.assertReply(rs[-1], 250)
        got = self.tls_postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        self.assertIn(b"(using TLSv1.", got[0])
        # XCLIENT went over TLS too: Postfix names the real client.
        self.assertIn(mt.CLIENT_IP.encode(), got[0].split(b"by backend.test")
                      [0])

    def test_wrong_name_gives_4xx(self):
        m = self.start_moatd({"backend_tls": "required",
                              "backend_tls_ca": self.crt,
                              "backend_tls_name": "other.test"},
                             backend_port=self.tls_postfix.port)
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 451, "4.4.1")

    def test_required_without_tls_gives_4xx(self):
        m = self.start_moatd({"backend_tls": "required"})
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 451, "4.4.1")
        self.assertIn("does not offer STARTTLS", m.log())

    def test_opportunistic_goes_on_in_clear(self):
        m = self.start_moatd({"backend_tls": "opportunistic"})
        rs = self.send(m)
        self.assertReply(rs[-1], 250)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        self.assertNotIn(b"(using TLS", got[0])


if __name__ == "__main__":
    mt.main()
