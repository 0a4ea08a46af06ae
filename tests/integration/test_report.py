#!/usr/bin/env python3
"""moatctl report (issue 17) on real moatd log lines: moatd runs with the
default rules and greylisting in front of a scripted backend; clean mail
is delivered, GTUBE refused, a foreign recipient refused, a greylisted
sender comes back and passes, AUTH fails, a dead backend fails.  The
report's figures must equal what the log lines say, counted here
independently; the same log as rotated, gzip'd pieces and in JSON format
must give the same figures, and hostile values must not break the JSON."""

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
from test_auth import crypt_hash  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RULES = os.path.join(TOP, "rules", "default.rules")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def moatctl():
    return os.environ.get("MOATCTL") or os.path.join(
        os.path.dirname(os.environ["MOATD"]), "moatctl")


def report(*args, stdin=None):
    r = subprocess.run([moatctl(), "report", "--json", "--top", "1000"] +
                       list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout.decode())


def table(rep, name):
    return {e["key"]: e["count"] for e in rep[name]}


def scenario(test, fmt):
    """Run every case against a moatd logging in fmt; its log lines."""
    fb = mt.FakeBackend("ok")
    test.addCleanup(fb.close)
    passwd = os.path.join(test.tmp, "passwd")
    with open(passwd, "w") as f:
        f.write("alice:%s\n" % crypt_hash("alice-secret"))
    m = mt.Moatd(fb.port, {"rules": RULES, "greylist": "on",
                           "greylist_delay": "1s", "greylist_cache_ttl": "0",
                           "passwd": passwd, "log_format": fmt})
    m.conf["listen"] = "127.0.0.1:%d auth=optional auth_plaintext=on" % \
        m.port
    test.addCleanup(m.cleanup)
    m.start()
    tok = mt.token()

    def mail(src, sender, rcpts, msg):
        c = mt.Client(m.port, src=src)
        try:
            c.greet("report.test")
            out = test.send_mail(c, rcpts, msg, sender=sender)
            c.cmd("QUIT")
            return out
        finally:
            c.close()

    # Greylisted first, then passed after the delay.
    rs = mail("127.0.0.2", "grey@sender.test", ["alice@example.test"],
              mt.make_message(tok))
    test.assertEqual(rs[1].code, 451, rs)
    time.sleep(1.5)
    rs = mail("127.0.0.2", "grey@sender.test", ["alice@example.test"],
              mt.make_message(tok))
    test.assertEqual(rs[-1].code, 250, rs)
    # GTUBE from a sender that already passed greylisting.
    rs = mail("127.0.0.2", "grey@sender.test", ["alice@example.test"],
              mt.make_message(tok, body=GTUBE + "\r\n"))
    test.assertEqual(rs[-1].code, 550, rs)
    # A foreign recipient, and a hostile sender value.
    c = mt.Client(m.port, src="127.0.0.3")
    try:
        c.greet("x")
        test.assertReply(c.cmd('MAIL FROM:<"a\\"b c"@evil.test>'), 250)
        test.assertEqual(c.cmd("RCPT TO:<bob@foreign.test>").code, 554)
        c.cmd("QUIT")
    finally:
        c.close()
    c = mt.Client(m.port, src="127.0.0.4")
    try:
        c.greet()
        c.cmd("AUTH PLAIN AGFsaWNlAHdyb25n")
        c.cmd("QUIT")
    finally:
        c.close()
    deadline = time.monotonic() + 10
    while len(m.sessions()) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    m.stop()
    # A second moatd whose backend is gone: one backend error.
    m2 = mt.Moatd(mt.free_port(), {"log_format": fmt})
    test.addCleanup(m2.cleanup)
    m2.start()
    c = mt.Client(m2.port, src="127.0.0.5")
    try:
        c.greet()
        c.cmd("MAIL FROM:<dead@sender.test>")
        c.cmd("RCPT TO:<alice@example.test>")
        c.cmd("QUIT")
    finally:
        c.close()
    m2.wait_log(r'event=backend |"event":"backend"')
    m2.stop()
    return m.log_lines() + m2.log_lines()


def expected(lines):
    """The figures counted from the logfmt lines with moattest's parser."""
    ev = [mt.parse_logfmt(l) for l in lines if " event=" in l]
    e = {"sessions": 0, "transactions": 0, "refusals": 0,
         "auth_failures": 0, "verdicts": {}, "rules": {}, "clients": {},
         "greylist": {}, "domains": {}, "backend": 0}
    for d in ev:
        k = d.get("event")
        if k == "session":
            e["sessions"] += 1
        elif k == "tx":
            e["transactions"] += 1
            v = d["verdict"]
            e["verdicts"][v] = e["verdicts"].get(v, 0) + 1
            for hit in filter(None, d.get("rules", "").split(",")):
                name = hit.split("=")[0]
                e["rules"][name] = e["rules"].get(name, 0) + 1
            if d.get("status") == "refused":
                for r in filter(None, d.get("rcpt", "").split(",")):
                    dom = r.rsplit("@", 1)[1].lower()
                    e["domains"][dom] = e["domains"].get(dom, 0) + 1
            g = d.get("greylist")
            if g and g != "off":
                e["greylist"][g] = e["greylist"].get(g, 0) + 1
        elif k == "reject":
            e["refusals"] += 1
            c = d["client"]
            e["clients"][c] = e["clients"].get(c, 0) + 1
            if "rcpt" in d:
                dom = d["rcpt"].rsplit("@", 1)[1].lower()
                e["domains"][dom] = e["domains"].get(dom, 0) + 1
        elif k == "auth_failed":
            e["auth_failures"] += 1
        elif k == "backend" or (k == "backend_check" and
                                d.get("result") == "unreachable"):
            e["backend"] += 1
    return e


