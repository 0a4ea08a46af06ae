"""The Redis greylist store against a real redis-server.

Starts a private redis-server (no TCP port, a unix socket in a temporary
directory, no persistence) and drives the store through store_driver
(tests/store_driver.c, built by `make check`), one command per line.
Checks: new -> pending -> passed with a 1.5 s delay; a TTL on every key;
two driver processes (two moatd, in effect) sharing one state; the
auto-whitelist; counters; Redis killed mid-run gives errors at once
(STORE_ERR_DOWN, well within the deadline) and one log line, and the
same driver process recovers when Redis is back; a stopped (hung) Redis
gives timeouts at the deadline; NOSCRIPT after SCRIPT FLUSH; AUTH with a
password and an ACL user; SELECT; the key prefix.

Every process is started and stopped by its pid.  SKIP (77) unless root,
redis-server installed and store_driver built.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest  # noqa: E402  (skip code, poll, rmtree)

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
DELAY_MS = 1500


def driver_path():
    p = os.environ.get("STORE_DRIVER")
    if p:
        return p
    moatd = os.environ.get("MOATD", "")
    return os.path.join(os.path.dirname(moatd), "store_driver")


def skip_reason():
    if os.geteuid() != 0:
        return "not root"
    if not os.access(REDIS, os.X_OK):
        return "redis-server not installed (apt-get install redis-server)"
    if not os.access(driver_path(), os.X_OK):
        return "store_driver not built (%s)" % driver_path()
    return None


# ------------------------------------------------------------ a RESP client

def resp_encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Resp:
    """A minimal blocking Redis client for the checks (not the code under
    test): commands as lists, replies as Python values."""

    def __init__(self, path, password=None, user=None):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(5)
        try:
            self.s.connect(path)
        except OSError:
            self.s.close()
            raise
        self.buf = b""
        if password:
            self.cmd("AUTH", *([user, password] if user else [password]))

    def close(self):
        self.s.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("redis closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def cmd(self, *args):
        self.s.sendall(resp_encode(args))
        return self._read()


class Redis:
    def __init__(self, tmp, name="redis", extra=()):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "redis.sock")
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "ab")
        self.proc = subprocess.Popen(
            [REDIS, "--port", "0", "--unixsocket", self.sock,
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--daemonize", "no"] + self.extra,
            stdout=self.log, stderr=subprocess.STDOUT)
        ok = moattest.poll(self._ping, timeout=10)
        if not ok:
            raise RuntimeError("redis-server did not start")

    def _ping(self):
        try:
            r = Resp(self.sock)
        except OSError:
            return False
        try:
            r.cmd("PING")
        except RuntimeError as e:      # NOAUTH: it is up
            if "NOAUTH" not in str(e):
                raise
        except OSError:
            return False
        finally:
            r.close()
        return True

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self.proc.wait(10)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.log.close()
            try:
                os.unlink(self.sock)
            except OSError:
                pass

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        if not self.log.closed:
            self.log.close()

    def client(self, **kw):
        return Resp(self.sock, **kw)


class Driver:
    def __init__(self, tmp, sock, *args, name="driver"):
        self.errpath = os.path.join(tmp, name + ".log")
        self.err = open(self.errpath, "wb")
        where = ["--unix", sock] if sock else []
        self.proc = subprocess.Popen(
            [driver_path()] + where + [str(a) for a in args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.buf = b""

    def cmd(self, line, timeout=10.0):
        """Send one command; return (reply line, seconds it took)."""
        t0 = time.monotonic()
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return self.readline(timeout), time.monotonic() - t0

    def readline(self, timeout=10.0):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("store_driver did not answer")
            d = os.read(fd, 65536)
            if not d:
                raise EOFError("store_driver exited")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def grey(self, client, sender, rcpt):
        return self.cmd("grey %s %s %s" % (client, sender, rcpt))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.err.close()
        self.proc.stdout.close()

    def log(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode(errors="replace")


def word(reply, n=1):
    return reply.split()[n]


def field(reply, key):
    for w in reply.split():
        if w.startswith(key + "="):
            return int(w.split("=", 1)[1])
    raise KeyError(key)


class StoreRedisTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="moat-redis-")
        self.redis = Redis(self.tmp)
        self.redis.start()
        self.drivers = []

    def tearDown(self):
        for d in self.drivers:
            d.stop()
        self.redis.stop()
        moattest.rmtree(self.tmp)

    def driver(self, *args, sock=None, name=None):
        d = Driver(self.tmp, sock or self.redis.sock,
                   "--delay-ms", DELAY_MS, "--retry-ms", 60000,
                   "--life-ms", 600000, *args,
                   name=name or "driver%d" % len(self.drivers))
        self.drivers.append(d)
        return d

    def all_keys_have_ttl(self, r, prefix="moat:"):
        keys = r.cmd("KEYS", prefix + "*")
        self.assertTrue(keys)
        for k in keys:
            ttl = r.cmd("PTTL", k)
            self.assertGreater(ttl, 0, "no TTL on %r" % k)
        return keys

    def test_cycle_and_ttls(self):
        d = self.driver()
        a = ("192.0.2.0/24", "Alice+news@Example.ORG", "bob@example.net")
        rep, _ = d.grey(*a)
        self.assertEqual(word(rep), "new", rep)
        self.assertEqual(field(rep, "wait"), 2)
        rep, _ = d.grey(*a)
        self.assertEqual(word(rep), "pending", rep)
        self.assertIn(field(rep, "wait"), (1, 2))
        time.sleep(DELAY_MS / 1000 + 0.2)
        rep, _ = d.grey(*a)
        self.assertEqual(word(rep), "passed", rep)
        self.assertEqual(field(rep, "pass"), 1)
        r = self.redis.client()
        keys = self.all_keys_have_ttl(r)
        tkey = "moat:t:192.0.2.0/24 alice@example.org bob@example.net"
        self.assertIn(tkey, keys)
        self.assertIn("moat:a:192.0.2.0/24", keys)
        self.assertGreater(r.cmd("PTTL", tkey), 590000)
        h = r.cmd("HGETALL", tkey)
        rec = dict(zip(h[::2], h[1::2]))
        self.assertEqual(rec["n"], "1")
        self.assertGreater(int(rec["p"]), int(rec["f"]))
        # The admin view of the same record.
        rep, _ = d.cmd("lookup t:192.0.2.0/24 alice@example.org "
                       "bob@example.net")
        self.assertTrue(rep.startswith("entry t:192.0.2.0/24 "), rep)
        self.assertEqual(field(rep, "n"), 1)
        rep, _ = d.cmd("total")
        self.assertEqual(rep, "total 1 1 0")
        # A pending record's TTL is the retry window, not refreshed.
        rep, _ = d.grey("192.0.2.0/24", "<>", "bob@example.net")
        self.assertEqual(word(rep), "new", rep)
        k2 = "moat:t:192.0.2.0/24 <> bob@example.net"
        self.assertLessEqual(r.cmd("PTTL", k2), 60000)
        r.close()

    def test_two_drivers_share_state(self):
        d1, d2 = self.driver(), self.driver()
        a = ("198.51.100.0/24", "x@sender.example", "y@rcpt.example")
        self.assertEqual(word(d1.grey(*a)[0]), "new")
        self.assertEqual(word(d2.grey(*a)[0]), "pending")
        time.sleep(DELAY_MS / 1000 + 0.2)
        rep = d2.grey(*a)[0]
        self.assertEqual(word(rep), "passed", rep)
        rep = d1.grey(*a)[0]
        self.assertEqual(word(rep), "passed", rep)
        self.assertEqual(field(rep, "pass"), 2)
        # Concurrent first attempts: exactly one of them is "new".
        b = ("203.0.113.0/24", "c@sender.example", "d@rcpt.example")
        for d in (d1, d2):
            d.proc.stdin.write(("grey %s %s %s\n" % b).encode())
            d.proc.stdin.flush()
        got = sorted(word(d.readline()) for d in (d1, d2))
        self.assertEqual(got, ["new", "pending"])

    def test_auto_whitelist(self):
        d = self.driver("--awl", 2, "--awl-interval-ms", 0)
        a = ("sg.example", "a@x.example", "b@y.example")
        self.assertEqual(word(d.grey(*a)[0]), "new")
        time.sleep(DELAY_MS / 1000 + 0.2)
        self.assertEqual(field(d.grey(*a)[0], "awl"), 1)
        rep = d.grey(*a)[0]
        self.assertEqual(word(rep), "passed")
        self.assertEqual(field(rep, "awl"), 2)
        rep = d.grey("sg.example", "other@z.example", "c@y.example")[0]
        self.assertEqual(word(rep), "whitelisted", rep)
        self.assertEqual(field(rep, "manual"), 0)
        r = self.redis.client()
        self.all_keys_have_ttl(r)
        self.assertIsNone(r.cmd("HGET", "moat:t:sg.example other@z.example "
                                "c@y.example", "f"))
        r.close()
        # A manual entry, with its TTL.
        self.assertTrue(d.cmd("white 192.0.2.0/24 60000")[0].startswith("ok"))
        rep = d.grey("192.0.2.0/24", "a@b", "c@d")[0]
        self.assertEqual(word(rep), "whitelisted", rep)
        self.assertEqual(field(rep, "manual"), 1)
        rep = d.cmd("list w")[0]
        self.assertEqual(rep, "list 1")
        self.assertTrue(d.readline().startswith("w:192.0.2.0/24 ttl="))

    def test_counters(self):
        d = self.driver()
        # Windows are aligned to the Redis clock: start early in one.
        r = self.redis.client()
        moattest.poll(lambda: int(r.cmd("TIME")[1]) // 1000 % 1000 < 300,
                      timeout=2, interval=0.01)
        for i in (1, 2, 3):
            rep = d.cmd("count conn:192.0.2.7 1000 0 1")[0]
            self.assertEqual(rep.split()[:2], ["count", str(i)], rep)
        rep = d.cmd("count rcpt:a@b 1000 1 5")[0]
        self.assertEqual(rep.split()[:2], ["count", "5"], rep)
        for k in r.cmd("KEYS", "moat:r:*"):
            ttl = r.cmd("PTTL", k)
            self.assertGreater(ttl, 0)
            self.assertLessEqual(ttl, 2000 if "rcpt" in k else 1000)
        time.sleep(1.1)
        rep = d.cmd("count conn:192.0.2.7 1000 0 0")[0]
        self.assertEqual(rep.split()[:2], ["count", "0"], rep)
        rep = d.cmd("count rcpt:a@b 1000 1 0")[0]
        self.assertIn(int(rep.split()[1]), range(0, 6), rep)
        r.close()

    def test_outage_and_recovery(self):
        d = self.driver("--deadline-ms", 250, "--backoff-max-ms", 400)
        a = ("192.0.2.0/24", "a@b.example", "c@d.example")
        self.assertEqual(word(d.grey(*a)[0]), "new")
        self.assertEqual(word(d.cmd("count m:1 60000 0 1")[0]), "1")
        self.redis.kill()
        time.sleep(0.1)
        for _ in range(20):
            rep, took = d.grey(*a)
            self.assertEqual(rep.split()[:2], ["err", "down"], rep)
            self.assertLess(field(rep, "ms"), 250)
            self.assertLess(took, 1.0)
        rep, _ = d.cmd("count m:1 60000 0 1")
        self.assertEqual(rep.split()[:2], ["err", "down"], rep)
        log = d.log()
        self.assertEqual(log.count("unavailable"), 1, log)
        self.assertEqual(log.count("recovered"), 0, log)
        self.redis.start()
        self.assertTrue(d.cmd("waitup 10000", timeout=15)[0].startswith("up"))
        ok = moattest.poll(lambda: not d.grey(*a)[0].startswith("err"),
                           timeout=10, interval=0.1)
        self.assertTrue(ok)
        # The state did not survive (no persistence): new again, then
        # the normal cycle and the counters work in the same process.
        rep = d.grey("192.0.2.0/24", "n@b.example", "c@d.example")[0]
        self.assertEqual(word(rep), "new", rep)
        self.assertEqual(d.cmd("count m:1 60000 0 1")[0].split()[1], "1")
        self.assertEqual(d.cmd("count m:1 60000 0 1")[0].split()[1], "2")
        log = d.log()
        self.assertEqual(log.count("unavailable"), 1, log)
        self.assertEqual(log.count("recovered"), 1, log)
        r = self.redis.client()
        self.all_keys_have_ttl(r)
        r.close()

    def test_hung_redis_times_out(self):
        d = self.driver("--deadline-ms", 250, "--backoff-max-ms", 400)
        a = ("192.0.2.0/24", "a@b.example", "c@d.example")
        self.assertEqual(word(d.grey(*a)[0]), "new")
        self.redis.kill(signal.SIGSTOP)
        seen = set()
        try:
            for _ in range(5):
                rep, took = d.grey(*a)
                self.assertTrue(rep.startswith("err "), rep)
                self.assertLess(took, 1.5)
                seen.add(word(rep))
                if word(rep) == "timeout":
                    self.assertGreaterEqual(field(rep, "ms"), 240)
        finally:
            self.redis.kill(signal.SIGCONT)
        # Three timeouts in a row drop the connection; then it fails fast.
        self.assertIn("timeout", seen)
        self.assertIn("down", seen)
        ok = moattest.poll(lambda: d.grey(*a)[0].startswith("grey"),
                           timeout=10, interval=0.1)
        self.assertTrue(ok)
        self.assertEqual(d.log().count("unavailable"), 1, d.log())

    def test_noscript_fallback(self):
        d = self.driver()
        a = ("192.0.2.0/24", "a@b.example", "c@d.example")
        self.assertEqual(word(d.grey(*a)[0]), "new")
        r = self.redis.client()
        r.cmd("SCRIPT", "FLUSH")
        self.assertEqual(word(d.grey(*a)[0]), "pending")
        self.assertEqual(word(d.grey(*a)[0]), "pending")
        r.close()

    def test_script_error_and_churn(self):
        d = self.driver()
        a = ("192.0.2.0/24", "a@b.example", "c@d.example")
        r = self.redis.client()
        r.cmd("SET", "moat:t:192.0.2.0/24 a@b.example c@d.example", "x")
        for _ in range(3):
            rep = d.grey(*a)[0]
            self.assertEqual(rep.split()[:2], ["err", "protocol"], rep)
        log = d.log()
        self.assertEqual(log.count("unavailable"), 1, log)
        self.assertIn("WRONGTYPE", log)
        r.cmd("DEL", "moat:t:192.0.2.0/24 a@b.example c@d.example")
        self.assertEqual(word(d.grey(*a)[0]), "new")
        self.assertEqual(d.log().count("recovered"), 1, d.log())
        # A conn freed from inside its own callback, four requests still
        # in flight: none of them calls back, nothing crashes, and the new
        # conn works.
        self.assertEqual(d.cmd("churn")[0], "churn calls=1")
        self.assertTrue(d.cmd("waitup 5000")[0].startswith("up"))
        self.assertEqual(word(d.grey(*a)[0]), "pending")
        r.close()
        m = Driver(self.tmp, self.redis.sock, "--mem", name="mem")
        self.drivers.append(m)
        self.assertEqual(m.cmd("churn")[0], "churn calls=1")

    def test_same_policy_as_memory(self):
        """The Lua script and grey_decide() (the memory store) agree."""
        args = ("--delay-ms", 400, "--retry-ms", 1200, "--life-ms", 1000,
                "--awl", 2, "--awl-interval-ms", 0)
        rd = Driver(self.tmp, self.redis.sock, *args, name="r")
        md = Driver(self.tmp, None, "--mem", *args, name="m")
        self.drivers += [rd, md]
        steps = ["grey n1 a@x c@y", "grey n1 a@x c@y", "sleep 500",
                 "grey n1 a@x c@y", "grey n1 b@x c@y", "sleep 1300",
                 "grey n1 b@x c@y", "grey n2 a@x c@y", "grey n1 a@x c@y",
                 "sleep 450", "grey n2 a@x c@y", "grey n2 a@x c@y",
                 "grey n2 z@x c@y", "white n3 300", "grey n3 a@x c@y",
                 "sleep 350", "grey n3 a@x c@y", "count k 100000 0 2",
                 "count k 100000 0 0"]
        for st in steps:
            out = []
            for d in (rd, md):
                rep = d.cmd(st)[0]
                out.append(" ".join(w for w in rep.split()
                                    if not w.startswith("ms=")))
            self.assertEqual(out[0], out[1], st)

    def test_tcp(self):
        port = moattest.free_port()
        tcp = Redis(self.tmp, "tcp", ["--port", str(port),
                                      "--bind", "127.0.0.1"])
        tcp.start()
        try:
            d = Driver(self.tmp, None, "--host", "127.0.0.1", "--port", port,
                       "--delay-ms", DELAY_MS, name="tcp")
            self.drivers.append(d)
            a = ("192.0.2.0/24", "a@b.example", "c@d.example")
            self.assertEqual(word(d.grey(*a)[0]), "new")
            self.assertEqual(word(d.grey(*a)[0]), "pending")
            r = tcp.client()
            self.assertEqual(len(self.all_keys_have_ttl(r)), 1)
            r.close()
        finally:
            tcp.stop()

    def test_auth_db_prefix(self):
        r = self.redis.client()
        r.cmd("CONFIG", "SET", "requirepass", "s3cret")
        r.cmd("AUTH", "s3cret")
        r.cmd("ACL", "SETUSER", "moat", "on", ">pw2", "~*", "+@all")
        a = ("192.0.2.0/24", "a@b.example", "c@d.example")
        d = self.driver("--password", "s3cret", "--db", 3,
                        "--prefix", "gl:")
        self.assertEqual(word(d.grey(*a)[0]), "new")
        r.cmd("SELECT", 3)
        self.assertEqual(r.cmd("KEYS", "gl:t:*"),
                         ["gl:t:192.0.2.0/24 a@b.example c@d.example"])
        self.all_keys_have_ttl(r, "gl:")
        r.cmd("SELECT", 0)
        self.assertEqual(r.cmd("KEYS", "*"), [])
        u = self.driver("--user", "moat", "--password", "pw2", "--db", 3,
                        "--prefix", "gl:")
        self.assertEqual(word(u.grey(*a)[0]), "pending")
        bad = self.driver("--password", "wrong")
        rep = bad.grey(*a)[0]
        self.assertTrue(rep.startswith("err "), rep)
        time.sleep(0.3)
        self.assertIn("WRONGPASS", bad.log())
        r.close()


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        print("SKIP: " + reason)
        sys.exit(moattest.SKIP)
    unittest.main(verbosity=2)
