#!/usr/bin/env python3
"""moatd -t checks what the running daemon will need (issue 17, trap 2):
the user exists, spool_dir and hyperscan_cache are directories that user
can write (a spool left 0700 root, as make install used to leave it, is
refused by -t, not only after the drop), and the rule files exist.  The
example contrib/moat.conf, with a spool as make install now leaves it
(0700, owned by nobody), passes -t and starts as is (only its addresses
changed)."""

import os
import pwd
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NOBODY = pwd.getpwnam("nobody")


def check(path):
    r = subprocess.run([mt.moatd_path(), "-t", "-c", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    return r.returncode, r.stdout.decode(errors="replace")


class Check(mt.MoatTestCase):
    NEED_POSTFIX = False
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="moat-check-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(mt.rmtree, self.tmp)
        self.spool = os.path.join(self.tmp, "spool")
        os.mkdir(self.spool, 0o700)

    def conf(self, **kw):
        lines = {"listen": "127.0.0.1:%d" % mt.free_port(),
                 "backend": "127.0.0.1:%d" % mt.free_port(),
                 "spool_dir": self.spool, "user": "nobody"}
        lines.update(kw)
        path = os.path.join(self.tmp, "moat.conf")
        with open(path, "w") as f:
            for k, v in lines.items():
                if v is not None:
                    f.write("%s %s\n" % (k, v))
        return path

    def test_spool_not_writable_by_user(self):
        code, out = check(self.conf())
        self.assertEqual(code, 1, out)
        self.assertIn("spool_dir %s: not usable by user nobody" %
                      self.spool, out)
        self.assertEqual(out.count("not usable"), 1, out)
        os.chown(self.spool, NOBODY.pw_uid, -1)
        code, out = check(self.conf())
        self.assertEqual(code, 0, out)
        # Root (no user) may use it as it is.
        os.chown(self.spool, 0, 0)
        code, out = check(self.conf(user=None))
        self.assertEqual(code, 0, out)

    def test_parent_not_searchable(self):
        inner = os.path.join(self.tmp, "closed")
        os.mkdir(inner, 0o700)
        spool = os.path.join(inner, "spool")
        os.mkdir(spool, 0o700)
        os.chown(spool, NOBODY.pw_uid, -1)
        code, out = check(self.conf(spool_dir=spool))
        self.assertEqual(code, 1, out)
        self.assertIn("%s: mode 0700" % inner, out)
        self.assertIn("no search", out)

    def test_no_such_user(self):
        os.chown(self.spool, NOBODY.pw_uid, -1)
        code, out = check(self.conf(user="moat-no-such-user"))
        self.assertEqual(code, 1, out)
        self.assertIn("user moat-no-such-user: no such user", out)

    def test_hyperscan_cache(self):
        os.chown(self.spool, NOBODY.pw_uid, -1)
        cache = os.path.join(self.tmp, "cache")
        os.mkdir(cache, 0o700)
        code, out = check(self.conf(hyperscan="on", hyperscan_cache=cache))
        self.assertEqual(code, 1, out)
        self.assertIn("hyperscan_cache %s: not usable by user nobody" %
                      cache, out)
        os.chown(cache, NOBODY.pw_uid, -1)
        code, out = check(self.conf(hyperscan="on", hyperscan_cache=cache))
        self.assertEqual(code, 0, out)
        code, out = check(self.conf(hyperscan="on",
                                    hyperscan_cache=cache + "/missing"))
        self.assertEqual(code, 1, out)

    def test_missing_rule_file(self):
        os.chown(self.spool, NOBODY.pw_uid, -1)
        code, out = check(self.conf(rules=os.path.join(self.tmp, "none")))
        self.assertEqual(code, 1, out)
        self.assertIn("No such file", out)

    def test_example_config_starts(self):
        # contrib/moat.conf as make install writes it: the rules path
        # at pkgdatadir (here the source tree), the spool 0700 and owned
        # by nobody; only the addresses and the spool path changed.
        os.chown(self.spool, NOBODY.pw_uid, -1)
        with open(os.path.join(TOP, "contrib", "moat.conf")) as f:
            text = f.read()
        text = text.replace("/usr/local/share/moat/",
                            os.path.join(TOP, "rules") + "/")
        port = mt.free_port()
        fb = mt.FakeBackend("ok")
        self.addCleanup(fb.close)
        text = re.sub(r"(?m)^listen .*\n", "", text)
        text = re.sub(r"(?m)^backend .*$", "backend 127.0.0.1:%d" % fb.port,
                      text)
        text += "listen 127.0.0.1:%d\nspool_dir %s\n" % (port, self.spool)
        path = os.path.join(self.tmp, "example.conf")
        with open(path, "w") as f:
            f.write(text)
        code, out = check(path)
        self.assertEqual(code, 0, out)
        self.assertIn("rules)", out)
        m = mt.Moatd(fb.port)
        m.port = port
        m.config_text = lambda: text
        self.addCleanup(m.cleanup)
        m.start()
        c = self.client(m)
        self.assertReply(c.reply(timeout=10), 220)
        self.assertTrue(m.alive())


class DocKeys(mt.MoatTestCase):
    """Every key a documentation table lists exists (issue 17, trap 4:
    doc/tls-auth.md listed auth_fail_window and others that never did)."""
    NEED_POSTFIX = False
    SHARED_MOATD = False

    def test_doc_keys_exist(self):
        tmp = tempfile.mkdtemp(prefix="moat-dockeys-")
        self.addCleanup(mt.rmtree, tmp)
        conf = os.path.join(tmp, "moat.conf")
        with open(conf, "w") as f:
            f.write("listen 127.0.0.1:2525\nbackend 127.0.0.1:10025\n"
                    "spool_dir %s\n" % tmp)
        r = subprocess.run([mt.moatd_path(), "--dump-config", "-c", conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        known = set(re.findall(r"(?m)^(?:# )?([a-z0-9_]+)\b",
                               r.stdout.decode()))
        self.assertIn("auth_fail_limit", known)
        docs = [os.path.join(TOP, d, f) for d in ("doc", "contrib")
                for f in sorted(os.listdir(os.path.join(TOP, d)))
                if f.endswith(".md")] + [os.path.join(TOP, "README.md")]
        bad, seen = [], 0
        for path in docs:
            in_table = False
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    if line.startswith("| key | type |"):
                        in_table = True
                        continue
                    if not line.startswith("|"):
                        in_table = False
                        continue
                    m = re.match(r"\| `([a-z0-9_]+)` \|", line)
                    if in_table and m:
                        seen += 1
                        if m.group(1) not in known:
                            bad.append("%s:%d: %s" % (path, n, m.group(1)))
        self.assertGreater(seen, 100)
        self.assertEqual(bad, [], "documented keys moatd does not know")


class Cli(mt.MoatTestCase):
    """moatd --version/--help and moatctl help/--help exit 0 and print
    on stdout; a usage error exits 2 (issue 17).  `log syslog` with no
    syslog daemon says so and keeps the lines on stderr."""
    NEED_POSTFIX = False
    SHARED_MOATD = False

    def run_ok(self, argv):
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, (argv, r.stderr))
        return r.stdout.decode()

    def test_moatd(self):
        self.assertRegex(self.run_ok([mt.moatd_path(), "--version"]),
                         r"^moatd \d+\.\d+")
        self.assertEqual(self.run_ok([mt.moatd_path(), "-V"]),
                         self.run_ok([mt.moatd_path(), "--version"]))
        out = self.run_ok([mt.moatd_path(), "--help"])
        for opt in ("-c FILE", "-t", "-T LIST", "--dump-config",
                    "--version"):
            self.assertIn(opt, out)
        r = subprocess.run([mt.moatd_path(), "--bogus"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(r.returncode, 2)

    def test_moatctl(self):
        ctl = os.environ.get("MOATCTL") or os.path.join(
            os.path.dirname(mt.moatd_path()), "moatctl")
        full = self.run_ok([ctl, "help"])
        for sub in ("scan", "agree", "rules", "greylist", "report"):
            self.assertIn("moatctl " + sub, full)
        self.assertEqual(self.run_ok([ctl, "--help"]), full)
        self.assertIn("--json", self.run_ok([ctl, "help", "report"]))
        self.assertIn("--top N", self.run_ok([ctl, "report", "--help"]))
        self.assertIn("whitelist", self.run_ok([ctl, "greylist", "-h"]))
        self.assertIn("--profile", self.run_ok([ctl, "scan", "--help"]))
        # scan with no rules says so instead of scoring everything 0.
        tmp = tempfile.mkdtemp(prefix="moat-cli-")
        self.addCleanup(mt.rmtree, tmp)
        msg = os.path.join(tmp, "m.eml")
        with open(msg, "w") as f:
            f.write("Subject: hi\r\n\r\nbody\r\n")
        r = subprocess.run([ctl, "scan", msg], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no rules loaded", r.stderr)
        self.assertNotIn(b"score=0", r.stdout)
        r = subprocess.run([ctl, "bogus"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 2)

    def test_syslog_without_daemon(self):
        m = mt.Moatd(mt.free_port(), {"log": "syslog"})
        self.addCleanup(m.cleanup)
        if os.path.exists("/dev/log"):
            # A daemon may listen: hide it in a mount namespace of our own.
            if subprocess.run(["unshare", "--mount", "true"],
                              timeout=30).returncode != 0:
                self.skipTest("/dev/log exists and no unshare --mount")
            real = mt.moatd_path()
            wrapper = os.path.join(m.dir, "moatd-nolog")
            with open(wrapper, "w") as f:
                f.write("#!/bin/sh\nexec unshare --mount sh -c 'mount "
                        "--bind /dev/null /dev/log && exec \"$0\" \"$@\"' "
                        "%s \"$@\"\n" % real)
            os.chmod(wrapper, 0o755)
            os.environ["MOATD"] = wrapper
            self.addCleanup(os.environ.__setitem__, "MOATD", real)
        m.start()
        c = self.client(m)
        self.assertReply(c.reply(), 220)
        c.close()
        self.assertTrue(m.wait_log(r"level=warn msg=\"log syslog: no syslog "
                                   r"daemon at /dev/log"), m.log())
        # The lines that follow are on stderr, not lost.
        self.assertTrue(m.wait_log(r"event=session "), m.log())


if __name__ == "__main__":
    mt.main()
