#!/usr/bin/env python3
"""
bench/sender-auth-moatd.py -- what SPF + DKIM + DMARC cost inside moatd.

Two moatd, alike but for the checks (spf/dkim/dmarc on against a private
dnsmasq that answers from its own records, or all off), in front of one
smtp-sink, driven in one run, interleaved round by round.  Per mode:
moatd's CPU per message (utime+stime from /proc/PID/stat, delta over the
messages sent), the latency of a transaction (MAIL..end of DATA over one
session, timed here: p50/p99), and, while that session runs, the round
trip of NOOPs on a second session (p50/p99): a stalled event loop would
show there.  Both load rules/auth.rules (parsing and header rewriting
happen either way).  Each message is DKIM-signed (RSA 2048, relaxed) by
python3-dkim, From a domain with SPF and DMARC p=reject; the DNS answers
are warm in moatd's cache after the first message.  It prints figures; it
is not a test.

    usage: bench/sender-auth-moatd.py BUILDDIR [N] [ROUNDS]

Every process it starts is stopped by its pid; it listens on 127.0.0.1
only.  Needs smtp-sink (Debian: postfix), dnsmasq, python3-dkim, openssl.
"""

import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.append("/usr/lib/python3/dist-packages")
import dkim  # noqa: E402
import dnstest  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, what):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("%s exited" % what)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("%s does not listen" % what)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


class Smtp:
    def __init__(self, port):
        # As 192.0.2.1 (bench.test's SPF allows it) through a PROXY v1
        # listener: libspf2 passes any loopback client unasked.
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.sendall(b"PROXY TCP4 192.0.2.1 127.0.0.1 40000 %d\r\n" %
                       port)
        self.f = self.s.makefile("rb")
        self.reply()

    def reply(self):
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed")
            if line[3:4] != b"-":
                return int(line[:3])

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.cmd(b"QUIT")
        except (OSError, EOFError):
            pass
        self.s.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def main():
    builddir = sys.argv[1] if len(sys.argv) > 1 else "."
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    moatd = os.path.join(os.path.abspath(builddir), "moatd")
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                         input=pem, capture_output=True, check=True).stdout
    zone = [("bench.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("_dmarc.bench.test", "TXT", "v=DMARC1; p=reject"),
            ("s1._domainkey.bench.test", "TXT",
             "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())]
    msg = (b"From: Alice <alice@bench.test>\r\nTo: bob@example.test\r\n"
           b"Subject: bench\r\nMessage-ID: <b@bench.test>\r\n"
           b"Date: Sun, 06 Dec 2026 17:00:00 +0000\r\n\r\n" +
           b"A line of a message body of ordinary length, about 70 bytes."
           b"\r\n" * 60)
    msg = dkim.sign(msg, b"s1", b"bench.test", pem,
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"to", b"subject",
                                     b"date"]) + msg
    tmp = tempfile.TemporaryDirectory()
    procs = []
    dns = dnstest.DnsServer(zone, local=["test"]).start()
    try:
        sink = free_port()
        sp = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "root", "-c",
                               "127.0.0.1:%d" % sink, "4096"],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        procs.append(sp)
        wait_port(sink, sp, "smtp-sink")
        ports = {}
        for mode in ("off", "on"):
            port = free_port()
            spool = os.path.join(tmp.name, mode)
            os.makedirs(spool)
            conf = os.path.join(tmp.name, mode + ".conf")
            with open(conf, "w") as f:
                f.write("listen 127.0.0.1:%d proxy=v1\n"
                        "backend 127.0.0.1:%d\n"
                        "backend_identity none\nlog stderr\n"
                        "reverse_dns off\nhostname moat.bench\n"
                        "local_domains example.test\ngreet_wait 0\n"
                        "workers 1\nspool_dir %s\n"
                        "dns_resolver %s\n" % (port, sink, spool,
                                               dns.address))
                # Both with rules/auth.rules: the message is parsed and
                # its header rewritten either way, as in any real setup,
                # so the difference is the checks.
                f.write("rules %s\n" % os.path.join(TOP, "rules",
                                                    "auth.rules"))
                onoff = "on" if mode == "on" else "off"
                f.write("spf %s\ndkim %s\ndmarc %s\n" % (onoff, onoff,
                                                         onoff))
            p = subprocess.Popen([moatd, "-c", conf],
                                 stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(tmp.name, mode +
                                                          ".log"), "wb"))
            procs.append(p)
            wait_port(port, p, "moatd")
            ports[mode] = (port, p)
        res = {m: {"cpu": [], "lat": [], "noop": []} for m in ports}
        hz = os.sysconf("SC_CLK_TCK")
        for _ in range(rounds):
            for mode, (port, p) in ports.items():
                stop = threading.Event()
                noops = []

                def pinger():
                    c = Smtp(port)
                    c.cmd(b"EHLO ping.bench.test")
                    while not stop.is_set():
                        t0 = time.perf_counter()
                        c.cmd(b"NOOP")
                        noops.append(time.perf_counter() - t0)
                        time.sleep(0.002)
                    c.close()

                c = Smtp(port)
                c.cmd(b"EHLO mx.bench.test")
                th = threading.Thread(target=pinger)
                th.start()
                t_cpu = cpu_ticks(p.pid)
                for i in range(n):
                    t0 = time.perf_counter()
                    if c.cmd(b"MAIL FROM:<bounce@bench.test>") != 250 or \
                            c.cmd(b"RCPT TO:<bob@example.test>") != 250 or \
                            c.cmd(b"DATA") != 354:
                        sys.exit("%s: refused" % mode)
                    c.s.sendall(msg + b".\r\n")
                    if c.reply() != 250:
                        sys.exit("%s: message refused" % mode)
                    res[mode]["lat"].append(time.perf_counter() - t0)
                res[mode]["cpu"].append((cpu_ticks(p.pid) - t_cpu) / hz / n)
                stop.set()
                th.join()
                c.close()
                res[mode]["noop"].extend(noops)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        dns.cleanup()
        tmp.cleanup()
    print("sender-auth in moatd: %d messages x %d rounds per mode "
          "(%d bytes, RSA-2048 DKIM, SPF, DMARC p=reject), one worker"
          % (n, rounds, len(msg)))
    for mode in ("off", "on"):
        r = res[mode]
        print("  checks %-3s  CPU %.3f ms/msg   tx latency p50 %.2f ms "
              "p99 %.2f ms   other session's NOOP p50 %.2f ms p99 %.2f ms"
              % (mode, statistics.median(r["cpu"]) * 1000,
                 pct(r["lat"], 50) * 1000, pct(r["lat"], 99) * 1000,
                 pct(r["noop"], 50) * 1000, pct(r["noop"], 99) * 1000))
    print("  added: CPU %.3f ms/msg (target <= 0.3), latency p50 %+.2f ms "
          "p99 %+.2f ms" % (
              (statistics.median(res["on"]["cpu"]) -
               statistics.median(res["off"]["cpu"])) * 1000,
              (pct(res["on"]["lat"], 50) - pct(res["off"]["lat"], 50)) * 1000,
              (pct(res["on"]["lat"], 99) - pct(res["off"]["lat"], 99)) * 1000))


if __name__ == "__main__":
    main()
