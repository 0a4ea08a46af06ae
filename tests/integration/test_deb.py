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
import struct
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
import mltest  # noqa: E402
import test_milter as tm  # noqa: E402

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


def milter_config(text, milter, pidfile):
    """The packaged moat.conf as moat-milter alone would read it: moatd's
    listen and backend gone, milter_listen on a free loopback port."""
    drop = ("listen", "backend", "milter_listen", "hostname", "pidfile")
    keep = [l for l in text.splitlines()
            if not re.match(r"(%s)\s" % "|".join(drop), l)]
    keep += ["milter_listen " + milter.conn, "hostname " + mt.MOAT_NAME,
             "pidfile " + pidfile]
    return "\n".join(keep) + "\n"


def unit_lines(path, key):
    """The values of key= in a systemd unit file."""
    with open(path) as f:
        return [l.split("=", 1)[1].strip() for l in f
                if l.startswith(key + "=")]


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
                  "/lib/systemd/system/moatd.service",
                  "/usr/sbin/moat-milter",
                  "/lib/systemd/system/moat-milter.service",
                  "/usr/share/doc/moat/moat-milter.conf"):
            self.assertTrue(os.path.exists(f), f)
        for man in ("/usr/share/man/man8/moatd.8.gz",
                    "/usr/share/man/man8/moat-milter.8.gz",
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
        # moat-milter's unit is installed disabled (a second way to run
        # moat, rarely beside moatd).
        self.assertFalse(os.path.lexists(
            "/etc/systemd/system/multi-user.target.wants/"
            "moat-milter.service"))
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

        self.packaged_milter(conf)

        code, out = run(["apt-get", "purge", "-y", "-q", "moat"])
        self.assertEqual(code, 0, out)
        for f in ("/usr/sbin/moatd", "/usr/sbin/moat-milter",
                  "/etc/moat/moat.conf",
                  "/var/spool/moat", "/var/cache/moat",
                  "/etc/systemd/system/multi-user.target.wants/"
                  "moatd.service"):
            self.assertFalse(os.path.lexists(f), f)

    def packaged_milter(self, conf):
        """moat-milter as its packaged unit runs it (ExecStartPre's check,
        then ExecStart's command), on the packaged moat.conf turned into a
        milter-only file, answering miltertest: a clean message tagged,
        GTUBE refused at end of message, the root parent and its _moat
        child."""
        unit = "/lib/systemd/system/moat-milter.service"
        self.assertEqual(unit_lines(unit, "ExecStart"),
                         ["/usr/sbin/moat-milter -c /etc/moat/moat.conf"])
        self.assertEqual(unit_lines(unit, "ExecStartPre"),
                         ["/usr/sbin/moat-milter -t -c /etc/moat/moat.conf"])
        if not os.access(mltest.MILTERTEST, os.X_OK):
            self.skipTest("miltertest not installed")
        os.environ["MOAT_MILTER"] = "/usr/sbin/moat-milter"
        ml = mltest.Milter()
        self.addCleanup(ml.cleanup)
        text = milter_config(conf, ml, os.path.join(ml.dir, "milter.pid"))
        self.assertNotRegex(text, r"(?m)^(listen|backend)\s")
        ml.config_text = lambda: text
        ml.write_config()
        code, out = run(["/usr/sbin/moat-milter", "-t", "-c", ml.conf_path])
        self.assertEqual(code, 0, out)
        ml.start()
        r = mltest.miltertest(ml)
        self.assertEqual(r.reply("eom"), "c", r.out)
        self.assertIn("X-Spam-Score", r.added, r.out)
        msg = os.path.join(ml.dir, "gtube.eml")
        with open(msg, "wb") as f:
            f.write(mt.make_message(self.tok + "m", body=GTUBE + "\r\n"))
        r = mltest.miltertest(ml, msg=msg)
        self.assertEqual(r.reply("eom"), "y", r.out)
        # The hardened package build still sees what libmilter read
        # (milter_wire.c): a truncated packet is logged as such.
        mark = len(ml.log())
        mltest.raw_session(ml.port, tm.OPTNEG + tm.CONNECT + tm.HELO +
                           tm.MAIL + struct.pack(">I", 100) + b"L")
        self.assertTrue(ml.wait_log(r"milter stream broke inside "
                                    r"transaction", mark), ml.log())
        code, out = run(["ps", "-o", "user=", "-p", str(ml.proc.pid)])
        self.assertEqual(out.strip(), "root", out)
        code, out = run(["ps", "-o", "user=", "--ppid", str(ml.proc.pid)])
        self.assertEqual(out.split(), ["_moat"], out)
        self.assertEqual(ml.stop(), 0, ml.log())


if __name__ == "__main__":
    mt.main(need_moatd=False)
