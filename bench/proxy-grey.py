#!/usr/bin/env python3
"""
bench/proxy-grey.py -- what greylisting costs moatd once triplets have passed.

Drives Postfix's smtp-source (50 sessions, 4 KiB messages, one connection
per message) through three moatd in front of smtp-sink, interleaved round by
round: greylisting off; greylisting on with the memory store; greylisting on
with the Redis store (a private redis-server on a unix socket); and a fourth,
off2, greylisting off again, as a control for the noise.  Every
message is one RCPT, so with greylisting on every message is one greylist
check of a triplet that has already passed: the steady state of a busy MX,
where nearly all mail comes from senders seen before.  Then the latency
greylisting adds to one RCPT (sequential MAIL, RCPT, RSET over one session,
the RCPT round trip timed here), and, when store_driver is at hand, the
store's own checks/s without the proxy (as bench/grey-bench.sh).

The triplets are passed before measuring: smtp-source always uses the same
client address, sender and recipient, so one refused attempt per moatd,
greylist_delay (1 s) of waiting and one accepted transaction pass the one
triplet.  The warm-up checks 451 then 250; after the run the moatd logs are
read to check that every measured check was a passed triplet, and each
sink's counter to check that every message arrived.

What it deliberately does not do: it never measures a new or pending
triplet (that path ends in 451 and costs less than a delivery), it runs no
rules, TLS, AUTH or reverse DNS, it never listens beyond 127.0.0.1 (Redis
listens on a unix socket only), and it does not try to isolate itself from
other load on the machine; it prints the load average at start and end.
127.0.0.1 is left out of trusted_networks in every moatd, since a trusted
client is never greylisted.

Invariants: every process it starts is stopped by its pid on exit (normal
exit, exception, SIGINT, SIGTERM), through bench/proxy.py's process table;
every wait and loop has a bound.

Python 3 standard library only.  Needs smtp-source, smtp-sink (Debian:
postfix), redis-server and a built moatd.  See bench/README.md.
"""

import argparse
import atexit
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# bench/proxy.py: process table and cleanup by pid, ports, SMTP client,
# CPU from /proc.  It sits next to this file; no __pycache__ is left in
# the source tree (which may be read-only, as in make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy as pb      # noqa: E402

# off2 is a second moatd with greylisting off, the A/A control: on a shared
# machine, how far apart two identical proxies measure is the noise floor
# of every ratio printed.  main() leaves it out with --no-control.
MODES = ("off", "memory", "redis")
GREY_MODES = ("memory", "redis")

TARGET_COST = 0.10          # greylisting on may cost at most 10 % of msg/s
DELAY_S = 1                 # greylist_delay for the warm-up

SENDER = pb.SENDER
RCPT = pb.RCPT

MOATD_CFG = """\
listen 127.0.0.1:{port}
backend 127.0.0.1:{sink}
backend_identity none
hostname moat.bench
local_domains example.test
trusted_networks 192.0.2.0/24
greet_wait 0
log stderr
spool_dir {spool}
workers {threads}
max_sessions_per_ip 10000
max_sessions 20000
max_commands 100000
listen_backlog 4096
reverse_dns off
"""

GREY_CFG = """\
greylist on
greylist_delay {delay}s
greylist_fcrdns off
store {store}
"""

log = pb.log
args = None


