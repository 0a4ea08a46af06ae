#!/usr/bin/env python3
"""The Bayesian classifier (issue 14): `moatctl learn` on single files,
mbox (several messages, a body line starting "From " that is not a
separator, a broken one) and maildir input; a message learned twice counts
once, relearning as the other class moves it, --forget takes it out;
`moatctl bayes stats|dump|restore`; `moatctl scan --bayes-db` prints
bayes=; unreadable files and corrupt stores are named, never a crash.
Then moatd: with `bayes on`, a store trained on generated spam and ham
past its minimum counts, the next delivery of a spam carries bayes= in its
tx line and is tagged by a check_bayes rule; autolearn learns past its thresholds with one log line each,
and a message once; a missing store is logged once, naming the file, and
mail still flows without Bayes.

moatctl alone needs no root; the moatd part needs root and Postfix.
"""

import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

MOATCTL = os.environ.get("MOATCTL", os.path.abspath("moatctl"))

SPAM_WORDS = ("viagra cheap pills pharmacy discount offer winner lottery "
              "mortgage refinance casino bonus credit unsecured guaranteed "
              "millions inheritance investment opportunity").split()
HAM_WORDS = ("meeting agenda quarterly review patch kernel compile build "
             "release notes minutes project schedule lunch tomorrow "
             "library function thread mailing list").split()
COMMON = "the and for you with this that have from will".split()


def gen(kind, i, rnd, marker=""):
    """A generated message of kind ('spam' or 'ham'), LF line ends."""
    words = SPAM_WORDS if kind == "spam" else HAM_WORDS
    body = " ".join(rnd.choice(words + COMMON) for _ in range(60))
    return ("From: %s%d@%s.example\nTo: alice@example.test\n"
            "Subject: %s %s %s\nMessage-ID: <%s%d.%s@gen.example>\n\n%s\n"
            % (kind, i, kind, rnd.choice(words), rnd.choice(words), marker,
               kind, i, marker or "x", body))


# what any moat.conf must say; moatctl reads only the bayes_* keys
CONF_HEAD = "listen 127.0.0.1:1\nbackend 127.0.0.1:2\nspool_dir %s\n"


def run(*args, stdin=None):
    p = subprocess.run([MOATCTL] + list(args), capture_output=True,
                       text=True, timeout=120, input=stdin)
    return p.returncode, p.stdout, p.stderr


def stats(db):
    rc, out, err = run("bayes", "stats", "--bayes-db", db)
    if rc != 0:
        raise AssertionError(err)
    return dict(kv.split("=", 1) for kv in out.split())


