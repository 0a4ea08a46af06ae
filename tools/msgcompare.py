#!/usr/bin/env python3
"""msgcompare.py: compare tools/sa_msgdump.pl output (SpamAssassin) with
tools/msgdump output (moat) and print, per target, the share of messages
whose view is identical.  URIs are compared as sets (SA's list is a hash).
Usage: msgcompare.py sa.out moat.out [-v TARGET]"""
import sys
from collections import defaultdict, OrderedDict


def load(path):
    msgs = OrderedDict()
    cur = sec = None
    with open(path, 'rb') as f:
        for line in f:
            line = line.rstrip(b'\n')
            if line.startswith(b'#MSG '):
                cur = OrderedDict()
                msgs[line[5:].decode()] = cur
                continue
            if line.startswith(b'@'):
                sec = line[1:].decode()
                cur[sec] = []
                continue
            cur[sec].append(line)
    return msgs


def main():
    sa, me = load(sys.argv[1]), load(sys.argv[2])
    verbose = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == '-v' else None
    same, total, unsup = defaultdict(int), defaultdict(int), defaultdict(int)
    for m, secs in sa.items():
        if m not in me:
            continue
        for s, v in secs.items():
            w = me[m].get(s)
            if w == [b'UNSUPPORTED']:
                unsup[s] += 1
                continue
            total[s] += 1
            ok = (sorted(set(v)) == sorted(set(w or []))) if s == 'uri' else v == w
            if ok:
                same[s] += 1
            elif verbose == s:
                w = w or []
                print('==', m, len(v), len(w))
                if s == 'uri':
                    print('  SA only  :', sorted(set(v) - set(w))[:8])
                    print('  moat only:', sorted(set(w) - set(v))[:8])
                    continue
                i = 0
                while i < min(len(v), len(w)) and v[i] == w[i]:
                    i += 1
                a = v[i] if i < len(v) else b'<none>'
                b = w[i] if i < len(w) else b'<none>'
                j = 0
                while j < min(len(a), len(b)) and a[j] == b[j]:
                    j += 1
                k = max(0, j - 80)
                print('  line %d col %d' % (i, j))
                print('  SA  :', a[k:j + 160])
                print('  moat:', b[k:j + 160])
    for s in total:
        print('%-22s %4d/%4d identical (%6.2f%%)%s' % (s, same[s], total[s],
              100.0 * same[s] / total[s],
              '  (%d unsupported)' % unsup[s] if unsup[s] else ''))
    for s in unsup:
        if s not in total:
            print('%-22s unsupported' % s)


main()
