#!/usr/bin/env python3
"""Golden SMTP transcript tests for moatd (tests/golden/README.md).

Each case file (*.smtp) holds a config, a scripted backend and the client's
side of one or more SMTP sessions; below the line "=== expected" it holds
what must come out: every reply the client got, the event= lines moatd
logged, the exact bytes the backend received and how moatd ended.  This
runner starts moatd ($MOATD) on a free loopback port with that config, the
memory store and no DNS, plays the client, then compares.  --update
rewrites the expected part from what happened, for review.

What it deliberately does not do: it needs no root, no Postfix, no Redis
and no resolver; it never kills a process it did not start, and it never
asserts a time (pauses only order events; every wait is bounded).

Python 3 standard library only; openssl(1) makes the test certificate.
By hand it prints PASS/FAIL/XFAIL/XPASS per case and exits 1 if any case
failed or passed against its xfail line (77: cannot run here); with --tap
(make check, through automake's tap-driver.sh) it speaks TAP instead.
"""

import argparse
import difflib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_MARK = "=== expected"
CLIENT_IP = "127.0.0.2"         # not in trusted_networks: relay control on
REPLY_TIMEOUT = float(os.environ.get("GOLDEN_TIMEOUT", "5"))

# The config every case starts from; "conf:" lines override or add keys.
BASE_CONF = [
    ("listen", "127.0.0.1:$PORT"),
    ("backend", "127.0.0.1:$BPORT"),
    ("backend_identity", "xclient"),
    ("backend_check", "off"),
    ("backend_helo", "moat.test"),
    ("backend_connect_timeout", "2s"),
    ("backend_reply_timeout", "3s"),
    ("backend_data_timeout", "3s"),
    ("log", "stderr"),
    ("reverse_dns", "off"),
    # No DNS here: no SPF, DKIM or DMARC (test_sauth_moatd.py has them).
    ("spf", "off"),
    ("dkim", "off"),
    ("dmarc", "off"),
    ("hostname", "moat.test"),
    ("local_domains", "example.test"),
    ("trusted_networks", "127.0.0.1/32"),
    ("greet_wait", "0"),
    ("received_header", "off"),
    ("workers", "1"),
    ("store", "memory"),
    ("spool_dir", "$DIR/spool"),
    ("timeout_command", "10s"),
    ("drain_timeout", "5s"),
]

# What the scripted backend says when no "backend:" rule matches.
BACKEND_EHLO = ("250-backend.test|250-PIPELINING|250-SIZE 52428800|"
                "250-8BITMIME|250-ENHANCEDSTATUSCODES|"
                "250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN "
                "DESTADDR DESTPORT|250 SMTPUTF8")
BACKEND_DEFAULT = {
    "BANNER": "220 backend.test ESMTP",
    "EHLO": BACKEND_EHLO,
    "HELO": "250 backend.test",
    "XCLIENT": "220 backend.test ESMTP",
    "XFORWARD": "250 2.0.0 ok",
    "MAIL": "250 2.1.0 ok",
    "RCPT": "250 2.1.5 ok",
    "DATA": "354 go ahead",
    "EOD": "250 2.0.0 queued as GOLDEN",
    "RSET": "250 2.0.0 ok",
    "NOOP": "250 2.0.0 ok",
    "QUIT": "221 2.0.0 bye",
    "AUTH": "235 2.7.0 ok",
    "*": "502 5.5.2 what",
}
HEADER_KEYS = ("conf", "file", "backend", "trace", "xfail", "secret",
               "compare", "log", "ehlo")
COMPARE_PARTS = ("replies", "log", "backend", "exit")
# What stands for the rest of an EHLO reply (without "ehlo: full").
BRIEF = " [capabilities]"
# Script steps that are one word, echoed as they are.
BARE_STEPS = ("{", "}", "shut", "eof", "close", "starttls", "hold")

# Volatile parts of what moatd writes, masked before the comparison.
LOG_DROP_KEYS = re.compile(r'\b(ts|ms|\w+_ms)=("(?:[^"\\]|\\.)*"|\S*) ?')
PORT_RX = re.compile(r'\b((?:port|PORT)=)\d+')
ADDR_PORT_RX = re.compile(r'(127\.0\.0\.\d+|\])[:.](\d{4,5})\b')
SID_RX = re.compile(r'\b[0-9a-f]{16}\b')
DATE_RX = re.compile(r'\b\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}')