def figures(rep):
    """What a run of the same scenario must repeat, times left out, and
    sessions too: moattest's wait for the listener may connect more than
    once."""
    out = {k: rep[k] for k in ("transactions", "refusals",
                               "auth_failures", "greylist_pairs",
                               "greylist_passed")}
    for k in ("verdicts", "statuses", "refusal_stages", "refusal_replies",
              "rules_by_hits", "greylist", "refused_recipient_domains",
              "auth_failure_results"):
        out[k] = table(rep, k)
    out["backend_errors"] = sum(table(rep, "backend_errors").values())
    return out


class Report(mt.MoatTestCase):
    NEED_POSTFIX = False
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="moat-report-")
        self.addCleanup(mt.rmtree, self.tmp)

    def test_report(self):
        lines = scenario(self, "logfmt")
        text = "\n".join(lines) + "\n"
        rep = report(stdin=text.encode())
        e = expected(lines)
        self.assertEqual(rep["sessions"], e["sessions"])
        self.assertEqual(rep["transactions"], e["transactions"])
        self.assertEqual(rep["refusals"], e["refusals"])
        self.assertEqual(rep["auth_failures"], e["auth_failures"])
        self.assertEqual(table(rep, "verdicts"), e["verdicts"])
        self.assertEqual(table(rep, "rules_by_hits"), e["rules"])
        self.assertEqual(table(rep, "refused_clients"), e["clients"])
        self.assertEqual(table(rep, "greylist"), e["greylist"])
        self.assertEqual(table(rep, "refused_recipient_domains"),
                         e["domains"])
        self.assertEqual(sum(table(rep, "backend_errors").values()),
                         e["backend"])
        # The scenario did what it says.
        self.assertIn("MOAT_GTUBE", e["rules"])
        # RCPT refused (relay) and a message refused (GTUBE) both count.
        self.assertEqual(e["domains"], {"foreign.test": 1,
                                        "example.test": 1})
        self.assertGreaterEqual(e["verdicts"].get("reject", 0), 1)
        self.assertGreaterEqual(e["verdicts"].get("accept", 0), 1)
        self.assertEqual(e["greylist"].get("new"), 1)
        # At start (backend_check) and for the one session.
        self.assertEqual(e["backend"], 2)
        self.assertEqual(rep["greylist_pairs"], 1)
        self.assertEqual(rep["greylist_passed"], 1)
        d = rep["greylist_delay_s"]
        self.assertTrue(1 <= d["min"] <= 3, d)
        score = {x["key"]: x["score"] for x in rep["rules_by_score"]}
        self.assertGreaterEqual(score["MOAT_GTUBE"], 1000)
        self.assertEqual(sum(h["sessions"] for h in rep["hours"]),
                         e["sessions"])

        # Rotated pieces, one of them gzip'd, in any order: the same.
        half = len(lines) // 2
        p1 = os.path.join(self.tmp, "moat.log.1")
        p2 = os.path.join(self.tmp, "moat.log.2.gz")
        with open(p1, "w") as f:
            f.write("\n".join(lines[half:]) + "\n")
        with gzip.open(p2, "wt") as f:
            f.write("\n".join(lines[:half]) + "\n")
        self.assertEqual(report(p1, p2), rep)
        # Syslog form: no ts=, a syslog prefix.
        sl = ["Dec  6 16:11:42 mx moatd[42]: " + re.sub(r"^ts=\S+ ", "", l)
              for l in lines]
        self.assertEqual(figures(report(stdin="\n".join(sl).encode())),
                         figures(rep))

        # The text form names the same things.
        r = subprocess.run([moatctl(), "report", p1, p2],
                           stdout=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for needle in ("Messages by verdict", "GTUBE", "foreign.test",
                       "Per hour"):
            self.assertIn(needle, out)

        # JSON log format: the same figures for the same scenario.
        jl = scenario(self, "json")
        self.assertEqual(figures(report(stdin="\n".join(jl).encode())),
                         figures(rep))

    def test_hostile_and_broken_input(self):
        # Lines that are not moatd's, cut lines, raw bytes: the JSON
        # output stays valid and nothing is counted from them.
        junk = (b"\xff\xfe garbage\n" b"event=reject session=1 client=\x1b[31m"
                b" stage=\"x\\\n" b"{\"event\":\"tx\",\"verdict\":\"a\\\n"
                b"ts=2026-12-06T10:00:00Z event=tx verdict=accept "
                b"rules=\"A=1,B=2\"\n" + b"x" * 200000 + b"\n" +
                b"y" * (3 << 20) + b"\n" +
                b"ts=2026-12-06T11:00:00Z event=tx verdict=tag\n")
        rep = report(stdin=junk)
        self.assertEqual(rep["transactions"], 3)
        self.assertEqual(table(rep, "rules_by_hits"), {"A": 1, "B": 1})
        # The 3 MiB line is one line, skipped whole, not read as several.
        self.assertEqual(rep["lines"], 7)
        self.assertEqual(rep["foreign_lines"], 3)
        # A cut gzip file is an error, not a short report.
        cut = os.path.join(self.tmp, "cut.gz")
        with open(cut, "wb") as f:
            f.write(gzip.compress(b"ts=2026-12-06T10:00:00Z event=tx\n" *
                                  1000)[:40])
        r = subprocess.run([moatctl(), "report", cut],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"unexpected end of file", r.stderr)
        r = subprocess.run([moatctl(), "report", "/nonexistent/log"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"/nonexistent/log", r.stderr)


if __name__ == "__main__":
    mt.main()
