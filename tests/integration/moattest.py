"""moattest: the integration test harness for moatd.

Starts a private Postfix (own config, queue and mail directories, loopback
only, XCLIENT authorized for 127.0.0.1, virtual delivery to maildirs,
its own log file) and moatd in front of it, and gives the tests SMTP
clients that can do what ordinary clients will not (pipelining in one
write, bare CR/LF, NUL bytes, pregreeting, dripping, binding to 127.0.0.2).

What it deliberately does not do: it never touches /etc/postfix or the
default Postfix instance, never installs anything, never stops a process
by name.  Every process it starts is stopped by its pid (Postfix by the
process group of its master), also when a test fails: the start functions
register their own cleanups with the test case.

Python 3 standard library only.  Tests exit 77 (automake SKIP) when not
run as root, or when postfix or the moatd binary ($MOATD) is missing.
Set MOAT_KEEP=1 to keep the temporary directories for a post-mortem.
"""

import atexit
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

SKIP = 77
POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
DOMAIN = "example.test"
USERS = ("alice", "bob", "carol")
CLIENT_IP = "127.0.0.2"         # the test client; not a trusted network
BACKEND_NAME = "backend.test"   # Postfix's myhostname
MOAT_NAME = "moat.test"         # moatd's hostname


# ---------------------------------------------------------------- basics

def skip_reason(need_moatd=True):
    """Why the integration tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root (a private Postfix needs root)"
    if not os.access(POSTFIX, os.X_OK):
        return "postfix not installed"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no postfix user"
    if not need_moatd:
        return None
    moatd = os.environ.get("MOATD", "")
    if not moatd or not os.access(moatd, os.X_OK):
        return "moatd binary not found (MOATD=%r)" % moatd
    return None


# Everything started and not yet stopped, so that an interrupted run
# (SIGTERM from make, ^C) still stops its Postfix and moatd by pid.
_live = set()


def _stop_all():
    for obj in list(_live):
        try:
            obj.stop()
        except Exception:           # best effort on the way out
            pass
        rmtree(obj.dir)


def _interrupted(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(need_moatd=True):
    """Entry point of every test file: SKIP (77) or run unittest."""
    reason = skip_reason(need_moatd)
    if reason:
        print("SKIP: " + reason)
        sys.exit(SKIP)
    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    unittest.main(verbosity=2)


def moatd_path():
    return os.environ["MOATD"]


# Under valgrind (make check-valgrind) the daemons run ~20x slower:
# MOAT_TIMEOUT_SCALE multiplies the harness's waits (poll, wait_port,
# the daemon start and stop deadlines, the client's socket timeout).
TIMEOUT_SCALE = float(os.environ.get("MOAT_TIMEOUT_SCALE") or 1)


def scaled(seconds):
    """seconds times MOAT_TIMEOUT_SCALE (1 unless set)."""
    return seconds * TIMEOUT_SCALE


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    """Wait until host:port accepts a connection; raise on timeout.
    The probe connection is closed at once (moatd sees a short session)."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError("nothing listens on %s:%d" % (host, port))
            time.sleep(0.05)


def token():
    """A unique marker to find one test's messages and log lines."""
    return "T" + uuid.uuid4().hex[:16]


def poll(fn, timeout=10.0, interval=0.05):
    """Call fn until it returns something true, at most timeout seconds.
    Returns the last value (false on timeout)."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def proc_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] != "Z"


def pgrp_members(pgid):
    """Live processes whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(d))
    return out


def rmtree(path):
    if os.environ.get("MOAT_KEEP"):
        sys.stderr.write("MOAT_KEEP: kept %s\n" % path)
        return
    shutil.rmtree(path, ignore_errors=True)


def mkdtemp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    # Postfix's virtual(8) runs as the postfix user and must reach the
    # maildirs below this directory.
    os.chmod(d, 0o755)
    return d


# ---------------------------------------------------------------- Postfix

