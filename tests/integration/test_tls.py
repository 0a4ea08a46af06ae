#!/usr/bin/env python3
"""TLS core (proxy/tls.c) over real sockets, through tests/tls_driver:
STARTTLS and implicit TLS handshakes with openssl s_client and Python's
ssl module; the STARTTLS injection (CVE-2011-0411: "STARTTLS\\r\\nRSET\\r\\n"
in one write) proves the pipelined plaintext is discarded; TLS 1.1 is
refused by the server; a reload with a bad certificate keeps the old one,
a good one takes effect without dropping open sessions; the backend-side
client verifies the server against a CA and a name.

Certificates are made here with the openssl CLI.  Needs no root and no
Postfix; SKIPs (77) when tls_driver or openssl is missing."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree

OPENSSL = shutil.which("openssl")


def driver_path():
    p = os.environ.get("TLS_DRIVER")
    if not p and os.environ.get("MOATD"):
        p = os.path.join(os.path.dirname(os.environ["MOATD"]), "tls_driver")
    return p


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw)


def make_ca(d):
    run(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "2",
        "-subj", "/CN=moat test CA")


def make_cert(d, name, cn):
    """A server certificate for cn (and 127.0.0.1) signed by the CA."""
    with open(f"{d}/{name}.ext", "w") as f:
        f.write(f"subjectAltName=DNS:{cn},IP:127.0.0.1\n")
    run(OPENSSL, "req", "-newkey", "rsa:2048", "-nodes",
        "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr",
        "-subj", f"/CN={cn}")
    run(OPENSSL, "x509", "-req", "-in", f"{d}/{name}.csr",
        "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key", "-CAcreateserial",
        "-out", f"{d}/{name}.pem", "-days", "2",
        "-extfile", f"{d}/{name}.ext")


def recv_reply(f):
    """One SMTP reply (all its lines) from a file object."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        lines.append(line.decode().rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


