#!/usr/bin/env python3
"""
bench/proxy-tls.py -- what TLS and SMTP AUTH cost moatd (issue 5).

One moatd, four listeners (plain, STARTTLS, implicit TLS, and AUTH without
TLS for the hashing figures), in front of Postfix's smtp-sink.  In one run:

1. handshakes/s: a pool of client threads (in child processes) connect,
   handshake, read the banner and close, for a fixed time, against the
   implicit-TLS listener with TLS 1.3 and with TLS 1.2, and against the
   plain listener (connect + banner) as the baseline; interleaved rounds;
   moatd's CPU per connection from /proc.
2. messages/s at 50 sessions, 4 KiB, several messages per session: one
   client (threads in child processes; smtp-source cannot STARTTLS) runs
   EHLO [STARTTLS EHLO] then MAIL RCPT DATA per message, the same code with
   and without STARTTLS, interleaved rounds, medians, the ratio, and
   moatd's CPU per message.
3. AUTH PLAIN verifications/s against a passwd file of the default hash
   (yescrypt at libcrypt's default cost, made by bench/proxy-tls-hash.c),
   auth_threads at its default, many concurrent clients.
4. the proof that hashing stays off the event loop: while (3) runs, another
   client's plain transactions (MAIL, RCPT, RSET, each reply awaited,
   paced) are timed; the same is done with no load, with the same CPU
   burnt outside moatd (one process per hashing thread running the same
   yescrypt hash in a loop), and with those burners under SCHED_IDLE, in
   interleaved blocks, p50/p90/p99 side by side, with the CPU each part of
   the machine used and how long moatd's workers waited for a CPU each
   time they woke (/proc/.../schedstat).  If AUTH raises the latency about
   as much as the burners do, the cost is CPU contention on the cores,
   not a blocked loop.

What it deliberately does not do: no rules, greylisting or reverse DNS in
moatd; no session resumption (every handshake is a full one); no
certificate verification by the clients (as most MTAs in opportunistic
TLS); it listens on 127.0.0.1 only and does not try to isolate itself from
other load on the machine (it prints the load average at start and end,
and the CPU the rest of the machine used during the latency blocks).

Invariants: every process it starts is stopped by its pid on exit (normal
exit, exception, SIGINT, SIGTERM), through bench/proxy.py's process table;
every wait and loop has a bound.  Load generators run in child processes
(this script with --child), so that the client measuring latency shares no
interpreter lock with them.

Python 3 standard library only.  Needs smtp-sink (Debian: postfix),
openssl (the command, for a throw-away certificate), a C compiler and
libcrypt's header (libcrypt-dev) for the hash helper, and a built moatd.
See bench/README.md.
"""

import argparse
import atexit
import base64
import json
import os
import resource
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# bench/proxy.py: process table and cleanup by pid, ports, SMTP client,
# CPU from /proc.  No __pycache__ in the source tree (make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy as pb      # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SENDER = pb.SENDER
RCPT = pb.RCPT
LOGIN = "bench@example.test"
PASSWORD = "correct horse battery staple"

HS_MODES = ("plain", "tls1.3", "tls1.2")
MSG_MODES = ("plain", "starttls")
LAT_MODES = ("none", "auth", "burn", "burnlow")

# The proof's verdict: hashing adds no latency beyond CPU contention when
# p50 and p99 under AUTH load stay within this factor of the same figures
# with the same CPU burnt outside moatd (plus 0.2 ms for timer noise).
LAT_FACTOR = 1.5
LAT_SLACK_MS = 0.2

MOATD_CFG = """\
listen 127.0.0.1:{plain} name=plain
listen 127.0.0.1:{starttls} tls=starttls name=starttls
listen 127.0.0.1:{implicit} tls=implicit auth=optional name=implicit
listen 127.0.0.1:{auth} auth=optional auth_plaintext=on name=auth
backend 127.0.0.1:{sink}
backend_identity none
hostname moat.bench
local_domains example.test
trusted_networks 127.0.0.0/8
greet_wait 0
reverse_dns off
log stderr
spool_dir {spool}
workers {threads}
max_sessions_per_ip 10000
max_sessions 20000
max_commands 100000
listen_backlog 4096
tls_cert {cert}
tls_key {key}
passwd {passwd}
"""

log = pb.log


# ---------------------------------------------------------------------------
# Load generators: run in child processes (--child KIND JSON), print JSON.
# ---------------------------------------------------------------------------

