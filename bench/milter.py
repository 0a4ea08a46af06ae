#!/usr/bin/env python3
"""
bench/milter.py -- what moat-milter costs Postfix (issue 15).

A private Postfix (the integration harness's, loopback only) that discards
what it accepts, fed by smtp-source at 1 and 50 sessions, three ways,
interleaved round by round: Postfix alone; Postfix with moat-milter in
smtpd_milters (the rules moat ships: default.rules, plus SpamAssassin's
stock rules with --sa); and, when rspamd is installed, Postfix with
rspamd's proxy worker in milter mode (local checks only).  Then the
latency one transaction gains: MAIL..end of DATA over one session, timed
here, p50 and p90.  It prints figures; it is not a test and asserts
nothing about time.

What it deliberately does not do: it does not tune Postfix beyond the
harness's settings, and it does not isolate itself from other load (it
prints the load average).  Every process it starts is stopped by its pid.

Needs root, postfix (smtp-source), miltertest-free; a built moat-milter.
Usage: bench/milter.py --milter BUILDDIR/moat-milter [--sa] [--rounds N]
                       [--unix] [--no-rspamd]
--unix: moat-milter on a unix socket (what contrib/postfix.md recommends)
instead of inet on the loopback.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests",
                                "integration"))
import moattest as mt  # noqa: E402
import mltest  # noqa: E402

SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
RSPAMD = shutil.which("rspamd")

# name, sessions (-s), messages (-m)
CASES = (("1 session", 1, 300), ("50 sessions", 50, 2000))


class BenchPostfix(mt.Postfix):
    """The harness's Postfix, discarding mail, with an optional milter."""

    def __init__(self, milter=None):
        super().__init__()
        self.milter = milter

    def write_config(self):
        super().write_config()
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write("virtual_mailbox_domains =\n"
                    "relay_domains = example.test\n"
                    "relay_transport = discard:bench\n"
                    "smtpd_sender_restrictions =\n"
                    "smtpd_relay_restrictions = permit_auth_destination, "
                    "reject\n"
                    "header_checks =\n"
                    "default_process_limit = 200\n")
            if self.milter:
                f.write("smtpd_milters = %s\nmilter_protocol = 6\n"
                        "milter_default_action = tempfail\n" % self.milter)


def smtp_source(port, sessions, count):
    t0 = time.monotonic()
    p = subprocess.run([SMTP_SOURCE, "-s", str(sessions), "-m", str(count),
                        "-l", "4096", "-f", "bob@bench.test",
                        "-t", "alice@example.test", "-c",
                        "127.0.0.1:%d" % port],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=600)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError("smtp-source: %s" % p.stderr.decode())
    return count / dt


def latency(port, n=200):
    """Seconds per MAIL..end of DATA on one session, n times."""
    msg = mt.make_message("bench")
    c = mt.Client(port, src="127.0.0.1")
    c.greet()
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        c.cmd("MAIL FROM:<bob@bench.test>")
        c.cmd("RCPT TO:<alice@example.test>")
        c.cmd("DATA")
        c.send(mt.dot_stuff(msg))
        r = c.reply()
        out.append(time.monotonic() - t0)
        if r.code != 250:
            raise RuntimeError("end of DATA: %r" % r)
    c.cmd("QUIT")
    c.close()
    return out