class Driver:
    def __init__(self, d, cert, key, *extra):
        self.d = d
        self.log = f"{d}/driver.{time.monotonic_ns()}.log"
        portfile = f"{d}/ports"
        if os.path.exists(portfile):
            os.unlink(portfile)
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            [driver_path(), "-c", cert, "-k", key, "-p", portfile, *extra],
            stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(portfile) or \
                not open(portfile).read().endswith("\n"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tls_driver did not start: " +
                                   open(self.log).read())
            time.sleep(0.05)
        self.port, self.implicit_port = \
            (int(x) for x in open(portfile).read().split())

    def lines(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def wait_line(self, prefix, count=1, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [x for x in self.lines() if x.startswith(prefix)]
            if len(got) >= count:
                return got[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no line {prefix!r} in: {self.lines()}")

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        """SIGTERM is a clean exit: LeakSanitizer runs in a sanitizer
        build, and any report in the log fails the test."""
        self.proc.terminate()
        rc = self.proc.wait(timeout=10)
        self.logf.close()
        text = open(self.log).read()
        if "Sanitizer" in text or "runtime error" in text or rc != 0:
            raise AssertionError(f"tls_driver exit {rc}:\n{text}")


class TLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="moat-tls-")
        d = cls.tmp
        make_ca(d)
        make_cert(d, "old", "localhost")
        make_cert(d, "new", "localhost")
        shutil.copy(f"{d}/old.pem", f"{d}/cert.pem")
        shutil.copy(f"{d}/old.key", f"{d}/key.pem")
        cls.drv = Driver(d, f"{d}/cert.pem", f"{d}/key.pem")
        cls.ctx = ssl.create_default_context(cafile=f"{d}/ca.pem")

    @classmethod
    def tearDownClass(cls):
        cls.drv.stop()
        if not os.environ.get("MOAT_KEEP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers --

    def plain(self, port=None):
        s = socket.create_connection(("127.0.0.1", port or self.drv.port),
                                     timeout=10)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertEqual(recv_reply(f), ["220 tls_driver ready"])
        s.sendall(b"EHLO test\r\n")
        self.assertEqual(recv_reply(f), ["250-tls_driver", "250 STARTTLS"])
        return s, f

    def starttls(self, ctx=None, pipelined=b""):
        s, f = self.plain()
        s.sendall(b"STARTTLS\r\n" + pipelined)
        self.assertEqual(recv_reply(f), ["220 2.0.0 Ready to start TLS"])
        t = (ctx or self.ctx).wrap_socket(s, server_hostname="localhost")
        self.addCleanup(t.close)
        return t, t.makefile("rb")

    def cmd(self, t, f, line):
        t.sendall(line + b"\r\n")
        return recv_reply(f)

    def fingerprint(self, t):
        return t.getpeercert(binary_form=True)

    def pem_der(self, name):
        return ssl.PEM_cert_to_DER_cert(
            open(f"{self.tmp}/{name}.pem").read())

    # -- tests --

    def test_starttls_python(self):
        t, f = self.starttls()
        reply = self.cmd(t, f, b"INFO")
        self.assertRegex(reply[0], r"^250 tls=TLSv1\.[23] cipher=\S+$")
        self.assertEqual(self.cmd(t, f, b"NOOP"), ["250 echo NOOP"])
        # RFC 3207 4.2: no second STARTTLS.
        self.assertEqual(self.cmd(t, f, b"STARTTLS"),
                         ["503 5.5.1 TLS already active"])
        self.assertEqual(self.cmd(t, f, b"QUIT"), ["221 2.0.0 bye"])

    def test_starttls_injection_discarded(self):
        n = len([x for x in self.drv.lines()
                 if x.startswith("starttls discarded=")])
        t, f = self.starttls(pipelined=b"RSET\r\n")
        # The first reply over TLS answers NOOP: RSET never ran.
        self.assertEqual(self.cmd(t, f, b"NOOP"), ["250 echo NOOP"])
        self.assertEqual(self.drv.wait_line("starttls discarded=", n + 1),
                         "starttls discarded=6")

    def test_starttls_injection_bigger(self):
        n = len([x for x in self.drv.lines()
                 if x.startswith("starttls discarded=")])
        junk = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
        t, f = self.starttls(pipelined=junk)
        self.assertEqual(self.cmd(t, f, b"NOOP"), ["250 echo NOOP"])
        self.assertEqual(self.drv.wait_line("starttls discarded=", n + 1),
                         f"starttls discarded={len(junk)}")

    def test_s_client_starttls(self):
        r = subprocess.run(
            [OPENSSL, "s_client", "-starttls", "smtp", "-connect",
             f"127.0.0.1:{self.drv.port}", "-CAfile", f"{self.tmp}/ca.pem",
             "-verify_return_error", "-verify_hostname", "localhost",
             "-quiet"],
            input=b"INFO\r\nQUIT\r\n", capture_output=True, timeout=20)
        out = r.stdout.decode()
        self.assertIn("250 tls=TLSv1.3 cipher=", out)
        self.assertIn("221 2.0.0 bye", out)

    def test_s_client_tls12(self):
        r = subprocess.run(
            [OPENSSL, "s_client", "-starttls", "smtp", "-tls1_2",
             "-connect", f"127.0.0.1:{self.drv.port}",
             "-CAfile", f"{self.tmp}/ca.pem", "-verify_return_error",
             "-quiet"],
            input=b"INFO\r\nQUIT\r\n", capture_output=True, timeout=20)
        out = r.stdout.decode()
        # Forward secrecy and AEAD first (TLS_DEFAULT_CIPHERS).
        self.assertRegex(out, r"250 tls=TLSv1\.2 cipher=ECDHE-RSA-\S*GCM")

    def test_implicit_tls(self):
        s = socket.create_connection(("127.0.0.1", self.drv.implicit_port),
                                     timeout=10)
        t = self.ctx.wrap_socket(s, server_hostname="localhost")
        self.addCleanup(t.close)
        f = t.makefile("rb")
        # The greeting comes over TLS (RFC 8314 3.3).
        self.assertEqual(recv_reply(f), ["220 tls_driver ready"])
        self.assertRegex(self.cmd(t, f, b"INFO")[0], r"^250 tls=TLSv1\.3 ")

    def test_implicit_tls_s_client(self):
        r = subprocess.run(
            [OPENSSL, "s_client", "-connect",
             f"127.0.0.1:{self.drv.implicit_port}",
             "-CAfile", f"{self.tmp}/ca.pem", "-verify_return_error",
             "-quiet"],
            input=b"INFO\r\nQUIT\r\n", capture_output=True, timeout=20)
        out = r.stdout.decode()
        self.assertIn("220 tls_driver ready", out)
        self.assertIn("250 tls=TLSv1.3", out)

    def test_plaintext_on_implicit_port(self):
        s = socket.create_connection(("127.0.0.1", self.drv.implicit_port),
                                     timeout=10)
        self.addCleanup(s.close)
        n = len([x for x in self.drv.lines()
                 if x.startswith("handshake error")])
        s.sendall(b"EHLO plain\r\n")
        # Never answered in clear; the handshake fails and it is said why.
        self.assertIn(s.recv(100)[:3], (b"", b"\x15\x03\x01", b"\x15\x03\x03"))
        self.drv.wait_line("handshake error: ", n + 1)

    def test_tls11_refused(self):
        n = len([x for x in self.drv.lines()
                 if x.startswith("handshake error")])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        s, f = self.plain()
        s.sendall(b"STARTTLS\r\n")
        recv_reply(f)
        with self.assertRaises(ssl.SSLError) as cm:
            ctx.wrap_socket(s, server_hostname="localhost")
        # The server refused it (a protocol_version alert), not our client.
        self.assertIn("VERSION", str(cm.exception).upper())
        line = self.drv.wait_line("handshake error: ", n + 1)
        self.assertIn("unsupported protocol", line)

    def test_tls11_refused_s_client(self):
        r = subprocess.run(
            [OPENSSL, "s_client", "-starttls", "smtp", "-tls1_1",
             "-cipher", "DEFAULT@SECLEVEL=0", "-connect",
             f"127.0.0.1:{self.drv.port}"],
            input=b"QUIT\r\n", capture_output=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("alert protocol version", r.stdout.decode() +
                      r.stderr.decode())

    def test_reload(self):
        d = self.tmp
        old, new = self.pem_der("old"), self.pem_der("new")
        t, f = self.starttls()
        self.assertEqual(self.fingerprint(t), old)
        n_ok = len([x for x in self.drv.lines()
                    if x.startswith("reload ok")])
        n_bad = len([x for x in self.drv.lines()
                     if x.startswith("reload failed")])
        try:
            # A broken certificate: refused, the old one keeps serving.
            with open(f"{d}/cert.pem", "w") as fp:
                fp.write("-----BEGIN CERTIFICATE-----\nnot a cert\n"
                         "-----END CERTIFICATE-----\n")
            self.drv.hup()
            line = self.drv.wait_line("reload failed: ", n_bad + 1)
            self.assertIn("cert.pem", line)
            t2, f2 = self.starttls()
            self.assertEqual(self.fingerprint(t2), old)

            # A good certificate with the wrong key: refused too.
            shutil.copy(f"{d}/new.pem", f"{d}/cert.pem")
            self.drv.hup()
            line = self.drv.wait_line("reload failed: ", n_bad + 2)
            self.assertIn("key.pem: key values mismatch", line)
            t3, f3 = self.starttls()
            self.assertEqual(self.fingerprint(t3), old)

            # Both new: taken, for new sessions only.
            shutil.copy(f"{d}/new.key", f"{d}/key.pem")
            self.drv.hup()
            line = self.drv.wait_line("reload ok ", n_ok + 1)
            self.assertIn("CN=localhost", line)
            t4, f4 = self.starttls()
            self.assertEqual(self.fingerprint(t4), new)
            # Sessions begun before every reload still work.
            for (tt, ff) in ((t, f), (t2, f2), (t3, f3)):
                self.assertEqual(self.cmd(tt, ff, b"NOOP"),
                                 ["250 echo NOOP"])
        finally:
            n_ok = len([x for x in self.drv.lines()
                        if x.startswith("reload ok")])
            shutil.copy(f"{d}/old.pem", f"{d}/cert.pem")
            shutil.copy(f"{d}/old.key", f"{d}/key.pem")
            self.drv.hup()
            self.drv.wait_line("reload ok ", n_ok + 1)

    def test_bad_config_refused_at_start(self):
        d = self.tmp
        r = subprocess.run([driver_path(), "-c", f"{d}/new.pem", "-k",
                            f"{d}/old.key", "-p", f"{d}/unused"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"old.key: key values mismatch", r.stdout)
        r = subprocess.run([driver_path(), "-c", f"{d}/old.pem", "-k",
                            f"{d}/old.key", "-m", "SSLv3", "-p",
                            f"{d}/unused"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"tls_min_version SSLv3", r.stdout)
        r = subprocess.run([driver_path(), "-c", f"{d}/old.pem", "-k",
                            f"{d}/old.key", "-C", "NO-SUCH-CIPHER", "-p",
                            f"{d}/unused"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"tls_ciphers NO-SUCH-CIPHER", r.stdout)

    def test_min_version_13(self):
        d = self.tmp
        drv = Driver(d, f"{d}/old.pem", f"{d}/old.key", "-m", "TLSv1.3")
        try:
            ctx = ssl.create_default_context(cafile=f"{d}/ca.pem")
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            s = socket.create_connection(("127.0.0.1", drv.implicit_port),
                                         timeout=10)
            with self.assertRaises(ssl.SSLError):
                ctx.wrap_socket(s, server_hostname="localhost")
            s.close()
            self.assertIn("unsupported protocol",
                          drv.wait_line("handshake error: "))
        finally:
            drv.stop()

    # -- the backend side (tls_client_wrap) --

    def client(self, *args):
        return subprocess.run([driver_path(), "-P", str(self.drv.port),
                               *args], capture_output=True, timeout=20)

    def test_client_verified(self):
        r = self.client("-a", f"{self.tmp}/ca.pem", "-n", "localhost")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout.decode(),
                         r"client ok verified=1 250 tls=TLSv1\.3 ")

    def test_client_verified_by_address(self):
        # No name: the address connected to must be in the certificate.
        r = self.client("-a", f"{self.tmp}/ca.pem")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(b"client ok verified=1", r.stdout)

    def test_client_wrong_name(self):
        r = self.client("-a", f"{self.tmp}/ca.pem", "-n", "mx.other.example")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"client error: certificate verify failed: "
                      b"hostname mismatch", r.stdout)

    def test_client_wrong_ca(self):
        d = self.tmp
        other = os.path.join(d, "otherca")
        os.makedirs(other, exist_ok=True)
        make_ca(other)
        r = self.client("-a", f"{other}/ca.pem", "-n", "localhost")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"client error: certificate verify failed", r.stdout)

    def test_client_unverified(self):
        r = self.client()
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(b"client ok verified=0 250 tls=TLSv1.3", r.stdout)

    def test_client_bad_ca_file(self):
        r = self.client("-a", "/nonexistent/ca.pem")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"client error: backend_tls_ca /nonexistent/ca.pem",
                      r.stdout)


if __name__ == "__main__":
    p = driver_path()
    if not p or not os.access(p, os.X_OK):
        print(f"SKIP: no tls_driver ({p})")
        sys.exit(77)
    if not OPENSSL:
        print("SKIP: no openssl CLI")
        sys.exit(77)
    unittest.main()