def write_moatd_cfg(path, text):
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([args.moatd, "-t", "-c", path],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    if r.returncode != 0:
        sys.exit("bench: moatd -t refuses %s:\n%s"
                 % (path, r.stderr.decode(errors="replace")))


def start_redis(workdir):
    """A private redis-server on a unix socket only (port 0: no TCP), no
    persistence.  Returns (Popen, socket path)."""
    sock = os.path.join(workdir, "redis.sock")
    p = pb.start("redis-server", [
        args.redis_server, "--port", "0", "--unixsocket", sock,
        "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
        "--dir", workdir, "--logfile", os.path.join(workdir, "redis.log")])
    deadline = time.monotonic() + 10
    while not os.path.exists(sock):
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit("bench: redis-server did not start (see %s)"
                     % os.path.join(workdir, "redis.log"))
        time.sleep(0.05)
    return p, sock


def redis_calls(sock):
    """Redis's own count of calls per command (INFO commandstats), read
    over its unix socket with an inline command: {command: calls}."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sock)
        s.sendall(b"INFO commandstats\r\n")
        buf = b""
        while b"\r\n" not in buf:
            buf += s.recv(65536) or b"\r\n"
        head, _, buf = buf.partition(b"\r\n")
        want = int(head[1:]) if head[:1] == b"$" else 0
        while len(buf) < want:
            more = s.recv(65536)
            if not more:
                break
            buf += more
    finally:
        s.close()
    calls = {}
    for m in re.finditer(rb"cmdstat_([a-z|]+):calls=(\d+)", buf):
        calls[m.group(1).decode()] = int(m.group(2))
    return calls


def sink_count(path):
    """The last mesg= counter smtp-sink -c wrote, or None."""
    with open(path, "rb") as f:
        tail = f.read()[-300:].decode(errors="replace")
    m = re.findall(r"mesg=(\d+)", tail)
    return int(m[-1]) if m else None


# ---- warm-up: pass the one triplet, and check that greylisting is on ----

def rcpt_attempt(port):
    """EHLO, MAIL, RCPT; the RCPT reply code.  Quits without DATA."""
    c = pb.Smtp(port)
    try:
        if c.reply() != 220:
            raise RuntimeError("no 220 banner on %d" % port)
        c.cmd(b"EHLO bench.test\r\n", 250)
        c.cmd(("MAIL FROM:<%s>\r\n" % SENDER).encode(), 250)
        c.sock.sendall(("RCPT TO:<%s>\r\n" % RCPT).encode())
        return c.reply()
    finally:
        c.close()


def warm_up(ports):
    """Per mode: the RCPT codes seen (first, immediate retry, after the
    delay) and whether the last transaction was delivered.  Exits unless
    greylisting behaves: 451, 451, 250 when on; 250 throughout when off."""
    seen = {m: [rcpt_attempt(ports[m])] for m in MODES}
    for m in MODES:
        seen[m].append(rcpt_attempt(ports[m]))
    time.sleep(DELAY_S + 0.3)
    msg = pb.message(4096)
    for m in MODES:
        try:
            pb.latency_run(ports[m], 1, msg)     # MAIL, RCPT, DATA: all 2xx
            seen[m].append(250)
        except RuntimeError as e:
            log("  %s: warm-up transaction failed: %s" % (m, e))
            seen[m].append(None)
    want = {m: [451, 451, 250] if m in GREY_MODES else [250, 250, 250]
            for m in MODES}
    for m in MODES:
        log("  %-6s RCPT replies: first %s, retry at once %s, after %d s "
            "%s (want %s)" % (m, seen[m][0], seen[m][1], DELAY_S,
                              seen[m][2], "/".join(map(str, want[m]))))
    bad = [m for m in MODES if seen[m] != want[m]]
    if bad:
        sys.exit("bench: warm-up did not behave for %s; not measuring"
                 % ", ".join(bad))


# ---- throughput ----

def run_source(port, count):
    argv = [args.smtp_source, "-s", str(args.sessions), "-m", str(count),
            "-l", "4096", "-f", SENDER, "-t", RCPT, "-M", "bench.test",
            "127.0.0.1:%d" % port]
    t0 = time.monotonic()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)
    dt = time.monotonic() - t0
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode != 0 or err:
        # smtp-source complains on stderr about any 4xx/5xx, so a
        # greylisted RCPT in the measured runs shows here.
        log("  smtp-source -> %d failed (rc %d): %s"
            % (port, r.returncode, err[:300]))
        return None
    return count / dt


def order(r):
    """The modes in round r: rotated by r, and reversed in the second
    len(MODES) rounds of every 2 x len(MODES), so that every mode runs in
    every place, and right after each of the others (with 3 modes: the 6
    orders)."""
    n = len(MODES)
    o = MODES[r % n:] + MODES[:r % n]
    return o[::-1] if (r // n) % 2 else o


def throughput(ports, pids, redis_pid, count):
    """Per mode: rates (msg/s), moatd CPU us/msg, redis-server CPU us/msg."""
    rates = {m: [] for m in MODES}
    cpu = {m: [] for m in MODES}
    rcpu = []
    for r in range(args.rounds):
        row = {}
        for m in order(r):
            c0 = pb.cpu_seconds(pids[m])
            r0 = pb.cpu_seconds(redis_pid)
            rate = run_source(ports[m], count)
            c1 = pb.cpu_seconds(pids[m])
            r1 = pb.cpu_seconds(redis_pid)
            row[m] = rate
            if rate is not None:
                rates[m].append(rate)
                cpu[m].append((c1 - c0) * 1e6 / count)
                if m == "redis":
                    rcpu.append((r1 - r0) * 1e6 / count)
        log("  round %d: %s msg/s;  moatd CPU/msg: %s;  redis-server %.0f us"
            % (r + 1,
               "  ".join("%s %7.1f" % (m, row[m] or 0.0) for m in MODES),
               "  ".join("%s %.0f us" % (m, cpu[m][-1] if cpu[m] else 0)
                         for m in MODES),
               rcpu[-1] if rcpu else 0))
    return rates, cpu, rcpu


# ---- latency of one RCPT ----

def rcpt_latency_run(port, n):
    """n sequential MAIL, RCPT, RSET over one session; seconds from
    sending each RCPT to reading its reply."""
    c = pb.Smtp(port)
    out = []
    mail = ("MAIL FROM:<%s>\r\n" % SENDER).encode()
    rcpt = ("RCPT TO:<%s>\r\n" % RCPT).encode()
    try:
        if c.reply() != 220:
            raise RuntimeError("no 220 banner")
        c.cmd(b"EHLO bench.test\r\n", 250)
        for _ in range(n):
            c.cmd(mail, 250)
            t0 = time.perf_counter()
            c.cmd(rcpt, 250)
            out.append(time.perf_counter() - t0)
            c.cmd(b"RSET\r\n", 250)
    finally:
        c.close()
    return out


def rcpt_latency(ports, n, blocks):
    per = max(1, n // blocks)
    samples = {m: [] for m in MODES}
    for b in range(blocks):
        for m in order(b):
            samples[m].extend(rcpt_latency_run(ports[m], per))
    for m in MODES:
        samples[m].sort()
    return samples, per * blocks


# ---- the store alone (store_driver, as bench/grey-bench.sh) ----

def store_alone(redis_sock, n):
    out = {}
    for label, extra, nn, conc in (
            ("memory, 50 in flight", ["--mem"], n, 50),
            ("redis, 50 in flight", ["--unix", redis_sock], n, 50),
            ("memory, 1 at a time", ["--mem"], n // 10, 1),
            ("redis, 1 at a time", ["--unix", redis_sock], n // 10, 1)):
        r = subprocess.run([args.store_driver] + extra,
                           input=("bench %d %d\n" % (nn, conc)).encode(),
                           capture_output=True, timeout=120)
        line = r.stdout.decode(errors="replace").strip().splitlines()
        out[label] = line[-1] if line else \
            "failed: %s" % r.stderr.decode(errors="replace")[:200]
        log("  %-22s %s" % (label, out[label]))
    return out


# ---- setup ----

def find_moatd():
    for cand in (os.environ.get("MOATD"), "./moatd"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def parse_args():
    p = argparse.ArgumentParser(
        description="moatd with greylisting off, on (memory), on (redis): "
        "message rate with passed triplets, and RCPT latency")
    p.add_argument("--moatd", default=find_moatd(),
                   help="moatd binary (default: $MOATD, else ./moatd)")
    p.add_argument("--store-driver", default=None,
                   help="store_driver binary for the store-alone figures "
                   "(default: next to moatd, if built; 'none' to skip)")
    p.add_argument("--redis-server", default="/usr/bin/redis-server")
    p.add_argument("--smtp-source", default="/usr/sbin/smtp-source")
    p.add_argument("--smtp-sink", default="/usr/sbin/smtp-sink")
    p.add_argument("--rounds", type=int, default=5,
                   help="interleaved rounds (default 5)")
    p.add_argument("--sessions", type=int, default=50,
                   help="smtp-source -s (default 50)")
    p.add_argument("--messages", type=int, default=5000,
                   help="smtp-source -m per run (default 5000)")
    p.add_argument("--threads", type=int, default=2,
                   help="moatd workers (default 2)")
    p.add_argument("--latency-rcpt", type=int, default=3000,
                   help="RCPTs per mode for latency (default 3000)")
    p.add_argument("--store-checks", type=int, default=50000,
                   help="checks per store_driver run (default 50000)")
    p.add_argument("--no-control", dest="control", action="store_false",
                   help="leave out off2, the second moatd with greylisting "
                   "off whose ratio to off shows the noise of a ratio")
    p.add_argument("--conf", metavar="LINE", action="append", default=[],
                   help="add this line to every moatd's configuration "
                   "(repeatable), e.g. --conf 'auth_fail_limit off'")
    p.add_argument("--only", choices=("throughput", "latency", "store"),
                   action="append", help="run only these parts")
    p.add_argument("--perf", metavar="DIR",
                   help="perf record -g each moatd and redis-server "
                   "during the throughput runs into DIR/moatd-MODE.perf "
                   "and DIR/redis-server.perf")
    p.add_argument("--keep", action="store_true",
                   help="keep the temp dir (configs, logs)")
    return p.parse_args()


def grey_outcomes(path):
    """greylist= values of moatd's transaction lines, counted."""
    counts = {}
    with open(path, "rb") as f:
        for m in re.finditer(rb"greylist=(\S+)", f.read()):
            k = m.group(1).decode(errors="replace")
            counts[k] = counts.get(k, 0) + 1
    return counts


def main():
    global args, MODES
    args = parse_args()
    if args.control:
        MODES = MODES + ("off2",)
    parts = set(args.only or ("throughput", "latency", "store"))
    if args.store_driver is None and args.moatd:
        cand = os.path.join(os.path.dirname(os.path.abspath(args.moatd)),
                            "store_driver")
        args.store_driver = cand if os.access(cand, os.X_OK) else "none"
    if args.store_driver == "none" or not os.access(args.store_driver or "",
                                                    os.X_OK):
        if "store" in parts and args.only:
            sys.exit("bench: no store_driver (make store_driver)")
        parts.discard("store")
    for what, path in (("moatd", args.moatd),
                       ("redis-server", args.redis_server),
                       ("smtp-source", args.smtp_source),
                       ("smtp-sink", args.smtp_sink)):
        if not path or not os.access(path, os.X_OK):
            sys.exit("bench: %s not found (%s); see bench/README.md"
                     % (what, path))
    if not 1 <= args.rounds <= 50:
        sys.exit("bench: --rounds must be 1..50")
    if args.messages < args.sessions:
        sys.exit("bench: --messages must be at least --sessions")

    atexit.register(pb.cleanup)
    signal.signal(signal.SIGTERM, pb.on_signal)
    signal.signal(signal.SIGINT, pb.on_signal)
    nofile = pb.raise_nofile(20000)
    workdir = tempfile.mkdtemp(prefix="moat-bench-grey-")
    pb.workdir = workdir
    pb.keep_workdir = args.keep
    os.mkdir(os.path.join(workdir, "spool"), 0o700)

    t_start = time.monotonic()
    log("moat greylisting bench  %s" % time.strftime("%Y-%m-%d %H:%M:%S %z"))
    log("host: %s, %d CPUs, load average at start: %s"
        % (os.uname().release, os.cpu_count(), pb.loadavg()))
    log("moatd %s, %d workers each; RLIMIT_NOFILE %d"
        % (args.moatd, args.threads, nofile))
    log("smtp-source -s %d -l 4096 -m %d, one connection per message, "
        "one RCPT per message; %d interleaved rounds"
        % (args.sessions, args.messages, args.rounds))

    rp, rsock = start_redis(workdir)

    ports, pids, sinks = {}, {}, {}
    for m in MODES:
        sink = pb.free_port()
        sinks[m] = os.path.join(workdir, "sink-%s.out" % m)
        sink_argv = [args.smtp_sink, "-c"]
        if os.geteuid() == 0:
            sink_argv += ["-u", "root"]
        sp = pb.start("smtp-sink-" + m,
                      sink_argv + ["127.0.0.1:%d" % sink, "4096"],
                      stdout=open(sinks[m], "wb"))
        pb.wait_port(sink, sp, "smtp-sink")
        ports[m] = pb.free_port()
        text = MOATD_CFG.format(port=ports[m], sink=sink,
                                spool=os.path.join(workdir, "spool"),
                                threads=args.threads)
        text += "".join(line + "\n" for line in args.conf)
        if m in GREY_MODES:
            text += GREY_CFG.format(delay=DELAY_S, store=m)
        if m == "redis":
            text += "redis_server unix:%s\n" % rsock
        cfg = os.path.join(workdir, "moat-%s.conf" % m)
        write_moatd_cfg(cfg, text)
        mp = pb.start("moatd-" + m, [args.moatd, "-c", cfg],
                      stderr=open(os.path.join(workdir, "moatd-%s.log" % m),
                                  "wb"))
        pb.wait_port(ports[m], mp, "moatd (%s)" % m)
        pids[m] = mp.pid
    log("pids: redis-server %d, moatd %s; workdir %s"
        % (rp.pid, ", ".join("%s %d" % (m, pids[m]) for m in MODES),
           workdir))

    log("\n== warm-up: pass the triplet (greylist_delay %d s) ==" % DELAY_S)
    warm_up(ports)
    delivered = 1                   # per sink, so far

    if args.perf:
        os.makedirs(args.perf, exist_ok=True)
        for m, pid in [(m, pids[m]) for m in MODES] + [("redis-server",
                                                        rp.pid)]:
            name = m if m == "redis-server" else "moatd-" + m
            pb.start("perf-" + m, [
                "perf", "record", "-g", "-q", "-o",
                os.path.join(args.perf, name + ".perf"), "-p", str(pid)],
                stderr=open(os.path.join(workdir, "perf-%s.log" % m), "wb"))
        time.sleep(1.0)

    tput = None
    if "throughput" in parts:
        log("\n== throughput: %d sessions, 4 KiB, %d messages per run =="
            % (args.sessions, args.messages))
        calls0 = redis_calls(rsock)
        tput = throughput(ports, pids, rp.pid, args.messages)
        calls1 = redis_calls(rsock)
        delivered += args.rounds * args.messages
        ncalls = {k: v - calls0.get(k, 0) for k, v in calls1.items()
                  if k != "info" and v > calls0.get(k, 0)}

    if args.perf:
        for m in MODES + ("redis-server",):
            pb.stop("perf-" + m, signal.SIGINT)

    lat = None
    if "latency" in parts:
        log("\n== RCPT latency: %d sequential MAIL/RCPT/RSET per mode, "
            "10 interleaved blocks, one session each ==" % args.latency_rcpt)
        lat, nlat = rcpt_latency(ports, args.latency_rcpt, 10)
        log("  %d RCPTs per mode" % nlat)

    store = None
    if "store" in parts:
        log("\n== the store alone: store_driver, one connection, "
            "%d checks ==" % args.store_checks)
        store = store_alone(rsock, args.store_checks)

    # Stop the moatd and sinks, then read their logs and counters.
    for m in MODES:
        pb.stop("moatd-" + m)
        pb.stop("smtp-sink-" + m)
    pb.stop("redis-server")
    got = {m: sink_count(sinks[m]) for m in MODES}
    outcomes = {m: grey_outcomes(os.path.join(workdir, "moatd-%s.log" % m))
                for m in MODES}

    # ---- summary ----
    log("\n================ summary (median of rounds) ================")
    if tput:
        rates, cpu, rcpu = tput
        med = {m: statistics.median(rates[m]) if rates[m] else float("nan")
               for m in MODES}
        mcpu = {m: statistics.median(cpu[m]) if cpu[m] else float("nan")
                for m in MODES}
        mr = statistics.median(rcpu) if rcpu else float("nan")
        paired = {}
        for m in MODES[1:]:
            rs = [b / a for a, b in zip(rates["off"], rates[m])]
            paired[m] = statistics.median(rs) if rs else float("nan")
        log("%-16s %9s %8s %12s %14s %12s"
            % ("greylisting", "msg/s", "vs off", "paired",
               "moatd CPU/msg", "+redis CPU"))
        for m in MODES:
            log("%-16s %9.1f %7.1f%% %12s %11.0f us %12s"
                % ("on, " + m if m in GREY_MODES else m, med[m],
                   100 * med[m] / med["off"],
                   "" if m == "off" else "%.1f%%" % (100 * paired[m]),
                   mcpu[m],
                   "%.0f us" % mr if m == "redis" else ""))
        log("  (paired: median over rounds of the ratio to off within the "
            "round; "
            "redis CPU: redis-server's, per message%s)"
            % ("; off2: greylisting off too, the noise floor"
               if "off2" in MODES else ""))
        log("greylist checks/s through the proxy (one per message, every "
            "one a passed triplet): memory %.0f, redis %.0f"
            % (med["memory"], med["redis"]))
        nmsg = args.rounds * args.messages
        scripts = {k: v for k, v in ncalls.items()
                   if k in ("evalsha", "eval")}
        inside = {k: v for k, v in ncalls.items() if k not in scripts}
        log("Redis requests per message (INFO commandstats): %s; the "
            "scripts ran %s"
            % (", ".join("%s %.2f" % (k.upper(), v / nmsg)
                         for k, v in sorted(scripts.items())) or "none",
               ", ".join("%s %.2f" % (k.upper(), v / nmsg)
                         for k, v in sorted(inside.items())) or "nothing"))
        for m in GREY_MODES:
            cost = 1 - med[m] / med["off"]
            extra = mcpu[m] - mcpu["off"] + (mr if m == "redis" else 0)
            log("target: greylisting on (%s) costs <= %.0f%% of the message "
                "rate at %d sessions: %.1f%%, %s; CPU per message (moatd%s) "
                "%+.0f us, %+.1f%% of moatd's with greylisting off"
                % (m, 100 * TARGET_COST, args.sessions, 100 * cost,
                   pb.mark(cost <= TARGET_COST),
                   " + redis-server" if m == "redis" else "", extra,
                   100 * extra / mcpu["off"]))
        if "off2" in MODES:
            log("control: off2, configured as off, measures %+.1f%% "
                "(paired %+.1f%%) of the rate and %+.1f%% CPU per message "
                "against off; differences of this size are noise"
                % (100 * (med["off2"] / med["off"] - 1),
                   100 * (paired["off2"] - 1),
                   100 * (mcpu["off2"] / mcpu["off"] - 1)))
    if lat:
        log("\nRCPT round trip (sent to reply read), ms:")
        p = {m: (pb.pct(lat[m], 50) * 1e3, pb.pct(lat[m], 99) * 1e3)
             for m in MODES}
        for m in MODES:
            extra = ""
            if m != "off":
                extra = "   added: p50 %+.3f  p99 %+.3f" % (
                    p[m][0] - p["off"][0], p[m][1] - p["off"][1])
            log("  %-6s p50 %7.3f  p99 %7.3f%s" % (m, p[m][0], p[m][1],
                                                  extra))
    if store:
        log("\nthe store alone (store_driver bench; memory has no socket "
            "round trip):")
        for k, v in store.items():
            f = dict(kv.split("=", 1) for kv in v.split() if "=" in kv)
            if "rate" in f:
                v = "%8s checks/s, p50 %s us, p99 %s us, %s errors" % (
                    f["rate"], f.get("p50_us"), f.get("p99_us"),
                    f.get("errors"))
            log("  %-22s %s" % (k, v))

    log("\ngreylist= on moatd's transaction lines: %s" % "; ".join(
        "%s: %s" % (m, ", ".join("%s %d" % kv for kv in
                                 sorted(outcomes[m].items())))
        for m in MODES))
    ok = True
    for m in MODES:
        if got[m] != delivered:
            ok = False
    log("sinks counted %s messages; %d sent through each%s"
        % (", ".join("%s %s" % (m, got[m]) for m in MODES), delivered,
           "" if ok else "  MISMATCH"))
    log("load average at end: %s; wall time %.0f s"
        % (pb.loadavg(), time.monotonic() - t_start))
    log("figures are preliminary: the 2 CPUs are shared with other work")
    return 0


if __name__ == "__main__":
    sys.exit(main())