def client_ctx(version):
    """A client context: no verification, TLS 1.3, 1.2 or the best."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version == "tls1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    elif version == "tls1.2":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class Conn(pb.Smtp):
    """bench/proxy.py's SMTP session, able to switch to TLS; close() does
    not wait for QUIT (handshake tests drop sessions mid-way)."""

    def __init__(self, port, timeout=30.0):
        super().__init__(port, timeout)

    def starttls(self, ctx):
        self.cmd(b"STARTTLS\r\n", 220)
        # Nothing follows the 220 before the handshake, so the reader
        # holds no bytes; it goes before the socket is wrapped.
        self.rf.close()
        self.sock = ctx.wrap_socket(self.sock)
        self.rf = self.sock.makefile("rb", buffering=65536)

    def close(self):
        try:
            self.rf.close()
            self.sock.close()
        except OSError:
            pass


def run_threads(n, target, args_fn):
    out = []
    lock = threading.Lock()
    ts = [threading.Thread(target=target, args=args_fn(i) + (out, lock),
                           daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(600)
    return out


def hs_worker(port, mode, deadline, out, lock):
    """Connect, (handshake,) read the banner, close, until deadline."""
    ctx = None if mode == "plain" else client_ctx(mode)
    n, err, first, durs, version = 0, 0, None, [], None
    while time.time() < deadline:
        t0 = time.perf_counter()
        try:
            s = socket.create_connection(("127.0.0.1", port), 30)
            try:
                if ctx is not None:
                    s = ctx.wrap_socket(s)
                    version = s.version()
                buf = b""
                while not buf.endswith(b"\r\n") and len(buf) < 1024:
                    d = s.recv(1024)
                    if not d:
                        break
                    buf += d
            finally:
                s.close()
            if not buf.startswith(b"220 "):
                raise RuntimeError("banner %r" % buf[:60])
            n += 1
            durs.append(time.perf_counter() - t0)
        except (OSError, RuntimeError, ssl.SSLError) as e:
            err += 1
            first = first or repr(e)
    with lock:
        out.append((n, err, first, durs, version))


def child_hs(p):
    per = p["threads"]
    time.sleep(max(0.0, p["start_at"] - time.time()))
    t0 = time.time()
    deadline = t0 + p["duration"]
    res = run_threads(per, hs_worker,
                      lambda i: (p["port"], p["mode"], deadline))
    t1 = time.time()
    durs = [d for r in res for d in r[3]]
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": ru.ru_utime + ru.ru_stime, "n": sum(r[0] for r in res), "err": sum(r[1] for r in res),
            "first_err": next((r[2] for r in res if r[2]), None),
            "t0": t0, "t1": t1, "durs": durs,
            "version": next((r[4] for r in res if r[4]), None)}


def msg_worker(p, jobs, msg, out, lock):
    """Sessions of p["per_session"] messages each, while jobs remain."""
    ctx = client_ctx("best") if p["starttls"] else None
    mail = ("MAIL FROM:<%s>\r\n" % SENDER).encode()
    rcpt = ("RCPT TO:<%s>\r\n" % RCPT).encode()
    sent, err, first, info = 0, 0, None, None
    while True:
        with lock:
            if not jobs:
                break
            k = jobs.pop()
        c = None
        try:
            c = Conn(p["port"])
            if c.reply() != 220:
                raise RuntimeError("no banner")
            c.cmd(b"EHLO client.bench.test\r\n", 250)
            if ctx is not None:
                c.starttls(ctx)
                info = info or "%s %s" % (c.sock.version(),
                                          c.sock.cipher()[0])
                c.cmd(b"EHLO client.bench.test\r\n", 250)
            for _ in range(k):
                c.cmd(mail, 250)
                c.cmd(rcpt, 250)
                c.cmd(b"DATA\r\n", 354)
                c.cmd(msg, 250)
                sent += 1
            c.cmd(b"QUIT\r\n", 221)
        except (OSError, RuntimeError, ssl.SSLError) as e:
            err += 1
            first = first or repr(e)
        finally:
            if c is not None:
                c.close()
    with lock:
        out.append((sent, err, first, info))


def child_msg(p):
    msg = pb.message(p["size"])
    jobs = []
    left = p["messages"]
    while left > 0:
        jobs.append(min(left, p["per_session"]))
        left -= jobs[-1]
    jobs.reverse()
    lock = threading.Lock()
    time.sleep(max(0.0, p["start_at"] - time.time()))
    t0 = time.time()
    out = []
    ts = [threading.Thread(target=msg_worker, args=(p, jobs, msg, out, lock),
                           daemon=True) for _ in range(p["sessions"])]
    for t in ts:
        t.start()
    for t in ts:
        t.join(600)
    t1 = time.time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": ru.ru_utime + ru.ru_stime, "sent": sum(r[0] for r in out), "err": sum(r[1] for r in out),
            "first_err": next((r[2] for r in out if r[2]), None),
            "info": next((r[3] for r in out if r[3]), None),
            "t0": t0, "t1": t1}


def auth_worker(p, deadline, out, lock):
    """New session, EHLO, AUTH PLAIN (timed), QUIT, until deadline."""
    ctx = client_ctx("best") if p["tls"] else None
    cred = base64.b64encode(b"\0" + LOGIN.encode() + b"\0" +
                            PASSWORD.encode())
    line = b"AUTH PLAIN " + cred + b"\r\n"
    oks, lat, err, first = [], [], 0, None
    while time.time() < deadline:
        c = None
        try:
            c = Conn(p["port"])
            if ctx is not None:
                c.rf.close()
                c.sock = ctx.wrap_socket(c.sock)
                c.rf = c.sock.makefile("rb", buffering=65536)
            if c.reply() != 220:
                raise RuntimeError("no banner")
            c.cmd(b"EHLO auth.bench.test\r\n", 250)
            t0 = time.perf_counter()
            c.cmd(line, 235)
            lat.append(time.perf_counter() - t0)
            oks.append(time.time())
            c.cmd(b"QUIT\r\n", 221)
        except (OSError, RuntimeError, ssl.SSLError) as e:
            err += 1
            first = first or repr(e)
            time.sleep(0.01)
        finally:
            if c is not None:
                c.close()
    with lock:
        out.append((oks, lat, err, first))


def child_auth(p):
    time.sleep(max(0.0, p["start_at"] - time.time()))
    deadline = time.time() + p["duration"]
    res = run_threads(p["clients"], auth_worker, lambda i: (p, deadline))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"oks": [t for r in res for t in r[0]],
            "lat": [x for r in res for x in r[1]],
            "err": sum(r[2] for r in res),
            "first_err": next((r[3] for r in res if r[3]), None),
            "cpu": ru.ru_utime + ru.ru_stime}


def child_main(kind, params):
    p = json.loads(params)
    fn = {"hs": child_hs, "msg": child_msg, "auth": child_auth}[kind]
    sys.stdout.write(json.dumps(fn(p)))
    sys.stdout.flush()
    return 0


# ---------------------------------------------------------------------------
# The parent: processes, CPU accounting, the four parts.
# ---------------------------------------------------------------------------

child_seq = [0]


def spawn(kind, params):
    child_seq[0] += 1
    name = "child-%s-%d" % (kind, child_seq[0])
    p = pb.start(name, [sys.executable, os.path.abspath(__file__), "--child",
                        kind, json.dumps(params)],
                 stdout=subprocess.PIPE,
                 stderr=open(os.path.join(pb.workdir, name + ".err"), "wb"))
    return name, p


def collect(name, p, timeout):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pb.stop(name)
        sys.exit("bench: %s did not finish in %.0f s" % (name, timeout))
    pb.children.pop(name, None)
    if p.returncode != 0:
        with open(os.path.join(pb.workdir, name + ".err"), "rb") as f:
            err = f.read()[-1500:].decode(errors="replace")
        sys.exit("bench: %s failed (rc %d):\n%s" % (name, p.returncode, err))
    return json.loads(out)


def stat_cpu(path):
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def moatd_threads(pid):
    """CPU seconds per thread, by thread id."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            out[int(tid)] = stat_cpu("/proc/%d/task/%s/stat" % (pid, tid))
        except OSError:
            pass
    return out


