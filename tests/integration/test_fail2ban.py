#!/usr/bin/env python3
"""The shipped fail2ban filter (contrib/fail2ban, issue 17) against real
moatd log lines: moatd runs, clients fail AUTH, pregreet, send too many bad
commands and an over-long line, and a well-behaved client and the AUTH
logins carry hostile values (`x client=6.6.6.6`, a CR LF and a forged
event line); fail2ban-regex must find exactly the abusers' addresses, in
logfmt and JSON, as a file with ts=, as syslog and as the journal writes
it, and never an address a client wrote.  The jail example must parse.
SKIPs without fail2ban-regex (Debian package fail2ban)."""

import ast
import base64
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
from test_auth import crypt_hash  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILTER = os.path.join(TOP, "contrib", "fail2ban", "filter.d", "moat.conf")
JAIL = os.path.join(TOP, "contrib", "fail2ban", "jail.d", "moat.local")
F2B_REGEX = shutil.which("fail2ban-regex")
F2B_CLIENT = shutil.which("fail2ban-client")

AUTH_IP, PREGREET_IP, ERRORS_IP, LONG_IP, CLEAN_IP, SOFT_IP = (
    "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6",
    "127.0.0.7")
# What normal mode must find: three failed AUTHs, one pregreeter, one
# client closed for errors, one for an over-long line.
EXPECTED = {AUTH_IP: 3, PREGREET_IP: 1, ERRORS_IP: 1, LONG_IP: 1}

HOSTILE_LOGINS = (
    "x client=6.6.6.6",
    'y" client=6.6.6.7 ',
    "z\r\nevent=auth_failed session=0000000000000000 client=6.6.6.8 x",
)


def first_banner_line(c):
    """Wait for "220-": moatd is then in its greet_wait, for sure.  (Input
    that arrives while the connect-stage store check is still pending is
    not seen as pregreeting: reported with issue 17.)"""
    deadline = time.monotonic() + 10
    while b"220-" not in c.buf and time.monotonic() < deadline:
        c._fill(10)
    assert b"220-" in c.buf, c.buf


def abuse(m):
    """Drive moatd m through every case, then stop it (its log complete)."""
    c = mt.Client(m.port, src=AUTH_IP)
    try:
        c.greet("client=6.6.6.9")
        for login in HOSTILE_LOGINS:
            blob = base64.b64encode(b"\0" + login.encode() + b"\0wrong")
            r = c.cmd("AUTH PLAIN " + blob.decode())
            assert r.code == 535, r
        c.cmd("QUIT")
    finally:
        c.close()
    # Pregreet: talk after the first banner line, before the last.
    c = mt.Client(m.port, src=PREGREET_IP)
    try:
        first_banner_line(c)
        c.send("EHLO pregreet.test\r\n")
        c.wait_closed(10)
    finally:
        c.close()
    c = mt.Client(m.port, src=ERRORS_IP)
    try:
        c.greet()
        for _ in range(30):
            r = c.cmd("BOGUS client=6.6.6.10")
            if r.code == 421:
                break
        c.wait_closed(10)
    finally:
        c.close()
    c = mt.Client(m.port, src=LONG_IP)
    try:
        c.greet()
        c.send(b"NOOP " + b"x" * 2000 + b"\r\n")
        c.wait_closed(10)
    finally:
        c.close()
    # A client that behaves, with values that imitate the patterns.
    c = mt.Client(m.port, src=CLEAN_IP)
    try:
        c.greet("event=auth_failed")
        c.cmd('MAIL FROM:<"x client=6.6.6.11 reason=too-many-errors'
              ' ms=1"@sender.test>')
        c.cmd("RSET")
        c.cmd("QUIT")
    finally:
        c.close()
    deadline = time.monotonic() + 10
    while len(m.sessions()) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    m.stop()
    return m.log_lines()


def soft_pregreet(m):
    """pregreet_action ignore: moatd logs event=pregreet and carries on."""
    c = mt.Client(m.port, src=SOFT_IP)
    try:
        first_banner_line(c)
        c.send("EHLO soft.test\r\n")
        time.sleep(1.5)
        c.send("QUIT\r\n")
        c.wait_closed(10)
    finally:
        c.close()
    m.wait_log(r"event=session .*client=%s" % re.escape(SOFT_IP))
    m.stop()
    return m.log_lines()


def as_syslog(lines):
    """What rsyslog writes for `log syslog`: no ts=, a syslog prefix."""
    return ["Dec  6 16:11:42 mx moatd[4242]: " + re.sub(r"^ts=\S+ ", "", l)
            for l in lines]


def as_journal(lines):
    """What fail2ban's systemd backend hands the filter: host, tag, text."""
    return ["mx moatd[4242]: " + l for l in lines]