def unescape(text):
    """C-style escapes of the script (\\r \\n \\t \\0 \\xNN \\\\) and the
    {{c*N}} repeat, so that a case can spell any byte and long lines."""
    text = re.sub(r"\{\{(.+?)\*(\d+)\}\}",
                  lambda m: m.group(1) * int(m.group(2)), text)
    out, i = bytearray(), 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0",
                    "\\": b"\\"}.get(n, ("\\" + n).encode())
            i += 2
            continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def show(data):
    """Bytes as one printable line: the inverse of unescape for display."""
    out = []
    for b in data:
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == "\r":
            out.append("\\r")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def squash(text, limit=200):
    """Very long lines (bounds tests) shortened so that the file stays
    readable: the head, the length and the tail."""
    if len(text) <= limit:
        return text
    return "%s...(%d chars)...%s" % (text[:60], len(text), text[-40:])


# ---------------------------------------------------------------- the case

class Case:
    """One parsed case file: header items, script steps, expected text."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if EXPECTED_MARK in text:
            head, _, exp = text.partition(EXPECTED_MARK)
            self.source = head
            self.expected = exp.split("\n", 1)[1] if "\n" in exp else ""
        else:
            self.source, self.expected = text, None
        self.conf, self.files, self.rules = [], {}, []
        self.trace = None
        self.xfail = None
        self.secrets = []
        self.compare = list(COMPARE_PARTS)
        self.codes_only = False
        self.log_extra = None
        self.ehlo_full = False
        self.steps = []
        for no, raw in enumerate(self.source.splitlines(), 1):
            line = raw.rstrip()
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                self._parse(line)
            except (ValueError, IndexError) as e:
                raise SystemExit("%s:%d: %s: %s" % (path, no, e, line))
        first = [k for k, _ in self.steps if k != "pause"][:1]
        if first and first[0] not in ("connect", "connect-early"):
            raise SystemExit("%s: the script must begin with connect" % path)

    def _parse(self, line):
        key, sep, val = line.partition(":")
        if sep and key in HEADER_KEYS:
            val = val.strip()
            if key == "conf":
                k, _, v = val.partition(" ")
                self.conf.append((k, v.strip()))
            elif key == "file":
                name, _, content = val.partition(" ")
                self.files.setdefault(name, []).append(content)
            elif key == "backend":
                self.rules.append(parse_rule(val))
            elif key == "trace":
                self.trace = val
            elif key == "xfail":
                self.xfail = val
            elif key == "secret":
                self.secrets.append(val)
            elif key == "compare":
                words = val.split()
                self.codes_only = "codes" in words
                self.compare = [w for w in words if w in COMPARE_PARTS]
            elif key == "log":
                self.log_extra = re.compile(val)
            elif key == "ehlo":
                if val != "full":
                    raise ValueError("ehlo: full is the only choice")
                self.ehlo_full = True
            return
        verb, _, arg = line.partition(" ")
        if line.startswith("C: ") or line == "C:":
            self.steps.append(("cmd", line[3:]))
        elif line.startswith("C-: ") or line == "C-:":
            self.steps.append(("line", line[4:]))
        elif line.startswith("raw: "):
            self.steps.append(("raw", line[5:]))
        elif verb in BARE_STEPS:
            self.steps.append((verb, None))
        elif verb in ("connect", "connect-early"):
            self.steps.append((verb, arg.strip() or CLIENT_IP))
        elif verb in ("expect", "fill"):
            self.steps.append((verb, int(arg)))
        elif verb == "pause":
            self.steps.append(("pause", float(arg)))
        else:
            raise ValueError("unknown script step")


def parse_rule(val):
    """backend: VERB [substring] -> reply|more lines [+close]
    or -> close / -> hang.  The first matching rule wins."""
    left, arrow, right = val.partition("->")
    if not arrow:
        raise ValueError("backend rule needs ->")
    words = left.split(None, 1)
    verb = words[0].upper()
    match = words[1].strip() if len(words) > 1 else None
    right = right.strip()
    close = False
    if right.endswith("+close"):
        close, right = True, right[:-len("+close")].strip()
    if right == "close":
        return (verb, match, None, True)
    if right == "hang":
        return (verb, match, "", False)
    return (verb, match, right, close)


# ---------------------------------------------------------------- backend

class Backend:
    """The scripted backend: one listener on loopback, one thread per
    connection, answers per the case's rules (else BACKEND_DEFAULT), and
    keeps every byte it received, per connection, in accept order."""

    def __init__(self, rules):
        self.rules = rules
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.received = []
        self.conns = []
        self.threads = []
        self.lock = threading.Lock()
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                idx = len(self.received)
                self.received.append(bytearray())
                self.conns.append(c)
            t = threading.Thread(target=self._serve, args=(c, idx),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def answer(self, verb, line):
        for rverb, match, reply, close in self.rules:
            if rverb == verb and (match is None or match.encode() in line):
                return reply, close
        return BACKEND_DEFAULT.get(verb, BACKEND_DEFAULT["*"]), False

    def _say(self, c, verb, line=b""):
        """Answer one event; False when the connection is to end."""
        reply, close = self.answer(verb, line)
        if reply:
            c.sendall(reply.replace("|", "\r\n").encode() + b"\r\n")
        if close:
            c.shutdown(socket.SHUT_RDWR)
            return False
        return True

    def _serve(self, c, idx):
        buf, in_data = b"", False
        try:
            if not self._say(c, "BANNER"):
                return
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    return
                with self.lock:
                    self.received[idx] += chunk
                buf += chunk
                while True:
                    if in_data:
                        end = buf.find(b"\r\n.\r\n")
                        if end < 0:
                            break
                        buf, in_data = buf[end + 5:], False
                        if not self._say(c, "EOD"):
                            return
                        continue
                    if b"\r\n" not in buf:
                        break
                    line, buf = buf.split(b"\r\n", 1)
                    verb = line.split(b" ", 1)[0].upper().decode(
                        "ascii", "replace")
                    if not self._say(c, verb, line):
                        return
                    if verb == "DATA":
                        in_data = True
                    elif verb == "QUIT":
                        return
        except OSError:
            return
        finally:
            c.close()

    def close(self):
        # shutdown wakes the thread blocked in accept(); close alone
        # does not on Linux.
        for how in (lambda: self.lsock.shutdown(socket.SHUT_RDWR),
                    self.lsock.close):
            try:
                how()
            except OSError:
                pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(5)


# ---------------------------------------------------------------- client

class Conn:
    """The client side of one session: bytes out, replies in, bounded."""

    def __init__(self, port, src, out):
        self.out = out
        self.buf = b""
        self.closed = False
        self.sock = socket.socket()
        self.sock.bind((src, 0))
        self.sock.settimeout(REPLY_TIMEOUT)
        self.port = self.sock.getsockname()[1]     # in moatd's port= key
        self.sock.connect(("127.0.0.1", port))

    def send(self, data):
        # A write to a closed peer fails or not depending on timing; the
        # next read says "(closed)" either way, so the error is not shown.
        if self.closed:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def _fill(self, deadline):
        """More bytes into buf; False on EOF or when the deadline passed."""
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def reply(self, timeout=REPLY_TIMEOUT, brief=False):
        """Read one (multi-line) reply into out; False if none came.
        brief: a multi-line reply as its first line and "[capabilities]"
        (EHLO: what moatd offers changes with features, and only the cases
        about the offer should change with it)."""
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                if not self._fill(deadline):
                    if lines or self.buf:
                        for ln in lines:
                            self.out.append("S: " + ln)
                        if self.buf:
                            self.out.append("S: %s (no CRLF)" %
                                            show(self.buf))
                            self.buf = b""
                    self.out.append("(closed)" if self.closed else
                                    "(no reply within %gs)" % timeout)
                    return False
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(squash(show(line)))
            if len(line) < 4 or line[3:4] != b"-":
                break
        if brief and len(lines) > 1:
            lines = [lines[0] + BRIEF]
        for ln in lines:
            self.out.append("S: " + ln)
        return True

    def until_eof(self):
        """Every reply up to the server's close (bounded)."""
        while self.reply():
            pass

    def starttls(self):
        if self.buf:
            self.out.append("(plaintext after the 220: %s)" % show(self.buf))
            self.buf = b""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            self.sock = ctx.wrap_socket(self.sock)
            self.out.append("(tls up)")
        except (ssl.SSLError, OSError) as e:
            self.out.append("(tls failed: %s)" % e.__class__.__name__)
            self.closed = True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