MAIN_CF = """\
# Private Postfix for the moat integration tests.  Generated.
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {backend_name}
mydomain = backend.test
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.1/32
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
multi_instance_enable = no
biff = no
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
alias_maps =
alias_database =
local_recipient_maps =
default_transport = error:no remote delivery in tests
relay_transport = error:no remote delivery in tests
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = texthash:{dir}/etc/vmailbox
virtual_mailbox_base = {dir}/mail
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_authorized_xforward_hosts = 127.0.0.1
smtpd_reject_unlisted_recipient = yes
smtpd_peername_lookup = no
smtpd_banner = $myhostname ESMTP backend
smtpd_delay_reject = no
smtpd_sender_restrictions = check_sender_access regexp:{dir}/etc/sender_warn
smtpd_relay_restrictions =
    check_recipient_access regexp:{dir}/etc/rcpt_access,
    permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_junk_command_limit = 1000
smtpd_client_connection_count_limit = 0
in_flow_delay = 0
header_checks = regexp:{dir}/etc/header_checks
message_size_limit = 52428800
mailbox_size_limit = 0
virtual_mailbox_limit = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
local_header_rewrite_clients =
always_add_missing_headers = no
smtputf8_enable = yes
notify_classes =
"""

# chroot n everywhere: the queue lives in a temp dir with no chroot files.
MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:{port} inet n -       n       -       -       smtpd
127.0.0.1:{proxy_port} inet n - n       -       -       smtpd
  -o smtpd_upstream_proxy_protocol=haproxy
  -o syslog_name=postfix/proxied
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# End-of-DATA rejects for the pass-through tests.
HEADER_CHECKS = """\
/^Subject: .*REJECTME/ REJECT 5.7.1 rejected by test
/^Subject: .*DEFERME/ REJECT 4.7.1 deferred by test
/^Subject: .*DISCARDME/ DISCARD discarded by test
"""

# Every MAIL FROM and RCPT TO that reaches Postfix is logged ("warn:
# ... sender-seen"/"rcpt-seen"), so a test can tell exactly what moatd
# forwarded.  A few recipients give fixed temporary/permanent failures.
SENDER_WARN = """\
/^badsender@sender\\.test$/ 553 5.7.8 sender refused by test
/^/ WARN sender-seen
"""

RCPT_ACCESS = """\
/^tempfail@example\\.test$/ 450 4.2.1 tempfail by test
/^permfail@example\\.test$/ 553 5.7.9 permfail by test
/^/ WARN rcpt-seen
"""


