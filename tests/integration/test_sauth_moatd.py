#!/usr/bin/env python3
"""Sender authentication through moatd (issue 16): the engine's steps
(engine/eng_sauth.c) against a private dnsmasq on loopback (dnstest.py),
with a scripted backend that records what it is sent.

A forged sender under p=reject is refused with dmarc_enforce on and tagged
with it off; an SPF fail is refused at RCPT with spf_fail_action reject; a
client listed with enough weight is refused at connect, one below the
threshold is not; the resolver paused mid-test gives temperror within
auth_deadline; the forwarded message carries our Authentication-Results
and no field from outside that claims our authserv-id; the event=tx line
has spf=, dkim=, dmarc= and lists=.

libspf2 passes every loopback client (its "localhost free ride"), so the
clients come through a PROXY v1 listener as 192.0.2.1 (which the SPF
records below authorise), 198.51.100.9 and 198.51.100.10.  Needs dnsmasq,
python3-dkim and openssl; SKIPs (77) without them.
"""

import base64
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import dkim
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import dkim
    except ImportError:
        dkim = None

import dnstest  # noqa: E402
import moattest as mt  # noqa: E402

GOOD, BAD, LISTED = "192.0.2.1", "198.51.100.9", "198.51.100.10"
MOATCTL = os.environ.get("MOATCTL", os.path.abspath("moatctl"))
RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "rules", "auth.rules")


def rsa_key():
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                         input=pem, capture_output=True, check=True).stdout
    return pem, base64.b64encode(der).decode()


def message(marker, from_dom, extra=()):
    hdr = ["From: Alice <alice@%s>" % from_dom, "To: <alice@example.test>",
           "Subject: sauth %s" % marker,
           "Date: Sun, 06 Dec 2026 17:00:00 +0000",
           "Message-ID: <%s@%s>" % (marker, from_dom)] + list(extra)
    return ("\r\n".join(hdr) + "\r\n\r\nHello %s.\r\n" % marker).encode()


