#!/usr/bin/env python3
"""Running moatd: `moatd -t` (exit status, FILE:LINE: in errors), SIGHUP
reload (a broken config is refused and the old one keeps serving; a good one
is applied to new sessions while sessions in flight keep theirs), SIGTERM
drain (the session in progress finishes, new connections are refused, the
process exits by itself)."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402


class Control(mt.MoatTestCase):
    SHARED_MOATD = False

    def deliver(self, m, user="alice", tok=None):
        tok = tok or mt.token()
        c = mt.Client(m.port)
        try:
            c.greet()
            rs = self.send_mail(c, ["%s@example.test" % user],
                                mt.make_message(tok))
            self.assertEqual([r.code for r in rs], [250, 250, 354, 250], rs)
            c.cmd("QUIT")
        finally:
            c.close()
        self.assertEqual(len(self.postfix.wait_messages(user, tok)), 1)

    # -- moatd -t

    def test_check_good_config(self):
        m = mt.Moatd(self.postfix.port)
        self.addCleanup(m.cleanup)
        m.write_config()
        rc, out = m.check()
        self.assertEqual(rc, 0, out)

    def test_check_bad_configs(self):
        m = mt.Moatd(self.postfix.port)
        self.addCleanup(m.cleanup)
        good = m.config_text().splitlines()
        bad_lines = [
            "no_such_directive 1",
            "max_recipients lots",
            "timeout_command soon",
            "backend_identity carrier-pigeon",
            "listen 127.0.0.1:99999",
            "trusted_networks 10.0.0.0/33",
            "bare_newline maybe",
            "received_header perhaps",
            "message_size_limit -5",
            "max_recipients",
        ]
        for bad in bad_lines:
            with self.subTest(line=bad):
                lines = list(good)
                lines.insert(3, bad)           # becomes line 4
                m.write_config("\n".join(lines) + "\n")
                rc, out = m.check()
                self.assertNotEqual(rc, 0, "%r accepted: %s" % (bad, out))
                self.assertIn("%s:4:" % m.conf_path, out)

    def test_check_missing_file(self):
        m = mt.Moatd(self.postfix.port)
        self.addCleanup(m.cleanup)
        rc, out = m.check(os.path.join(m.dir, "nonexistent.conf"))
        self.assertNotEqual(rc, 0)
        self.assertIn("nonexistent.conf", out)

    # -- SIGHUP

    def test_sighup_broken_config_keeps_serving(self):
        m = self.start_moatd({"max_recipients": "50"})
        self.deliver(m)
        n = len(m.log_lines())
        good = m.config_text()
        m.write_config(good + "max_recipients many\n")
        bad_line = len(good.splitlines()) + 1
        m.signal(signal.SIGHUP)
        self.assertTrue(
            mt.poll(lambda: any("%s:%d" % (m.conf_path, bad_line) in l
                                for l in m.log_lines()[n:]), 5),
            "no refusal naming FILE:LINE logged:\n" + m.log())
        self.assertTrue(m.alive())
        self.deliver(m, "bob")
        # Old limits still apply (50 recipients, not a parse of "many").
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<s@sender.test>"), 250)
        for u in mt.USERS:
            self.assertReply(c.cmd("RCPT TO:<%s@example.test>" % u), 250)
        c.cmd("QUIT")

    def test_sighup_good_config_applies(self):
        m = self.start_moatd({"max_recipients": "50"})
        old = self.client(m)
        old.greet()
        self.assertReply(old.cmd("MAIL FROM:<old@sender.test>"), 250)
        m.conf["max_recipients"] = "1"
        m.write_config()
        m.signal(signal.SIGHUP)

        def applied():
            c = mt.Client(m.port)
            try:
                c.greet()
                c.cmd("MAIL FROM:<new@sender.test>")
                c.cmd("RCPT TO:<alice@example.test>")
                r = c.cmd("RCPT TO:<bob@example.test>")
                return r.code == 452 and r.enhanced == "4.5.3"
            finally:
                c.close()
        self.assertTrue(mt.poll(applied, 5, 0.2),
                        "new max_recipients not applied:\n" + m.log())
        self.assertTrue(m.alive())
        # The session that began before the reload keeps its config.
        for u in mt.USERS:
            self.assertReply(old.cmd("RCPT TO:<%s@example.test>" % u), 250)
        self.assertReply(old.cmd("DATA"), 354)
        old.send(mt.dot_stuff(mt.make_message(self.tok)))
        self.assertReply(old.reply(), 250)
        old.cmd("QUIT")
        for u in mt.USERS:
            self.assertEqual(len(self.postfix.wait_messages(u, self.tok)), 1)

    # -- SIGTERM

    def test_sigterm_drains(self):
        m = self.start_moatd({"drain_timeout": "15s"})
        c = self.client(m)
        c.greet()
        self.assertReply(c.cmd("MAIL FROM:<drain@sender.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        payload = mt.dot_stuff(mt.make_message(self.tok))
        c.send(payload[:40])
        m.signal(signal.SIGTERM)

        def refused():
            try:
                n = mt.Client(m.port, timeout=3)
            except (ConnectionRefusedError, ConnectionResetError):
                # Reset: it reached the accept queue as the listener
                # closed; refused all the same.
                return True
            try:
                r = n.reply(3)
                return r.code == 421
            except (mt.Closed, OSError):
                return True
            finally:
                n.close()
        self.assertTrue(mt.poll(refused, 5, 0.2),
                        "new sessions still served while draining")
        self.assertTrue(m.alive(), "exited with a session in progress")
        c.send(payload[40:])
        self.assertReply(c.reply(), 250)
        self.assertReply(c.cmd("QUIT"), 221)
        c.close()
        try:
            rc = m.proc.wait(10)
        except Exception:
            self.fail("moatd did not exit after its last session:\n" +
                      m.log())
        self.assertEqual(rc, 0, m.log())
        self.assertEqual(len(self.postfix.wait_messages("alice", self.tok)), 1)

    def test_sigterm_drain_deadline(self):
        m = self.start_moatd({"drain_timeout": "2s"})
        c = self.client(m)
        c.greet()
        t0 = time.monotonic()
        m.signal(signal.SIGTERM)
        try:
            m.proc.wait(2 + 5)
        except Exception:
            self.fail("moatd outlived drain_timeout with an idle session")
        self.assertLess(time.monotonic() - t0, 2 + 5)
        data = c.wait_closed(5)
        for r in mt.parse_replies(data):
            self.assertEqual(r.code, 421, data)


if __name__ == "__main__":
    mt.main()