class Postfix:
    """A private Postfix instance on 127.0.0.1:port.

    start() runs "postfix -c DIR start" (as root; no entry in the default
    instance's alternate_config_directories is needed for that), stop()
    sends SIGTERM to the master's pid and waits for its process group.
    """

    def __init__(self):
        self.dir = mkdtemp("moat-pf-")
        self.conf = os.path.join(self.dir, "etc")
        self.maillog = os.path.join(self.dir, "maillog")
        self.port = free_port()
        # A second smtpd that expects an HAProxy PROXY header (v1 or v2),
        # for backend_identity proxy-v1/proxy-v2.
        self.proxy_port = free_port()
        self.pid = None

    # -- lifecycle

    def write_config(self):
        pw = pwd.getpwnam("postfix")
        os.makedirs(self.conf, exist_ok=True)
        for d in ("queue", "data"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chown(os.path.join(self.dir, "data"), pw.pw_uid, pw.pw_gid)
        mail = os.path.join(self.dir, "mail")
        os.makedirs(mail, exist_ok=True)
        os.chown(mail, pw.pw_uid, pw.pw_gid)
        fmt = dict(dir=self.dir, port=self.port, proxy_port=self.proxy_port,
                   domain=DOMAIN,
                   uid=pw.pw_uid, gid=pw.pw_gid, backend_name=BACKEND_NAME)
        files = {
            "main.cf": MAIN_CF.format(**fmt),
            "master.cf": MASTER_CF.format(**fmt),
            "vmailbox": "".join("%s@%s %s/%s/\n" % (u, DOMAIN, DOMAIN, u)
                                for u in USERS),
            "header_checks": HEADER_CHECKS,
            "sender_warn": SENDER_WARN,
            "rcpt_access": RCPT_ACCESS,
        }
        for name, text in files.items():
            with open(os.path.join(self.conf, name), "w") as f:
                f.write(text)

    def start(self):
        env = dict(os.environ)
        env.pop("MAIL_CONFIG", None)
        # free_port()'s ports are ephemeral ones: another test's outgoing
        # connection can take one before the master binds it.  The master
        # then exits at once, so new ports and one more try (of three).
        for _ in range(3):
            self.write_config()
            mark = self.log_mark()
            r = subprocess.run([POSTFIX, "-c", self.conf, "start"], env=env,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120)
            if r.returncode == 0 or "Address already in use" not in \
                    self.log()[mark:]:
                break
            self.port = free_port()
            self.proxy_port = free_port()
        pidfile = os.path.join(self.dir, "queue", "pid", "master.pid")
        if r.returncode != 0:
            raise RuntimeError("postfix start failed (%d): %s\n%s" % (
                r.returncode, r.stdout.decode(errors="replace"),
                self.log()))
        with open(pidfile) as f:
            self.pid = int(f.read().split()[0])
        _live.add(self)
        wait_port(self.port, 20)
        return self

    def stop(self):
        _live.discard(self)
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        # The master is a session leader; it terminates its process group
        # on SIGTERM.  Wait for all of it, then make sure.
        if not poll(lambda: not proc_alive(pid) and not pgrp_members(pid),
                    timeout=10):
            for p in pgrp_members(pid):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            poll(lambda: not pgrp_members(pid), timeout=5)

    def cleanup(self):
        self.stop()
        rmtree(self.dir)

    # -- what Postfix saw

    def log(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self):
        try:
            return os.path.getsize(self.maillog)
        except FileNotFoundError:
            return 0

    def log_sync(self, timeout=10.0):
        """A barrier: every line Postfix's processes have sent to postlogd
        so far is in the log file when this returns.  postlogd reads one
        datagram queue in order and can lag behind a loaded machine (the
        maildir file may appear before the smtpd lines are written), so a
        marker sent now and seen in the file proves the earlier lines are
        there.  Raises on timeout."""
        marker = "moattest-sync %s" % token()
        line = "%s %s moattest[%d]: %s" % (
            time.strftime("%b %d %H:%M:%S"), BACKEND_NAME, os.getpid(),
            marker)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout)
            s.sendto(line.encode(), os.path.join(self.dir, "queue",
                                                 "public", "postlog"))
        finally:
            s.close()
        if not poll(lambda: marker in self.log_tail(), timeout):
            raise TimeoutError("postlogd did not write the sync marker")

    def log_tail(self, n=65536):
        try:
            with open(self.maillog, "rb") as f:
                f.seek(max(0, os.path.getsize(self.maillog) - n))
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_since(self, mark, sync=True):
        """The log from byte offset mark on; by default after log_sync(),
        so that it holds everything Postfix did until now."""
        if sync and self.pid is not None:
            self.log_sync()
        try:
            with open(self.maillog, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, mark=0, timeout=10.0):
        """Wait until the log since mark matches the regex; return match."""
        rx = re.compile(pattern)
        return poll(lambda: rx.search(self.log_since(mark, sync=False)),
                    timeout)

    def seen_rcpts(self, mark=0):
        """Recipients that reached Postfix's RCPT stage since mark."""
        return re.findall(r"(?:rcpt-seen|reject: RCPT from [^;]*;)"
                          r".*? to=<([^>]*)>", self.log_since(mark))

    def seen_senders(self, mark=0):
        return re.findall(r"MAIL from \S+: sender-seen; from=<([^>]*)>",
                          self.log_since(mark))

    # -- mailboxes

    def maildir(self, user):
        return os.path.join(self.dir, "mail", DOMAIN, user)

    def messages(self, user, marker=None):
        """Delivered messages (bytes) for user, oldest first; only those
        containing marker (str) when given."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(user), sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for n in names:
                p = os.path.join(d, n)
                try:
                    st = os.stat(p)
                    with open(p, "rb") as f:
                        data = f.read()
                except FileNotFoundError:
                    continue
                if marker is None or marker.encode() in data:
                    out.append((st.st_mtime_ns, n, data))
        out.sort()
        return [d for _, _, d in out]

    def wait_messages(self, user, marker, count=1, timeout=10.0):
        """Wait until at least count messages with marker arrived for
        user; return them (possibly fewer on timeout)."""
        poll(lambda: len(self.messages(user, marker)) >= count, timeout)
        return self.messages(user, marker)

    def all_messages(self, marker):
        return {u: self.messages(u, marker) for u in USERS}

    def queue_empty(self):
        """True when no message is in Postfix's queue (active/incoming/
        deferred/maildrop/hold)."""
        for q in ("incoming", "active", "deferred", "maildrop", "hold"):
            for _root, _dirs, files in os.walk(
                    os.path.join(self.dir, "queue", q)):
                if files:
                    return False
        return True

    def settle(self, timeout=10.0):
        """Wait for the queue to drain, so absence checks mean something."""
        return poll(self.queue_empty, timeout)


# ---------------------------------------------------------------- moatd

def parse_logfmt(line):
    """key=value / key="quoted \\" value" pairs of one log line -> dict."""
    out = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        k, v = m.group(1), m.group(2)
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[k] = v
    return out


