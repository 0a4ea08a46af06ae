"""mltest: moat-milter for the integration tests (issue 15).

Milter starts moat-milter ($MOAT_MILTER) with a generated config on a free
loopback port and stops it by the pid it started (SIGTERM to the parent,
which keeps the signals: milter_main.c).  miltertest() runs
tests/milter/send.lua through Debian's miltertest and parses what it
prints.  Python 3 standard library only; no root needed for these.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import moattest as mt

MILTERTEST = shutil.which("miltertest") or "/usr/bin/miltertest"
HERE = os.path.dirname(os.path.abspath(__file__))
LUA_DIR = os.path.join(os.path.dirname(HERE), "milter")


def milter_path():
    return os.environ.get("MOAT_MILTER", "")


def skip_reason():
    """Why the miltertest-driven tests cannot run here, or None."""
    if not os.access(milter_path(), os.X_OK):
        return "moat-milter binary not found (MOAT_MILTER=%r)" % \
            milter_path()
    if not os.access(MILTERTEST, os.X_OK):
        return "miltertest not installed"
    return None


def main():
    """A milter test file's __main__: SKIP (exit 77) when skip_reason()
    says so, else moattest's runner without a shared moatd."""
    reason = skip_reason()
    if reason:
        print("SKIP: " + reason)
        sys.exit(mt.SKIP)
    mt.main(need_moatd=False)


class Milter:
    """One moat-milter with a generated config (the keys moatd needs are
    filled with unused values: the file is the one both read)."""

    DEFAULTS = {
        "listen": "127.0.0.1:1",
        "backend": "127.0.0.1:2",
        "hostname": mt.MOAT_NAME,
        "log": "stderr",
        "local_domains": mt.DOMAIN,
        "trusted_networks": "127.0.0.1/32",
        "drain_timeout": "5s",
    }

    def __init__(self, conf=None, extra=()):
        self.dir = mt.mkdtemp("moat-m-")
        self.port = mt.free_port()
        self.conf_path = os.path.join(self.dir, "moat.conf")
        self.log_path = os.path.join(self.dir, "milter.log")
        self.conf = dict(self.DEFAULTS)
        self.conf["spool_dir"] = self.dir
        self.conf.update(conf or {})
        self.extra = list(extra)
        self.proc = None

    conn_override = None        # e.g. "unix:/path", else the free port

    @property
    def conn(self):
        return self.conn_override or "inet:%d@127.0.0.1" % self.port

    def config_text(self):
        conf = dict(self.conf)
        conf["milter_listen"] = self.conn
        lines = ["%s %s" % (k, v) for k, v in conf.items() if v is not None]
        return "\n".join(lines + self.extra) + "\n"

    def write_config(self, text=None):
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.config_text() if text is None else text)
        os.rename(tmp, self.conf_path)

    def start(self):
        # A free port may be taken before moat-milter binds it: retry.
        for attempt in range(3):
            self.write_config()
            mark = len(self.log())
            err = open(self.log_path, "ab")
            self.proc = subprocess.Popen([milter_path(), "-c",
                                          self.conf_path],
                                         stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
            err.close()
            mt._live.add(self)
            ok = mt.poll(lambda: "started on" in self.log()[mark:] or
                         self.proc.poll() is not None, 15)
            if ok and self.proc.poll() is None:
                return self
            self.stop()
            if "cannot listen" not in self.log()[mark:]:
                break
            self.port = mt.free_port()
        raise RuntimeError("moat-milter did not start:\n" + self.log())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15.0):
        mt._live.discard(self)
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(mt.scaled(timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        return self.proc.returncode

    SANITIZER_RX = re.compile(r"ERROR: (?:Address|Leak|Thread|Memory)"
                              r"Sanitizer|runtime error:")

    def cleanup(self):
        self.stop()
        m = self.SANITIZER_RX.search(self.log())
        if m:
            raise AssertionError("sanitizer report in %s:\n%s" % (
                self.log_path, self.log()[max(0, m.start() - 200):
                                          m.start() + 3000]))
        mt.rmtree(self.dir)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def events(self, event, since=0):
        return [mt.parse_logfmt(l) for l in self.log()[since:].splitlines()
                if re.search(r"\bevent=%s\b" % re.escape(event), l)]

    def wait_log(self, pattern, since=0, timeout=10.0):
        rx = re.compile(pattern)
        return mt.poll(lambda: rx.search(self.log()[since:]), timeout)


class Result:
    """What send.lua printed: replies per step, header changes."""

    def __init__(self, out):
        self.out = out
        self.steps = []
        self.added = {}
        self.flags = set()
        for line in out.splitlines():
            if line.startswith("added "):
                k, _, v = line[6:].partition("=")
                self.added[k] = v.replace("\\n", "\n")
            elif re.match(r"^(connect|helo|mail|rcpt \S+|eom) \w$", line):
                step, _, r = line.rpartition(" ")
                self.steps.append((step, r))
            else:
                self.flags.add(line.strip())

    def reply(self, step):
        """The last reply character of step ("mail", "rcpt a@b", "eom")."""
        for s, r in reversed(self.steps):
            if s == step:
                return r
        return None


def miltertest(milter, timeout=60, **params):
    """Run send.lua against milter with -D params; returns a Result.
    Raises if miltertest fails."""
    args = [MILTERTEST, "-D", "conn=" + milter.conn]
    for k, v in params.items():
        args += ["-D", "%s=%s" % (k, v)]
    args += ["-s", os.path.join(LUA_DIR, "send.lua")]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=mt.scaled(timeout), universal_newlines=True)
    if p.returncode != 0:
        raise AssertionError("miltertest exited %d:\n%s\n--- moat-milter "
                             "log:\n%s" % (p.returncode, p.stdout,
                                          milter.log()[-4000:]))
    return Result(p.stdout)


def raw_session(port, data, read_reply=True, timeout=5.0):
    """Write raw bytes to the milter socket, read what comes back until
    the other side closes or timeout, and close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        while read_reply and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    finally:
        s.close()
    return got


def transaction_times(port, msg, n, sender="s@sender.test",
                      rcpt="alice@example.test"):
    """Seconds each of n transactions (MAIL..the reply to end of DATA)
    takes on one SMTP session to port, msg (CRLF) sent n times: what a
    milter adds to the MTA's latency (test_milter_tcp.py,
    bench/milter.py).  Raises unless every one is accepted."""
    c = mt.Client(port, src="127.0.0.1")
    c.greet()
    data = mt.dot_stuff(msg)
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        c.cmd("MAIL FROM:<%s>" % sender)
        c.cmd("RCPT TO:<%s>" % rcpt)
        c.cmd("DATA")
        c.send(data)
        r = c.reply()
        out.append(time.monotonic() - t0)
        if r.code != 250:
            raise RuntimeError("end of DATA: %r" % r)
    c.cmd("QUIT")
    c.close()
    return out
