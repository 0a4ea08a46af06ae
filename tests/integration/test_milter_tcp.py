#!/usr/bin/env python3
"""moat-milter over TCP: no 40 ms stall per transaction (issue 15).

Postfix sends the macros of a step it skips as a write of their own and
the next step's packets as a second one; with Nagle on Postfix's socket
and the milter's delayed ACK that second write waited 40 ms, in every
transaction (bench/README.md has the tcpdump timestamps).  On an inet
socket moat-milter therefore asks for the DATA step (milter_main.c), so
the macros travel with their command; on a unix socket, where there is no
Nagle, it keeps skipping it.

Negotiation: the protocol flags moat-milter answers on each socket, and
the DATA step answered (raw milter packets, no root).  The time a
transaction takes through Postfix is a benchmark's business, not a test's
(tests never assert times): bench/milter.py --sockets tcp measures it.
"""

import os
import socket
import struct
import sys
import time
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402
import mltest  # noqa: E402

SMFIP_NODATA = 0x200


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


# What Postfix 3.7 offers: protocol 6, every action, every step flag.
OPTNEG = packet(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff))
SESSION = (packet(b"C", b"mail.sender.test\0" + b"4" +
                  struct.pack(">H", 25) + b"192.0.2.1\0") +
           packet(b"H", b"mail.sender.test\0") +
           packet(b"M", b"<s@sender.test>\0") +
           packet(b"R", b"<alice@example.test>\0") +
           packet(b"D", b"Ti\0QID1\0") + packet(b"T"))


def replies(sock, n, timeout=10.0):
    """The first n milter packets the other side sends: [(cmd, data)]."""
    buf, out = b"", []
    deadline = time.monotonic() + mt.scaled(timeout)
    while len(out) < n and time.monotonic() < deadline:
        while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(
                ">I", buf[:4])[0] and len(out) < n:
            ln = struct.unpack(">I", buf[:4])[0]
            out.append((buf[4:5], buf[5:4 + ln]))
            buf = buf[4 + ln:]
        if len(out) >= n:
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return out


class Negotiation(unittest.TestCase):
    def start(self, unix):
        m = mltest.Milter()
        if unix:
            m.conn_override = "unix:" + os.path.join(m.dir, "milter.sock")
        self.addCleanup(m.cleanup)
        return m.start()

    def connect(self, m):
        if m.conn.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(m.conn[5:])
        else:
            s = socket.create_connection(("127.0.0.1", m.port))
        s.settimeout(mt.scaled(10))
        self.addCleanup(s.close)
        return s

    def negotiate(self, m):
        s = self.connect(m)
        s.sendall(OPTNEG)
        (cmd, data), = replies(s, 1)
        self.assertEqual(cmd, b"O")
        return s, struct.unpack(">III", data[:12])[2]

    def test_inet_asks_for_data(self):
        _, proto = self.negotiate(self.start(unix=False))
        self.assertEqual(proto & SMFIP_NODATA, 0, hex(proto))

    def test_unix_skips_data(self):
        _, proto = self.negotiate(self.start(unix=True))
        self.assertEqual(proto & SMFIP_NODATA, SMFIP_NODATA, hex(proto))

    def test_data_step_answered(self):
        # connect, HELO, MAIL, RCPT, DATA (its macro packet has no reply).
        s, _ = self.negotiate(self.start(unix=False))
        s.sendall(SESSION)
        got = replies(s, 5)
        self.assertEqual([c for c, _ in got], [b"c"] * 5, got)


if __name__ == "__main__":
    mltest.main()
