#!/usr/bin/env python3
"""`moatctl scan` and `moatctl rules`, the offline tools of issue 3: per
message score, verdict and rules; the summary; -v's table; --sub and --all;
--profile's per-stage and per-rule lines; maildirs; --hs and --hs-cache
give the same lines as without; -c CONFIG (moatd's rule files in
order and thresholds, -r adding after, --tag etc. overriding); and the
refusals: a bad
option or --profile value (usage, exit 2), a file that cannot be read
(named, exit 1), a broken rule file (file, line and pattern offset, exit 1),
a config naming a missing or broken rule file or a bad threshold.

Needs only moatctl ($MOATCTL, else ./moatctl); no Postfix, no network.
"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
DEFAULT_RULES = os.path.join(TOP, "rules", "default.rules")
SAMPLES = os.path.join(TOP, "tests", "unit", "data", "engine")
SPAM = os.path.join(SAMPLES, "sample-spam.txt")      # GTUBE
HAM = os.path.join(SAMPLES, "sample-nonspam.txt")
MOATCTL = os.environ.get("MOATCTL", os.path.abspath("moatctl"))

RULES = r"""
body __LOTTO       /\blottery\b/i
body __WINNER      /\bwinner\b/i
body __NEVER       /\bzyzzyva\b/i
meta LOTTO_WINNER  __LOTTO && __WINNER
score LOTTO_WINNER 6.0
describe LOTTO_WINNER Lottery and winner
body GAPPY /(?:\b|\s)[_\W]{0,3}v[_\W]{0,3}i[_\W]{0,3}a\b/i
score GAPPY 1.5
"""

LOTTO = ("From: a@b.example\nTo: c@d.example\nSubject: hi\n\n"
         "You are the winner of our lottery: v.i.a\n")


def run(*args):
    p = subprocess.run([MOATCTL] + list(args), capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def lines(out, prefix):
    return [l for l in out.splitlines() if l.startswith(prefix)]


@unittest.skipUnless(os.access(MOATCTL, os.X_OK), "no moatctl")
class Scan(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.rules = self.path("t.cf", RULES)
        self.lotto = self.path("lotto.eml", LOTTO)

    def path(self, name, text):
        p = os.path.join(self.dir.name, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_gtube_and_ham_with_default_rules(self):
        rc, out, err = run("scan", "-r", DEFAULT_RULES, SPAM, HAM)
        self.assertEqual(rc, 0, err)
        spam = lines(out, SPAM + " ")[0]
        self.assertIn("verdict=reject", spam)
        self.assertIn("MOAT_GTUBE", spam)
        self.assertIn("verdict=accept", lines(out, HAM + " ")[0])
        self.assertIn("summary: 2 messages", out)
        self.assertIn("accept 1, tag 0, tempfail 0, reject 1", out)
        self.assertEqual(len(lines(out, "speed: ")), 1)
        self.assertEqual(len(lines(out, "cpu: ")), 1)

    def test_meta_scores_and_verbose_table(self):
        rc, out, err = run("scan", "-v", "-r", self.rules, self.lotto)
        self.assertEqual(rc, 0, err)
        first = out.splitlines()[0]
        self.assertIn("score=7.5", first)
        self.assertIn("verdict=tag", first)
        self.assertIn("LOTTO_WINNER", first)
        self.assertIn("GAPPY", first)
        self.assertNotIn("__", first)           # sub-rules never listed
        self.assertIn(" 6.0 LOTTO_WINNER", out)
        self.assertIn("Lottery and winner", out)

    def test_sub_lists_sub_rules_and_all_changes_nothing_else(self):
        rc, lazy, err = run("scan", "-r", self.rules, self.lotto)
        self.assertEqual(rc, 0, err)
        rc, full, err = run("scan", "--all", "-r", self.rules, self.lotto)
        self.assertEqual(rc, 0, err)
        self.assertEqual(lazy.splitlines()[0], full.splitlines()[0])
        rc, sub, err = run("scan", "--sub", "-r", self.rules, self.lotto)
        self.assertEqual(rc, 0, err)
        first = sub.splitlines()[0]
        self.assertIn("__LOTTO", first)
        self.assertIn("__WINNER", first)
        self.assertNotIn("__NEVER", first)

    def test_profile(self):
        rc, out, err = run("scan", "-q", "--profile", "2", "-r", self.rules,
                           self.lotto, SPAM, HAM)
        self.assertEqual(rc, 0, err)
        head = lines(out, "profile: 3 messages; parsing ")
        self.assertEqual(len(head), 1, out)
        self.assertIn(" ms per message)", head[0])
        self.assertEqual(len(lines(out, "profile: by stage: ")), 1)
        rows = [l for l in lines(out, "profile: ")
                if len(l.split()) == 7 and l.split()[1][0].isdigit()]
        self.assertEqual(len(rows), 2, out)     # the two costliest
        for r in rows:
            f = r.split()
            self.assertIn(f[5], ("body", "meta", "header"))
            self.assertTrue(int(f[3]) + int(f[4]) >= 1)
        # not asked for, not printed
        rc, out, err = run("scan", "-q", "-r", self.rules, self.lotto)
        self.assertEqual(lines(out, "profile: "), [])

    def test_maildir(self):
        md = os.path.join(self.dir.name, "Maildir")
        self.path("Maildir/cur/1.eml", LOTTO)
        self.path("Maildir/new/2.eml", "Subject: x\n\nnothing\n")
        self.path("Maildir/tmp/3.eml", "Subject: x\n\nnot read\n")
        rc, out, err = run("scan", "-r", self.rules, md)
        self.assertEqual(rc, 0, err)
        self.assertIn("summary: 2 messages", out)
        self.assertEqual(len(lines(out, md)), 2)

    def test_refusals(self):
        for args in (["scan", "--profile", "0", self.lotto],
                     ["scan", "--profile"],
                     ["scan", "--tag", "many", self.lotto],
                     ["scan", "-j", "0", self.lotto],
                     ["scan", "--no-such-option", self.lotto],
                     ["scan"]):
            rc, out, err = run(*args)
            self.assertEqual(rc, 2, args)
            self.assertIn("usage: moatctl scan", err, args)
        missing = os.path.join(self.dir.name, "missing.eml")
        rc, out, err = run("scan", "-r", self.rules, self.lotto, missing)
        self.assertEqual(rc, 1)
        self.assertIn(missing, err)
        self.assertIn("summary: 1 messages", out)
        bad = self.path("bad.rules", 'body OK /ok/ score 1 "fine"\n'
                        'body BAD /unclosed(/ score 1 "broken"\n')
        for cmd in ("scan", "rules"):
            args = [cmd, "-r", bad] + ([self.lotto] if cmd == "scan" else [])
            rc, out, err = run(*args)
            self.assertEqual(rc, 1, cmd)
            self.assertIn(bad + ":2:", err)
            self.assertIn("offset", err)

    def config(self, name, *lines):
        return self.path(name, "listen 127.0.0.1:2525\n"
                         "backend 127.0.0.1:2526\n" + "".join(
                             l + "\n" for l in lines))

    def test_config_rules_thresholds_and_overrides(self):
        # -c: moatd's rule files in order (the second re-scores GAPPY)
        # and its thresholds; --tag etc. override them, -r adds after.
        second = self.path("second.cf", "score GAPPY 3.0\n")
        conf = self.config("moat.conf", "rules " + self.rules,
                           "rules " + second, "score_tag 2",
                           "score_reject 9")
        rc, out, err = run("scan", "-c", conf, self.lotto)
        self.assertEqual(rc, 0, err)
        self.assertIn("score=9.0 verdict=reject", out.splitlines()[0])
        rc, out, err = run("scan", "-c", conf, "--reject", "off",
                           self.lotto)
        self.assertIn("score=9.0 verdict=tag", out.splitlines()[0])
        rc, out, err = run("scan", "--tag", "off", "--reject", "off",
                           "-c", conf, self.lotto)
        self.assertIn("score=9.0 verdict=accept", out.splitlines()[0])
        extra = self.path("extra.cf", "score GAPPY 0.5\n")
        rc, out, err = run("scan", "-c", conf, "-r", extra, self.lotto)
        self.assertIn("score=6.5 verdict=tag", out.splitlines()[0])
        rc, out, err = run("rules", "-c", conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("files 2,", out)

    def test_config_refusals(self):
        missing = os.path.join(self.dir.name, "nope.cf")
        conf = self.config("a.conf", "rules " + missing)
        rc, out, err = run("scan", "-c", conf, self.lotto)
        self.assertEqual(rc, 1)
        self.assertIn(missing + ": No such file", err)
        bad = self.path("bad.rules", 'body OK /ok/ score 1 "fine"\n'
                        'body BAD /unclosed(/ score 1 "broken"\n')
        conf = self.config("b.conf", "rules " + self.rules, "rules " + bad)
        rc, out, err = run("scan", "-c", conf, self.lotto)
        self.assertEqual(rc, 1)
        self.assertIn(bad + ":2:", err)
        conf = self.config("c.conf", "rules " + self.rules,
                           "score_tag lots")
        rc, out, err = run("scan", "-c", conf, self.lotto)
        self.assertEqual(rc, 1)
        self.assertIn("score_tag", err)

    def test_rules_statistics(self):
        rc, out, err = run("rules", "-r", self.rules)
        self.assertEqual(rc, 0, err)
        body = [l for l in out.splitlines() if l.startswith("body ")][0]
        self.assertEqual(body.split()[1], "4")  # four body rules run
        self.assertIn("literal prefilter 3;", out)
        self.assertIn("core prefilter 1;", out)

    def test_hyperscan_same_lines_and_cache(self):
        msgs = [self.lotto, SPAM, HAM]
        rc, plain, err = run("scan", "--sub", "-r", self.rules, "-r",
                             DEFAULT_RULES, *msgs)
        self.assertEqual(rc, 0, err)
        rc, out, err = run("scan", "--hs", "--sub", "-r", self.rules, "-r",
                           DEFAULT_RULES, *msgs)
        if rc == 1 and "without Hyperscan" in err:
            self.skipTest("moatctl built without Hyperscan")
        self.assertEqual(rc, 0, err)
        self.assertIn("hyperscan: ", err)
        self.assertIn("compiled in", err)
        scored = [l for l in plain.splitlines() if " score=" in l]
        self.assertEqual(len(scored), 3)
        self.assertEqual([l for l in out.splitlines() if " score=" in l],
                         scored)
        cache = os.path.join(self.dir.name, "cache")
        os.mkdir(cache)
        for how in ("compiled in", "read from the cache in"):
            rc, out, err = run("scan", "--hs-cache", cache, "--sub", "-r",
                               self.rules, "-r", DEFAULT_RULES, *msgs)
            self.assertEqual(rc, 0, err)
            self.assertIn(how, err)
            self.assertEqual([l for l in out.splitlines()
                              if " score=" in l], scored)
        self.assertEqual(len(os.listdir(cache)), 1)
        rc, out, err = run("rules", "-r", self.rules, "--hs-cache", cache)
        self.assertEqual(rc, 0, err)
        # __NEVER: nothing reads it, so it stays out
        self.assertIn("hyperscan: 3 patterns (0 with start finders, 0 refused, "
                      "0 not expressible, "
                      "1 unread", err)
        self.assertEqual(len(os.listdir(cache)), 2)
        # nothing it could serve: the same scan, without it
        hdr = self.path("hdr.cf", "header SUBJ_HI Subject =~ /hi/\n")
        rc, out, err = run("scan", "--hs", "-r", hdr, self.lotto)
        self.assertEqual(rc, 0, err)
        self.assertIn("hyperscan: not used: no pattern", err)
        self.assertIn("rules=SUBJ_HI", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