class Fail2ban(mt.MoatTestCase):
    NEED_POSTFIX = False
    SHARED_MOATD = False
    logs = {}

    @classmethod
    def setUpClass(cls):
        if F2B_REGEX is None:
            raise unittest.SkipTest("fail2ban-regex not installed")
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="moat-f2b-")
        passwd = os.path.join(cls.tmp, "passwd")
        with open(passwd, "w") as f:
            f.write("alice:%s\n" % crypt_hash("alice-secret"))
        cls.fb = mt.FakeBackend("ok")
        try:
            for fmt in ("logfmt", "json"):
                m = mt.Moatd(cls.fb.port, {
                    "passwd": passwd, "greet_wait": "1s",
                    "max_errors": "5", "log_format": fmt})
                m.conf["listen"] = ("127.0.0.1:%d auth=optional "
                                    "auth_plaintext=on" % m.port)
                try:
                    m.start()
                    cls.logs[fmt] = abuse(m)
                finally:
                    m.cleanup()
            m = mt.Moatd(cls.fb.port, {"greet_wait": "1s",
                                       "pregreet_action": "ignore"})
            try:
                m.start()
                cls.logs["soft"] = soft_pregreet(m)
            finally:
                m.cleanup()
        except BaseException:
            cls.fb.close()
            mt.rmtree(cls.tmp)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.fb.close()
        mt.rmtree(cls.tmp)
        super().tearDownClass()

    def banned(self, lines, flt=FILTER):
        """fail2ban-regex on lines: Counter of the addresses it found."""
        path = os.path.join(self.tmp, "log-%s" % self.tok)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([F2B_REGEX, "-o", "ip", path, flt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return collections.Counter(r.stdout.decode().split())

    def assertBans(self, lines, expected, flt=FILTER):
        got = self.banned(lines, flt)
        self.assertEqual(dict(got), expected,
                         "fail2ban-regex found %r in:\n%s" %
                         (dict(got), "\n".join(lines)))

    def test_logs_hold_the_hostile_values(self):
        # The scenario did what it says: otherwise the other tests
        # would prove nothing.
        text = "\n".join(self.logs["logfmt"])
        for needle in ("client=6.6.6.6", "client=6.6.6.7",
                       "client=6.6.6.8", "6.6.6.11", "reason=pregreet",
                       "reason=too-many-errors", "reason=line-too-long",
                       'helo="event=auth_failed"'):
            self.assertIn(needle, text)
        self.assertEqual(len([l for l in self.logs["logfmt"]
                              if re.match(r"ts=\S+ event=auth_failed ", l)]),
                         3)

    def test_logfmt_file(self):
        self.assertBans(self.logs["logfmt"], EXPECTED)

    def test_json_file(self):
        self.assertBans(self.logs["json"], EXPECTED)

    def test_syslog(self):
        self.assertBans(as_syslog(self.logs["logfmt"]), EXPECTED)
        self.assertBans(as_syslog(self.logs["json"]), EXPECTED)

    def test_journal(self):
        self.assertBans(as_journal(self.logs["logfmt"]), EXPECTED)
        self.assertBans(as_journal(self.logs["json"]), EXPECTED)

    def test_mode_auth(self):
        self.assertBans(self.logs["logfmt"], {AUTH_IP: 3},
                        FILTER + "[mode=auth]")

    def test_mode_aggressive(self):
        # A pregreeter moatd let carry on is abuse only in aggressive mode.
        self.assertBans(self.logs["soft"], {})
        self.assertBans(self.logs["soft"], {SOFT_IP: 1},
                        FILTER + "[mode=aggressive]")
        self.assertBans(self.logs["logfmt"], EXPECTED,
                        FILTER + "[mode=aggressive]")

    def test_jail_parses(self):
        # fail2ban's own reader on a copy of the system configuration
        # with our filter and jail (both jails enabled).
        if F2B_CLIENT is None or not os.path.isdir("/etc/fail2ban"):
            self.skipTest("no fail2ban-client or /etc/fail2ban")
        etc = os.path.join(self.tmp, "etc-%s" % self.tok)
        shutil.copytree("/etc/fail2ban", etc, symlinks=True)
        shutil.copy(FILTER, os.path.join(etc, "filter.d"))
        with open(JAIL) as f:
            jail = f.read().replace("enabled  = false", "enabled  = true")
        with open(os.path.join(etc, "jail.d", "moat.local"), "w") as f:
            f.write(jail)
        r = subprocess.run([F2B_CLIENT, "-c", etc, "-d"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        regexes = {}
        for line in out.splitlines():
            if line.startswith("['multi-set', 'moat") and \
                    "'addfailregex'" in line:
                cmd = ast.literal_eval(line)
                regexes[cmd[1]] = cmd[3]
        self.assertEqual(sorted(regexes), ["moat", "moat-auth"], out[-2000:])
        self.assertEqual(len(regexes["moat"]), 6)
        # mode=auth: the logfmt and JSON AUTH patterns, nothing else.
        self.assertEqual(len(regexes["moat-auth"]), 2)
        for rx in regexes["moat-auth"]:
            self.assertIn("auth_failed", rx)


if __name__ == "__main__":
    mt.main()
