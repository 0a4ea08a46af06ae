#!/usr/bin/env python3
"""Metrics (issue 17): moatd with metrics_listen serves GET /metrics in
the Prometheus text format 0.0.4 (parsed here by a small strict parser),
anything else is a 404; the counters move by exactly what the test sent
(a clean mail, GTUBE refused, a relay attempt refused, a failed AUTH, two
greylisted attempts), each one checked against moatd's own event= log
lines too; a SIGHUP taken and one refused show in the reload gauges;
`moatctl stats` prints the same numbers."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.abspath(os.path.join(HERE, "..", "..", "rules",
                                     "default.rules"))
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
_SAMPLE = re.compile(r"^(?P<n>%s)(?:\{(?P<l>(?:%s)(?:,%s)*)?\})? (?P<v>\S+)$" %
                     (_NAME, _LABEL, _LABEL))


def parse_exposition(text):
    """Text format 0.0.4 -> {(name, ((label, value), ...)): float}.
    Raises ValueError on anything the format does not allow: a sample of
    a family without # TYPE, a line that does not parse, a duplicate."""
    out, types = {}, {}
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            if typ not in ("counter", "gauge", "histogram", "summary",
                           "untyped") or name in types:
                raise ValueError("bad TYPE line %r" % line)
            types[name] = typ
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("bad sample line %r" % line)
        name = m.group("n")
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and not (base in types and
                                      types[base] == "histogram"):
            raise ValueError("sample before its TYPE: %r" % line)
        labels = tuple(re.findall(_LABEL, m.group("l") or ""))
        labels = tuple((k, v.replace('\\"', '"').replace("\\n", "\n")
                        .replace("\\\\", "\\")) for k, v in labels)
        key = (name, labels)
        if key in out:
            raise ValueError("duplicate sample %r" % line)
        out[key] = float(m.group("v"))
    return out


def get(samples, name, **labels):
    """The value of one series, 0 if absent."""
    want = tuple(sorted(labels.items()))
    for (n, ls), v in samples.items():
        if n == name and tuple(sorted(ls)) == want:
            return v
    return 0


