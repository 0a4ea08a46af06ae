#!/usr/bin/env python3
"""demo.py: moatd in front of a private Postfix, filtering.

Run by `contrib/quickstart.sh demo` (as root).  Starts a private Postfix on
loopback (the test harness's, tests/integration/moattest.py) and moatd in
front of it with the default rules (rules/default.rules), trusting only
127.0.0.1.  From 127.0.0.2, an untrusted client as the Internet is, it
sends with smtplib:

  1. a clean message: delivered, with moatd's X-Spam headers;
  2. GTUBE, the standard test spam: refused at the end of DATA, 550 5.7.1;
  3. a message to a domain moatd does not serve: refused at RCPT,
     554 5.7.1 (moatd is no open relay).

It shows each reply, moatd's log lines and where the log is, and the
delivered message.  Exit status 0 only if all three went as above (the
integration test test_demo.py runs it).  Then it stops both by pid, or
with --keep waits (Ctrl-C) so you can try swaks against moatd yourself.
"""

import os
import smtplib
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import moattest  # noqa: E402

RULES = os.path.abspath(os.path.join(HERE, "..", "rules", "default.rules"))
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
CLIENT = "127.0.0.2"


def message(subject, body, to="alice@example.test"):
    return ("From: Bob <bob@sender.test>\r\n"
            "To: <%s>\r\n"
            "Subject: %s\r\n"
            "Date: %s\r\n"
            "Message-ID: <demo-%s-%d@sender.test>\r\n"
            "\r\n%s\r\n") % (to, subject, time.strftime(
                "%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                subject.split()[0], int(time.time() * 1000), body)


def send(port, rcpt, msg):
    """One transaction from CLIENT: (code, text) of the reply that ended
    it (250 when accepted)."""
    with smtplib.SMTP("127.0.0.1", port, source_address=(CLIENT, 0),
                      local_hostname="mail.sender.test", timeout=30) as c:
        try:
            c.sendmail("bob@sender.test", [rcpt], msg)
            return 250, "accepted"
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients[rcpt]
            return code, text.decode(errors="replace")
        except smtplib.SMTPResponseException as e:
            return e.smtp_code, e.smtp_error.decode(errors="replace")


def main():
    keep = "--keep" in sys.argv[1:]
    pf = moattest.Postfix()
    moat = None
    ok = True
    try:
        pf.start()
        moat = moattest.Moatd(pf.port, conf={"log": "stderr",
                                             "rules": RULES})
        moat.start()
        print("== Postfix (private instance) on 127.0.0.1:%d" % pf.port)
        print("== moatd on 127.0.0.1:%d, config %s" % (moat.port,
                                                       moat.conf_path))
        with open(moat.conf_path) as f:
            print("".join("   " + l for l in f))

        cases = [
            ("1. a clean message to alice@example.test",
             "alice@example.test", message("clean hello through moat",
                                           "A first message through moatd."),
             (250, None)),
            ("2. GTUBE, the standard test spam",
             "alice@example.test", message("gtube test", GTUBE),
             (550, "5.7.1")),
            ("3. a message to bob@foreign.test (not our domain)",
             "bob@foreign.test", message("relay attempt", "Relay me.",
                                         "bob@foreign.test"),
             (554, "5.7.1")),
        ]
        for title, rcpt, msg, (want, enh) in cases:
            code, text = send(moat.port, rcpt, msg)
            good = code == want and (enh is None or text.startswith(enh))
            ok = ok and good
            print("== %s from %s: %d %s  [%s]" % (
                title, CLIENT, code, text,
                "as expected" if good else "UNEXPECTED, wanted %d %s" % (
                    want, enh or "")))
        got = pf.wait_messages("alice", "clean hello through moat", 1,
                               timeout=20)
        moat.wait_log(r"event=tx .*bob@foreign.test|"
                      r"event=reject .*foreign.test", timeout=10)
        time.sleep(0.5)
        print("\n== moatd's log (%s; under systemd: journalctl -u moatd, "
              "or the mail log with `log syslog`)" % moat.stderr_path)
        sys.stdout.write(moat.log())
        print("\n== delivered to alice's maildir (%s)" % pf.maildir("alice"))
        if got:
            text = got[0].decode(errors="replace")
            sys.stdout.write(text)
            if "X-Spam-Score:" not in text:
                ok = False
                print("== UNEXPECTED: no X-Spam headers")
        else:
            ok = False
            print("== UNEXPECTED: the clean message was not delivered")
        if any(pf.all_messages("gtube test").values()):
            ok = False
            print("== UNEXPECTED: GTUBE was delivered")
        print("\n== %s" % ("moatd filtered as expected" if ok else
                           "SOMETHING WENT WRONG (see above)"))
        if keep:
            print("\n== moatd keeps running on 127.0.0.1:%d; its log is %s;"
                  " try:\n"
                  "   swaks --server 127.0.0.1:%d --to alice@example.test "
                  "--body \"%s\"\n"
                  "   Ctrl-C stops it" % (moat.port, moat.stderr_path,
                                          moat.port, GTUBE))
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0 if ok else 1
    finally:
        if moat:
            moat.stop()
            moat.cleanup()
        pf.stop()
        pf.cleanup()


if __name__ == "__main__":
    sys.exit(main())