def schedstat(path):
    """(ns waited on a run queue, times run) of one thread, from the
    kernel's schedstat: how long it was runnable but not running."""
    try:
        with open(path) as f:
            v = f.read().split()
        return int(v[1]), int(v[2])
    except (OSError, IndexError, ValueError):
        return 0, 0


def system_cpu():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


def pct_ms(xs, p):
    return pb.pct(xs, p) * 1e3


# ---- part 1: handshakes ----

def handshakes(ports, mpid):
    rates = {m: [] for m in HS_MODES}
    cpu = {m: [] for m in HS_MODES}
    ccpu = {m: [] for m in HS_MODES}
    durs = {m: [] for m in HS_MODES}
    versions = {}
    per = max(1, args.hs_clients // args.procs)
    for r in range(args.rounds):
        order = HS_MODES if r % 2 == 0 else tuple(reversed(HS_MODES))
        row = []
        for m in order:
            port = ports["plain"] if m == "plain" else ports["implicit"]
            start_at = time.time() + 0.4
            kids = [spawn("hs", {"port": port, "mode": m, "threads": per,
                                 "duration": args.hs_seconds,
                                 "start_at": start_at})
                    for _ in range(args.procs)]
            time.sleep(max(0.0, start_at - time.time()))
            c0 = pb.cpu_seconds(mpid)
            res = [collect(n, p, args.hs_seconds + 60) for n, p in kids]
            c1 = pb.cpu_seconds(mpid)
            n = sum(x["n"] for x in res)
            err = sum(x["err"] for x in res)
            dt = max(x["t1"] for x in res) - min(x["t0"] for x in res)
            if err:
                log("  %s: %d failed, first: %s" % (
                    m, err, next(x["first_err"] for x in res
                                 if x["first_err"])))
            rates[m].append(n / dt)
            cpu[m].append((c1 - c0) * 1e6 / max(1, n))
            ccpu[m].append(sum(x["cpu"] for x in res) * 1e6 / max(1, n))
            for x in res:
                durs[m].extend(x["durs"])
                versions[m] = x["version"] or versions.get(m)
            row.append("%s %7.1f/s %5.0f us" % (m, n / dt, cpu[m][-1]))
        log("  round %d: %s" % (r + 1, "  ".join(row)))
    return rates, cpu, ccpu, durs, versions


# ---- part 2: messages over STARTTLS and plain ----

def messages(ports, mpid):
    rates = {m: [] for m in MSG_MODES}
    cpu = {m: [] for m in MSG_MODES}
    ccpu = {m: [] for m in MSG_MODES}
    info = None
    sent_total = 0
    procs = args.procs
    for r in range(args.rounds):
        order = MSG_MODES if r % 2 == 0 else tuple(reversed(MSG_MODES))
        row = []
        for m in order:
            port = ports["starttls"] if m == "starttls" else ports["plain"]
            share = [args.messages // procs + (1 if i < args.messages % procs
                                               else 0) for i in range(procs)]
            sess = [args.sessions // procs + (1 if i < args.sessions % procs
                                              else 0) for i in range(procs)]
            start_at = time.time() + 0.4
            kids = [spawn("msg", {"port": port, "starttls": m == "starttls",
                                  "sessions": sess[i], "messages": share[i],
                                  "per_session": args.per_session,
                                  "size": 4096, "start_at": start_at})
                    for i in range(procs)]
            time.sleep(max(0.0, start_at - time.time()))
            c0 = pb.cpu_seconds(mpid)
            res = [collect(n, p, 300) for n, p in kids]
            c1 = pb.cpu_seconds(mpid)
            sent = sum(x["sent"] for x in res)
            sent_total += sent
            err = sum(x["err"] for x in res)
            if err:
                log("  %s: %d sessions failed, first: %s" % (
                    m, err, next(x["first_err"] for x in res
                                 if x["first_err"])))
            dt = max(x["t1"] for x in res) - min(x["t0"] for x in res)
            rates[m].append(sent / dt)
            cpu[m].append((c1 - c0) * 1e6 / max(1, sent))
            ccpu[m].append(sum(x["cpu"] for x in res) * 1e6 / max(1, sent))
            info = info or next((x["info"] for x in res if x["info"]), None)
            row.append("%s %7.1f msg/s %5.0f us/msg" % (m, sent / dt,
                                                         cpu[m][-1]))
        log("  round %d: %s" % (r + 1, "  ".join(row)))
    return rates, cpu, ccpu, info, sent_total


