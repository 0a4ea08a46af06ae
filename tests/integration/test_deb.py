#!/usr/bin/env python3
"""The Debian package (debian/, issue 17), end to end: build it with
dpkg-buildpackage from a copy of the tree, lintian without errors, install
it with apt-get, check what it installed (conffile, _moat user, directories
owned by it, the unit enabled but not started), start the packaged moatd
with the packaged moat.conf (only the addresses changed) in front of a
private Postfix, send a clean mail and GTUBE, then purge and check nothing
is left.

It changes the system (installs and purges the package moat), needs root,
debhelper and lintian, and takes about two minutes, so it is not part of
make check: contrib/quickstart.sh test runs it (CI), or run it by hand:
    python3 tests/integration/test_deb.py
It SKIPs when moat is already installed (it would not purge what it did
not install)."""

import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")


def run(cmd, cwd=None, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


def installed(pkg):
    code, out = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return code == 0 and "install ok installed" in out


def packaged_config(text, m, postfix_port, pidfile):
    """The packaged moat.conf with only what points at the network and the
    domains changed for the test."""
    drop = ("listen", "backend", "hostname", "local_domains",
            "trusted_networks", "reverse_dns", "pidfile", "greet_wait")
    keep = [l for l in text.splitlines()
            if not re.match(r"(%s)\s" % "|".join(drop), l)]
    keep += ["listen 127.0.0.1:%d" % m.port,
             "backend 127.0.0.1:%d" % postfix_port,
             "hostname " + mt.MOAT_NAME, "local_domains " + mt.DOMAIN,
             "trusted_networks 127.0.0.1/32", "reverse_dns off",
             "pidfile " + pidfile, "greet_wait 0"]
    return "\n".join(keep) + "\n"


class Deb(mt.MoatTestCase):
    SHARED_MOATD = False

    @classmethod
    def setUpClass(cls):
        for tool in ("dpkg-buildpackage", "dh", "lintian", "apt-get"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest("%s not installed" % tool)
        if installed("moat"):
            raise unittest.SkipTest("the package moat is already installed")
        super().setUpClass()

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="moat-deb-")
        self.addCleanup(mt.rmtree, self.tmp)
        self.addCleanup(self.purge)

    def purge(self):
        if installed("moat") or os.path.exists("/etc/moat/moat.conf"):
            run(["apt-get", "purge", "-y", "-q", "moat"])

    def build(self):
        src = os.path.join(self.tmp, "moat")
        # A copy without build directories: dh builds in the tree.
        shutil.copytree(TOP, src, ignore=shutil.ignore_patterns(
            "_build", ".git", "*.o", "*.a", "autom4te.cache"))
        code, out = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                        timeout=900)
        self.assertEqual(code, 0, out[-4000:])
        debs = glob.glob(os.path.join(self.tmp, "moat_*.deb"))
        self.assertEqual(len(debs), 1, os.listdir(self.tmp))
        return debs[0]

    def test_deb(self):
        deb = self.build()
        code, out = run(["lintian", "--fail-on", "error", deb])
        self.assertEqual(code, 0, out)
        self.assertNotRegex(out, r"(?m)^E: ")

        code, out = run(["apt-get", "install", "-y", "-q",
                         "--no-install-recommends", deb])
        self.assertEqual(code, 0, out)
        # What the package put in place.
        code, out = run(["dpkg-query", "-W", "-f=${Conffiles}", "moat"])
        self.assertIn("/etc/moat/moat.conf", out)
        for f in ("/usr/sbin/moatd", "/usr/bin/moatctl",
                  "/usr/share/moat/default.rules",
                  "/lib/systemd/system/moatd.service"):
            self.assertTrue(os.path.exists(f), f)
        for man in ("/usr/share/man/man8/moatd.8.gz",
                    "/usr/share/man/man1/moatctl.1.gz"):
            self.assertTrue(os.path.exists(man), man)
        user = pwd.getpwnam("_moat")
        self.assertLess(user.pw_uid, 1000)
        for d in ("/var/spool/moat", "/var/cache/moat"):
            st = os.stat(d)
            self.assertEqual(st.st_uid, user.pw_uid, d)
            self.assertEqual(st.st_mode & 0o777, 0o700, d)
        # Enabled, not started: the wants link exists; nothing listens.
        self.assertTrue(os.path.islink(
            "/etc/systemd/system/multi-user.target.wants/moatd.service"))
        with open("/etc/moat/moat.conf") as f:
            conf = f.read()
        self.assertRegex(conf, r"(?m)^user _moat$")
        self.assertRegex(conf, r"(?m)^rules /usr/share/moat/default.rules$")
        self.assertRegex(conf, r"(?m)^hyperscan_cache /var/cache/moat$")

        # The packaged moatd and config, in front of the private Postfix.
        os.environ["MOATD"] = "/usr/sbin/moatd"
        m = mt.Moatd(self.postfix.port)
        text = packaged_config(conf, m, self.postfix.port,
                               os.path.join(m.dir, "moatd.pid"))
        m.config_text = lambda: text
        self.addCleanup(m.cleanup)
        m.write_config()
        code, out = m.check()
        self.assertEqual(code, 0, out)
        m.start()
        c = self.client(m)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"],
                            mt.make_message(self.tok))
        self.assertReply(rs[-1], 250)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertTrue(got, "not delivered")
        self.assertIn(b"X-Spam-Score:", got[0])
        rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
            self.tok + "g", body=GTUBE + "\r\n"))
        self.assertReply(rs[-1], 550, "5.7.1")
        self.assertReply(c.cmd("MAIL FROM:<a@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<bob@foreign.test>"), 554, "5.7.1")
        # Privilege separation (doc/tls-auth.md): the process we started
        # is the root parent that re-reads secrets on SIGHUP; its one
        # child serves the sessions past the drop to _moat, with the
        # packaged hyperscan_cache.
        code, out = run(["ps", "-o", "user=", "-p", str(m.proc.pid)])
        self.assertEqual(out.strip(), "root", out)
        code, out = run(["ps", "-o", "user=", "--ppid", str(m.proc.pid)])
        self.assertEqual(out.split(), ["_moat"], out)
        c.close()
        self.assertEqual(m.stop(), 0, m.log())

        code, out = run(["apt-get", "purge", "-y", "-q", "moat"])
        self.assertEqual(code, 0, out)
        for f in ("/usr/sbin/moatd", "/etc/moat/moat.conf",
                  "/var/spool/moat", "/var/cache/moat",
                  "/etc/systemd/system/multi-user.target.wants/"
                  "moatd.service"):
            self.assertFalse(os.path.lexists(f), f)


if __name__ == "__main__":
    mt.main(need_moatd=False)
