#!/usr/bin/env python3
"""
bench/milter.py -- what a spam milter costs Postfix (issue 15): moat-milter
against rspamd's milter and against Postfix alone.

Private Postfix instances (the integration harness's, loopback only) that
discard what they accept, fed by smtp-source at 1 and 50 sessions with
the same 4 KiB newsletter-like message (text and HTML, a few links), one
Postfix per column, interleaved round by round so that load from
elsewhere hits every column alike:

  postfix              Postfix alone
  moat                 + moat-milter, rules/default.rules
  moat+sa              + moat-milter, default.rules and SpamAssassin's
                         stock rules (sa_rules on: what `moatctl --sa-stock`
                         loads)
  rspamd               + rspamd 3.4's proxy worker in milter mode
                         (self_scan), its own rules
  rspamd+sa            the same with its spamassassin module loading the
                         same stock SpamAssassin files

Both engines run with Hyperscan, as rspamd does by default (moat's
`hyperscan on`; `--moat-hs-cache ''` for moat's default, off), each with
its databases cached between runs (/var/tmp/moat-bench-hs,
/var/tmp/moat-bench-rspamd: the first run compiles them, minutes), and
no column is measured before its databases are loaded.

rspamd runs with local checks only: the modules that ask the network
(RBLs, SPF, DKIM, DMARC, fuzzy, ...) are off, and its resolver is a
private one in this script that answers NXDOMAIN at once, so no column
waits on the machine's DNS (it prints how many queries it answered).
Then the latency one transaction gains: MAIL..end of DATA on one
session, timed here, p50 and p90, and what each column adds to Postfix
alone.  It prints figures; it is not a test and asserts nothing about
time.

Sockets: unix (the default; what contrib/postfix.md recommends) or tcp on
the loopback, or both (`--sockets unix,tcp`: every milter column twice).

Bounded: every wait has a deadline (smtp-source runs under a timeout);
every process it starts is stopped by its pid (Postfix by its master's
process group, rspamd by its main process's group), also on SIGTERM.

Needs root, postfix (smtp-source), a built moat-milter; rspamd optional.
Usage: bench/milter.py --milter BUILDDIR/moat-milter [--rounds N]
                       [--sockets unix|tcp|unix,tcp] [--no-rspamd]
                       [--no-sa] [--quick] [--moat-hs-cache DIR|'']
                       [--rspamd-cache DIR]
"""

import argparse
import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests",
                                "integration"))
import moattest as mt  # noqa: E402
import mltest  # noqa: E402

SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
RSPAMD = shutil.which("rspamd")
SA_FILES = ("/usr/share/spamassassin/*.cf", "/etc/spamassassin/*.cf")

# name, sessions (-s), messages (-m); --quick divides the messages by 5.
CASES = [("1 session", 1, 300), ("50 sessions", 50, 2000)]


def log(msg):
    print(msg, flush=True)


def bench_message():
    """The message every column judges: a plain newsletter a list sends,
    ~4 KiB, multipart text and HTML with links, so that header, body,
    rawbody and URI rules all have something to read, and ham by every
    rule set here (a refusal would fail smtp-source)."""
    para = ("This week the allotment society met at the community hall to "
            "plan the spring planting. Thanks to everyone who brought seed "
            "potatoes, and to Margaret for the minutes. The water butts "
            "are fixed, and the shed key is with the secretary again.")
    text = "\r\n".join([para] * 5)
    html = "".join("<p>%s</p>\r\n" % para for _ in range(4))
    html += ('<p>Minutes: <a href="https://allotments.example.org/minutes/'
             '2026-11">allotments.example.org/minutes</a>. Rota: <a href='
             '"https://allotments.example.org/rota">the rota</a>.</p>\r\n')
    hdr = ["Return-Path: <bob@bench.test>",
           "From: Allotment Society <bob@bench.test>",
           "To: <alice@example.test>",
           "Subject: Allotment society: minutes of the November meeting",
           "Date: Tue, 24 Nov 2026 10:00:00 +0000",
           "Message-ID: <minutes-2026-11@bench.test>",
           "MIME-Version: 1.0",
           "List-Id: Allotment Society <news.bench.test>",
           'Content-Type: multipart/alternative; boundary="b1"']
    body = ["This is a multi-part message in MIME format.", "",
            "--b1", "Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: 7bit", "", text,
            "Minutes: https://allotments.example.org/minutes/2026-11", "",
            "--b1", "Content-Type: text/html; charset=us-ascii",
            "Content-Transfer-Encoding: 7bit", "",
            "<html><body>\r\n" + html + "</body></html>", "", "--b1--", ""]
    return ("\r\n".join(hdr) + "\r\n\r\n" + "\r\n".join(body)).encode()