# ---- parts 3 and 4: AUTH rate, and latency under it ----

def latency_block(port, seconds, interval):
    """Paced MAIL, RCPT, RSET over one session; seconds per transaction."""
    c = Conn(port, timeout=30)
    out = []
    try:
        if c.reply() != 220:
            raise RuntimeError("no banner")
        c.cmd(b"EHLO lat.bench.test\r\n", 250)
        mail = ("MAIL FROM:<%s>\r\n" % SENDER).encode()
        rcpt = ("RCPT TO:<%s>\r\n" % RCPT).encode()
        t_start = time.perf_counter()
        nxt = t_start
        while True:
            now = time.perf_counter()
            if now - t_start >= seconds:
                break
            if nxt > now:
                time.sleep(nxt - now)
            nxt += interval
            t0 = time.perf_counter()
            c.cmd(mail, 250)
            c.cmd(rcpt, 250)
            c.cmd(b"RSET\r\n", 250)
            out.append(time.perf_counter() - t0)
        c.cmd(b"QUIT\r\n", 221)
    finally:
        c.close()
    return out


def snapshot(mpid, extra_pids):
    ru = resource.getrusage(resource.RUSAGE_SELF)
    others = {}
    for name, pid in extra_pids.items():
        try:
            others[name] = pb.cpu_seconds(pid)
        except OSError:
            others[name] = 0.0
    tids = sorted(os.listdir("/proc/%d/task" % mpid))
    return {"wall": time.monotonic(), "sys": system_cpu(),
            "moatd": moatd_threads(mpid), "self": ru.ru_utime + ru.ru_stime,
            "others": others,
            "sched": {int(t): schedstat("/proc/%d/task/%s/schedstat"
                                        % (mpid, t)) for t in tids},
            "selfsched": schedstat("/proc/self/task/%d/schedstat"
                                   % threading.get_native_id())}


def cpu_split(a, b, mpid, hash_tids):
    """Cores used between snapshots a and b, by part of the machine."""
    wall = b["wall"] - a["wall"]
    ncpu = os.cpu_count() or 1
    hashing = sum(b["moatd"].get(t, 0) - a["moatd"].get(t, 0)
                  for t in hash_tids)
    total = sum(b["moatd"][t] - a["moatd"].get(t, 0) for t in b["moatd"])
    others = sum(b["others"][k] - a["others"].get(k, 0)
                 for k in b["others"])
    busy = (b["sys"][0] - a["sys"][0]) / max(1, b["sys"][1] - a["sys"][1])
    # The workers (neither main nor hashing threads): mean wait for a CPU
    # each time they became runnable.  A loop blocked by hashing would
    # show as latency without this wait; CPU contention shows as this.
    wk = [t for t in b["sched"] if t != mpid and t not in hash_tids]
    wait = sum(b["sched"][t][0] - a["sched"].get(t, (0, 0))[0] for t in wk)
    runs = sum(b["sched"][t][1] - a["sched"].get(t, (0, 0))[1] for t in wk)
    cw = b["selfsched"][0] - a["selfsched"][0]
    cr = b["selfsched"][1] - a["selfsched"][1]
    return {"wkwait": wait / 1e3 / max(1, runs),
            "clwait": cw / 1e3 / max(1, cr), "hash": hashing / wall, "moatd_other": (total - hashing) / wall,
            "load": others / wall, "latclient": (b["self"] - a["self"]) / wall,
            "machine": busy * ncpu}


