#!/usr/bin/env python3
"""
bench/proxy.py -- what moatd costs as a hop between an SMTP client and an MTA.

Drives Postfix's smtp-source at smtp-sink three ways, interleaved round by
round (direct, haproxy, moatd, direct, haproxy, moatd, ...): straight to the
sink; through HAProxy in TCP mode, which relays bytes without parsing SMTP and
so is the cost of one proxy hop and the ceiling for any SMTP proxy; and
through moatd.  Then the latency one transaction gains (sequential
MAIL..end-of-DATA over one session, timed here), and moatd's resident memory
per idle session.  It prints figures next to the targets of the issue; it is
not a test and asserts nothing about time.

What it deliberately does not do: it runs no rules, TLS, AUTH or Redis (moatd
is configured as a bare proxy), it never listens beyond 127.0.0.1, and it
does not try to isolate itself from other load on the machine; it prints the
load average at start and end so a reader can judge the figures.

Invariants: every process it starts is stopped by its pid on exit (normal
exit, exception, SIGINT, SIGTERM); every wait and loop has a bound.

--old BINARY runs a second moatd (an older build, e.g. main at the merge
base built in another build dir) with the same config, interleaved with the
others in every round, and the summary gives new/old ratios: a change's
cost measured in one run, under the same load.

Python 3 standard library only.  Needs smtp-source, smtp-sink (Debian:
postfix), haproxy and a built moatd.  See bench/README.md.
"""

import argparse
import atexit
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# With --old, a fourth: an older moatd binary, same config, same rounds.
MODES = ["direct", "haproxy", "moatd"]

# name, parallel sessions (smtp-source -s), payload bytes (-l), messages (-m)
CASES = (
    ("1 session, 4 KiB", 1, 4096, 2000),
    ("50 sessions, 4 KiB", 50, 4096, 5000),
    ("20 sessions, 256 KiB", 20, 262144, 600),
)

TARGET_RATIO_50 = 0.75      # moatd / haproxy at 50 sessions
TARGET_LAT_P50_MS = 0.5     # added latency per transaction, p50
TARGET_IDLE_KIB = 32.0      # RSS per idle session

SENDER = "bob@bench.test"
RCPT = "alice@example.test"

children = {}               # name -> Popen, stopped by pid at exit
workdir = None
keep_workdir = False


def log(*a):
    print(*a, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, timeout=10.0):
    """Wait until 127.0.0.1:port accepts, or the process died, or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("bench: %s exited with %d before listening"
                     % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench: %s does not listen on %d after %.0fs"
             % (what, port, timeout))


def start(name, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                         stderr=stderr)
    children[name] = p
    return p


def stop(name, sig=signal.SIGTERM):
    """Stop one child by its pid: sig, then SIGKILL after 5 s."""
    p = children.pop(name, None)
    if p is None or p.poll() is not None:
        return
    try:
        os.kill(p.pid, sig)
        p.wait(5)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(5)
    except ProcessLookupError:
        pass


def cleanup():
    for name in list(children):
        stop(name)
    if workdir and not keep_workdir:
        shutil.rmtree(workdir, ignore_errors=True)


def on_signal(signum, frame):
    sys.exit(128 + signum)      # runs atexit, so cleanup()


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def pct(sorted_xs, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_xs:
        return float("nan")
    k = max(0, min(len(sorted_xs) - 1,
                   int(round(p / 100.0 * len(sorted_xs) + 0.5)) - 1))
    return sorted_xs[k]


def mark(ok):
    return "meets target" if ok else "MISSES target"


# ---- a small SMTP client for latency and idle sessions ----

class Smtp:
    """One blocking SMTP session; replies read whole (multi-line aware)."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb", buffering=65536)

    def reply(self):
        for _ in range(100):
            line = self.rf.readline(4096)
            if len(line) < 4:
                raise RuntimeError("short reply %r" % line)
            if line[3:4] != b"-":
                return int(line[:3])
        raise RuntimeError("reply of more than 100 lines")

    def cmd(self, data, want):
        self.sock.sendall(data)
        code = self.reply()
        if code != want:
            raise RuntimeError("%r: got %d, wanted %d"
                               % (data[:40], code, want))

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.reply()
        except OSError:
            pass
        self.rf.close()
        self.sock.close()