class NullDNS:
    """A resolver on 127.0.0.1 that answers every query NXDOMAIN at once,
    so a milter that asks DNS never waits on the machine's resolver (the
    cause of rspamd's minutes per 300 messages here before).  Counts the
    queries."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.done = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done:
            try:
                q, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(q) < 12:
                continue
            self.queries += 1
            # Same id and question; QR, opcode and RD kept, RA, NXDOMAIN;
            # no answers.  Everything after the question (EDNS) dropped.
            end = 12
            while end < len(q) and q[end] != 0:
                end += q[end] + 1
            end += 5
            flags = bytes([0x80 | (q[2] & 0x79), 0x83])
            r = q[:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + \
                q[12:end]
            try:
                self.sock.sendto(r, peer)
            except OSError:
                pass

    def stop(self):
        self.done = True
        self.thread.join(5)
        self.sock.close()


class Rspamd:
    """rspamd with only its proxy worker, in milter mode, scanning itself
    (self_scan), the checks that ask the network off, NullDNS as its
    resolver, everything (config, hyperscan cache, log) in its own
    directory.  Stopped by the pid it started (its own session)."""

    OFF = ("rbl", "spf", "dkim", "dmarc", "asn", "fuzzy_check", "mx_check",
           "neural", "ratelimit", "greylist", "replies", "url_redirector",
           "arc", "dkim_signing", "arc_signing", "reputation",
           "history_redis", "whitelist", "phishing", "emails",
           "external_relay", "surbl", "rspamd_update", "maillist_sender",
           "metadata_exporter", "clickhouse", "elastic", "p0f", "dcc",
           "antivirus", "external_services", "bimi", "aws_s3")

    def __init__(self, name, dns_port, sa, tcp, hs_cache):
        self.name = name
        self.dir = mt.mkdtemp("moat-bench-rspamd-")
        # One cache per rule set, kept between runs: compiling rspamd's
        # hyperscan databases takes minutes on two busy cores.
        self.hs_cache = os.path.join(hs_cache, "sa" if sa else "own")
        self.sa = sa
        self.tcp = tcp
        self.dns_port = dns_port
        self.proc = None
        if tcp:
            self.port = mt.free_port()
            self.conn = "inet:127.0.0.1:%d" % self.port
            self.bind = "127.0.0.1:%d" % self.port
        else:
            sock = os.path.join(self.dir, "run", "milter.sock")
            self.conn = "unix:" + sock
            self.bind = sock + " mode=0666"
        self.log_path = os.path.join(self.dir, "log", "rspamd.log")

    def write_config(self):
        for d in ("local.d", "override.d", "db", "run", "log"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        files = {
            # Two proxies: two cores here, and moat-milter's engine is
            # one thread plus libmilter's per connection.
            "override.d/worker-proxy.inc":
                'bind_socket = "%s";\nmilter = yes;\ntimeout = 120s;\n'
                'count = 2;\nupstream "local" { default = yes; '
                'self_scan = yes; }\n' % self.bind,
            "override.d/worker-normal.inc": "enabled = false;\n",
            "override.d/worker-controller.inc": "enabled = false;\n",
            "local.d/options.inc":
                'dns { nameserver = ["127.0.0.1:%d"]; timeout = 1s; '
                'retransmits = 1; }\nhs_cache_dir = "%s";\n' % (
                    self.dns_port, self.hs_cache),
            "local.d/logging.inc": 'level = "info";\n',
        }
        for mod in self.OFF:
            files["local.d/%s.conf" % mod] = "enabled = false;\n"
        if self.sa:
            files["local.d/spamassassin.conf"] = "ruleset = [%s];\n" % \
                ", ".join('"%s"' % g for g in SA_FILES)
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        os.makedirs(self.hs_cache, exist_ok=True)
        subprocess.run(["chown", "-R", "_rspamd", self.dir, self.hs_cache],
                       check=True)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self):
        self.write_config()
        out = open(os.path.join(self.dir, "stdout.log"), "wb")
        self.proc = subprocess.Popen(
            [RSPAMD, "-f", "-u", "_rspamd", "-g", "_rspamd",
             "-c", "/etc/rspamd/rspamd.conf",
             "--var=LOCAL_CONFDIR=" + self.dir,
             "--var=DBDIR=" + os.path.join(self.dir, "db"),
             "--var=RUNDIR=" + os.path.join(self.dir, "run"),
             "--var=LOGDIR=" + os.path.join(self.dir, "log")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        out.close()
        mt._live.add(self)
        return self

    def ready(self):
        """hs_helper has compiled its hyperscan databases, or found them
        in the cache, and the milter socket is there.  (Before that the
        proxies scan with PCRE, slower, and hs_helper compiles on the
        same cores.)"""
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited:\n%s" % (self.name,
                                                   self.log()[-3000:]))
        if "rspamd_rs_compile_cb: compiled" not in self.log():
            return False
        if not self.tcp:
            return os.path.exists(self.conn[5:])
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def stop(self):
        mt._live.discard(self)
        if self.proc is None or self.proc.poll() is not None:
            return
        pid = self.proc.pid
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        # The workers are in its process group (its own session).
        if not mt.poll(lambda: not mt.pgrp_members(pid), 10):
            for p in mt.pgrp_members(pid):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(10)

    def cleanup(self):
        self.stop()
        mt.rmtree(self.dir)


def set_main_cf(path, settings):
    """Set keys in a main.cf, replacing an earlier entry (and its
    continuation lines) rather than appending a second one.

    Why not append: every Postfix process then warns "overriding earlier
    entry" for each duplicate as it starts, a dozen datagrams at once to
    postlogd, and where net.unix.max_dgram_qlen is the kernel's 10 (a
    machine or container without systemd, whose sysctl.d sets 512) the
    postlog socket's queue fills; postlogd, logging its own copy of those
    warnings to its own socket, then blocks on itself for good, and with
    it every smtpd before its banner.  That was the "hang in postlogd
    before the first message"."""
    out, skip = [], False
    with open(path) as f:
        for ln in f.read().splitlines():
            if ln[:1] in (" ", "\t") and ln.strip():
                if not skip:
                    out.append(ln)
                continue
            skip = ln.split("=")[0].strip() in settings
            if not skip:
                out.append(ln)
    out += ["%s = %s" % kv for kv in settings.items()]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


