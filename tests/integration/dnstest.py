"""dnstest: a private authoritative DNS on loopback for the sender
authentication tests (issue 16), with the zone given as data.

dnsmasq (Debian dnsmasq-base, already in PKGS for test_dns.py) rather than
nsd or unbound: it needs no zone files, no keys and no control socket,
starts in milliseconds in the foreground on any port, and --local makes it
answer NXDOMAIN for names we do not list, which is what an authoritative
server does; nsd would need zone files and a config per test, unbound a
zone plus its own resolver logic we do not want between moat and the
records.  Its limits (no wildcard TXT, no DNSSEC) do not matter here.

    zone = [("pass.test", "TXT", "v=spf1 ip4:192.0.2.1 -all"),
            ("mx.pass.test", "A", "192.0.2.1"),
            ("pass.test", "MX", "mx.pass.test"),
            ("2.0.0.127.bl.test", "A", "127.0.0.2")]
    dns = DnsServer(zone, local=["test"]).start()   # on a free port
    ... dns.port ...
    dns.stop()                                      # by its pid

TXT values longer than 255 bytes are split into several character-strings
(RFC 7208 3.3, RFC 6376 3.6.2.2); a value may also be a list of strings.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_dns  # noqa: E402  (Dnsmasq, free_udp_port, dns_query)

DNSMASQ = test_dns.DNSMASQ
PROBE = "probe.dnstest.invalid"


def _txt_strings(value):
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value[i:i + 255] for i in range(0, len(value), 255)] or [""]


def dnsmasq_args(zone, local=()):
    """dnsmasq options serving exactly zone: (name, type, value) rows."""
    args = []
    for name, rtype, value in zone:
        rtype = rtype.upper()
        if rtype in ("A", "AAAA"):
            # --host-record adds the PTR too, harmless for these tests;
            # several rows for one name give several addresses.
            args.append("--host-record=%s,%s" % (name, value))
        elif rtype == "TXT":
            parts = _txt_strings(value)
            # On the command line dnsmasq keeps quotes as data; a comma
            # separates character-strings, so none may be inside one.
            for p in parts:
                if "," in p or '"' in p or "\\" in p:
                    raise ValueError("TXT with , \" or \\: %r" % p)
            args.append("--txt-record=%s,%s" % (name, ",".join(parts)))
        elif rtype == "MX":
            args.append("--mx-host=%s,%s,10" % (name, value))
        elif rtype == "PTR":
            args.append("--ptr-record=%s,%s" % (name, value))
        elif rtype == "CNAME":
            args.append("--cname=%s,%s" % (name, value))
        else:
            raise ValueError("record type %s not supported" % rtype)
    for d in local:
        args.append("--local=/%s/" % d)
    # Answers carry a TTL, as an authoritative server's do (dnsmasq
    # gives its own records TTL 0 unless told).
    args.append("--local-ttl=300")
    # The readiness probe of test_dns.Dnsmasq asks for o1.sg.example.
    args.append("--host-record=o1.sg.example,127.0.0.2")
    return args


class DnsServer(test_dns.Dnsmasq):
    """dnsmasq in the foreground on 127.0.0.1:port serving zone only;
    started and stopped by pid (test_dns.Dnsmasq), logging queries."""

    def __init__(self, zone, local=(), port=None):
        super().__init__(records=dnsmasq_args(zone, local), port=port)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def pause(self):
        """Stop answering (SIGSTOP): queries now time out."""
        import signal
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        import signal
        self.proc.send_signal(signal.SIGCONT)
