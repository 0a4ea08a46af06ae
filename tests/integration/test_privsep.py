#!/usr/bin/env python3
"""Privilege separation (issue 17, trap 1): moatd with `user nobody` and a
TLS key only root can read (0600, as certbot writes it) reloads new
certificates on SIGHUP, because the root parent reads them and sends the
bytes to the unprivileged session process.  Checks: STARTTLS serves the
first certificate; new cert+key files (0600 root) and SIGHUP, to the parent
or to the child, serve the new one (by fingerprint); a broken key is
refused and the old certificate keeps serving; the session process runs as
nobody and the parent as root; the parent exits when the child dies, the
child when the parent dies; nothing is left after SIGTERM.  Root only."""
import hashlib
import os
import pwd
import signal
import smtplib
import ssl
import subprocess
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402


def make_cert(d, name):
    """A self-signed EC certificate, its key mode 0600 owned by root."""
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", "/CN=" + name], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30)
    for p in (key, crt):
        os.chown(p, 0, 0)
        os.chmod(p, 0o600)
    return crt, key


def fingerprint_file(crt):
    der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"],
                         check=True, capture_output=True, timeout=30).stdout
    return hashlib.sha256(der).hexdigest()


def served_fingerprint(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        der = s.sock.getpeercert(binary_form=True)
        s.ehlo("client.test")
        s.quit()
    return hashlib.sha256(der).hexdigest()


def proc_status(pid):
    """(ppid, real uid, effective uid) from /proc, or None once gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    fields = dict(l.split(":", 1) for l in text.splitlines() if ":" in l)
    if fields.get("State", "").strip().startswith("Z"):
        return None
    uids = fields["Uid"].split()
    return int(fields["PPid"]), int(uids[0]), int(uids[1])


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_status(int(d))
            if st and st[0] == pid:
                out.append(int(d))
    return out


class Privsep(mt.MoatTestCase):
    NEED_POSTFIX = False
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.nobody = pwd.getpwnam("nobody").pw_uid
        self.backend = mt.FakeBackend("ok")
        self.addCleanup(self.backend.close)
        self.m = mt.Moatd(self.backend.port, {"user": "nobody"},
                          listen_opts="tls=starttls")
        self.addCleanup(self.m.cleanup)
        # nobody reaches its spool; the keys stay root's.
        os.chmod(self.m.dir, 0o711)
        os.chown(self.m.spool, self.nobody, -1)
        self.keys = os.path.join(self.m.dir, "keys")
        os.mkdir(self.keys, 0o700)
        self.crt, self.key = make_cert(self.keys, "one.test")
        self.m.conf["tls_cert"] = self.crt
        self.m.conf["tls_key"] = self.key

    def child(self):
        kids = mt.poll(lambda: children(self.m.proc.pid), 10)
        self.assertEqual(len(kids or []), 1, self.m.log())
        return kids[0]

    def test_reload_root_only_key(self):
        m = self.m.start()
        self.assertEqual(served_fingerprint(m.port),
                         fingerprint_file(self.crt))
        # Renewal: new files, 0600 root; SIGHUP to the parent.
        crt2, key2 = make_cert(self.keys, "two.test")
        m.conf["tls_cert"], m.conf["tls_key"] = crt2, key2
        m.write_config()
        os.chmod(m.conf_path, 0o600)
        m.signal(signal.SIGHUP)
        self.assertTrue(m.wait_log(r"reload: configuration .* in force"),
                        m.log())
        self.assertNotIn("Permission denied", m.log())
        self.assertEqual(served_fingerprint(m.port), fingerprint_file(crt2))

        # ps: the parent stays root, the session process is nobody.
        self.assertEqual(proc_status(m.proc.pid)[1:], (0, 0))
        kid = self.child()
        self.assertEqual(proc_status(kid)[1:], (self.nobody, self.nobody))

        # A broken key: refused, the old certificate keeps serving.  The
        # SIGHUP goes to the child this time: it asks the parent.
        crt3, key3 = make_cert(self.keys, "three.test")
        with open(key3, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbroken\n"
                    "-----END PRIVATE KEY-----\n")
        m.conf["tls_cert"], m.conf["tls_key"] = crt3, key3
        m.write_config()
        os.kill(kid, signal.SIGHUP)
        self.assertTrue(m.wait_log(r"reload refused.*key"), m.log())
        self.assertEqual(served_fingerprint(m.port), fingerprint_file(crt2))

        # SIGTERM to the parent: both go, the parent with status 0.
        self.assertEqual(m.stop(), 0, m.log())
        self.assertTrue(mt.poll(lambda: proc_status(kid) is None, 10))

    def test_parent_follows_child(self):
        m = self.m.start()
        kid = self.child()
        os.kill(kid, signal.SIGKILL)
        self.assertIsNotNone(mt.poll(lambda: m.proc.poll() is not None, 10),
                             m.log())
        self.assertNotEqual(m.proc.returncode, 0)
        self.assertIn("parent follows", m.log())

    def test_child_follows_parent(self):
        m = self.m.start()
        kid = self.child()
        m.proc.kill()
        m.proc.wait(10)
        self.assertTrue(mt.poll(lambda: proc_status(kid) is None, 15),
                        m.log())


if __name__ == "__main__":
    mt.main()