def message(size):
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n"
            "Message-ID: <bench@bench.test>\r\n\r\n" % (SENDER, RCPT))
    line = b"x" * 76 + b"\r\n"
    body = (line * (size // len(line) + 1))[:max(0, size - 2)] + b"\r\n"
    return head.encode() + body + b".\r\n"


def latency_run(port, n, msg):
    """n sequential transactions over one session; seconds per transaction,
    MAIL sent to final reply read."""
    c = Smtp(port)
    out = []
    try:
        if c.reply() != 220:
            raise RuntimeError("no 220 banner")
        c.cmd(b"EHLO bench.test\r\n", 250)
        mail = ("MAIL FROM:<%s>\r\n" % SENDER).encode()
        rcpt = ("RCPT TO:<%s>\r\n" % RCPT).encode()
        for _ in range(n):
            t0 = time.perf_counter()
            c.cmd(mail, 250)
            c.cmd(rcpt, 250)
            c.cmd(b"DATA\r\n", 354)
            c.cmd(msg, 250)
            out.append(time.perf_counter() - t0)
    finally:
        c.close()
    return out


# ---- the three things measured ----

def run_source(port, sessions, length, count, reuse, timeout):
    argv = [args.smtp_source, "-s", str(sessions), "-m", str(count),
            "-l", str(length), "-f", SENDER, "-t", RCPT, "-M", "bench.test"]
    if reuse:
        argv.append("-d")
    argv.append("127.0.0.1:%d" % port)
    t0 = time.monotonic()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=timeout)
    dt = time.monotonic() - t0
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode != 0 or err:
        log("  smtp-source -> %d failed (rc %d): %s"
            % (port, r.returncode, err[:300]))
        return None
    return count / dt


def cpu_seconds(pid):
    """User + system CPU of a process, all its threads, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_order(r):
    """The modes of round r: the two moatd swap places every other round,
    so that neither always runs right after HAProxy or first when warm."""
    return MODES if r % 2 == 0 else MODES[:2] + MODES[2:][::-1]


def throughput(ports, pids, rounds, scale, reuse):
    """Rates (msg/s) and, for the proxies, CPU microseconds per message,
    per case and mode.  The CPU figure suffers less from other load on
    the machine than the rate does."""
    results = {}
    cpu = {}
    sent = 0
    for name, sessions, length, count in CASES:
        count = max(sessions, int(count * scale))
        log("\n== %s: smtp-source -s %d -l %d -m %d%s, %d rounds =="
            % (name, sessions, length, count, " -d" if reuse else "",
               rounds))
        rates = {m: [] for m in MODES}
        us = {m: [] for m in pids}
        for r in range(rounds):
            row = []
            for m in round_order(r):
                c0 = cpu_seconds(pids[m]) if m in pids else 0.0
                rate = run_source(ports[m], sessions, length, count, reuse,
                                  timeout=120)
                c1 = cpu_seconds(pids[m]) if m in pids else 0.0
                sent += count
                if rate is not None:
                    rates[m].append(rate)
                    if m in pids:
                        us[m].append((c1 - c0) * 1e6 / count)
                row.append("%s %7.1f" % (m, rate or 0.0))
            log("  round %d: %s msg/s;  CPU/msg: %s" % (
                r + 1, "  ".join(row),
                "  ".join("%s %.0f us" % (m, us[m][-1] if us[m] else 0)
                          for m in pids)))
        results[name] = rates
        cpu[name] = us
    return results, cpu, sent


def latency(ports, n, rounds, size):
    msg = message(size)
    per = max(1, n // rounds)
    samples = {m: [] for m in MODES}
    for r in range(rounds):
        for m in round_order(r):
            samples[m].extend(latency_run(ports[m], per, msg))
    for m in MODES:
        samples[m].sort()
    return samples, per * rounds


def idle_rss(port, pid, n):
    """RSS of pid before and after n sessions that said EHLO and sit."""
    # Warm up both workers and the allocator: a few full transactions.
    for _ in range(4):
        latency_run(port, 2, message(4096))
    time.sleep(0.5)
    before = vmrss_kib(pid)
    conns = []
    failed = 0
    deadline = time.monotonic() + 60
    try:
        for _ in range(n):
            if time.monotonic() > deadline:
                break
            try:
                c = Smtp(port, timeout=5)
                conns.append(c)
                if c.reply() != 220:
                    raise RuntimeError("no banner")
                c.cmd(b"EHLO idle.bench.test\r\n", 250)
            except (OSError, RuntimeError) as e:
                failed += 1
                if failed == 1:
                    log("  idle session failed: %s" % e)
        time.sleep(1.0)
        after = vmrss_kib(pid)
    finally:
        for c in conns:
            c.rf.close()
            c.sock.close()
    return before, after, len(conns) - failed, failed


# ---- setup ----

HAPROXY_CFG = """\
global
    maxconn 8000
    nbthread {threads}
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend bench
    bind 127.0.0.1:{port}
    default_backend sink
backend sink
    server sink 127.0.0.1:{sink}
"""

MOATD_CFG = """\
listen 127.0.0.1:{port}
backend 127.0.0.1:{sink}
backend_identity none
hostname moat.bench
local_domains example.test
trusted_networks 127.0.0.0/8
greet_wait 0
log stderr
spool_dir {spool}
workers {threads}
max_sessions_per_ip 10000
max_sessions 20000
max_commands 100000
listen_backlog 4096
"""


# Directives a moatd may not know yet: tried one by one with moatd -t, and
# left out (with a note) where refused.  No reverse DNS: the hop is measured
# without lookups (a resolver that does not answer would stall every MAIL
# for dns_timeout), as HAProxy makes none either.
MOATD_OPTIONAL = ("reverse_dns off",)


def write_moatd_cfg(path, base):
    text = base
    for line in MOATD_OPTIONAL:
        with open(path, "w") as f:
            f.write(text + line + "\n")
        r = subprocess.run([args.moatd, "-t", "-c", path],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        if r.returncode == 0:
            text += line + "\n"
        else:
            log("note: this moatd refuses '%s', left out" % line)
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([args.moatd, "-t", "-c", path],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    if r.returncode != 0:
        sys.exit("bench: moatd -t refuses the bench config:\n%s"
                 % r.stderr.decode(errors="replace"))


def find_moatd():
    for cand in (os.environ.get("MOATD"), "./moatd"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def parse_args():
    p = argparse.ArgumentParser(
        description="moatd vs a TCP relay vs direct, smtp-source/smtp-sink")
    p.add_argument("--moatd", default=find_moatd(),
                   help="moatd binary (default: $MOATD, else ./moatd)")
    p.add_argument("--haproxy", default=shutil.which("haproxy") or
                   "/usr/sbin/haproxy")
    p.add_argument("--smtp-source", default="/usr/sbin/smtp-source")
    p.add_argument("--smtp-sink", default="/usr/sbin/smtp-sink")
    p.add_argument("--rounds", type=int, default=3,
                   help="interleaved rounds per case (default 3)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply message counts (default 1.0)")
    p.add_argument("--threads", type=int, default=2,
                   help="moatd workers and HAProxy threads (default 2)")
    p.add_argument("--latency-tx", type=int, default=2000,
                   help="transactions per mode for latency (default 2000)")
    p.add_argument("--idle", type=int, default=2000,
                   help="idle sessions for the memory figure (default 2000)")
    p.add_argument("--reuse", action="store_true",
                   help="smtp-source -d: many messages per connection")
    p.add_argument("--only", choices=("throughput", "latency", "idle"),
                   action="append", help="run only these parts")
    p.add_argument("--perf", metavar="FILE",
                   help="perf record -g moatd during its runs into FILE")
    p.add_argument("--old", metavar="MOATD",
                   help="also run this (older) moatd and compare with it")
    p.add_argument("--keep", action="store_true",
                   help="keep the temp dir (configs, moatd log)")
    return p.parse_args()


def main():
    global workdir, keep_workdir, args
    args = parse_args()
    parts = set(args.only or ("throughput", "latency", "idle"))
    if args.old:
        MODES.append("old")
    for what, path in (("moatd", args.moatd), ("haproxy", args.haproxy),
                       ("smtp-source", args.smtp_source),
                       ("smtp-sink", args.smtp_sink)) + \
            ((("old moatd", args.old),) if args.old else ()):
        if not path or not os.access(path, os.X_OK):
            sys.exit("bench: %s not found (%s); see bench/README.md"
                     % (what, path))
    if args.rounds < 1 or args.rounds > 50:
        sys.exit("bench: --rounds must be 1..50")

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    nofile = raise_nofile(args.idle + 20000)
    workdir = tempfile.mkdtemp(prefix="moat-bench-")
    keep_workdir = args.keep
    os.mkdir(os.path.join(workdir, "spool"), 0o700)

    t_start = time.monotonic()
    log("moat proxy bench  %s" % time.strftime("%Y-%m-%d %H:%M:%S %z"))
    log("host: %s, %d CPUs, load average at start: %s"
        % (os.uname().release, os.cpu_count(), loadavg()))
    log("moatd %s, %d workers; haproxy %d threads; RLIMIT_NOFILE %d"
        % (args.moatd, args.threads, args.threads, nofile))
    if args.reuse:
        log("smtp-source -d: messages share connections")
    else:
        log("smtp-source without -d: one connection per message")

    ports = {m: free_port() for m in MODES}
    sink = free_port()
    ports["direct"] = sink
    sink_out = open(os.path.join(workdir, "sink.out"), "wb")
    sink_argv = [args.smtp_sink, "-c"]
    if os.geteuid() == 0:
        sink_argv += ["-u", "root"]
    sp = start("smtp-sink", sink_argv + ["127.0.0.1:%d" % sink, "4096"],
               stdout=sink_out)
    wait_port(sink, sp, "smtp-sink")

    hcfg = os.path.join(workdir, "haproxy.cfg")
    with open(hcfg, "w") as f:
        f.write(HAPROXY_CFG.format(port=ports["haproxy"], sink=sink,
                                   threads=args.threads))
    hp = start("haproxy", [args.haproxy, "-db", "-f", hcfg],
               stderr=open(os.path.join(workdir, "haproxy.log"), "wb"))
    wait_port(ports["haproxy"], hp, "haproxy")

    mcfg = os.path.join(workdir, "moat.conf")
    write_moatd_cfg(mcfg, MOATD_CFG.format(
        port=ports["moatd"], sink=sink, spool=os.path.join(workdir, "spool"),
        threads=args.threads))
    mp = start("moatd", [args.moatd, "-c", mcfg],
               stderr=open(os.path.join(workdir, "moatd.log"), "wb"))
    wait_port(ports["moatd"], mp, "moatd")
    log("pids: smtp-sink %d, haproxy %d, moatd %d; workdir %s"
        % (sp.pid, hp.pid, mp.pid, workdir))
    pids = {"haproxy": hp.pid, "moatd": mp.pid}
    if args.old:
        os.mkdir(os.path.join(workdir, "spool-old"), 0o700)
        ocfg = os.path.join(workdir, "moat-old.conf")
        new_moatd, args.moatd = args.moatd, args.old
        write_moatd_cfg(ocfg, MOATD_CFG.format(
            port=ports["old"], sink=sink,
            spool=os.path.join(workdir, "spool-old"), threads=args.threads))
        args.moatd = new_moatd
        op = start("old", [args.old, "-c", ocfg],
                   stderr=open(os.path.join(workdir, "moatd-old.log"), "wb"))
        wait_port(ports["old"], op, "old moatd")
        pids["old"] = op.pid
        log("old moatd %s: pid %d" % (args.old, op.pid))

    idle, sent = None, 0
    if "idle" in parts:
        # First, on a fresh moatd, so the heap is not already grown.
        log("\n== idle sessions: %d, banner + EHLO, then silent ==" % args.idle)
        idle = idle_rss(ports["moatd"], mp.pid, args.idle)
        sent += 8   # the warm-up transactions
        log("  moatd VmRSS %d KiB before, %d KiB after, %d sessions open, "
            "%d failed" % idle)
        time.sleep(1.0)     # let moatd see the closes

    if args.perf:
        start("perf", ["perf", "record", "-g", "-q", "-o", args.perf,
                       "-p", str(mp.pid)],
              stderr=open(os.path.join(workdir, "perf.log"), "wb"))
        time.sleep(1.0)

    tput = None
    if "throughput" in parts:
        tput, cpu, n = throughput(ports, pids, args.rounds, args.scale,
                                  args.reuse)
        sent += n

    lat = None
    if "latency" in parts:
        log("\n== latency: %d sequential transactions per mode, 4 KiB, "
            "20 interleaved blocks, one session each ==" % args.latency_tx)
        lat, n = latency(ports, args.latency_tx, 20, 4096)
        sent += 3 * n

    if args.perf:
        stop("perf", signal.SIGINT)

    # The sink's own counter, to see that every message went through.
    stop("moatd")
    stop("old")
    stop("haproxy")
    stop("smtp-sink")
    sink_out.close()
    with open(os.path.join(workdir, "sink.out"), "rb") as f:
        tail = f.read()[-200:].decode(errors="replace")
    got = tail.rsplit("mesg=", 1)[-1].split("s")[0] if "mesg=" in tail \
        else "?"

    # ---- summary ----
    log("\n================ summary (median of rounds) ================")
    if tput:
        log("%-22s %10s %10s %10s  %8s %8s %8s"
            % ("case", "direct", "haproxy", "moatd", "m/direct", "h/direct",
               "m/h"))
        for name, _, _, _ in CASES:
            med = {m: (statistics.median(tput[name][m])
                       if tput[name][m] else float("nan")) for m in MODES}
            log("%-22s %10.1f %10.1f %10.1f  %7.0f%% %7.0f%% %7.0f%%"
                % (name, med["direct"], med["haproxy"], med["moatd"],
                   100 * med["moatd"] / med["direct"],
                   100 * med["haproxy"] / med["direct"],
                   100 * med["moatd"] / med["haproxy"]))
            if name.startswith("50 "):
                ratio_50 = med["moatd"] / med["haproxy"]
        log("  (messages/s; m = moatd, h = haproxy)")
        log("%-22s %14s %14s  %8s" % ("proxy CPU per message", "haproxy",
                                      "moatd", "m/h"))
        for name, _, _, _ in CASES:
            med = {m: (statistics.median(cpu[name][m])
                       if cpu[name][m] else float("nan"))
                   for m in ("haproxy", "moatd")}
            log("%-22s %11.0f us %11.0f us  %7.1fx"
                % (name, med["haproxy"], med["moatd"],
                   med["moatd"] / med["haproxy"] if med["haproxy"]
                   else float("nan")))
        log("target: moatd >= %.0f%% of the TCP relay at 50 sessions: "
            "%.0f%%, %s" % (100 * TARGET_RATIO_50, 100 * ratio_50,
                            mark(ratio_50 >= TARGET_RATIO_50)))
        if args.old:
            log("\nnew moatd vs old (%s), medians of the same rounds:"
                % args.old)
            for name, _, _, _ in CASES:
                rate = {m: statistics.median(tput[name][m])
                        if tput[name][m] else float("nan")
                        for m in ("moatd", "old")}
                us = {m: statistics.median(cpu[name][m])
                      if cpu[name][m] else float("nan")
                      for m in ("moatd", "old")}
                log("  %-22s rate new/old %.3f   CPU per message new/old "
                    "%.3f" % (name, rate["moatd"] / rate["old"],
                              us["moatd"] / us["old"]))
    if lat:
        log("\nlatency per transaction (MAIL..end of DATA, 4 round trips), ms:")
        p = {m: (pct(lat[m], 50) * 1e3, pct(lat[m], 99) * 1e3)
             for m in MODES}
        for m in MODES:
            extra = ""
            if m != "direct":
                extra = "   added: p50 %+.3f  p99 %+.3f" % (
                    p[m][0] - p["direct"][0], p[m][1] - p["direct"][1])
            log("  %-8s p50 %7.3f  p99 %7.3f%s" % (m, p[m][0], p[m][1],
                                                   extra))
        added = p["moatd"][0] - p["direct"][0]
        log("target: added latency < %.1f ms p50: %.3f ms, %s"
            % (TARGET_LAT_P50_MS, added, mark(added < TARGET_LAT_P50_MS)))
        if args.old:
            log("new vs old: p50 %.3f vs %.3f ms (ratio %.3f), p99 %.3f vs "
                "%.3f ms" % (p["moatd"][0], p["old"][0],
                             p["moatd"][0] / p["old"][0], p["moatd"][1],
                             p["old"][1]))
    if idle:
        before, after, ok, failed = idle
        per = (after - before) / ok if ok else float("nan")
        log("\nidle sessions: %d open (%d failed), VmRSS %d -> %d KiB, "
            "%.1f KiB per session" % (ok, failed, before, after, per))
        log("target: <= %.0f KiB per idle session: %s"
            % (TARGET_IDLE_KIB, mark(per <= TARGET_IDLE_KIB)))
    log("\nsink counted %s messages, %d sent through it" % (got, sent))
    log("load average at end: %s; wall time %.0f s"
        % (loadavg(), time.monotonic() - t_start))
    log("figures are preliminary when other work shares the CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