def auth_latency(ports, mpid, hash_tids):
    lat = {m: [] for m in LAT_MODES}
    cpu = {m: [] for m in LAT_MODES}
    blk = {m: [] for m in LAT_MODES}      # (p50, p99) of each block, ms
    auth_rates, auth_lat, auth_err = [], [], 0
    warm = 0.8
    for b in range(args.blocks):
        k = b % len(LAT_MODES)
        order = LAT_MODES[k:] + LAT_MODES[:k]
        if b % 2:
            order = tuple(reversed(order))
        row = []
        for m in order:
            kid, burners, extra = None, [], {}
            if m == "auth":
                start_at = time.time() + 0.4
                port = ports["implicit"] if args.auth_tls else ports["auth"]
                kid = spawn("auth", {"port": port, "tls": args.auth_tls,
                                     "clients": args.auth_clients,
                                     "duration": warm + args.lat_seconds
                                     + 0.3, "start_at": start_at})
                extra[kid[0]] = kid[1].pid
                time.sleep(max(0.0, start_at - time.time()) + warm)
            elif m in ("burn", "burnlow"):
                # burnlow: the same burners under SCHED_IDLE, what hashing
                # threads that always yield to the workers would cost.
                pre = ["chrt", "-i", "0"] if m == "burnlow" else []
                for i in range(args.auth_threads):
                    name = "burner-%d" % i
                    bp = pb.start(name, pre + [helper_path, "burn",
                                               hash_for_burn, PASSWORD])
                    burners.append(name)
                    extra[name] = bp.pid
                time.sleep(warm)
            s0 = snapshot(mpid, extra)
            w0 = time.time()
            xs = latency_block(ports["plain"], args.lat_seconds,
                               args.lat_interval / 1e3)
            w1 = time.time()
            s1 = snapshot(mpid, extra)
            for name in burners:
                pb.stop(name)
            lat[m].extend(xs)
            cpu[m].append(cpu_split(s0, s1, mpid, hash_tids))
            extra_txt = ""
            if kid is not None:
                res = collect(kid[0], kid[1], args.lat_seconds + 120)
                n = sum(1 for t in res["oks"] if w0 <= t <= w1)
                auth_rates.append(n / (w1 - w0))
                auth_lat.extend(res["lat"])
                auth_err += res["err"]
                if res["err"]:
                    log("  auth: %d failed, first: %s" % (res["err"],
                                                         res["first_err"]))
                extra_txt = " (%.1f AUTH/s)" % auth_rates[-1]
            xs.sort()
            blk[m].append((pct_ms(xs, 50), pct_ms(xs, 99)))
            row.append("%s p50 %.3f p99 %.3f ms%s" % (
                m, pct_ms(xs, 50), pct_ms(xs, 99), extra_txt))
        log("  block %d: %s" % (b + 1, ";  ".join(row)))
    for m in LAT_MODES:
        lat[m].sort()
    auth_lat.sort()
    return lat, cpu, blk, auth_rates, auth_lat, auth_err


# ---- setup ----

def make_cert(workdir):
    key = os.path.join(workdir, "key.pem")
    cert = os.path.join(workdir, "cert.pem")
    newkey = {"rsa2048": ["-newkey", "rsa:2048"],
              "ec256": ["-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1"]}[args.key]
    r = subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "2",
                        "-subj", "/CN=moat.bench"] + newkey +
                       ["-keyout", key, "-out", cert],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    if r.returncode != 0:
        sys.exit("bench: openssl req failed:\n%s"
                 % r.stderr.decode(errors="replace"))
    return cert, key


def build_helper(workdir):
    src = os.path.join(HERE, "proxy-tls-hash.c")
    out = os.path.join(workdir, "proxy-tls-hash")
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-O2", "-o", out, src, "-lcrypt"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    if r.returncode != 0:
        sys.exit("bench: cannot build %s (needs cc and libcrypt-dev):\n%s"
                 % (src, r.stderr.decode(errors="replace")))
    return out


