#!/bin/sh
# sender-auth.sh: CPU per message of SPF + DKIM + DMARC (engine/sauth_check.c)
# with a warm cache, against a private dnsmasq on loopback that answers
# from its own records (tests/integration/dnstest.py), side by side with
# the checks off, in one run.  Prints figures; it is not a test.
#   usage: bench/sender-auth.sh BUILDDIR [N]
# N messages (default 2000), each DKIM-signed (RSA 2048, relaxed) by
# python3-dkim, From a domain with SPF and DMARC p=reject, checked by one
# `moatctl authcheck` process: its CPU (user+sys, getrusage of the child)
# with --dns, minus the same run without --dns (reading and printing),
# divided by N.  The SPF answers are warm in libspf2's cache after the
# first message; the DKIM key and DMARC record are asked of dnsmasq every
# time (its answers come from memory), so the figure includes the
# resolver round trips' CPU on our side.  dnsmasq is stopped by its pid.
set -eu
builddir=${1:?usage: sender-auth.sh BUILDDIR [N]}
n=${2:-2000}
top=$(cd "$(dirname "$0")/.." && pwd)
moatctl=$(cd "$builddir" && pwd)/moatctl
[ -x "$moatctl" ] || { echo "no $moatctl (make moatctl)"; exit 1; }
# Debian's python3 has python3-dkim; a pyenv python3 first in PATH may not.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" - "$top" "$moatctl" "$n" <<'PY'
import base64, os, resource, subprocess, sys, tempfile, time
top, moatctl, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(top, "tests", "integration"))
import dkim
import dnstest

pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True,
                     check=True).stdout
der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                     input=pem, capture_output=True, check=True).stdout
zone = [("bench.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
        ("_dmarc.bench.test", "TXT", "v=DMARC1; p=reject"),
        ("s1._domainkey.bench.test", "TXT",
         "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())]
msg = (b"From: Alice <alice@bench.test>\r\nTo: bob@example.test\r\n"
       b"Subject: bench\r\nMessage-ID: <b@bench.test>\r\n"
       b"Date: Sun, 06 Dec 2026 17:00:00 +0000\r\n\r\n" +
       b"A line of a message body of ordinary length, about 70 bytes.\r\n"
       * 60)
msg = dkim.sign(msg, b"s1", b"bench.test", pem,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date"]) + msg
tmp = tempfile.TemporaryDirectory()
psl = os.path.join(tmp.name, "psl.dat")
with open(psl, "w") as f:
    f.write("test\n")
files = []
for i in range(n):
    p = os.path.join(tmp.name, "m%05d.eml" % i)
    with open(p, "wb") as f:
        f.write(msg)
    files.append(p)
dns = dnstest.DnsServer(zone, local=["test"]).start()


def run(with_dns):
    cmd = [moatctl, "authcheck", "--psl", psl, "--client-ip", "192.0.2.1",
           "--helo", "mx.bench.test", "--mail-from", "bounce@bench.test"]
    if with_dns:
        cmd += ["--dns", dns.address]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd + files, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("moatctl failed: " + p.stderr)
    if with_dns:
        ok = p.stdout.count(": spf=pass spf_helo=none "
                            "dkim=pass(d=bench.test) dmarc=pass ") == n
        if not ok:
            sys.exit("unexpected results:\n" + p.stdout[:2000])
    cpu = (after.ru_utime - before.ru_utime) + \
        (after.ru_stime - before.ru_stime)
    return cpu, wall


try:
    run(True)                       # warm the page cache and dnsmasq
    off_cpu, off_wall = run(False)
    on_cpu, on_wall = run(True)
finally:
    dns.cleanup()
    tmp.cleanup()
print("sender-auth: %d messages (%d bytes, RSA-2048 DKIM, SPF, DMARC), "
      "one moatctl process" % (n, len(msg)))
print("  checks off: %.3f ms CPU/msg  (%.3f ms wall/msg)" % (
    off_cpu * 1000 / n, off_wall * 1000 / n))
print("  checks on:  %.3f ms CPU/msg  (%.3f ms wall/msg)" % (
    on_cpu * 1000 / n, on_wall * 1000 / n))
print("  added:      %.3f ms CPU/msg  (target <= 0.3)" % (
    (on_cpu - off_cpu) * 1000 / n))
PY