def fill_lines(n):
    """n bytes of message body in 78-byte CRLF lines."""
    line = b"x" * 76 + b"\r\n"
    data = line * (n // len(line))
    rest = n - len(data)
    if rest >= 2:
        data += b"y" * (rest - 2) + b"\r\n"
    return data


def play(case, port, out, settle):
    """Run the script against moatd on port; the dialog goes into out.
    settle(conn) is called after each close of a connection: it waits
    until moatd has logged that session, so that the log's order is the
    script's, not the scheduler's."""
    conn, group, group_replies = None, None, 0
    held = []
    for kind, arg in case.steps:
        if kind in ("connect", "connect-early"):
            if conn:
                conn.close()
                settle(conn)
            out.append("%s %s" % (kind, arg))
            try:
                conn = Conn(port, arg, out)
            except OSError as e:
                out.append("(connect failed: %s)" % e.strerror)
                conn = None
                continue
            if kind == "connect":
                conn.reply()
            continue
        if kind == "pause":
            out.append("pause %g" % arg)
            time.sleep(arg)
            continue
        if conn is None:
            continue            # the connect failed (said so) or hold
        if kind in BARE_STEPS:
            out.append(kind)
        if kind == "{":
            group, group_replies = b"", 0
        elif kind == "}":
            conn.send(group)
            for _ in range(group_replies):
                if not conn.reply():
                    break
            group = None
        elif kind in ("cmd", "line", "raw"):
            data = unescape(arg)
            if kind != "raw":
                data += b"\r\n"
            prefix = {"cmd": "C: ", "line": "C-: ", "raw": "raw: "}[kind]
            out.append((prefix + squash(arg)).rstrip() if not arg.strip()
                       else prefix + squash(arg))
            if group is not None:
                group += data
                group_replies += kind == "cmd"
            else:
                conn.send(data)
                if kind == "cmd":
                    conn.reply(brief=not case.ehlo_full and
                               arg.upper().startswith("EHLO"))
        elif kind == "fill":
            out.append("fill %d" % arg)
            data = fill_lines(arg)
            if group is not None:
                group += data
            else:
                conn.send(data)
        elif kind == "expect":
            out.append("expect %d" % arg)
            for _ in range(arg):
                if not conn.reply():
                    break
        elif kind == "shut":
            try:
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.until_eof()
        elif kind == "eof":
            conn.until_eof()
        elif kind == "close":
            conn.close()
            settle(conn)
        elif kind == "starttls":
            conn.starttls()
        elif kind == "hold":
            # Kept open while the next connections run (concurrency
            # bounds); closed, in order, when the script ends.
            held.append(conn)
            conn = None
    for c in ([conn] if conn else []) + held:
        c.close()
        settle(c)


# ---------------------------------------------------------------- moatd

class Run:
    """One case run: temp dir, backend, moatd, client, what came out."""

    def __init__(self, case, moatd, certs):
        self.case = case
        self.moatd = moatd
        self.dir = tempfile.mkdtemp(prefix="moat-golden-")
        os.makedirs(os.path.join(self.dir, "spool"), mode=0o700)
        self.certs = certs
        self.proc = None
        self.backend = None

    def subst(self, text):
        for k, v in (("$PORT", str(self.port)),
                     ("$BPORT", str(self.backend.port)),
                     ("$DIR", self.dir), ("$CERT", self.certs[0]),
                     ("$KEY", self.certs[1])):
            text = text.replace(k, v)
        return text

    def write_config(self):
        conf = dict(BASE_CONF)
        extra, seen = [], set()
        for k, v in self.case.conf:
            # The first "conf:" of a key replaces the base value (none
            # drops it); a repeatable key (listen, rules) given again is
            # appended.
            if k in conf and k not in seen:
                conf[k] = v or None
            else:
                extra.append((k, v))
            seen.add(k)
        for name, lines in self.case.files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write("".join(self.subst(x) + "\n" for x in lines))
        path = os.path.join(self.dir, "moat.conf")
        with open(path, "w") as f:
            for k, v in list(conf.items()) + extra:
                if v is not None:
                    f.write("%s %s\n" % (k, self.subst(v)))
        return path

    def start(self):
        self.backend = Backend(self.case.rules)
        self.log_path = os.path.join(self.dir, "moatd.log")
        for _ in range(5):      # another process may take the port first
            self.port = free_port()
            conf = self.write_config()
            args = [self.moatd, "-c", conf]
            if self.case.trace:
                args += ["-T", self.case.trace]
            with open(self.log_path, "wb") as err:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                             stdout=err, stderr=err)
            if wait_listening(self.proc, self.log_path):
                return
            if self.proc.poll() is None:
                self.stop()
            if "Address already in use" not in self.log():
                break
        raise RuntimeError("moatd did not start:\n" + self.log())

    def stop(self):
        """SIGTERM (moatd drains and logs every session), SIGKILL after
        10 s; the exit as a line of the transcript."""
        if self.proc.poll() is not None:
            code = self.proc.returncode
            return "moatd died: %s" % (
                "signal %d" % -code if code < 0 else "exit %d" % code)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return "moatd did not stop on SIGTERM"
        return "moatd: exit %d" % self.proc.returncode

    def settle(self, conn, timeout=REPLY_TIMEOUT):
        """Wait (bounded) until moatd logged the event=session line of the
        client connection conn, or died."""
        rx = re.compile(r"\bevent=session\b.*\bport=%d\b" % conn.port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if rx.search(self.log()):
                return
            time.sleep(0.01)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (FileNotFoundError, AttributeError):
            return ""

    def cleanup(self, keep):
        """Stop what still runs (a case that raised); remove the temp
        dir unless keep.  Returns the dir if kept."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.backend:
            self.backend.close()
        if keep:
            return self.dir
        shutil.rmtree(self.dir, ignore_errors=True)
        return None

    def execute(self):
        """Run the case; returns (transcript text, problems)."""
        problems = []
        self.start()
        dialog = []
        play(self.case, self.port, dialog, self.settle)
        ending = self.stop()
        self.backend.close()
        log = self.log()
        problems += sanitizer_reports(log)
        for s in self.case.secrets:
            if s in log:
                problems.append("secret %r appears in moatd's log" % s)
        return render(self.case, dialog, log, self.backend.received,
                      ending), problems


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(proc, log_path, timeout=10.0):
    """Until moatd logs that it listens (a probe connection would be a
    session of its own in the log); False if it exited or timed out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with open(log_path, "rb") as f:
            if re.search(rb"moatd \S+ started", f.read()):
                return True
        time.sleep(0.02)
    return False


SANITIZER_RX = re.compile(r"ERROR: (?:Address|Leak|Thread|Memory)Sanitizer|"
                          r"runtime error:")


def sanitizer_reports(log):
    m = SANITIZER_RX.search(log)
    if not m:
        return []
    return ["sanitizer report:\n" + log[max(0, m.start() - 200):
                                         m.start() + 3000]]


# ---------------------------------------------------------------- output

class Masker:
    """Session ids become S1, S2... in order of appearance, ports N and
    RFC 5322 dates DATE; the same id is the same name everywhere."""

    def __init__(self):
        self.ids = {}

    def __call__(self, text):
        text = SID_RX.sub(self._sid, text)
        text = PORT_RX.sub(r"\1N", text)
        text = DATE_RX.sub("DATE", text)
        return ADDR_PORT_RX.sub(r"\1:N", text)

    def _sid(self, m):
        return self.ids.setdefault(m.group(0), "S%d" % (len(self.ids) + 1))


def codes_only(line):
    """compare: codes keeps of a reply its last line's code and enhanced
    code (None for a continuation line: dropped)."""
    if re.match(r"S: \d{3}-", line) and not line.endswith(BRIEF):
        return None
    m = re.match(r"S: (\d{3})[ -]?(\d\.\d{1,3}\.\d{1,3}\b)?", line)
    if not m:
        return line
    return "S: " + " ".join(g for g in m.groups() if g)


def runs(lines):
    """Three or more equal lines in a row as one, with their count (a
    filled message body)."""
    out, i = [], 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j] == lines[i]:
            j += 1
        out += [lines[i] + " [%d times]" % (j - i)] if j - i >= 3 else \
            lines[i:j]
        i = j
    return out