class BenchPostfix(mt.Postfix):
    """The harness's Postfix, discarding mail, with an optional milter."""

    def __init__(self, milter=None):
        super().__init__()
        self.milter = milter

    def write_config(self):
        super().write_config()
        settings = {
            "virtual_mailbox_domains": "",
            "relay_domains": "example.test",
            "relay_transport": "discard:bench",
            "smtpd_sender_restrictions": "",
            "smtpd_relay_restrictions": "permit_auth_destination, reject",
            "header_checks": "",
            "default_process_limit": "200",
        }
        if self.milter:
            settings.update(smtpd_milters=self.milter, milter_protocol="6",
                            milter_default_action="tempfail")
        set_main_cf(os.path.join(self.conf, "main.cf"), settings)


def moat_milter(sa, tcp, hs_cache):
    rules = os.path.join(os.path.dirname(HERE), "rules", "default.rules")
    conf = {"rules": rules}
    if sa:
        conf["sa_rules"] = "on"
    if hs_cache:
        # As rspamd: Hyperscan, its databases kept between runs.
        d = os.path.join(hs_cache, "sa" if sa else "own")
        os.makedirs(d, exist_ok=True)
        conf.update(hyperscan="on", hyperscan_cache=d)
    m = mltest.Milter(conf)
    if not tcp:
        m.conn_override = "unix:" + os.path.join(m.dir, "milter.sock")
    m.start()
    if tcp:
        return m, "inet:127.0.0.1:%d" % m.port
    # No `user` here: Postfix's smtpd (user postfix) must reach the
    # root-owned 0660 socket in a temp dir.
    os.chmod(m.dir, 0o755)
    os.chmod(m.conn[5:], 0o666)
    return m, m.conn