def rspamd_start(tmp):
    """rspamd with only its proxy worker, in milter mode, scanning itself
    (self_scan), with the checks that ask the network turned off."""
    port = mt.free_port()
    conf = os.path.join(tmp, "rspamd")
    for d in ("local.d", "override.d", "db", "run"):
        os.makedirs(os.path.join(conf, d), exist_ok=True)
    os.system("chown -R _rspamd %s" % conf)
    files = {
        "override.d/worker-proxy.inc":
            'bind_socket = "127.0.0.1:%d";\nmilter = yes;\ntimeout = 120s;\n'
            'count = 2;\nupstream "local" { default = yes; '
            'self_scan = yes; }\n' % port,
        "override.d/worker-normal.inc": "count = -1;\n",
        "override.d/worker-controller.inc": "count = -1;\n",
        # No resolver to ask: the checks that need one are off.
        "local.d/options.inc": 'dns { nameserver = ["127.0.0.1:9"]; '
            "timeout = 0.1s; retransmits = 0; }\n",
    }
    for mod in ("rbl", "spf", "dkim", "dmarc", "asn", "fuzzy_check",
                "mx_check", "neural", "ratelimit", "greylist", "replies",
                "url_redirector", "arc", "dkim_signing", "arc_signing",
                "reputation", "history_redis", "whitelist", "phishing",
                "emails", "external_relay"):
        files["local.d/%s.conf" % mod] = "enabled = false;\n"
    for name, text in files.items():
        with open(os.path.join(conf, name), "w") as f:
            f.write(text)
    p = subprocess.Popen([RSPAMD, "-f", "-u", "_rspamd", "-g", "_rspamd",
                          "-c", "/etc/rspamd/rspamd.conf",
                          "--var=LOCAL_CONFDIR=" + conf,
                          "--var=DBDIR=" + os.path.join(conf, "db"),
                          "--var=RUNDIR=" + os.path.join(conf, "run")],
                         stdout=open(os.path.join(tmp, "rspamd.log"), "wb"),
                         stderr=subprocess.STDOUT)
    mt.wait_port(port, 60)
    return p, "inet:127.0.0.1:%d" % port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--milter", required=True)
    ap.add_argument("--sa", action="store_true",
                    help="moat-milter also loads SpamAssassin's stock rules")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-rspamd", action="store_true",
                    help="leave rspamd's column out even when installed")
    ap.add_argument("--unix", action="store_true",
                    help="moat-milter on a unix socket, not inet")
    a = ap.parse_args()
    # A SIGTERM (a timeout, make) still stops what was started, by pid.
    signal.signal(signal.SIGTERM, mt._interrupted)
    if os.geteuid() != 0:
        sys.exit("bench/milter.py: needs root (a private Postfix)")
    os.environ["MOAT_MILTER"] = os.path.abspath(a.milter)
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    rules = os.path.join(os.path.dirname(HERE), "rules", "default.rules")
    conf = {"rules": rules}
    if a.sa:
        conf["sa_rules"] = "on"
    milter = mltest.Milter(conf)
    if a.unix:
        sock = os.path.join(milter.dir, "milter.sock")
        milter.conn_override = "unix:" + sock
    milter.start()
    mconn = "inet:127.0.0.1:%d" % milter.port
    if a.unix:
        # No `user` here: Postfix's smtpd (user postfix) must reach the
        # root-owned 0660 socket in a 0700 temp dir.
        os.chmod(milter.dir, 0o755)
        os.chmod(sock, 0o666)
        mconn = "unix:" + sock
    setups = [("postfix", None), ("postfix+moat-milter", mconn)]
    rsp = None
    tmp = mt.mkdtemp("moat-bench-")
    if RSPAMD and not a.no_rspamd:
        rsp, conn = rspamd_start(tmp)
        setups.append(("postfix+rspamd", conn))
    else:
        print("rspamd not installed (or --no-rspamd): its column is "
              "left out")
    pfs = []
    try:
        for name, conn in setups:
            pfs.append((name, BenchPostfix(conn).start()))
        rates = {(n, c[0]): [] for n, _ in setups for c in CASES}
        for r in range(a.rounds):
            for case in CASES:
                for name, pf in pfs:
                    rates[(name, case[0])].append(
                        smtp_source(pf.port, case[1], case[2]))
        lat = {name: latency(pf.port) for name, pf in pfs}
        print("\n%-26s %14s %14s %10s %10s" % ("", CASES[0][0] + " msg/s",
                                             CASES[1][0] + " msg/s",
                                             "p50 ms", "p90 ms"))
        base = statistics.median(lat["postfix"])
        for name, _ in pfs:
            q = statistics.quantiles(lat[name], n=10)
            print("%-26s %14.0f %14.0f %10.2f %10.2f" % (
                name, statistics.median(rates[(name, CASES[0][0])]),
                statistics.median(rates[(name, CASES[1][0])]),
                statistics.median(lat[name]) * 1000, q[8] * 1000))
        for name, _ in pfs[1:]:
            print("%s adds %.2f ms p50 per transaction" % (
                name, (statistics.median(lat[name]) - base) * 1000))
        n = len([l for l in milter.log().splitlines()
                 if re.search(r"\bevent=tx\b", l)])
        print("moat-milter logged %d transactions" % n)
        print("load average at end: %.2f %.2f %.2f" % os.getloadavg())
    finally:
        for _, pf in pfs:
            pf.cleanup()
        milter.cleanup()
        if rsp:
            rsp.terminate()
            rsp.wait(30)
        mt.rmtree(tmp)


if __name__ == "__main__":
    main()
