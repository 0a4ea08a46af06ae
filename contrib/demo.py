#!/usr/bin/env python3
"""demo.py: moatd in front of a private Postfix, one mail through it.

Run by `contrib/quickstart.sh demo` (as root).  Starts a private Postfix on
loopback (the test harness's, tests/integration/moattest.py), moatd in front
of it, sends one mail from 127.0.0.2 with smtplib, and shows moatd's log
lines and the message as Postfix delivered it.  Then it stops both by pid,
or with --keep waits (Ctrl-C) so you can try swaks against moatd yourself.
"""

import os
import smtplib
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import moattest  # noqa: E402


def main():
    keep = "--keep" in sys.argv[1:]
    pf = moattest.Postfix()
    moat = None
    try:
        pf.start()
        moat = moattest.Moatd(pf.port, conf={"log": "stderr"})
        moat.start()
        print("== Postfix (private instance) on 127.0.0.1:%d" % pf.port)
        print("== moatd on 127.0.0.1:%d, config %s" % (moat.port,
                                                       moat.conf_path))
        with open(moat.conf_path) as f:
            print("".join("   " + l for l in f))
        msg = ("From: Bob <bob@sender.test>\r\n"
               "To: Alice <alice@example.test>\r\n"
               "Subject: hello through moat\r\n"
               "Message-ID: <demo-%d@sender.test>\r\n"
               "\r\n"
               "A first message through moatd.\r\n") % int(time.time())
        print("== sending a mail from 127.0.0.2 with smtplib")
        with smtplib.SMTP("127.0.0.1", moat.port,
                          source_address=("127.0.0.2", 0),
                          timeout=30) as c:
            c.set_debuglevel(1)
            c.sendmail("bob@sender.test", ["alice@example.test"], msg)
        got = pf.wait_messages("alice", "hello through moat", 1,
                               timeout=20)
        moat.wait_log("event=session", timeout=10)
        print("\n== moatd's log")
        sys.stdout.write(moat.log())
        print("\n== delivered to alice's maildir (%s)" % pf.maildir("alice"))
        sys.stdout.write(got[0] if isinstance(got[0], str)
                         else got[0].decode(errors="replace"))
        if keep:
            print("\n== moatd keeps running on 127.0.0.1:%d; try:\n"
                  "   swaks --server 127.0.0.1:%d --to bob@example.test\n"
                  "   Ctrl-C stops it" % (moat.port, moat.port))
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        if moat:
            moat.stop()
            moat.cleanup()
        pf.stop()
        pf.cleanup()


if __name__ == "__main__":
    sys.exit(main())