def total(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


def crypt_hash(password):
    return subprocess.run(["openssl", "passwd", "-6", password],
                          check=True, stdout=subprocess.PIPE,
                          timeout=30).stdout.decode().strip()


class Metrics(mt.MoatTestCase):
    SHARED_MOATD = False

    def start(self, conf=None, listen_opts=""):
        self.mport = mt.free_port()
        c = {"metrics_listen": "127.0.0.1:%d" % self.mport}
        c.update(conf or {})
        m = self.start_moatd(c, listen_opts=listen_opts)
        mt.wait_port(self.mport)
        return m

    def scrape(self, path="/metrics"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" %
                                    (self.mport, path), timeout=10) as r:
            self.assertEqual(r.headers.get("Content-Type"),
                             "text/plain; version=0.0.4; charset=utf-8")
            return parse_exposition(r.read().decode())

    def settled(self, m, clients):
        """Scrape once the start's probe and the sessions of clients
        clients are logged and counted (the counters start at moatd's
        start, as its log does)."""
        def done():
            s = self.scrape()
            n = len(m.sessions())
            return s if total(s, "moat_sessions_total") == n == \
                1 + clients else None
        s = mt.poll(done, timeout=10)
        self.assertIsNotNone(s, m.log())
        return s

    def delta(self, before, after, name, **labels):
        return get(after, name, **labels) - get(before, name, **labels)

    def assertMatchesLog(self, m, after):
        """Every event=tx and event=session line of the log since the
        start is counted once, with its labels, and nothing else is."""
        want = {}
        for t in m.txs():
            k = (("listener", "smtp"), ("status", t["status"]),
                 ("verdict", t["verdict"]))
            want[k] = want.get(k, 0) + 1
        got = {}
        for (n, ls), v in after.items():
            if n == "moat_transactions_total":
                got[tuple(sorted(ls))] = v
        self.assertEqual(got, want, m.log())
        want = {}
        for s in m.sessions():
            want[s["reason"]] = want.get(s["reason"], 0) + 1
        got = {dict(ls)["reason"]: v for (n, ls), v in after.items()
               if n == "moat_sessions_total"}
        self.assertEqual(got, want)

    def test_format_and_404(self):
        m = self.start()
        s = self.scrape()
        self.assertEqual(get(s, "moat_build_info",
                             version=self.version(m)), 1)
        self.assertEqual(get(s, "moat_config_last_reload_successful"), 1)
        self.assertGreater(get(s, "moat_config_last_reload_timestamp_"
                               "seconds"), 1.6e9)
        self.assertEqual(get(s, "moat_transaction_seconds_count"), 0)
        for path in ("/", "/metricsx", "/other"):
            with self.assertRaises(urllib.error.HTTPError) as cm:
                self.scrape(path)
            self.assertEqual(cm.exception.code, 404)

    def version(self, m):
        out = subprocess.run([mt.moatd_path(), "--version"],
                             stdout=subprocess.PIPE, timeout=10)
        return out.stdout.decode().split()[-1]

    def test_parser_rejects_bad_text(self):
        for bad in ("x 1\n", "# TYPE x counter\nx{a=\"1} 2\n",
                    "# TYPE x counter\nx 1\nx 1\n",
                    "# TYPE x counter\nx 1"):
            with self.assertRaises(ValueError, msg=bad):
                parse_exposition(bad)

    def test_counters_move_by_what_was_sent(self):
        tmp = mt.mkdtemp("moat-met-")
        self.addCleanup(mt.rmtree, tmp)
        passwd = os.path.join(tmp, "passwd")
        with open(passwd, "w") as f:
            f.write("alice:%s\n" % crypt_hash("alice-secret"))
        m = self.start({"rules": RULES, "passwd": passwd},
                       listen_opts="auth=optional auth_plaintext=on")
        before = self.settled(m, 0)

        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("EHLO client.test"), 250)
        # A clean mail, delivered.
        r = self.send_mail(c, ["alice@example.test"],
                           mt.make_message(self.tok))
        self.assertReply(r[-1], 250)
        # GTUBE: refused after DATA.
        r = self.send_mail(c, ["bob@example.test"],
                           mt.make_message(self.tok + "g",
                                           body=GTUBE + "\r\n"))
        self.assertReply(r[-1], 550, "5.7.1")
        # A foreign recipient: relay refused at RCPT.
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<x@elsewhere.test>"), 554, "5.7.1")
        self.assertReply(c.cmd("RSET"), 250)
        # A wrong password.
        self.assertReply(c.cmd("AUTH PLAIN " + base64.b64encode(
            b"\0alice\0wrong").decode(), timeout=30), 535)
        self.assertReply(c.cmd("QUIT"), 221)
        after = self.settled(m, 1)

        def d(name, **kw):
            return self.delta(before, after, name, **kw)

        self.assertEqual(d("moat_transactions_total", listener="smtp",
                           verdict="accept", status="sent"), 1, m.log())
        self.assertEqual(d("moat_refusals_total", stage="data",
                           code="550 5.7.1"), 1)
        self.assertEqual(d("moat_refusals_total", stage="rcpt",
                           code="554 5.7.1"), 1)
        self.assertEqual(total(after, "moat_refusals_total") -
                         total(before, "moat_refusals_total"), 2)
        self.assertEqual(d("moat_rule_hits_total", rule="MOAT_GTUBE"), 1)
        self.assertEqual(d("moat_auth_total", result="bad-password"), 1,
                         m.log())
        self.assertEqual(total(after, "moat_auth_total") -
                         total(before, "moat_auth_total"), 1)
        self.assertEqual(d("moat_sessions_total", listener="smtp",
                           reason="quit"), 1)
        self.assertEqual(d("moat_greylist_total", result="new"), 0)
        self.assertEqual(d("moat_transaction_seconds_count"),
                         total(after, "moat_transactions_total") -
                         total(before, "moat_transactions_total"))
        # The backend's reply to the clean message was waited for.
        self.assertGreaterEqual(d("moat_wait_seconds_count", wait="DATA"), 1)
        self.assertMatchesLog(m, after)
        self.check_moatctl(m, after)

    def test_greylist_outcomes(self):
        m = self.start({"greylist": "on", "greylist_delay": "1h"})
        before = self.settled(m, 0)
        for _ in range(2):
            c = self.client(m)
            c.greet()
            self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 451,
                             "4.7.1")
            self.assertReply(c.cmd("QUIT"), 221)
        after = self.settled(m, 2)
        self.assertEqual(self.delta(before, after, "moat_greylist_total",
                                    result="new"), 1, m.log())
        self.assertEqual(self.delta(before, after, "moat_greylist_total",
                                    result="pending"), 1)
        # Two trips to the greylist store, timed.
        self.assertEqual(self.delta(before, after, "moat_wait_seconds_count",
                                    wait="GREY"), 2)
        self.assertMatchesLog(m, after)

    def test_reload_state(self):
        m = self.start()
        s0 = self.scrape()
        m.signal(signal.SIGHUP)
        s1 = mt.poll(lambda: (lambda s: s if get(
            s, "moat_config_reloads_total", result="ok") == 1 else None)(
            self.scrape()))
        self.assertTrue(s1, m.log())
        self.assertEqual(get(s1, "moat_config_last_reload_successful"), 1)
        self.assertGreaterEqual(
            get(s1, "moat_config_last_reload_timestamp_seconds"),
            get(s0, "moat_config_last_reload_timestamp_seconds"))
        m.write_config(m.config_text() + "no_such_key 1\n")
        m.signal(signal.SIGHUP)
        s2 = mt.poll(lambda: (lambda s: s if get(
            s, "moat_config_reloads_total", result="refused") == 1
            else None)(self.scrape()))
        self.assertTrue(s2, m.log())
        self.assertEqual(get(s2, "moat_config_last_reload_successful"), 0)
        # The time is that of the configuration still in force.
        self.assertEqual(
            get(s2, "moat_config_last_reload_timestamp_seconds"),
            get(s1, "moat_config_last_reload_timestamp_seconds"))

    def check_moatctl(self, m, samples):
        """moatctl stats (text and --json) shows the numbers just scraped
        (nothing was sent in between)."""
        ctl = os.environ.get("MOATCTL", "")
        r = subprocess.run([ctl, "stats", "--json", "-c", m.conf_path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        js = json.loads(r.stdout)
        for (name, ls), v in samples.items():
            if name.startswith("moat_transaction_seconds") or \
                    name == "moat_config_last_reload_timestamp_seconds":
                continue
            key = name + ("{%s}" % ",".join('%s="%s"' % kv for kv in ls)
                          if ls else "")
            self.assertEqual(js.get(key), v, key)
        r = subprocess.run([ctl, "stats", "-c", m.conf_path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        tx = int(get(samples, "moat_transactions_total", listener="smtp",
                     verdict="accept", status="sent"))
        self.assertRegex(text, r"(?m)^\s*transactions\s.*smtp.*accept.*"
                         r"sent\s+%d$" % tx)
        self.assertRegex(text, r"(?m)^\s*refusals\s+rcpt 554 5\.7\.1\s+1$")


if __name__ == "__main__":
    mt.main()
