#!/usr/bin/env python3
"""Sender authentication (issue 16) through `moatctl authcheck`, against a
private authoritative DNS on loopback (dnstest.py: dnsmasq) serving SPF,
DKIM and DMARC records, with messages signed by a real signer, python3-dkim
(Debian), never by moat's own code: RSA and ed25519 keys, relaxed and
simple canonicalisation, tampered bodies and headers, revoked, too small
and malformed keys; SPF include, redirect, macros, too many lookups, a
loop; DMARC p=, sp=, pct=, bad syntax; and the resolver stopped mid-test
(temperror, within the timeout).

Needs moatctl ($MOATCTL), dnsmasq, python3-dkim with python3-nacl, and
openssl; SKIPs (77) without them.  No Postfix, no moatd yet: moatd runs
these checks once the engine of issue 13 has per-stage step lists.
"""

import base64
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import dkim
    import nacl.signing
except ImportError:
    # configure may have found a python3 (pyenv) beside Debian's, which
    # has the packages; same minor version, so its modules load.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import dkim
        import nacl.signing
    except ImportError:
        dkim = None

import dnstest  # noqa: E402

MOATCTL = os.environ.get("MOATCTL", os.path.abspath("moatctl"))
SKIP = 77
IP_OK, IP_OK2, IP_BAD = "192.0.2.1", "192.0.2.2", "198.51.100.9"
IP_V6 = "2001:db8::1"
V6_REV = ".".join(reversed("20010db8" + "0" * 23 + "1"))
DNSBL = ("bl.test=127.0.0.2*3 pbl.test=127.0.0.[10..11]*1 "
         "wl.test=127.0.[0..255].[1;2]*-2 other.test=127.0.0.4")


def openssl(*args, data=None):
    return subprocess.run(["openssl"] + list(args), input=data,
                          capture_output=True, check=True).stdout


def rsa_key(bits):
    """(private PEM, p= value) for a fresh RSA key."""
    pem = openssl("genrsa", str(bits))
    der = openssl("rsa", "-pubout", "-outform", "DER", data=pem)
    return pem, base64.b64encode(der).decode()


def ed_key():
    """(private seed as dkimpy wants it, p= value) for Ed25519 (RFC 8463)."""
    sk = nacl.signing.SigningKey.generate()
    return (base64.b64encode(bytes(sk)),
            base64.b64encode(bytes(sk.verify_key)).decode())


MSG = ("From: Alice <alice@{d}>\r\n"
       "To: bob@example.test\r\n"
       "Subject: sender auth {tag}\r\n"
       "Message-ID: <{tag}@{d}>\r\n"
       "Date: Sun, 06 Dec 2026 17:00:00 +0000\r\n"
       "\r\n"
       "Hello Bob,  \r\n"
       "this line is the body.\r\n"
       "\r\n")


def mt_poll_log(dns, before, timeout=5.0):
    """dnsmasq's log lines written since before (it logs each query as it
    answers; the answers have arrived, so the lines have too)."""
    deadline = time.monotonic() + timeout
    while True:
        log = dns.log()[len(before):]
        if log or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def message(domain, tag="x"):
    return MSG.format(d=domain, tag=tag).encode()


class SenderAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = {
            "rsa": rsa_key(2048),
            "rsa1k": rsa_key(1024),
            "small": rsa_key(512),
            "ed": ed_key(),
        }
        spf_chain = [("l%d.many.test" % i, "TXT",
                      "v=spf1 include:l%d.many.test -all" % (i + 1))
                     for i in range(1, 13)]
        zone = [
            # SPF (RFC 7208)
            ("pass.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("soft.test", "TXT", "v=spf1 ~all"),
            ("neutral.test", "TXT", "v=spf1 ?all"),
            ("norecord.test", "A", "192.0.2.50"),
            ("include.test", "TXT", "v=spf1 include:_spf.other.test -all"),
            ("_spf.other.test", "TXT", "v=spf1 ip4:192.0.2.2 -all"),
            ("redirect.test", "TXT", "v=spf1 redirect=pass.test"),
            ("macro.test", "TXT",
             "v=spf1 exists:%{i}._ip.macro.test -all"),
            ("192.0.2.1._ip.macro.test", "A", "127.0.0.2"),
            ("many.test", "TXT", "v=spf1 include:l1.many.test -all"),
            ("loop.test", "TXT", "v=spf1 include:loop.test -all"),
            ("flat.test", "TXT", "v=spf1 " + " ".join(
                "a:h%d.flat.test" % i for i in range(11)) + " -all"),
            ("void.test", "TXT", "v=spf1 a:v1.void.test a:v2.void.test "
             "a:v3.void.test a:v4.void.test -all"),
            ("void2.test", "TXT", "v=spf1 a:v1.void.test mx:v2.void.test "
             "ip4:192.0.2.1 -all"),
            ("voidpass.test", "TXT", "v=spf1 a:v1.void.test ip4:192.0.2.1 "
             "a:v2.void.test a:v3.void.test a:v4.void.test -all"),
            ("twice.test", "TXT", "v=spf1 -all"),
            ("twice.test", "TXT", "v=spf1 +all"),
            ("helo.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            # DKIM keys (RFC 6376 3.6.1, RFC 8463)
            ("rsa._domainkey.sig.test", "TXT",
             "v=DKIM1; k=rsa; p=" + cls.keys["rsa"][1]),
            ("rsa1k._domainkey.sig.test", "TXT",
             "v=DKIM1; k=rsa; p=" + cls.keys["rsa1k"][1]),
            ("ed._domainkey.sig.test", "TXT",
             "v=DKIM1; k=ed25519; p=" + cls.keys["ed"][1]),
            ("small._domainkey.sig.test", "TXT",
             "v=DKIM1; k=rsa; p=" + cls.keys["small"][1]),
            ("revoked._domainkey.sig.test", "TXT", "v=DKIM1; k=rsa; p="),
            ("bad._domainkey.sig.test", "TXT",
             "v=DKIM1; k=rsa; p=!!notbase64!!"),
            ("sig.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("_dmarc.sig.test", "TXT", "v=DMARC1; p=reject"),
            # DMARC (RFC 7489)
            ("reject.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("_dmarc.reject.test", "TXT", "v=DMARC1; p=reject"),
            ("quar.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("_dmarc.quar.test", "TXT", "v=DMARC1; p=quarantine"),
            ("mon.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("_dmarc.mon.test", "TXT", "v=DMARC1; p=none"),
            ("_dmarc.subpol.test", "TXT", "v=DMARC1; p=none; sp=reject"),
            ("sub.subpol.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("_dmarc.pct.test", "TXT", "v=DMARC1; p=reject; pct=0"),
            ("_dmarc.broken.test", "TXT", "v=DMARC1; p=bogus"),
            ("broken.test", "A", "192.0.2.60"),
            # DNS lists (RFC 5782), several answer codes
            ("9.100.51.198.bl.test", "A", "127.0.0.2"),
            ("9.100.51.198.bl.test", "A", "127.0.0.10"),
            ("9.100.51.198.pbl.test", "A", "127.0.0.11"),
            ("10.100.51.198.bl.test", "A", "127.0.0.3"),
            ("1.2.0.192.wl.test", "A", "127.0.9.2"),
            ("1.2.0.192.bl.test", "A", "192.0.2.99"),   # not 127/8
            (V6_REV + ".bl.test", "A", "127.0.0.2"),
            ("spammer.test.dbl.test", "A", "127.0.1.2"),
            ("spammy-test.com.uribl.test", "A", "127.0.0.2"),
            ("spammy-test.com.uribl.test", "A", "127.0.0.4"),
        ] + spf_chain + [("l13.many.test", "TXT", "v=spf1 -all")]
        cls.dns = dnstest.DnsServer(zone, local=["test"]).start()
        cls.dir = tempfile.TemporaryDirectory()
        # .test is not in the Public Suffix List; without it listed the
        # organizational domain of sub.subpol.test is not subpol.test.
        cls.psl = os.path.join(cls.dir.name, "psl.dat")
        with open(cls.psl, "w") as f:
            f.write("// ===BEGIN ICANN DOMAINS===\ntest\ncom\n"
                    "// ===END ICANN DOMAINS===\n")

    @classmethod
    def tearDownClass(cls):
        cls.dns.cleanup()
        cls.dir.cleanup()

    # ------------------------------------------------------------ helpers

    def authcheck(self, data, *args, dns=True, timeout_ms=None, psl=True):
        path = os.path.join(self.dir.name, "m%d.eml" % time.monotonic_ns())
        with open(path, "wb") as f:
            f.write(data)
        cmd = [MOATCTL, "authcheck"] + (["--psl", self.psl] if psl else [])
        if dns:
            cmd += ["--dns", self.dns.address]
        if timeout_ms:
            cmd += ["--timeout", str(timeout_ms)]
        p = subprocess.run(cmd + list(args) + [path], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        res = {}
        for line in out.splitlines():
            if line.startswith(path + ":"):
                for w in line[len(path) + 1:].split():
                    k, _, v = w.partition("=")
                    res.setdefault(k, []).append(v)
            elif line.startswith("facts:"):
                res["facts"] = line[6:].split()
        res["out"] = out
        return res

    def spf(self, sender, ip=IP_OK, helo="helo.test"):
        r = self.authcheck(message("x.test"), "--client-ip", ip, "--helo",
                           helo, "--mail-from", sender)
        return r["spf"][0], r

    def sign(self, data, selector, canon=(b"relaxed", b"relaxed"),
             domain=b"sig.test"):
        key = self.keys[selector][0]
        alg = b"ed25519-sha256" if selector == "ed" else b"rsa-sha256"
        sig = dkim.sign(data, selector.encode(), domain, key,
                        canonicalize=canon, signature_algorithm=alg,
                        include_headers=[b"from", b"to", b"subject",
                                         b"message-id", b"date"])
        return sig + data

    def dkim_of(self, data, ip=IP_BAD):
        r = self.authcheck(data, "--client-ip", ip, "--mail-from",
                           "alice@elsewhere.test")
        return r.get("dkim", []), r

    # ---------------------------------------------------------------- SPF

    def test_spf_results(self):
        cases = [
            ("a@pass.test", IP_OK, "pass"),
            ("a@pass.test", IP_BAD, "fail"),
            ("a@soft.test", IP_BAD, "softfail"),
            ("a@neutral.test", IP_BAD, "neutral"),
            ("a@norecord.test", IP_BAD, "none"),
            ("a@nxdomain.test", IP_BAD, "none"),
            ("a@include.test", IP_OK2, "pass"),
            ("a@include.test", IP_OK, "fail"),
            ("a@redirect.test", IP_OK, "pass"),
            ("a@redirect.test", IP_BAD, "fail"),
            ("a@macro.test", IP_OK, "pass"),
            ("a@macro.test", IP_OK2, "fail"),
            # RFC 7208 4.6.4: more than 10 DNS-querying terms
            ("a@flat.test", IP_OK, "permerror"),
            ("a@loop.test", IP_OK, "permerror"),
            # RFC 7208 4.5: two SPF records
            ("a@twice.test", IP_OK, "permerror"),
        ]
        for sender, ip, want in cases:
            with self.subTest(sender=sender, ip=ip):
                got, r = self.spf(sender, ip)
                self.assertEqual(got, want, r["out"])

    def test_spf_facts_and_header(self):
        got, r = self.spf("a@pass.test")
        self.assertIn("SPF_PASS", r["facts"])
        self.assertIn("SPF_HELO_PASS", r["facts"])
        self.assertIn("spf=pass smtp.mailfrom=pass.test", r["out"])
        got, r = self.spf("a@pass.test", IP_BAD)
        self.assertIn("SPF_FAIL", r["facts"])
        self.assertIn("SPF_HELO_FAIL", r["facts"])

    def test_spf_null_sender_uses_helo(self):
        r = self.authcheck(message("x.test"), "--client-ip", IP_BAD,
                           "--helo", "helo.test")
        self.assertEqual(r["spf"][0], "fail", r["out"])
        self.assertIn("smtp.helo=helo.test", r["out"])

    def test_spf_nested_lookup_limit(self):
        # RFC 7208 4.6.4 counts DNS terms across includes: 12 nested
        # includes are a permerror.  libspf2 1.2.10 counts per record;
        # moat counts the records fetched (sauth_check.c, spf_lookup).
        got, r = self.spf("a@many.test", IP_OK)
        self.assertEqual(got, "permerror", r["out"])
        self.assertIn("SPF_PERMERROR", r["facts"])
        # Ten nested includes are within the limit: the last -all.
        got, r = self.spf("a@l3.many.test", IP_OK)
        self.assertEqual(got, "fail", r["out"])

    def test_spf_void_lookups(self):
        # RFC 7208 4.6.4: more than two void lookups is permerror
        # (libspf2 1.2.10 does not count them; moat does).
        got, r = self.spf("a@void.test", IP_OK)
        self.assertEqual(got, "permerror", r["out"])
        # Two are allowed (an a: and an mx: that find nothing).
        got, r = self.spf("a@void2.test", IP_OK)
        self.assertEqual(got, "pass", r["out"])
        # A match before the third void lookup stops the evaluation.
        got, r = self.spf("a@voidpass.test", IP_OK)
        self.assertEqual(got, "pass", r["out"])
        got, r = self.spf("a@voidpass.test", IP_BAD)
        self.assertEqual(got, "permerror", r["out"])
        # Every message alike: the answers cached by the first check
        # count again in the second (one process, two messages).
        r = self.authcheck(message("x.test"), "--client-ip", IP_OK,
                           "--helo", "helo.test", "--mail-from",
                           "a@void.test")
        self.assertEqual(r["spf"], ["permerror"], r["out"])

    def test_spf_outside_zone_is_temperror(self):
        # Not under --local=/test/: dnsmasq has no upstream and REFUSES.
        got, r = self.spf("a@elsewhere.example", IP_OK)
        self.assertEqual(got, "temperror", r["out"])
        self.assertIn("SPF_TEMPERROR", r["facts"])

    # --------------------------------------------------------------- DKIM

    def test_dkim_real_signatures_verify(self):
        for sel in ("rsa", "rsa1k", "ed"):
            for canon in ((b"relaxed", b"relaxed"), (b"simple", b"simple"),
                          (b"relaxed", b"simple")):
                with self.subTest(sel=sel, canon=canon):
                    data = self.sign(message("sig.test", sel), sel, canon)
                    got, r = self.dkim_of(data)
                    self.assertEqual(got, ["pass(d=sig.test)"], r["out"])
                    self.assertIn("DKIM_VALID", r["facts"])
                    self.assertIn("DKIM_VALID_AU", r["facts"])
                    self.assertIn("DKIM_SIGNED", r["facts"])
                    self.assertIn("header.d=sig.test header.s=" + sel,
                                  r["out"])

    def test_dkim_tampered_body(self):
        for canon in ((b"relaxed", b"relaxed"), (b"simple", b"simple")):
            with self.subTest(canon=canon):
                data = self.sign(message("sig.test"), "rsa", canon)
                data = data.replace(b"the body", b"the BODY")
                got, r = self.dkim_of(data)
                self.assertEqual(got, ["fail(d=sig.test)"], r["out"])
                self.assertIn("DKIM_INVALID", r["facts"])
                self.assertNotIn("DKIM_VALID", r["facts"])
                self.assertIn("body hash mismatch", r["out"])

    def test_dkim_tampered_header(self):
        data = self.sign(message("sig.test"), "ed")
        data = data.replace(b"Subject: sender auth",
                            b"Subject: sender AUTH")
        got, r = self.dkim_of(data)
        self.assertEqual(got, ["fail(d=sig.test)"], r["out"])

    def test_dkim_decoded_key_cache(self):
        # One process verifies many messages: a key decoded once is
        # reused (sauth_check.c's cache by DER bytes), and a signature
        # made with one key but naming another selector still fails, so
        # the cache never answers with the wrong key.
        good = self.sign(message("sig.test", "kc"), "rsa")
        other = self.sign(message("sig.test", "kc2"), "rsa1k")
        forged = good.replace(b"s=rsa;", b"s=rsa1k;", 1)
        self.assertNotEqual(forged, good)
        paths = []
        for i, data in enumerate([good, other, good, forged, good]):
            path = os.path.join(self.dir.name, "kc%d.eml" % i)
            with open(path, "wb") as f:
                f.write(data)
            paths.append(path)
        p = subprocess.run([MOATCTL, "authcheck", "--psl", self.psl,
                            "--dns", self.dns.address, "--stats"] + paths,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = [line.split(" dkim=")[1].split()[0]
               for line in p.stdout.splitlines() if " dkim=" in line]
        self.assertEqual(got, ["pass(d=sig.test)", "pass(d=sig.test)",
                               "pass(d=sig.test)", "fail(d=sig.test)",
                               "pass(d=sig.test)"], p.stdout)
        self.assertIn("dkim keys: decoded=2 reused=3", p.stdout)

    def test_dkim_whitespace_relaxed_vs_simple(self):
        # Relaxed body canonicalisation ignores trailing blanks; simple
        # does not (RFC 6376 3.4.3, 3.4.4).
        for canon, want in (((b"relaxed", b"relaxed"), "pass"),
                            ((b"simple", b"simple"), "fail")):
            with self.subTest(canon=canon):
                data = self.sign(message("sig.test"), "rsa", canon)
                data = data.replace(b"Hello Bob,  \r\n", b"Hello Bob,\r\n")
                got, r = self.dkim_of(data)
                self.assertEqual(got, ["%s(d=sig.test)" % want], r["out"])

    def test_dkim_bad_keys(self):
        for sel in ("revoked", "small", "bad", "nokey"):
            with self.subTest(sel=sel):
                key = "rsa" if sel in ("revoked", "bad", "nokey") else sel
                data = self.sign(message("sig.test"), key)
                data = data.replace(b"s=" + key.encode() + b";",
                                    b"s=" + sel.encode() + b";", 1)
                got, r = self.dkim_of(data)
                self.assertEqual(len(got), 1, r["out"])
                self.assertNotEqual(got[0], "pass(d=sig.test)", r["out"])
                self.assertIn(got[0].split("(")[0],
                              ("fail", "permerror"), r["out"])
                self.assertIn("DKIM_INVALID", r["facts"])

    def test_dkim_unsigned(self):
        got, r = self.dkim_of(message("sig.test"))
        self.assertEqual(got, ["none"], r["out"])
        self.assertNotIn("DKIM_SIGNED", r["facts"])

    # -------------------------------------------------------------- DMARC

    def dmarc(self, domain, ip=IP_BAD, sign=None):
        data = message(domain)
        if sign:
            data = self.sign(data, sign)
        r = self.authcheck(data, "--client-ip", ip, "--mail-from",
                           "bounce@" + domain)
        return r["dmarc"][0], r

    def test_dmarc_policies(self):
        cases = [
            ("reject.test", IP_BAD, "fail(p=reject)", "DMARC_REJECT"),
            ("reject.test", IP_OK, "pass", "DMARC_PASS"),
            ("quar.test", IP_BAD, "fail(p=quarantine)", "DMARC_QUARANTINE"),
            ("mon.test", IP_BAD, "fail(p=none)", "DMARC_NONE"),
            ("sub.subpol.test", IP_BAD, "fail(p=reject)", "DMARC_REJECT"),
            ("pass.test", IP_BAD, "none", None),
            ("broken.test", IP_BAD, "permerror", None),
        ]
        for domain, ip, want, fact in cases:
            with self.subTest(domain=domain, ip=ip):
                got, r = self.dmarc(domain, ip)
                self.assertEqual(got, want, r["out"])
                if fact:
                    self.assertIn(fact, r["facts"])
                    self.assertIn("dmarc=%s header.from=%s" % (
                        want.split("(")[0], domain), r["out"])

    def test_dmarc_unlisted_tld_uses_default_rule(self):
        # Debian's Public Suffix List has no .test: the PSL's default rule
        # "*" makes subpol.test the organizational domain (RFC 7489 3.2),
        # and x.test has no record anywhere: none, not temperror (the
        # library leaves its output untouched for an unlisted TLD).
        r = self.authcheck(message("sub.subpol.test"), "--client-ip",
                           IP_BAD, "--mail-from", "a@sub.subpol.test",
                           psl=False)
        self.assertEqual(r["dmarc"][0], "fail(p=reject)", r["out"])
        r = self.authcheck(message("x.test"), "--client-ip", IP_BAD,
                           psl=False)
        self.assertEqual(r["dmarc"][0], "none", r["out"])

    def test_dmarc_pct_zero_does_not_reject(self):
        # RFC 7489 6.6.4: with pct=0 the policy is not applied; the next
        # lower one is (quarantine for reject).
        got, r = self.dmarc("pct.test")
        self.assertNotIn("DMARC_REJECT", r["facts"], r["out"])

    def test_dmarc_pass_by_dkim_alone(self):
        # SPF fails (wrong client), the aligned DKIM signature passes.
        got, r = self.dmarc("sig.test", IP_BAD, sign="rsa")
        self.assertEqual(got, "pass", r["out"])
        self.assertIn("SPF_FAIL", r["facts"])
        self.assertIn("DMARC_PASS", r["facts"])

    def test_answers_are_cached_within_a_process(self):
        # Three messages, one process: the key, the DMARC record and the
        # SPF record are each asked once (dnstest serves TTL 300).
        paths = []
        data = self.sign(message("sig.test", "cache"), "ed")
        for i in range(3):
            paths.append(os.path.join(self.dir.name, "c%d.eml" % i))
            with open(paths[-1], "wb") as f:
                f.write(data)
        before = self.dns.log()
        p = subprocess.run([MOATCTL, "authcheck", "--psl", self.psl,
                            "--dns", self.dns.address, "--client-ip", IP_OK,
                            "--mail-from", "a@sig.test"] + paths,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.count("dmarc=pass from=sig.test"), 3,
                         p.stdout)
        log = mt_poll_log(self.dns, before)
        for q in ("query[TXT] ed._domainkey.sig.test ",
                  "query[TXT] _dmarc.sig.test ", "query[TXT] sig.test "):
            self.assertEqual(log.count(q), 1, log)

    # ---------------------------------------------------------- DNS lists

    def lists(self, data, ip, *args):
        r = self.authcheck(data, "--client-ip", ip, *args)
        m = [l for l in r["out"].splitlines() if l.startswith("lists: ")]
        self.assertEqual(len(m), 1, r["out"])
        w = dict(kv.split("=") for kv in m[0][7:].split())
        return {k: int(v) for k, v in w.items()}, r

    def test_dnsbl_weights_and_answers(self):
        w, r = self.lists(message("x.test"), IP_BAD, "--dnsbl", DNSBL)
        # bl.test answers 127.0.0.2 (weight 3) and 127.0.0.10 (not in its
        # filter); pbl.test 127.0.0.11 (1); weight once per site.
        self.assertEqual(w["dnsbl"], 4, r["out"])
        for f in ("DNSBL_HIT", "dnsbl:bl.test", "dnsbl:pbl.test"):
            self.assertIn(f, r["facts"])
        self.assertNotIn("dnsbl:other.test", r["facts"])
        self.assertNotIn("DNSBL_ALLOW", r["facts"])
        # 127.0.0.3 is outside bl.test's filter: not listed.
        w, r = self.lists(message("x.test"), "198.51.100.10", "--dnsbl",
                          DNSBL)
        self.assertEqual(w["dnsbl"], 0, r["out"])
        self.assertNotIn("DNSBL_HIT", r["facts"])
        # An allow list (negative weight); bl.test's 192.0.2.99 is not a
        # 127/8 answer and its filter wants 127.0.0.2 anyway.
        w, r = self.lists(message("x.test"), IP_OK, "--dnsbl", DNSBL)
        self.assertEqual(w["dnsbl"], -2, r["out"])
        self.assertIn("DNSBL_ALLOW", r["facts"])
        self.assertIn("dnsbl:wl.test", r["facts"])
        # IPv6: nibbles reversed (RFC 5782 2.4).
        w, r = self.lists(message("x.test"), IP_V6, "--dnsbl", DNSBL)
        self.assertEqual(w["dnsbl"], 3, r["out"])

    def test_rhsbl_and_uribl(self):
        # URI extraction wants a real TLD (as SpamAssassin's); the names
        # are only ever asked of the private DNS.
        body = (b"See http://www.spammy-test.com/buy and "
                b"https://user@click.spammy-test.com:8080/x and "
                b"http://good-test.com/ ok\r\n")
        data = message("spammer.test").replace(b"this line is the body.",
                                                body)
        w, r = self.lists(data, IP_OK, "--mail-from", "a@spammer.test",
                          "--rhsbl", "dbl.test=127.0.1.[2..99]*2",
                          "--uribl", "uribl.test*5")
        self.assertEqual(w["rhsbl"], 2, r["out"])
        self.assertEqual(w["uribl"], 5, r["out"])    # once per domain
        for f in ("RHSBL_HIT", "rhsbl:dbl.test", "URIBL_HIT",
                  "uribl:uribl.test"):
            self.assertIn(f, r["facts"])
        w, r = self.lists(message("x.test"), IP_OK, "--mail-from",
                          "a@x.test", "--rhsbl", "dbl.test*2",
                          "--uribl", "uribl.test*5")
        self.assertEqual((w["rhsbl"], w["uribl"]), (0, 0), r["out"])

    def test_bad_list_syntax_is_a_usage_error(self):
        p = subprocess.run([MOATCTL, "authcheck", "--dnsbl", "bl.test*x",
                            "/dev/null"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("weight is not an integer", p.stderr)

    # ------------------------------------------- offline and DNS failure

    def test_without_dns_everything_is_skipped(self):
        r = self.authcheck(message("sig.test"), "--client-ip", IP_OK,
                           dns=False)
        self.assertIn("skipped: spf dkim dmarc", r["out"])
        self.assertEqual(r["spf"], ["skipped"])
        self.assertEqual(r["dmarc"], ["skipped"])
        self.assertEqual(r["facts"], [])
        self.assertIn("Authentication-Results: moat; none", r["out"])

    def dead_check(self, *args):
        """authcheck of a signed p=reject message with the resolver
        paused: (its results, seconds taken); all three temperror."""
        data = self.sign(message("reject.test"), "rsa")
        self.dns.pause()
        try:
            t0 = time.monotonic()
            r = self.authcheck(data, "--client-ip", IP_OK, "--mail-from",
                               "a@reject.test", *args, timeout_ms=1000)
            took = time.monotonic() - t0
        finally:
            self.dns.resume()
        self.assertEqual(r["spf"][0], "temperror", r["out"])
        self.assertEqual(r["dkim"], ["temperror(d=sig.test)"], r["out"])
        self.assertEqual(r["dmarc"][0], "temperror", r["out"])
        return r, took

    def test_dead_resolver_is_temperror_within_timeout(self):
        r, took = self.dead_check()
        self.assertIn("SPF_TEMPERROR", r["facts"])
        # SPF mailfrom + HELO, the key, DMARC: a handful of 1 s timeouts.
        self.assertLess(took, 15, r["out"])

    def test_deadline_bounds_the_message(self):
        # auth_deadline: with a dead resolver the checks of one message
        # (SPF, HELO, the key, DMARC: four 1 s timeouts or more) stop at
        # the deadline, all temperror.
        r, took = self.dead_check("--helo", "helo.test", "--deadline",
                                  "1500")
        self.assertLess(took, 3.0, r["out"])

    def test_dead_resolver_lists_add_nothing(self):
        self.dns.pause()
        try:
            w, r = self.lists(message("x.test"), IP_BAD, "--timeout",
                              "500", "--dnsbl", "bl.test*3 pbl.test")
        finally:
            self.dns.resume()
        self.assertEqual(w["dnsbl"], 0, r["out"])
        self.assertEqual(w["temperror"], 2, r["out"])
        self.assertNotIn("DNSBL_HIT", r["facts"])


def main():
    if dkim is None:
        print("SKIP: python3-dkim or python3-nacl missing")
        sys.exit(SKIP)
    if not os.access(MOATCTL, os.X_OK):
        print("SKIP: no moatctl (MOATCTL=%r)" % MOATCTL)
        sys.exit(SKIP)
    if not os.access(dnstest.DNSMASQ, os.X_OK):
        print("SKIP: dnsmasq not installed (apt-get install dnsmasq-base)")
        sys.exit(SKIP)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