@unittest.skipUnless(os.access(MOATCTL, os.X_OK), "no moatctl")
class Learn(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.db = os.path.join(self.dir.name, "db")
        self.rnd = random.Random(14)

    def path(self, name, text):
        p = os.path.join(self.dir.name, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_mbox_split(self):
        msgs = [gen("spam", i, self.rnd) for i in range(3)]
        # a body line "From here..." is not a separator (no date after it)
        msgs[1] = msgs[1].replace("\n\n", "\n\nFrom here on, read on.\n", 1)
        mbox = "".join("From spam%d@x.example Mon Jan  1 00:00:00 2024\n%s\n"
                       % (i, m) for i, m in enumerate(msgs))
        p = self.path("spam.mbox", mbox)
        rc, out, err = run("learn", "--spam", "--bayes-db", self.db, p)
        self.assertEqual(rc, 0, err)
        self.assertIn("learn: spam: 3 messages: learned 3,", out)
        self.assertEqual(stats(self.db)["nspam"], "3")
        # the same with CRLF line ends: the same three (learned already)
        p = self.path("spam-crlf.mbox", mbox.replace("\n", "\r\n"))
        rc, out, err = run("learn", "--spam", "--bayes-db", self.db, p)
        self.assertEqual(rc, 0, err)
        self.assertIn("3 messages: learned 0, already 3,", out)
        # one message in a file that starts with its From line, as the
        # SpamAssassin corpus files do, is one message
        one = self.path("one", "From a@b Tue Feb  2 00:00:00 2024\n" +
                        gen("ham", 9, self.rnd))
        rc, out, err = run("learn", "--ham", "--bayes-db", self.db, one)
        self.assertEqual(rc, 0, err)
        self.assertIn("learned 1,", out)
        self.assertEqual(stats(self.db)["nham"], "1")

    def test_maildir_twice_relearn_forget(self):
        md = os.path.join(self.dir.name, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        for i in range(4):
            self.path("Maildir/%s/%d.host" % ("cur" if i % 2 else "new", i),
                      gen("ham", i, self.rnd))
        self.path("Maildir/tmp/partial", "not yet delivered")
        rc, out, err = run("learn", "--ham", "--bayes-db", self.db, md)
        self.assertEqual(rc, 0, err)
        self.assertIn("4 messages: learned 4,", out)
        # again: counted once
        rc, out, err = run("learn", "--ham", "--bayes-db", self.db, md)
        self.assertEqual(rc, 0, err)
        self.assertIn("learned 0, already 4,", out)
        st = stats(self.db)
        self.assertEqual((st["nspam"], st["nham"], st["seen"]),
                         ("0", "4", "4"))
        # relearned as spam: moved
        one = os.path.join(md, "cur", "1.host")
        rc, out, err = run("learn", "--spam", "--bayes-db", self.db, one)
        self.assertEqual(rc, 0, err)
        self.assertIn("moved 1,", out)
        st = stats(self.db)
        self.assertEqual((st["nspam"], st["nham"]), ("1", "3"))
        # forgotten, and forgetting again finds nothing
        rc, out, err = run("learn", "--forget", "--bayes-db", self.db, one)
        self.assertIn("forgotten 1,", out)
        rc, out, err = run("learn", "--forget", "--bayes-db", self.db, one)
        self.assertIn("unknown 1,", out)
        st = stats(self.db)
        self.assertEqual((st["nspam"], st["nham"], st["seen"]),
                         ("0", "3", "3"))

    def test_bad_input_named(self):
        good = self.path("good", gen("spam", 1, self.rnd))
        broken = self.path("broken.mbox",
                           "From x@y Mon Jan  1 00:00:00 2024")
        missing = os.path.join(self.dir.name, "missing")
        rc, out, err = run("learn", "--spam", "--bayes-db", self.db, good,
                           broken, missing)
        self.assertEqual(rc, 1)
        self.assertIn(broken + ": message 1 is empty", err)
        self.assertIn(missing + ": No such file", err)
        self.assertIn("learned 1,", out)
        self.assertIn("skipped 2", out)
        # a store that is not one
        bad = os.path.join(self.dir.name, "bad")
        os.makedirs(bad)
        with open(os.path.join(bad, "data.mdb"), "wb") as f:
            f.write(os.urandom(4096))
        for args in (("learn", "--spam", "--bayes-db", bad, good),
                     ("bayes", "stats", "--bayes-db", bad),
                     ("scan", "-r", "/dev/null", "--bayes-db", bad, good)):
            rc, out, err = run(*args)
            self.assertEqual(rc, 1, args)
            self.assertIn(os.path.join(bad, "data.mdb"), err)
        # nothing learned yet: says so
        rc, out, err = run("bayes", "stats", "--bayes-db",
                           os.path.join(self.dir.name, "none"))
        self.assertEqual(rc, 1)
        self.assertIn("moatctl learn creates it", err)

    def test_dump_restore_and_scan(self):
        spam = [self.path("s/%d" % i, gen("spam", i, self.rnd))
                for i in range(30)]
        ham = [self.path("h/%d" % i, gen("ham", i, self.rnd))
               for i in range(30)]
        self.assertEqual(run("learn", "--spam", "-q", "--bayes-db", self.db,
                             *spam)[0], 0)
        self.assertEqual(run("learn", "--ham", "-q", "--bayes-db", self.db,
                             *ham)[0], 0)
        rc, dump, err = run("bayes", "dump", "--bayes-db", self.db)
        self.assertEqual(rc, 0, err)
        self.assertIn("totals nspam=30 nham=30 ", dump)
        db2 = os.path.join(self.dir.name, "db2")
        rc, out, err = run("bayes", "restore", "--bayes-db", db2,
                           stdin=dump)
        self.assertEqual(rc, 0, err)
        a, b = stats(self.db), stats(db2)
        for k in ("nspam", "nham", "tokens"):
            self.assertEqual(a[k], b[k], k)
        # restoring over a store that has data is refused
        rc, out, err = run("bayes", "restore", "--bayes-db", db2,
                           stdin=dump)
        self.assertEqual(rc, 1)
        self.assertIn("not empty", err)
        # a truncated dump writes nothing
        db3 = os.path.join(self.dir.name, "db3")
        rc, out, err = run("bayes", "restore", "--bayes-db", db3,
                           stdin=dump[:len(dump) // 2])
        self.assertEqual(rc, 1)
        self.assertEqual(stats(db3)["tokens"], "0")
        # scan: below the minimum counts (200), Bayes says nothing
        new_spam = self.path("new-spam", gen("spam", 99, self.rnd))
        new_ham = self.path("new-ham", gen("ham", 99, self.rnd))
        rc, out, err = run("scan", "-r", "/dev/null", "--bayes-db", db2,
                           new_spam)
        self.assertEqual(rc, 0, err)
        self.assertIn(" bayes=- ", out)
        # with a config that lowers them (and names the store), it speaks
        conf = self.path("moat.conf", CONF_HEAD % self.dir.name +
                         "bayes on\nbayes_min_spam 20\n"
                         "bayes_min_ham 20\nbayes_path %s\n" % db2)
        rc, out, err = run("bayes", "tokens", "-c", conf, new_spam)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"spam=\d+ ham=0 p=0\.9\d+ viagra\n")
        rc, out, err = run("scan", "-r", "/dev/null", "-c", conf, new_spam,
                           new_ham)
        self.assertEqual(rc, 0, err)
        ps = float(re.search(r"new-spam .*bayes=([0-9.]+)", out).group(1))
        ph = float(re.search(r"new-ham .*bayes=([0-9.]+)", out).group(1))
        self.assertGreater(ps, 0.99)
        self.assertLess(ph, 0.01)


BAYES_CF = """body BAYES_99 eval:check_bayes('0.99', '1.00')
score BAYES_99 6.0
describe BAYES_99 Bayes spam probability is 99 to 100%
"""


class Daemon(mt.MoatTestCase):
    SHARED_MOATD = False

    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.db = os.path.join(self.dir.name, "bayes")
        self.rules = os.path.join(self.dir.name, "bayes.cf")
        with open(self.rules, "w") as f:
            f.write(BAYES_CF)
        rnd = random.Random(140)
        for kind in ("spam", "ham"):
            files = []
            for i in range(25):
                p = os.path.join(self.dir.name, kind, str(i))
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write(gen(kind, i, rnd))
                files.append(p)
            rc, out, err = run("learn", "--" + kind, "-q", "--bayes-db",
                               self.db, *files)
            self.assertEqual(rc, 0, err)
        self.rnd = rnd

    def test_learned_spam_is_tagged(self):
        m = self.start_moatd(
            {"score_tag": "5", "score_reject": "off", "bayes": "on",
             "bayes_path": self.db, "bayes_min_spam": "20",
             "bayes_min_ham": "20"},
            ["rules " + self.rules])
        c = self.client(m)
        c.greet()
        spam = gen("spam", 77, self.rnd, self.tok).replace("\n", "\r\n")
        rs = self.send_mail(c, ["alice@example.test"], spam.encode())
        self.assertReply(rs[-1], 250)
        ham = gen("ham", 78, self.rnd, mt.token()).replace("\n", "\r\n")
        rs = self.send_mail(c, ["alice@example.test"], ham.encode())
        self.assertReply(rs[-1], 250)
        c.cmd("QUIT")
        txs = mt.poll(lambda: len(m.txs()) >= 2 and m.txs())
        self.assertTrue(txs, m.log())
        self.assertGreater(float(txs[0]["bayes"]), 0.99, txs[0])
        self.assertLess(float(txs[1]["bayes"]), 0.01, txs[1])
        self.assertIn("bayes: store %s open" % self.db, m.log())
        got = self.postfix.wait_messages("alice", self.tok)
        self.assertEqual(len(got), 1)
        head = got[0].split(b"\n\n", 1)[0].decode()
        # The spam is tagged by the check_bayes rule BAYES_99; the ham
        # is not.
        self.assertIn("X-Spam-Flag: YES", head)
        self.assertIn("BAYES_99", txs[0].get("rules", ""))
        self.assertEqual(txs[1].get("verdict"), "accept")

    def test_autolearn(self):
        """A message past bayes_autolearn_spam is learned as spam, one
        under bayes_autolearn_ham as ham, each with one log line; the
        store is written by moatd's learner thread while its workers
        read it."""
        rules = os.path.join(self.dir.name, "al.rules")
        with open(rules, "w") as f:
            f.write('body T_CASINO /\\bcasino\\b/ score 20 "test"\n')
        m = self.start_moatd(
            {"score_tag": "5", "score_reject": "off", "bayes": "on",
             "bayes_path": self.db, "bayes_min_spam": "20",
             "bayes_min_ham": "20", "bayes_autolearn": "on",
             "bayes_autolearn_spam": "12", "bayes_autolearn_ham": "0.1"},
            ["rules " + rules])
        before = stats(self.db)
        c = self.client(m)
        c.greet()
        spam = "Subject: %s\r\n\r\nbig casino bonus\r\n" % self.tok
        ham = "Subject: %s\r\n\r\nthe meeting notes\r\n" % mt.token()
        for msg in (spam, ham):
            rs = self.send_mail(c, ["alice@example.test"], msg.encode())
            self.assertReply(rs[-1], 250)
        c.cmd("QUIT")
        lines = mt.poll(lambda: len(m.events("bayes_autolearn")) >= 2 and
                        m.events("bayes_autolearn"))
        self.assertTrue(lines, m.log())
        self.assertEqual([(l["class"], l["result"]) for l in lines],
                         [("spam", "learned"), ("ham", "learned")])
        self.assertEqual(float(lines[0]["score"]), 20.0)
        after = stats(self.db)
        self.assertEqual(int(after["nspam"]), int(before["nspam"]) + 1)
        self.assertEqual(int(after["nham"]), int(before["nham"]) + 1)
        # the same spam again: already known, counted once
        c = self.client(m)
        c.greet()
        rs = self.send_mail(c, ["alice@example.test"], spam.encode())
        self.assertReply(rs[-1], 250)
        c.cmd("QUIT")
        lines = mt.poll(lambda: len(m.events("bayes_autolearn")) >= 3 and
                        m.events("bayes_autolearn"))
        self.assertEqual(lines[2]["result"], "already")
        self.assertEqual(stats(self.db)["nspam"], after["nspam"])

    def test_missing_store_logged_once_mail_flows(self):
        missing = os.path.join(self.dir.name, "nowhere")
        m = self.start_moatd({"bayes": "on", "bayes_path": missing},
                             ["rules " + self.rules])
        c = self.client(m)
        c.greet()
        for i in range(2):
            rs = self.send_mail(c, ["alice@example.test"], mt.make_message(
                "%s-%d" % (self.tok, i)))
            self.assertReply(rs[-1], 250)
        c.cmd("QUIT")
        for i in range(2):
            self.assertEqual(len(self.postfix.wait_messages(
                "alice", "%s-%d" % (self.tok, i))), 1)
        txs = mt.poll(lambda: len(m.txs()) >= 2 and m.txs())
        self.assertTrue(txs, m.log())
        self.assertEqual([t.get("bayes") for t in txs], ["-", "-"])
        errs = [l for l in m.log_lines() if "bayes:" in l and missing in l]
        self.assertEqual(len(errs), 1, m.log())
        self.assertIn(os.path.join(missing, "data.mdb"), errs[0])
        self.assertTrue(m.alive())


if __name__ == "__main__":
    mt.main()
