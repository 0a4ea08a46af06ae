#!/usr/bin/env python3
"""The backend learns the real client address whichever way is configured
(backend_identity xclient, xforward, proxy-v1, proxy-v2; none shows moatd's
own), and moatd learns it from a load balancer's PROXY header on a
listener with proxy=v1|v2 -- and from nowhere else: a PROXY header on a
plain listener, or a plain session on a PROXY listener, is refused."""

import os
import socket
import struct
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

LB_CLIENT = "192.0.2.7"     # the address a load balancer vouches for


def proxy_v1(src, dst, sport, dport):
    return ("PROXY TCP4 %s %s %d %d\r\n" % (src, dst, sport, dport)).encode()


def proxy_v2(src, dst, sport, dport):
    body = (socket.inet_aton(src) + socket.inet_aton(dst) +
            struct.pack("!HH", sport, dport))
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) +
            struct.pack("!H", len(body)) + body)


class Identity(mt.MoatTestCase):
    SHARED_MOATD = False

    def deliver_and_trace(self, m, header=b"", src=mt.CLIENT_IP):
        """One message through m (after an optional PROXY header); returns
        the Received: headers (Postfix's, moatd's)."""
        c = self.client(m, src=src)
        if header:
            c.send(header)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"],
                            mt.make_message(self.tok))
        self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
        self.assertReply(c.cmd("QUIT"), 221)
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        rec, _ = mt.strip_trace(got[0], 2)
        return rec

    def check_identity(self, identity, port, expect):
        m = self.start_moatd({"backend_identity": identity},
                             backend_port=port)
        # moatd's startup probe of the backend must speak the same way
        # (a PROXY header first for proxy-v1/v2), or it reports a working
        # backend as unreachable.
        check = m.wait_log(r"event=backend_check[^\n]*", 5)
        self.assertTrue(check, m.log())
        self.assertIn("result=ok", check.group(0))
        rec = self.deliver_and_trace(m)
        self.assertIn("by %s (Postfix)" % mt.BACKEND_NAME, rec[0])
        self.assertIn("[%s]" % expect, rec[0])
        self.assertIn(mt.CLIENT_IP, rec[1])

    def test_xforward(self):
        # XFORWARD only overrides what Postfix logs (XFORWARD_README); its
        # Received: header keeps the real peer, moatd.
        m = self.start_moatd({"backend_identity": "xforward"})
        rec = self.deliver_and_trace(m)
        self.assertIn("[127.0.0.1]", rec[0])
        self.assertIn(mt.CLIENT_IP, rec[1])
        log = self.postfix.log_since(self.pf_mark)
        self.assertRegex(log, r"[0-9A-F]+: client=\S+, "
                         r"orig_client=unknown\[%s\]" %
                         mt.CLIENT_IP.replace(".", r"\."))
        self.assertRegex(log, r"message-id=<%s@" % self.tok)

    def test_proxy_v1(self):
        self.check_identity("proxy-v1", self.postfix.proxy_port,
                            mt.CLIENT_IP)

    def test_proxy_v2(self):
        self.check_identity("proxy-v2", self.postfix.proxy_port,
                            mt.CLIENT_IP)

    def test_none(self):
        self.check_identity("none", self.postfix.port, "127.0.0.1")

    def test_listener_proxy_v1(self):
        m = self.start_moatd(listen_opts="proxy=v1")
        rec = self.deliver_and_trace(
            m, proxy_v1(LB_CLIENT, "127.0.0.1", 40000, m.port))
        self.assertIn("[%s]" % LB_CLIENT, rec[0])
        self.assertIn(LB_CLIENT, rec[1])
        self.assertNotIn(mt.CLIENT_IP, rec[0])

    def test_listener_proxy_v2(self):
        m = self.start_moatd(listen_opts="proxy=v2")
        rec = self.deliver_and_trace(
            m, proxy_v2(LB_CLIENT, "127.0.0.1", 40000, m.port))
        self.assertIn("[%s]" % LB_CLIENT, rec[0])
        self.assertIn(LB_CLIENT, rec[1])

    def test_listener_proxy_any(self):
        m = self.start_moatd(listen_opts="proxy=any")
        rec = self.deliver_and_trace(
            m, proxy_v2(LB_CLIENT, "127.0.0.1", 40001, m.port))
        self.assertIn("[%s]" % LB_CLIENT, rec[0])

    def test_proxy_header_on_plain_listener_refused(self):
        m = self.start_moatd()
        mark = self.postfix.log_mark()
        c = self.client(m)
        self.assertReply(c.reply(), 220)
        c.send(proxy_v1(LB_CLIENT, "127.0.0.1", 40000, m.port))
        self.assertEqual(c.reply().code // 100, 5)
        if not c.eof:
            try:
                self.assertReply(c.cmd("EHLO client.test"), 250)
                rs = self.send_mail(c, ["alice@example.test"],
                                    mt.make_message(self.tok))
                if rs[-1].code == 250:
                    got = self.postfix.wait_messages("alice", self.tok)
                    rec, _ = mt.strip_trace(got[0], 2)
                    self.assertIn("[%s]" % mt.CLIENT_IP, rec[0])
            except mt.Closed:
                pass
        self.assertNotIn(LB_CLIENT, self.postfix.log_since(mark))

    def test_plain_session_on_proxy_listener_refused(self):
        m = self.start_moatd(listen_opts="proxy=v1")
        mark = self.postfix.log_mark()
        c = self.client(m)
        c.send("EHLO client.test\r\nMAIL FROM:<np@sender.test>\r\n")
        data = c.wait_closed(15)
        for r in mt.parse_replies(data):
            self.assertNotIn(r.code // 100, (2, 3), data)
        self.assertEqual(self.postfix.seen_senders(mark), [])


if __name__ == "__main__":
    mt.main()