class SenderAuthMoatd(mt.MoatTestCase):
    NEED_POSTFIX = False
    SHARED_MOATD = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = rsa_key()
        zone = [
            ("pass.test", "TXT", "v=spf1 ip4:%s -all" % GOOD),
            ("reject.test", "TXT", "v=spf1 ip4:%s -all" % GOOD),
            ("_dmarc.reject.test", "TXT", "v=DMARC1; p=reject"),
            ("quar.test", "TXT", "v=spf1 ip4:%s -all" % GOOD),
            ("_dmarc.quar.test", "TXT", "v=DMARC1; p=quarantine"),
            ("sig.test", "TXT", "v=spf1 ip4:%s -all" % GOOD),
            ("_dmarc.sig.test", "TXT", "v=DMARC1; p=reject"),
            ("s1._domainkey.sig.test", "TXT",
             "v=DKIM1; k=rsa; p=" + cls.key[1]),
            ("client.test", "TXT", "v=spf1 ip4:%s -all" % GOOD),
            # DNS lists: BAD on bl (2) and pbl (1); LISTED on bl and
            # wl (-2).
            ("9.100.51.198.bl.test", "A", "127.0.0.2"),
            ("9.100.51.198.pbl.test", "A", "127.0.0.10"),
            ("10.100.51.198.bl.test", "A", "127.0.0.2"),
            ("10.100.51.198.wl.test", "A", "127.0.9.2"),
            # RHSBL on the sender's domain, URIBL on a URI's org. domain
            ("pass.test.dbl.test", "A", "127.0.1.2"),
            # (URIs are taken with a real TLD only, as SpamAssassin does)
            ("spammy-test.com.uribl.test", "A", "127.0.0.4"),
        ]
        cls.dns = dnstest.DnsServer(zone, local=["test"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.cleanup()
        super().tearDownClass()

    def run_moatd(self, **conf):
        fb = mt.FakeBackend("ok")
        self.addCleanup(fb.close)
        base = {"dns_resolver": self.dns.address, "dns_timeout": "1s",
                "spf": "on", "dkim": "on", "dmarc": "on",
                "rules": os.path.abspath(RULES),
                "local_domains": "example.test"}
        base.update(conf)
        return self.start_moatd(base, backend_port=fb.port,
                                listen_opts="proxy=v1"), fb

    def connect(self, m, src):
        """A client that the PROXY header says comes from src."""
        c = self.client(m)
        c.send(("PROXY TCP4 %s 127.0.0.1 40000 %d\r\n" % (src, m.port))
               .encode())
        return c

    def session(self, m, src=GOOD, helo="client.test"):
        c = self.connect(m, src)
        self.assertReply(c.reply(), 220)
        self.assertReply(c.cmd("EHLO " + helo), 250)
        return c

    def deliver(self, m, sender, data, src=GOOD):
        """MAIL, RCPT, DATA; returns the replies."""
        c = self.session(m, src)
        return self.send_mail(c, ["alice@example.test"], data, sender)

    def sign(self, data):
        return dkim.sign(data, b"s1", b"sig.test", self.key[0],
                         include_headers=[b"from", b"to", b"subject",
                                          b"date"]) + data

    def last_tx(self, m, sender):
        txs = m.wait_tx(sender)
        self.assertTrue(txs, m.log())
        return txs[-1]

    # ---------------------------------------------------------- DMARC

    def test_forged_sender_refused_with_enforcement(self):
        m, fb = self.run_moatd(dmarc_enforce="on")
        r = self.deliver(m, "a@reject.test", message(self.tok,
                                                     "reject.test"), BAD)
        self.assertReply(r[-1], 550, "5.7.1")
        self.assertIn("DMARC", r[-1].text)
        tx = self.last_tx(m, "a@reject.test")
        self.assertEqual(tx.get("spf"), "fail", tx)
        self.assertEqual(tx.get("dmarc"), "fail(p=reject)", tx)
        self.assertNotIn(self.tok.encode(), b"".join(fb.received))

    def test_forged_sender_tagged_without_enforcement(self):
        m, fb = self.run_moatd(dmarc_enforce="off")
        r = self.deliver(m, "a@reject.test", message(self.tok,
                                                     "reject.test"), BAD)
        self.assertReply(r[-1], 250)
        got = b"".join(fb.received)
        self.assertIn(self.tok.encode(), got)
        self.assertIn(b"X-Spam-Flag: YES", got)
        self.assertIn(b"DMARC_REJECT", got)

    def test_quarantine_enforced_is_tagged(self):
        # p=quarantine with enforcement: at least the tag verdict, even
        # when the rules alone would accept (scores lowered to 0).
        m, fb = self.run_moatd(dmarc_enforce="on", score_tag="20")
        r = self.deliver(m, "a@quar.test", message(self.tok, "quar.test"),
                         BAD)
        self.assertReply(r[-1], 250)
        got = b"".join(fb.received)
        self.assertIn(b"X-Spam-Flag: YES", got)
        self.assertIn(b"DMARC_QUARANTINE_BAND", got)

    def test_forwarder_not_refused(self):
        m, fb = self.run_moatd(dmarc_enforce="on", dmarc_forwarders="pass.test")
        # SPF passes for the list's own envelope domain; From is forged.
        r = self.deliver(m, "list@pass.test", message(self.tok,
                                                      "reject.test"), GOOD)
        self.assertReply(r[-1], 250)
        # A suffix that is not a whole label is another domain.
        m, fb = self.run_moatd(dmarc_enforce="on", dmarc_forwarders="ss.test")
        r = self.deliver(m, "list@pass.test", message(self.tok,
                                                      "reject.test"), GOOD)
        self.assertReply(r[-1], 550, "5.7.1")

    def test_signed_message_passes(self):
        m, fb = self.run_moatd(dmarc_enforce="on")
        r = self.deliver(m, "a@sig.test", self.sign(message(self.tok,
                                                            "sig.test")))
        self.assertReply(r[-1], 250)
        tx = self.last_tx(m, "a@sig.test")
        self.assertEqual(tx.get("spf"), "pass", tx)
        self.assertEqual(tx.get("dkim"), "pass(d=sig.test)", tx)
        self.assertEqual(tx.get("dmarc"), "pass", tx)

    # ------------------------------------------------- moatctl scan

    def scan(self, *args):
        """`moatctl scan ARGS`: (stdout, the fields of its first line)."""
        r = subprocess.run([MOATCTL, "scan", "-r", os.path.abspath(RULES)] +
                           list(args), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        first = r.stdout.splitlines()[0]
        return r.stdout, dict(f.split("=", 1) for f in first.split()
                              if "=" in f)

    def test_scan_dns_equals_moatd(self):
        # moatctl scan --dns runs the engine's own steps (with a blocking
        # context instead of the pool): for the same message and client
        # facts its spf=, dkim=, dmarc= and lists= are moatd's event=tx.
        m, fb = self.run_moatd(dnsbl_sites="bl.test=127.0.0.2*2 pbl.test*1",
                               dnsbl_threshold="10", score_reject="off")
        cases = [("a@sig.test", self.sign(message(self.tok, "sig.test")),
                  GOOD),
                 ("a@reject.test", message(self.tok + "f", "reject.test"),
                  BAD)]
        for sender, data, src in cases:
            r = self.deliver(m, sender, data, src)
            self.assertReply(r[-1], 250)
            tx = self.last_tx(m, sender)
            path = os.path.join(m.dir, "scan.eml")
            with open(path, "wb") as f:
                f.write(data)
            env = ["--client-ip", src, "--helo", "client.test",
                   "--mail-from", sender, path]
            # the resolver of the config, and one named on the line
            for dns in (["--dns"], ["--dns", self.dns.address]):
                out, got = self.scan("-c", m.conf_path, *(dns + env))
                for k in ("spf", "dkim", "dmarc", "lists"):
                    self.assertEqual(got.get(k), tx.get(k),
                                     (k, dns, out, tx))
                self.assertNotIn("skipped", out)
        self.assertEqual(got["dmarc"], "fail(p=reject)")
        self.assertIn("dnsbl:bl.test", got["lists"])

    def test_scan_offline_says_what_it_skipped(self):
        m, fb = self.run_moatd(dnsbl_sites="bl.test*1")
        path = os.path.join(m.dir, "scan.eml")
        with open(path, "wb") as f:
            f.write(self.sign(message(self.tok, "sig.test")))
        env = ["--client-ip", GOOD, "--mail-from", "a@sig.test", path]
        out, got = self.scan("-c", m.conf_path, *env)
        self.assertEqual(got.get("skipped"), "spf,dkim,dmarc,dnsbl", out)
        # a signature is seen, never called valid without its key
        self.assertEqual(got.get("dkim"), "unverified(d=sig.test)", out)
        self.assertNotIn("spf", got)
        self.assertIn("skipped: spf,dkim,dmarc,dnsbl: they need DNS", out)
        self.assertIn("cannot be verified without its key", out)
        # --dns without a client: moatd would not check either
        out, got = self.scan("-c", m.conf_path, "--dns", path)
        self.assertEqual(got.get("skipped"), "spf,dkim,dmarc,dnsbl", out)
        self.assertIn("no --client-ip", out)

    # ------------------------------------------------------------ SPF

    def test_spf_fail_refused_at_rcpt(self):
        m, fb = self.run_moatd(spf_fail_action="reject")
        c = self.session(m, BAD)
        self.assertReply(c.cmd("MAIL FROM:<a@pass.test>"), 250)
        r = c.cmd("RCPT TO:<alice@example.test>")
        self.assertReply(r, 550, "5.7.23")
        # The same sender from an allowed address goes through.
        c = self.session(m, GOOD)
        self.assertReply(c.cmd("MAIL FROM:<a@pass.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 250)

    def test_spf_fail_action_off_does_not_score(self):
        for action, scored in (("tag", True), ("off", False)):
            m, fb = self.run_moatd(spf_fail_action=action)
            r = self.deliver(m, "a@pass.test", message(self.tok, "x.test"),
                             BAD)
            self.assertReply(r[-1], 250)
            tx = self.last_tx(m, "a@pass.test")
            self.assertEqual(tx.get("spf"), "fail", tx)
            self.assertEqual("SPF_FAIL=" in tx.get("rules", ""), scored, tx)

    def test_null_sender_uses_helo(self):
        m, fb = self.run_moatd(spf_fail_action="reject")
        c = self.session(m, BAD, helo="client.test")
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        self.assertReply(c.cmd("RCPT TO:<alice@example.test>"), 550,
                         "5.7.23")

    # ---------------------------------------------------------- lists

    def test_listed_client_refused_at_connect(self):
        m, fb = self.run_moatd(dnsbl_sites="bl.test=127.0.0.2*2 pbl.test*1 "
                           "wl.test=127.0.[0..255].[1;2]*-2",
                           dnsbl_threshold="3")
        c = self.connect(m, BAD)
        r = c.reply()
        self.assertReply(r, 554, "5.7.1")
        c.wait_closed()
        # LISTED: bl (2) and wl (-2): 0, below the threshold.
        c = self.session(m, LISTED)
        self.assertReply(c.cmd("QUIT"), 221)
        # GOOD: on no list.
        r = self.deliver(m, "a@pass.test", message(self.tok, "pass.test"))
        self.assertReply(r[-1], 250)

    def test_list_hits_logged_and_scored(self):
        m, fb = self.run_moatd(dnsbl_sites="bl.test=127.0.0.2*2 pbl.test*1",
                           dnsbl_threshold="5")
        r = self.deliver(m, "a@pass.test", message(self.tok, "pass.test"),
                         BAD)
        self.assertReply(r[-1], 250)
        tx = self.last_tx(m, "a@pass.test")
        self.assertIn("dnsbl:bl.test", tx.get("lists", ""), tx)
        self.assertIn("dnsbl:pbl.test", tx.get("lists", ""), tx)
        self.assertIn("DNSBL_HIT", tx.get("rules", ""), tx)

    def test_rhsbl_and_uribl(self):
        m, fb = self.run_moatd(rhsbl_sites="dbl.test=127.0.1.[2..99]",
                               uribl_sites="uribl.test")
        data = message(self.tok, "pass.test").replace(
            b"Hello", b"See http://www.spammy-test.com/offer and Hello")
        r = self.deliver(m, "a@pass.test", data)
        self.assertReply(r[-1], 250)
        tx = self.last_tx(m, "a@pass.test")
        # asked at MAIL (sender) and at DATA (From): listed once
        self.assertEqual(tx.get("lists", "").count("rhsbl:dbl.test"), 1, tx)
        self.assertIn("uribl:uribl.test", tx.get("lists", ""), tx)
        self.assertIn("RHSBL_HIT", tx.get("rules", ""), tx)
        self.assertIn("URIBL_HIT", tx.get("rules", ""), tx)

    # ------------------------------------------------------ DNS trouble

    def test_dns_down_is_temperror_within_deadline(self):
        m, fb = self.run_moatd(auth_deadline="2s", dmarc_enforce="on")
        self.dns.pause()
        try:
            t0 = time.monotonic()
            r = self.deliver(m, "a@reject.test", message(self.tok,
                                                         "reject.test"), BAD)
            took = time.monotonic() - t0
        finally:
            self.dns.resume()
        # auth_deadline for all of one message's DNS, plus at most one
        # query's wait (whole seconds), plus slack.
        self.assertLess(took, 2 + 1 + 2)
        self.assertReply(r[-1], 250)
        tx = self.last_tx(m, "a@reject.test")
        self.assertEqual(tx.get("spf"), "temperror", tx)
        self.assertEqual(tx.get("dmarc"), "temperror", tx)

    def test_dns_down_tempfail_policy(self):
        m, fb = self.run_moatd(auth_deadline="2s", auth_temperror="tempfail")
        self.dns.pause()
        try:
            c = self.session(m, BAD)
            self.assertReply(c.cmd("MAIL FROM:<a@reject.test>"), 250)
            r = c.cmd("RCPT TO:<alice@example.test>")
        finally:
            self.dns.resume()
        self.assertReply(r, 451, "4.4.3")

    def test_sighup_right_after_start(self):
        # The pool starts between the first listen and the signal
        # handlers: a SIGHUP as soon as the port answers must reload, not
        # kill moatd by its default action (the signals wait, blocked).
        for _ in range(3):
            m, fb = self.run_moatd()
            m.signal(signal.SIGHUP)
            self.assertTrue(mt.poll(lambda: "reload:" in m.log(), 5),
                            m.log())
            self.assertTrue(m.alive(), m.log())
            m.cleanup()

    # -------------------------------------------------- the header

    def test_authentication_results_added_and_forgery_stripped(self):
        m, fb = self.run_moatd()
        data = message(self.tok, "sig.test", extra=[
            "Authentication-Results: %s; spf=pass "
            "smtp.mailfrom=forged.test" % mt.MOAT_NAME,
            "Authentication-Results: mx.other.test; dkim=pass",
        ])
        r = self.deliver(m, "a@sig.test", self.sign(data))
        self.assertReply(r[-1], 250)
        got = b"".join(fb.received)
        self.assertIn(("Authentication-Results: %s;" %
                       mt.MOAT_NAME).encode(), got)
        self.assertNotIn(b"forged.test", got)
        self.assertIn(b"Authentication-Results: mx.other.test; dkim=pass",
                      got)
        self.assertIn(b"spf=pass smtp.mailfrom=sig.test", got)
        self.assertIn(b"dkim=pass", got)


def main():
    if dkim is None:
        print("SKIP: python3-dkim missing")
        sys.exit(77)
    if not os.access(dnstest.DNSMASQ, os.X_OK):
        print("SKIP: dnsmasq not installed (apt-get install dnsmasq-base)")
        sys.exit(77)
    mt.main(need_moatd=True)


if __name__ == "__main__":
    main()