class Moatd:
    """One moatd process with a generated config.

    conf: dict of key -> value (None drops a default key); extra: raw
    config lines appended.  start() waits until the listener accepts.
    """

    DEFAULTS = {
        "listen": None,          # filled in with the free port
        "backend": None,
        "backend_identity": "xclient",
        "log": "stderr",
        # No DNS in the test environment: do not make MAIL wait for it.
        "reverse_dns": "off",
        # ... nor ask it about senders (test_sauth_moatd.py turns these
        # on against its own dnsmasq).
        "spf": "off",
        "dkim": "off",
        "dmarc": "off",
        "hostname": MOAT_NAME,
        "local_domains": DOMAIN,
        # The test client connects from 127.0.0.2: not trusted, so relay
        # control applies to it.
        "trusted_networks": "127.0.0.1/32",
        "greet_wait": "0",
        "timeout_command": "10s",
        "backend_connect_timeout": "2s",
        "backend_reply_timeout": "3s",
        "backend_data_timeout": "5s",
        "received_header": "on",
        "workers": "2",
        "drain_timeout": "10s",
    }

    def __init__(self, backend_port, conf=None, extra=(), listen_opts=""):
        self.dir = mkdtemp("moat-d-")
        self.spool = os.path.join(self.dir, "spool")
        os.makedirs(self.spool)
        self.port = free_port()
        self.backend_port = backend_port
        self.conf_path = os.path.join(self.dir, "moat.conf")
        self.stderr_path = os.path.join(self.dir, "moatd.log")
        self.proc = None
        self.conf = dict(self.DEFAULTS)
        self.conf["listen"] = ("127.0.0.1:%d %s" % (self.port,
                                                     listen_opts)).strip()
        self.conf["backend"] = "127.0.0.1:%d" % backend_port
        self.conf["spool_dir"] = self.spool
        self.conf.update(conf or {})
        self.extra = list(extra)

    def config_text(self):
        lines = ["# generated by moattest"]
        for k, v in self.conf.items():
            if v is not None:
                lines.append("%s %s" % (k, v))
        lines.extend(self.extra)
        return "\n".join(lines) + "\n"

    def write_config(self, text=None):
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.config_text() if text is None else text)
        os.rename(tmp, self.conf_path)

    def check(self, path=None):
        """moatd -t -c path: (exit status, stdout+stderr text)."""
        r = subprocess.run([moatd_path(), "-t", "-c", path or self.conf_path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        return r.returncode, r.stdout.decode(errors="replace")

    def start(self, wait=True):
        self.write_config()
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([moatd_path(), "-c", self.conf_path],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=self._err)
        _live.add(self)
        if wait:
            deadline = time.monotonic() + scaled(10)
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("moatd exited with %d:\n%s" % (
                        self.proc.returncode, self.log()))
                try:
                    socket.create_connection(("127.0.0.1", self.port),
                                             timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError("moatd does not listen:\n" +
                                           self.log())
                    time.sleep(0.05)
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout.  Returns the exit status."""
        _live.discard(self)
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._err.close()
        return self.proc.returncode

    SANITIZER_RX = re.compile(r"ERROR: (?:Address|Leak|Thread|Memory)"
                              r"Sanitizer|runtime error:")

    def cleanup(self):
        """Stop, and fail if a sanitizer build reported anything (the
        directory is then kept for a post-mortem)."""
        self.stop()
        m = self.SANITIZER_RX.search(self.log())
        if m:
            text = self.log()
            raise AssertionError("sanitizer report in %s:\n%s" % (
                self.stderr_path, text[max(0, m.start() - 200):
                                       m.start() + 3000]))
        rmtree(self.dir)

    # -- the log

    def log(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self):
        return self.log().splitlines()

    def events(self, event):
        return [parse_logfmt(l) for l in self.log_lines()
                if re.search(r"\bevent=%s\b" % re.escape(event), l)]

    def sessions(self):
        return self.events("session")

    def txs(self, session=None):
        return [t for t in self.events("tx")
                if session is None or t.get("session") == session]

    def session_for(self, port):
        """The event=session line of the client whose source port is port
        (matched in client=...), waiting for it up to 10 s."""
        def find():
            for s in self.sessions():
                if s.get("port") == str(port) or \
                        re.search(r"[:\]]%d\b" % port, s.get("client", "")):
                    return s
            return None
        return poll(find, 10)

    def wait_log(self, pattern, timeout=10.0):
        rx = re.compile(pattern)
        return poll(lambda: rx.search(self.log()), timeout)

    def wait_tx(self, sender, timeout=10.0):
        """The event=tx lines whose from= holds sender (waits for one)."""
        return poll(lambda: [t for t in self.txs()
                             if sender in t.get("from", "")], timeout) or []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


# ---------------------------------------------------------------- clients

class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines      # texts after "NNN-"/"NNN "

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        """The enhanced status code of the first line, or ''."""
        m = re.match(r"([245]\.\d{1,3}\.\d{1,3})\b",
                     self.lines[0] if self.lines else "")
        return m.group(1) if m else ""

    def __repr__(self):
        return "Reply(%d, %r)" % (self.code, self.lines)


class Closed(Exception):
    """The server closed the connection before a full reply."""


class Client:
    """A raw SMTP client: send exact bytes, read replies one at a time."""

    def __init__(self, port, src=CLIENT_IP, timeout=15.0, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if src:
            self.sock.bind((src, 0))
        timeout = scaled(timeout)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise
        self.local_port = self.sock.getsockname()[1]
        self.buf = b""
        self.timeout = timeout
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise Closed("connection closed; unread: %r" % self.buf)
        self.buf += chunk

    def reply(self, timeout=None):
        """Read one (possibly multiline) reply."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout("no complete reply; got %r" %
                                         self.buf)
                self._fill(left)
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", errors="replace")
            m = re.match(r"(\d{3})([ -]?)(.*)$", line)
            if not m:
                raise AssertionError("not an SMTP reply line: %r" % line)
            lines.append(m.group(3))
            if m.group(2) != "-":
                return Reply(int(m.group(1)), lines)

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=None):
        self.send(line + "\r\n")
        return self.reply(timeout)

    def pending(self, wait=0.5):
        """Bytes that arrive within wait seconds (b'' if none)."""
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                break
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                chunk = b""
            if not chunk:
                self.eof = True
                break
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def wait_closed(self, timeout=10.0):
        """Read until EOF; returns everything read.  Raises on timeout."""
        deadline = time.monotonic() + timeout
        data = self.buf
        self.buf = b""
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("still open; got %r" % data)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                break
            data += chunk
        return data

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- conveniences

    def greet(self, helo="client.test"):
        """Read the banner and send EHLO; returns the EHLO reply."""
        r = self.reply()
        if r.code != 220:
            raise AssertionError("banner: %r" % r)
        return self.cmd("EHLO " + helo)


def parse_replies(data):
    """Split raw bytes into a list of Reply (the last one may be partial
    and is then dropped)."""
    out, lines = [], []
    for raw in data.split(b"\n"):
        line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
        m = re.match(r"(\d{3})([ -]?)(.*)$", line)
        if not m:
            continue
        lines.append(m.group(3))
        if m.group(2) != "-":
            out.append(Reply(int(m.group(1)), lines))
            lines = []
    return out


def dot_stuff(msg):
    """CRLF message -> DATA payload with the terminating dot."""
    if not msg.endswith(b"\r\n"):
        msg += b"\r\n"
    lines = msg.split(b"\r\n")
    lines = [b"." + l if l.startswith(b".") else l for l in lines]
    return b"\r\n".join(lines) + b".\r\n"


def make_message(marker, subject=None, body=None, sender="sender@sender.test",
                 to="alice@example.test", extra_headers=()):
    """A plain CRLF test message that carries marker in Subject and
    Message-ID."""
    subject = subject or "test %s" % marker
    body = body if body is not None else (
        "Hello %s.\r\n\r\n.leading dot line\r\n..two dots\r\n"
        "trailing spaces   \r\nend.\r\n" % marker)
    hdr = ["From: <%s>" % sender, "To: <%s>" % to, "Subject: " + subject,
           "Date: Tue, 24 Nov 2026 00:00:00 +0000",
           "Message-ID: <%s@sender.test>" % marker]
    hdr.extend(extra_headers)
    return ("\r\n".join(hdr) + "\r\n\r\n" + body).encode()


HDR_RX = re.compile(rb"([!-9;-~]+):")


def split_headers(data):
    """LF-or-CRLF message -> (list of (name, full header bytes)), body."""
    data = data.replace(b"\r\n", b"\n")
    head, sep, body = data.partition(b"\n\n")
    hdrs = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and hdrs:
            name, text = hdrs[-1]
            hdrs[-1] = (name, text + b"\n" + line)
        else:
            m = HDR_RX.match(line)
            hdrs.append(((m.group(1) if m else b"").lower().decode(), line))
    return hdrs, body


def strip_trace(delivered, received=2):
    """Remove what Postfix's virtual(8) prepends (Return-Path,
    X-Original-To, Delivered-To) and the first `received` Received: headers.

    Returns (the removed Received header texts, the rest as bytes with
    LF line ends)."""
    hdrs, body = split_headers(delivered)
    got = []
    i = 0
    while i < len(hdrs) and hdrs[i][0] in ("return-path", "delivered-to",
                                           "x-original-to"):
        i += 1
    while i < len(hdrs) and hdrs[i][0] == "received" and len(got) < received:
        got.append(hdrs[i][1].decode(errors="replace"))
        i += 1
    rest = b"\n".join(t for _, t in hdrs[i:]) + b"\n\n" + body
    return got, rest


def lf(msg):
    """The form a CRLF message has in a maildir file."""
    return msg.replace(b"\r\n", b"\n")


def swaks(port, to="alice@example.test", sender="sender@sender.test",
          data=None, extra=(), src=CLIENT_IP, timeout=30):
    """Run swaks against 127.0.0.1:port; returns CompletedProcess (text).
    data: bytes of a complete message (CRLF), given to swaks on a file.
    Skips the calling test when swaks is not installed."""
    if not os.access(SWAKS, os.X_OK):
        raise unittest.SkipTest("swaks not installed")
    args = [SWAKS, "--server", "127.0.0.1", "--port", str(port),
            "--local-interface", src, "--to", to, "--from", sender,
            "--helo", "client.test", "--timeout", "20", "--hide-informational"]
    tmp = None
    if data is not None:
        fd, tmp = tempfile.mkstemp(prefix="moat-swaks-")
        # swaks always sends CRLF before the final dot: give it the
        # message without its last line end, so what arrives is `data`.
        if data.endswith(b"\r\n"):
            data = data[:-2]
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        args += ["--data", "@" + tmp]
    args += list(extra)
    try:
        return subprocess.run(args, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout,
                              universal_newlines=True)
    finally:
        if tmp:
            os.unlink(tmp)


# ------------------------------------------------------------ fake backends

class FakeBackend:
    """A scripted SMTP "server" on loopback for backend trouble tests.

    mode:
      "silent"      accept, never say anything
      "stall-mail"  banner, EHLO, XCLIENT/EHLO answered; never answers MAIL
      "stall-data"  everything answered until the end of DATA; no final reply
      "close-data"  like stall-data, but closes the connection at the end
                    of DATA without a reply
      "ok"          answers everything: mail_reply, rcpt_reply and
                    final_reply (bytes, may be multi-line; a 421 to MAIL
                    closes), closing after the final reply if
                    close_after_final
    The thread is a daemon; close() shuts the listener and every accepted
    socket.
    """

    EHLO = (b"250-backend.fake\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
            b"250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
            b"250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN "
            b"DESTADDR DESTPORT\r\n250 SMTPUTF8\r\n")

    def __init__(self, mode, mail_reply=None, rcpt_reply=None,
                 final_reply=None, close_after_final=False):
        self.mode = mode
        self.mail_reply = mail_reply or b"250 2.1.0 ok\r\n"
        self.rcpt_reply = rcpt_reply or b"250 2.1.5 ok\r\n"
        self.final_reply = final_reply or b"250 2.0.0 queued\r\n"
        self.close_after_final = close_after_final
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.received = []      # raw bytes per connection
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        idx = len(self.received)
        self.received.append(b"")
        buf = b""
        in_data = False
        try:
            if self.mode == "silent":
                while c.recv(4096):
                    pass
                return
            c.sendall(b"220 backend.fake ESMTP\r\n")
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    return
                self.received[idx] += chunk
                buf += chunk
                while True:
                    if in_data:
                        end = buf.find(b"\r\n.\r\n")
                        if end < 0:
                            break
                        buf = buf[end + 5:]
                        in_data = False
                        if self.mode == "close-data":
                            c.close()
                            return
                        if self.mode == "stall-data":
                            continue        # say nothing, keep reading
                        c.sendall(self.final_reply)
                        if self.close_after_final:
                            c.close()
                            return
                        continue
                    if b"\r\n" not in buf:
                        break
                    line, buf = buf.split(b"\r\n", 1)
                    verb = line.split(b" ", 1)[0].upper()
                    if verb in (b"EHLO", b"HELO"):
                        c.sendall(self.EHLO)
                    elif verb == b"XCLIENT":
                        c.sendall(b"220 backend.fake ESMTP\r\n")
                    elif verb == b"MAIL" and self.mode == "stall-mail":
                        pass
                    elif verb == b"MAIL":
                        c.sendall(self.mail_reply)
                        if self.mail_reply.startswith(b"421"):
                            c.close()
                            return
                    elif verb == b"RCPT":
                        c.sendall(self.rcpt_reply)
                    elif verb in (b"RSET", b"NOOP"):
                        c.sendall(b"250 2.0.0 ok\r\n")
                    elif verb == b"DATA":
                        c.sendall(b"354 go ahead\r\n")
                        in_data = True
                    elif verb == b"QUIT":
                        c.sendall(b"221 2.0.0 bye\r\n")
                        return
                    else:
                        c.sendall(b"502 5.5.2 what\r\n")
        except OSError:
            return

    def close(self):
        self.stop.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


# ---------------------------------------------------------------- test base

class MoatTestCase(unittest.TestCase):
    """One Postfix per test file (class), moatd per class or per test.

    Subclasses set MOATD_CONF (dict) for the shared moatd, or
    SHARED_MOATD = False and start their own with self.start_moatd().
    """

    MOATD_CONF = {}
    MOATD_EXTRA = ()
    SHARED_MOATD = True
    NEED_POSTFIX = True

    @classmethod
    def setUpClass(cls):
        cls.postfix = None
        cls.moatd = None
        try:
            if cls.NEED_POSTFIX:
                cls.postfix = Postfix()
                cls.postfix.start()
            if cls.SHARED_MOATD:
                cls.moatd = Moatd(cls.postfix.port if cls.postfix else
                                  free_port(), cls.MOATD_CONF,
                                  cls.MOATD_EXTRA)
                cls.moatd.start()
        except BaseException:
            cls._class_cleanup()
            raise

    @classmethod
    def _class_cleanup(cls):
        try:
            if cls.moatd:
                cls.moatd.cleanup()
        finally:
            if cls.postfix:
                cls.postfix.cleanup()

    @classmethod
    def tearDownClass(cls):
        cls._class_cleanup()

    def setUp(self):
        self.tok = token()
        self.pf_mark = self.postfix.log_mark() if self.postfix else 0

    def start_moatd(self, conf=None, extra=(), backend_port=None, wait=True,
                    listen_opts=""):
        """A moatd for this test only; stopped by the test's cleanup."""
        if backend_port is None:
            backend_port = self.postfix.port
        m = Moatd(backend_port, conf, extra, listen_opts)
        self.addCleanup(m.cleanup)
        m.start(wait)
        return m

    def client(self, moatd=None, src=CLIENT_IP, **kw):
        c = Client((moatd or self.moatd).port, src=src, **kw)
        self.addCleanup(c.close)
        return c

    def fake_backend(self, mode):
        fb = FakeBackend(mode)
        self.addCleanup(fb.close)
        return fb

    # -- assertions

    def assertReply(self, reply, code, enhanced=None, msg=None):
        """code: int or a one-digit class (2, 4, 5)."""
        ok = reply.code == code if code >= 100 else reply.code // 100 == code
        if ok and enhanced is not None:
            ok = reply.enhanced == enhanced if enhanced.count(".") == 2 \
                and not enhanced.endswith(".") \
                else reply.enhanced.startswith(enhanced)
        if not ok:
            self.fail("%sexpected %s%s, got %r" % (
                (msg + ": ") if msg else "", code,
                (" " + enhanced) if enhanced else "", reply))

    def send_mail(self, c, rcpts, msg, sender="sender@sender.test"):
        """MAIL/RCPT.../DATA/message over an open, greeted raw client.
        Returns the list of replies (MAIL, RCPTs..., DATA[, final])."""
        out = [c.cmd("MAIL FROM:<%s>" % sender)]
        for r in rcpts:
            out.append(c.cmd("RCPT TO:<%s>" % r))
        d = c.cmd("DATA")
        out.append(d)
        if d.code == 354:
            c.send(dot_stuff(msg))
            out.append(c.reply())
        return out

    def assertNothingDelivered(self, marker, settle=1.0):
        """No maildir holds a message with marker (after Postfix's queue
        drained and a short grace period)."""
        self.postfix.settle()
        time.sleep(settle)
        got = {u: len(m) for u, m in self.postfix.all_messages(marker).items()
               if m}
        self.assertEqual(got, {}, "messages delivered with %s" % marker)