def render(case, dialog, log, received, ending):
    mask = Masker()
    out = []
    if "replies" in case.compare:
        for line in dialog:
            if case.codes_only:
                line = codes_only(line)
            if line is not None:
                out.append(mask(line))
    if "log" in case.compare:
        out.append("--- log")
        for line in log.splitlines():
            # A session's events; not the daemon's own (event=rules at
            # start counts JIT-compiled rules: a fact of the host).
            keep = re.search(r"\bevent=\w+ session=", line) is not None
            if case.log_extra and case.log_extra.search(line):
                keep = True
            if keep:
                out.append(mask(LOG_DROP_KEYS.sub("", line).rstrip()))
    if "backend" in case.compare:
        for i, data in enumerate(received, 1):
            out.append("--- backend %d" % i)
            lines = bytes(data).split(b"\r\n")
            out += runs([mask(squash(show(ln))) for ln in lines[:-1]])
            if lines[-1]:
                out.append(mask(show(lines[-1])) + " (no CRLF)")
    if "exit" in case.compare:
        out.append("--- " + ending)
    return "\n".join(out) + "\n"


def make_certs(d):
    key, crt = os.path.join(d, "golden.key"), os.path.join(d, "golden.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", "/CN=moat.test"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    return crt, key


def run_case(case, moatd, certs, opt, say):
    """Returns 'pass', 'fail', 'xfail' or 'xpass'; says why through say."""
    run = Run(case, moatd, certs)
    try:
        got, problems = run.execute()
    finally:
        kept = run.cleanup(opt.keep)
        if kept:
            say("%s: kept %s" % (case.name, kept))
    if opt.update and case.xfail is None:
        with open(case.path, "w", encoding="utf-8") as f:
            f.write(case.source.rstrip("\n") + "\n\n" + EXPECTED_MARK +
                    " (run.py --update wrote this; review it)\n" + got)
        case.expected = got
    same = case.expected == got and not problems
    for p in problems:
        say("%s: %s" % (case.name, p))
    if not same and (opt.verbose or opt.tap or case.xfail is None):
        for line in difflib.unified_diff(
                (case.expected or "").splitlines(),
                got.splitlines(), "%s (expected)" % case.name,
                "%s (got)" % case.name, lineterm=""):
            say(line)
    if case.xfail is not None:
        return "xpass" if same else "xfail"
    return "pass" if same else "fail"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", help="case files (default: all)")
    ap.add_argument("--update", action="store_true",
                    help="rewrite the expected part of each case")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show the diff of expected failures too")
    ap.add_argument("--keep", action="store_true",
                    help="keep each case's temp dir (config, moatd.log)")
    ap.add_argument("--tap", action="store_true",
                    help="TAP output for automake's tap-driver (make check)")
    opt = ap.parse_args()
    cases = opt.cases or sorted(
        os.path.join(HERE, "cases", n)
        for n in os.listdir(os.path.join(HERE, "cases"))
        if n.endswith(".smtp"))
    if opt.tap:
        def say(text):
            print("# " + text)
    else:
        say = print
    moatd = os.environ.get("MOATD", "")
    why = None
    if not moatd or not os.access(moatd, os.X_OK):
        why = "moatd binary not found (MOATD=%r)" % moatd
    elif not shutil.which("openssl"):
        why = "no openssl(1) to make the test certificate"
    if why:
        print("1..0 # SKIP " + why if opt.tap else "SKIP: " + why)
        return 0 if opt.tap else SKIP
    if opt.tap:
        print("1..%d" % len(cases))
    tmp = tempfile.mkdtemp(prefix="moat-golden-cert-")
    failed = 0
    try:
        certs = make_certs(tmp)
        for n, path in enumerate(cases, 1):
            case = Case(path)
            res = run_case(case, moatd, certs, opt, say)
            failed += res in ("fail", "xpass")
            note = ""
            if res in ("xfail", "xpass"):
                note = " # TODO " + case.xfail
                if res == "xpass":
                    say("%s passes now: remove its xfail line" % case.name)
            if opt.tap:
                # TAP: "not ok # TODO" is XFAIL, "ok # TODO" is XPASS.
                print("%s %d - %s%s" % (
                    "ok" if res in ("pass", "xpass") else "not ok", n,
                    case.name, note))
            else:
                print("%s: %s%s" % (res.upper(), case.name, note))
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed and not opt.tap else 0


if __name__ == "__main__":
    sys.exit(main())
