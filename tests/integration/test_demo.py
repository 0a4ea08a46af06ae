#!/usr/bin/env python3
"""contrib/demo.py, what `contrib/quickstart.sh demo` shows a newcomer
(issue 17, trap 3): with the default rules and an untrusted client, a
clean message is delivered with X-Spam headers, GTUBE is refused 550 5.7.1
and a foreign recipient 554 5.7.1, and the output says where the log is."""

import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moattest as mt  # noqa: E402

DEMO = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "contrib", "demo.py")


class Demo(unittest.TestCase):
    def test_demo(self):
        r = subprocess.run([sys.executable, DEMO], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertRegex(out, r"clean message .*: 250 accepted  \[as exp")
        self.assertRegex(out, r"GTUBE.*: 550 5\.7\.1 .*\[as expected\]")
        self.assertRegex(out, r"foreign\.test.*: 554 5\.7\.1 .*\[as exp")
        self.assertRegex(out, r"== moatd's log \(/\S+moatd\.log")
        self.assertRegex(out, r"(?m)^X-Spam-Status: No, score=")
        self.assertIn("rules=\"MOAT_GTUBE=1000\"", out)
        self.assertNotIn("UNEXPECTED", out)


if __name__ == "__main__":
    mt.main()