def smtp_source(port, sessions, count, msgfile):
    t0 = time.monotonic()
    # 600 s is far beyond any column here (the slowest, rspamd+sa at one
    # session, needs well under a minute): a hang ends the run, not CI.
    p = subprocess.run([SMTP_SOURCE, "-s", str(sessions), "-m", str(count),
                        "-F", msgfile, "-f", "bob@bench.test",
                        "-t", "alice@example.test", "-c",
                        "127.0.0.1:%d" % port],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=600)
    dt = time.monotonic() - t0
    if p.returncode != 0 or p.stderr:
        raise RuntimeError("smtp-source: %s" % p.stderr.decode())
    return count / dt


def latency(port, msg, n):
    """Seconds per MAIL..end of DATA on one session, n times."""
    return mltest.transaction_times(port, msg, n, sender="bob@bench.test")


def spread(xs, fmt):
    """median, and the range when there is more than one round."""
    s = fmt % statistics.median(xs)
    if len(xs) > 1:
        s += (" (" + fmt + "-" + fmt + ")") % (min(xs), max(xs))
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--milter", required=True, help="a built moat-milter")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sockets", default="unix",
                    help="unix, tcp or unix,tcp (every milter column on "
                    "each)")
    ap.add_argument("--no-rspamd", action="store_true",
                    help="leave rspamd's columns out even when installed")
    ap.add_argument("--no-sa", action="store_true",
                    help="leave the SpamAssassin-rules columns out")
    ap.add_argument("--sa", action="store_true",
                    help="(kept for make bench-milter; the +sa columns "
                    "are on unless --no-sa)")
    ap.add_argument("--quick", action="store_true",
                    help="a fifth of the messages, 50 latency samples")
    ap.add_argument("--rspamd-cache", default="/var/tmp/moat-bench-rspamd",
                    help="rspamd's hyperscan cache, kept between runs")
    ap.add_argument("--moat-hs-cache", default="/var/tmp/moat-bench-hs",
                    help="moat-milter's hyperscan_cache, kept between runs; "
                    "'' for hyperscan off (moat's default)")
    ap.add_argument("--latency-n", type=int, default=200)
    a = ap.parse_args()
    socks = a.sockets.split(",")
    if not socks or any(s not in ("unix", "tcp") for s in socks):
        ap.error("--sockets: unix, tcp or unix,tcp")
    if os.geteuid() != 0:
        sys.exit("bench/milter.py: needs root (a private Postfix)")
    # A SIGTERM (a timeout, make) still stops what was started, by pid.
    signal.signal(signal.SIGTERM, mt._interrupted)
    atexit.register(mt._stop_all)
    os.environ["MOAT_MILTER"] = os.path.abspath(a.milter)
    cases = [(n, s, m // 5 if a.quick else m) for n, s, m in CASES]
    nlat = 50 if a.quick else a.latency_n
    want_rspamd = RSPAMD and not a.no_rspamd
    log("bench/milter.py %s" % " ".join(sys.argv[1:]))
    log("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    if not want_rspamd:
        log("rspamd not installed (or --no-rspamd): its columns are left "
            "out")

    tmp = mt.mkdtemp("moat-bench-")
    msgfile = os.path.join(tmp, "message.eml")
    msg = bench_message()
    with open(msgfile, "wb") as f:
        f.write(msg)
    dns = NullDNS()
    milters, rspamds, pfs = [], [], []
    try:
        setups = [("postfix", None)]
        for sk in socks:
            tcp = sk == "tcp"
            for sa in (False, True):
                if sa and a.no_sa:
                    continue
                sfx = ("+sa" if sa else "") + " " + sk
                m, conn = moat_milter(sa, tcp, a.moat_hs_cache)
                milters.append(m)
                setups.append(("moat" + sfx, conn))
                if want_rspamd:
                    r = Rspamd("rspamd" + sfx, dns.port, sa, tcp,
                               a.rspamd_cache).start()
                    rspamds.append(r)
                    setups.append((r.name, r.conn))
        if a.moat_hs_cache:
            log("waiting for moat-milter's hyperscan databases ...")
            t0 = time.monotonic()
            if not mt.poll(lambda: all("event=hyperscan" in m.log()
                                       for m in milters), 1500, interval=1):
                raise RuntimeError("moat-milter: no hyperscan after 1500 s")
            for m in milters:
                log("moat-milter %s: %s" % (m.conn, [
                    ln for ln in m.log().splitlines()
                    if "event=hyperscan" in ln][0]))
            log("moat-milter ready after %.0f s" % (time.monotonic() - t0))
        if rspamds:
            # The first start compiles rspamd's hyperscan databases (a
            # minute or more on two busy cores); wait for all of them.
            log("waiting for rspamd's hyperscan databases ...")
            t0 = time.monotonic()
            if not mt.poll(lambda: all(r.ready() for r in rspamds), 900,
                           interval=1):
                raise RuntimeError("rspamd not ready after 900 s")
            # hs_helper tells the proxies a second later; they load it.
            time.sleep(3)
            log("rspamd ready after %.0f s" % (time.monotonic() - t0))
        for name, conn in setups:
            pfs.append((name, BenchPostfix(conn).start()))
        # One message through each first: it warms caches, and a column
        # that refuses the message fails here, not in the middle.
        for name, pf in pfs:
            try:
                latency(pf.port, msg, 1)
            except (OSError, RuntimeError) as e:
                raise RuntimeError("%s (Postfix in %s): %s" % (
                    name, pf.dir, e)) from e

        rates = {(n, c[0]): [] for n, _ in setups for c in cases}
        for r in range(a.rounds):
            for case in cases:
                for name, pf in pfs:
                    t = smtp_source(pf.port, case[1], case[2], msgfile)
                    rates[(name, case[0])].append(t)
                    log("round %d %-11s %-16s %7.1f msg/s" % (
                        r + 1, case[0], name, t))
        lat = {}
        for name, pf in pfs:
            lat[name] = latency(pf.port, msg, nlat)
        base = statistics.median(lat["postfix"])

        log("\nrounds %d; messages per round: %s; latency: %d "
            "transactions per column" % (a.rounds, ", ".join(
                "%d at %s" % (c[2], c[0]) for c in cases), nlat))
        log("\n| column | %s msg/s | %s msg/s | p50 ms | p90 ms | "
            "added p50 ms |" % (cases[0][0], cases[1][0]))
        log("|---|---|---|---|---|---|")
        for name, _ in pfs:
            q = statistics.quantiles(lat[name], n=10)
            p50 = statistics.median(lat[name])
            log("| %s | %s | %s | %.2f | %.2f | %s |" % (
                name, spread(rates[(name, cases[0][0])], "%.0f"),
                spread(rates[(name, cases[1][0])], "%.0f"),
                p50 * 1000, q[8] * 1000,
                "-" if name == "postfix" else "%.2f" % ((p50 - base) *
                                                        1000)))

        def med(name, case):
            return statistics.median(rates[(name, case[0])])
        log("")
        for sk in socks:
            for mo, rs in (("moat+sa", "rspamd"), ("moat+sa", "rspamd+sa"),
                           ("moat", "rspamd")):
                mo, rs = mo + " " + sk, rs + " " + sk
                if (mo, cases[0][0]) not in rates or \
                        (rs, cases[0][0]) not in rates:
                    continue
                log("%s / %s: %s" % (mo, rs, ", ".join(
                    "%.2fx at %s" % (med(mo, c) / med(rs, c), c[0])
                    for c in cases)))
        for m in milters:
            n = len([ln for ln in m.log().splitlines()
                     if re.search(r"\bevent=tx\b", ln)])
            log("moat-milter %s logged %d transactions" % (m.conn, n))
        log("DNS queries to the private resolver: %d" % dns.queries)
        log("load average at end: %.2f %.2f %.2f" % os.getloadavg())
    finally:
        for _, pf in pfs:
            pf.cleanup()
        for m in milters:
            m.cleanup()
        for r in rspamds:
            r.cleanup()
        dns.stop()
        mt.rmtree(tmp)


if __name__ == "__main__":
    main()