def helper(*argv):
    r = subprocess.run([helper_path] + list(argv), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        sys.exit("bench: proxy-tls-hash %s failed: %s"
                 % (argv[0], r.stderr.decode(errors="replace")))
    return r.stdout.decode().strip()


def check_cfg(path):
    r = subprocess.run([args.moatd, "-t", "-c", path],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    if r.returncode != 0:
        sys.exit("bench: moatd -t refuses the bench config:\n%s"
                 % r.stderr.decode(errors="replace"))


def hash_threads(pid, n):
    """The hashing threads: main() starts the pool before the workers, so
    they are the n threads created right after the main thread."""
    tids = sorted(moatd_threads(pid))
    return [t for t in tids if t != pid][:n]


def parse_args():
    p = argparse.ArgumentParser(
        description="moatd: TLS handshakes, messages over STARTTLS, AUTH "
        "verifications and the latency of other sessions under AUTH load")
    p.add_argument("--moatd", default=pb.find_moatd(),
                   help="moatd binary (default: $MOATD, else ./moatd)")
    p.add_argument("--smtp-sink", default="/usr/sbin/smtp-sink")
    p.add_argument("--rounds", type=int, default=4,
                   help="interleaved rounds for handshakes and messages (4)")
    p.add_argument("--blocks", type=int, default=5,
                   help="interleaved latency blocks per mode (5)")
    p.add_argument("--threads", type=int, default=2,
                   help="moatd workers (2)")
    p.add_argument("--procs", type=int, default=2,
                   help="client processes for handshakes and messages (2)")
    p.add_argument("--key", choices=("rsa2048", "ec256"), default="rsa2048",
                   help="server key type (rsa2048)")
    p.add_argument("--hs-clients", type=int, default=20,
                   help="concurrent handshaking clients (20)")
    p.add_argument("--hs-seconds", type=float, default=3.0,
                   help="seconds per handshake run (3)")
    p.add_argument("--sessions", type=int, default=50,
                   help="concurrent sessions for messages (50)")
    p.add_argument("--messages", type=int, default=2000,
                   help="messages per message run (2000)")
    p.add_argument("--per-session", type=int, default=10,
                   help="messages per session (10)")
    p.add_argument("--auth-clients", type=int, default=32,
                   help="concurrent AUTH clients (32)")
    p.add_argument("--auth-tls", action="store_true",
                   help="AUTH over implicit TLS (default: the plaintext "
                   "AUTH listener, so only the hash is measured)")
    p.add_argument("--auth-threads", type=int, default=2,
                   help="moatd's auth_threads; 2 is the default and is "
                   "not written to the config (2)")
    p.add_argument("--lat-seconds", type=float, default=4.0,
                   help="seconds of latency sampling per block (4)")
    p.add_argument("--lat-interval", type=float, default=2.0,
                   help="ms between latency transactions (2)")
    p.add_argument("--only", choices=("handshake", "messages", "auth"),
                   action="append", help="run only these parts")
    p.add_argument("--perf", metavar="FILE",
                   help="perf record -g moatd during the run into FILE")
    p.add_argument("--keep", action="store_true",
                   help="keep the temp dir (configs, logs)")
    return p.parse_args()


def main():
    global args, helper_path, hash_for_burn
    args = parse_args()
    pb.args = args
    parts = set(args.only or ("handshake", "messages", "auth"))
    for what, path in (("moatd", args.moatd), ("smtp-sink", args.smtp_sink)):
        if not path or not os.access(path, os.X_OK):
            sys.exit("bench: %s not found (%s); see bench/README.md"
                     % (what, path))
    if not 1 <= args.rounds <= 50 or not 1 <= args.blocks <= 50:
        sys.exit("bench: --rounds and --blocks must be 1..50")
    if not 1 <= args.procs <= 16 or args.sessions < args.procs:
        sys.exit("bench: --procs must be 1..16 and at most --sessions")

    atexit.register(pb.cleanup)
    signal.signal(signal.SIGTERM, pb.on_signal)
    signal.signal(signal.SIGINT, pb.on_signal)
    nofile = pb.raise_nofile(20000)
    workdir = tempfile.mkdtemp(prefix="moat-bench-tls-")
    pb.workdir = workdir
    pb.keep_workdir = args.keep
    os.mkdir(os.path.join(workdir, "spool"), 0o700)

    t_start = time.monotonic()
    log("moat TLS/AUTH bench  %s" % time.strftime("%Y-%m-%d %H:%M:%S %z"))
    log("host: %s, %d CPUs, load average at start: %s"
        % (os.uname().release, os.cpu_count(), pb.loadavg()))
    log("moatd %s, %d workers; RLIMIT_NOFILE %d; %s"
        % (args.moatd, args.threads, nofile, ssl.OPENSSL_VERSION))

    cert, key = make_cert(workdir)
    helper_path = build_helper(workdir)
    h = helper("hash", PASSWORD)
    if not h.startswith("$y$"):
        sys.exit("bench: the default hash is not yescrypt: %s" % h)
    hash_for_burn = h
    pwfile = os.path.join(workdir, "passwd")
    with open(pwfile, "w") as f:
        f.write("%s:%s\n" % (LOGIN, h))
    setting = h.rsplit("$", 1)[0]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    n, secs = helper("rate", "2", h, PASSWORD).split()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    one_thread = int(n) / float(secs)
    one_cpu = int(n) / max(1e-6, r1.ru_utime + r1.ru_stime - r0.ru_utime -
                           r0.ru_stime)
    log("server key %s; passwd: 1 login, hash %s... (libcrypt default); "
        "one thread of proxy-tls-hash: %.1f hashes/s, %.1f per CPU-second "
        "(%.1f ms of CPU each)" % (args.key, setting[:7], one_thread,
                                   one_cpu, 1e3 / one_cpu))

    ports = {k: pb.free_port() for k in ("plain", "starttls", "implicit",
                                          "auth")}
    sink = pb.free_port()
    sink_out = open(os.path.join(workdir, "sink.out"), "wb")
    sink_argv = [args.smtp_sink, "-c"]
    if os.geteuid() == 0:
        sink_argv += ["-u", "root"]
    sp = pb.start("smtp-sink", sink_argv + ["127.0.0.1:%d" % sink, "4096"],
                  stdout=sink_out)
    pb.wait_port(sink, sp, "smtp-sink")

    mcfg = os.path.join(workdir, "moat.conf")
    text = MOATD_CFG.format(sink=sink, spool=os.path.join(workdir, "spool"),
                            threads=args.threads, cert=cert, key=key,
                            passwd=pwfile, **ports)
    if args.auth_threads != 2:
        text += "auth_threads %d\n" % args.auth_threads
    with open(mcfg, "w") as f:
        f.write(text)
    check_cfg(mcfg)
    mp = pb.start("moatd", [args.moatd, "-c", mcfg],
                  stderr=open(os.path.join(workdir, "moatd.log"), "wb"))
    for k in ports:
        pb.wait_port(ports[k], mp, "moatd (%s)" % k)
    time.sleep(0.3)
    hash_tids = hash_threads(mp.pid, args.auth_threads)
    log("pids: smtp-sink %d, moatd %d (threads %s; hashing %s); workdir %s"
        % (sp.pid, mp.pid, len(moatd_threads(mp.pid)),
           ",".join(map(str, hash_tids)), workdir))

    if args.perf:
        pb.start("perf", ["perf", "record", "-g", "-q", "-o", args.perf,
                          "-p", str(mp.pid)],
                 stderr=open(os.path.join(workdir, "perf.log"), "wb"))
        time.sleep(1.0)

    hs = msgs = au = None
    sent = 0
    if "handshake" in parts:
        log("\n== handshakes: %d clients in %d processes, %.0f s per run, "
            "connect + handshake + banner + close; rates and moatd CPU per "
            "connection ==" % (args.hs_clients, args.procs, args.hs_seconds))
        hs = handshakes(ports, mp.pid)
    if "messages" in parts:
        log("\n== messages: %d sessions in %d processes, 4 KiB, %d per "
            "session, %d per run; EHLO [STARTTLS EHLO] MAIL RCPT DATA ==" %
            (args.sessions, args.procs, args.per_session, args.messages))
        msgs = messages(ports, mp.pid)
        sent += msgs[4]
    if "auth" in parts:
        log("\n== AUTH PLAIN load (%d clients, %s, one AUTH per session) vs "
            "none vs %d yescrypt burners outside moatd; latency of MAIL, "
            "RCPT, RSET on a plain session every %.1f ms, %.0f s per block "
            "==" % (args.auth_clients,
                    "implicit TLS" if args.auth_tls else "no TLS",
                    args.auth_threads, args.lat_interval, args.lat_seconds))
        au = auth_latency(ports, mp.pid, hash_tids)

    if args.perf:
        pb.stop("perf", signal.SIGINT)
    pb.stop("moatd")
    pb.stop("smtp-sink")
    sink_out.close()
    with open(os.path.join(workdir, "sink.out"), "rb") as f:
        tail = f.read()[-200:].decode(errors="replace")
    got = tail.rsplit("mesg=", 1)[-1].split("s")[0] if "mesg=" in tail \
        else "?"

    # ---- summary ----
    log("\n================ summary (medians) ================")
    if hs:
        rates, cpu, ccpu, durs, versions = hs
        med = {m: statistics.median(rates[m]) for m in HS_MODES}
        log("handshakes (%s key, %d clients):" % (args.key, args.hs_clients))
        log("  %-7s %9s %9s %11s %11s %15s  %s" % (
            "mode", "conn/s", "vs plain", "moatd CPU", "client CPU",
            "client p50/p99", "protocol"))
        for m in HS_MODES:
            ds = sorted(durs[m])
            log("  %-7s %9.1f %8.0f%% %8.0f us %8.0f us %6.2f/%-6.2f ms  %s"
                % (m, med[m], 100 * med[m] / med["plain"],
                   statistics.median(cpu[m]), statistics.median(ccpu[m]),
                   pct_ms(ds, 50), pct_ms(ds, 99), versions.get(m) or "-"))
        tls_cpu = statistics.median(cpu["tls1.3"])
        log("  (CPU per connection; the clients share the cores with "
            "moatd, so moatd's CPU is the steadier figure: %.0f TLS 1.3 "
            "handshakes/s per moatd core)" % (1e6 / tls_cpu))
    if msgs:
        rates, cpu, ccpu, info, _ = msgs
        med = {m: statistics.median(rates[m]) for m in MSG_MODES}
        mc = {m: statistics.median(cpu[m]) for m in MSG_MODES}
        cc = {m: statistics.median(ccpu[m]) for m in MSG_MODES}
        ratios = [a / b for a, b in zip(rates["starttls"], rates["plain"])]
        log("messages at %d sessions, 4 KiB, %d per session (STARTTLS: %s):"
            % (args.sessions, args.per_session, info or "?"))
        for m in MSG_MODES:
            log("  %-9s %8.1f msg/s   moatd %5.0f us/msg   client %5.0f "
                "us/msg" % (m, med[m], mc[m], cc[m]))
        log("  starttls/plain: %.0f%% of the rate (median of per-round "
            "ratios %.0f%%), %.2fx moatd's CPU per message"
            % (100 * med["starttls"] / med["plain"],
               100 * statistics.median(ratios), mc["starttls"] / mc["plain"]))
    if au:
        lat, cpu, blk, arates, alat, aerr = au
        hcores = statistics.mean(b["hash"] for b in cpu["auth"])
        arate = statistics.median(arates) if arates else float("nan")
        log("AUTH PLAIN, yescrypt (%s), auth_threads %d, %d clients%s:"
            % (setting[:7], args.auth_threads, args.auth_clients,
               ", over TLS" if args.auth_tls else ""))
        log("  %.1f verifications/s (median of blocks: %s), %d failed; "
            "AUTH to 235: p50 %.0f ms, p99 %.0f ms"
            % (arate, " ".join("%.1f" % x for x in arates), aerr,
               pct_ms(alat, 50), pct_ms(alat, 99)))
        log("  the hashing threads used %.2f cores: %.1f verifications per "
            "CPU-second; proxy-tls-hash alone: %.1f hashes per CPU-second"
            % (hcores, arate / hcores if hcores else float("nan"),
               one_cpu))
        log("latency of another session's MAIL+RCPT+RSET (3 round trips, "
            "the backend's included), ms, and the CPU used (cores):")
        log("  %-7s %7s %6s %6s %6s %6s | %5s %5s %5s %6s %7s %5s | %5s %5s"
            % ("load", "samples", "p50", "p90", "p99", "bp99", "hash",
               "moatd", "load", "client", "machine", "rest", "wk rq",
               "cl rq"))
        p = {}
        for m in LAT_MODES:
            xs = lat[m]
            # Per block, then the median over blocks: a burst of other
            # work on the machine spoils one block, not the comparison.
            p[m] = (statistics.median(b[0] for b in blk[m]),
                    statistics.median(b[1] for b in blk[m]))
            c = {k: statistics.mean(b[k] for b in cpu[m])
                 for k in cpu[m][0]}
            rest = c["machine"] - c["hash"] - c["moatd_other"] - \
                c["load"] - c["latclient"]
            log("  %-7s %7d %6.3f %6.3f %6.3f %6.3f | %5.2f %5.2f %5.2f "
                "%6.2f %7.2f %5.2f | %5.0f %5.0f"
                % (m, len(xs), pct_ms(xs, 50), pct_ms(xs, 90),
                   pct_ms(xs, 99), p[m][1], c["hash"], c["moatd_other"],
                   c["load"],
                   c["latclient"], c["machine"], rest, c["wkwait"],
                   c["clwait"]))
        log("  (none: no load; auth: the AUTH clients; burn: %d processes "
            "hashing the same yescrypt in a loop, outside moatd; burnlow: "
            "the same under SCHED_IDLE.  hash: moatd's hashing threads; "
            "moatd: its other threads; load: the AUTH clients or the "
            "burners; client: the latency client; machine: all CPUs busy; "
            "rest: the remainder, smtp-sink and other work on the machine. "
            "p50, p90, p99: all samples; bp99: median of the blocks' p99. "
            "wk rq, cl rq: mean microseconds moatd's workers and the "
            "latency client waited for a CPU each time they woke, from "
            "/proc/.../schedstat)" % args.auth_threads)
        for q, name in ((0, "p50"), (1, "p99")):
            log("  %s (median of blocks) over none: auth %+.3f ms, burn "
                "%+.3f ms, burnlow "
                "%+.3f ms; auth/burn %.2f" % (
                    name, p["auth"][q] - p["none"][q],
                    p["burn"][q] - p["none"][q],
                    p["burnlow"][q] - p["none"][q],
                    p["auth"][q] / p["burn"][q]))
        ok = all(p["auth"][q] <= LAT_FACTOR * p["burn"][q] + LAT_SLACK_MS
                 for q in (0, 1))
        log("target: AUTH load raises other sessions' latency no more than "
            "the same CPU burnt outside moatd (p50 and p99 within %.1fx + "
            "%.1f ms of burn's, medians of blocks): %s"
            % (LAT_FACTOR, LAT_SLACK_MS, pb.mark(ok)))
    log("\nsink counted %s messages, %d sent through it" % (got, sent))
    log("load average at end: %s; wall time %.0f s"
        % (pb.loadavg(), time.monotonic() - t_start))
    log("figures are preliminary when other work shares the CPUs")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.exit(child_main(sys.argv[2], sys.argv[3]))
    sys.exit(main())
