#!/usr/bin/env python3
"""TLS toward clients through moatd (issue 5, TLS part): STARTTLS and
implicit TLS deliver to Postfix; commands pipelined behind STARTTLS are
thrown away (CVE-2011-0411); STARTTLS twice is refused; a tls=required
listener refuses MAIL in clear; a bad certificate on reload is refused and
the old one keeps serving.  Certificates are made with the openssl CLI."""

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402


def make_cert(d, name="moat.test"):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", "/CN=" + name], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30)
    return crt, key


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class StartTLS(mt.MoatTestCase):
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="moat-tls-")
        self.addCleanup(mt.rmtree, self.tmp)
        self.crt, self.key = make_cert(self.tmp)

    def start(self, mode):
        m = mt.Moatd(self.postfix.port, {"reverse_dns": "off",
                                         "tls_cert": self.crt,
                                         "tls_key": self.key})
        m.conf["listen"] = "127.0.0.1:%d tls=%s" % (m.port, mode)
        self.addCleanup(m.cleanup)
        if mode == "implicit":
            m.start(wait=False)
            self.assertTrue(mt.poll(lambda: "listening on" in m.log(), 10))
        else:
            m.start()
        return m

    def test_starttls_delivers(self):
        m = self.start("starttls")
        with smtplib.SMTP("127.0.0.1", m.port,
                          source_address=(mt.CLIENT_IP, 0),
                          timeout=20) as c:
            c.ehlo("tls.client.test")
            self.assertTrue(c.has_extn("starttls"))
            code, _ = c.starttls(context=client_ctx())
            self.assertEqual(code, 220)
            c.ehlo("tls.client.test")
            self.assertFalse(c.has_extn("starttls"))
            c.sendmail("s@sender.test", ["alice@example.test"],
                       mt.make_message(self.tok))
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        self.assertIn(b"by moat.test (moat) with ESMTPS id", got[0])
        # the session line is written as the session ends, which may be
        # after Postfix has the message: wait for it
        sess = mt.poll(lambda: [x for x in m.sessions()
                                if x.get("helo") == "tls.client.test"], 5)
        self.assertTrue(sess and sess[-1].get("tls", "").startswith("TLS"),
                        m.log())

    def test_pipelined_plaintext_after_starttls_is_discarded(self):
        m = self.start("starttls")
        raw = socket.create_connection(("127.0.0.1", m.port), timeout=10,
                                       source_address=(mt.CLIENT_IP, 0))
        self.addCleanup(raw.close)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        raw.sendall(b"EHLO x.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nRSET\r\n")      # one write
        self.assertTrue(f.readline().startswith(b"220"))
        t = client_ctx().wrap_socket(raw, server_hostname="moat.test")
        t.settimeout(10)
        t.sendall(b"NOOP\r\n")
        first = t.recv(4096)
        # The answer is NOOP's; RSET never ran (its reply would be first).
        self.assertEqual(first, b"250 2.0.0 Ok\r\n")
        self.assertTrue(mt.poll(lambda: "discarded=6" in m.log(), 5),
                        m.log())
        t.sendall(b"STARTTLS\r\n")
        self.assertTrue(t.recv(4096).startswith(b"503 5.5.1"))
        t.close()

    def test_handshake_timeout(self):
        m = mt.Moatd(self.postfix.port, {"reverse_dns": "off",
                                         "tls_cert": self.crt,
                                         "tls_key": self.key,
                                         "tls_handshake_timeout": "1s"})
        m.conf["listen"] = "127.0.0.1:%d tls=starttls" % m.port
        self.addCleanup(m.cleanup)
        m.start()
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("STARTTLS"), 220)
        # No ClientHello: the session is cut at the deadline.
        c.wait_closed(5)
        self.assertTrue(mt.poll(
            lambda: "TLS handshake timed out" in m.log(), 5), m.log())

    def test_required_refuses_mail_in_clear(self):
        m = self.start("required")
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 530, "5.7.0")

    def test_implicit_tls_delivers(self):
        m = self.start("implicit")
        with smtplib.SMTP_SSL("127.0.0.1", m.port,
                              source_address=(mt.CLIENT_IP, 0),
                              context=client_ctx(), timeout=20) as c:
            c.sendmail("s@sender.test", ["bob@example.test"],
                       mt.make_message(self.tok))
        self.assertEqual(len(self.postfix.wait_messages("bob", self.tok)), 1)

    def test_bad_certificate_on_reload_keeps_the_old(self):
        m = self.start("starttls")
        with open(self.crt, "w") as f:
            f.write("not a certificate\n")
        m.signal(signal.SIGHUP)
        m.wait_log("reload refused")
        with smtplib.SMTP("127.0.0.1", m.port, timeout=20,
                          source_address=(mt.CLIENT_IP, 0)) as c:
            c.ehlo("x.test")
            self.assertEqual(c.starttls(context=client_ctx())[0], 220)
            c.ehlo("x.test")
            c.sendmail("s@sender.test", ["carol@example.test"],
                       mt.make_message(self.tok))
        self.assertEqual(len(self.postfix.wait_messages("carol", self.tok)),
                         1)

    def test_tls11_refused(self):
        m = self.start("implicit")
        ctx = client_ctx()
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with self.assertRaises((ssl.SSLError, OSError)):
            s = socket.create_connection(("127.0.0.1", m.port), timeout=10)
            self.addCleanup(s.close)
            ctx.wrap_socket(s).recv(100)
        self.assertTrue(mt.poll(lambda: "TLS handshake failed" in m.log(),
                                5), m.log())


if __name__ == "__main__":
    mt.main()
