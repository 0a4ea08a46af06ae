#!/bin/bash
# report-bench.sh: how fast `moatctl report` reads a day of a busy site's
# log (issue 17; target >= 500,000 lines/s).
#
#   bench/report-bench.sh [MOATCTL] [LINES]     (defaults: ./moatctl, 1000000)
#
# Generates LINES lines in moatd's logfmt, in the proportions of a busy MX
# (per session: a session line, a transaction, and some refusals,
# greylisting, AUTH failures and rule hits; 20,000 client addresses,
# 5,000 senders, one day of timestamps), then times `moatctl report` over
# them as a plain file and gzip'd, and prints lines/s.  Needs awk, gzip.
set -eu
MOATCTL=${1:-./moatctl}
LINES=${2:-1000000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/moat-report-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

awk -v n="$LINES" 'BEGIN {
	srand(17);
	split("accept tag reject tempfail none", verdicts, " ");
	split("passed new pending off whitelisted", greys, " ");
	split("GTUBE=1000 HELO_NO_DOT=1.5 URI_SHORTENER=2 FREEMAIL_FROM=0.5 MISSING_DATE=1.2 HTML_ONLY=0.8", rules, " ");
	for (i = 0; i < n; ) {
		t = int(i * 86400 / n);
		ts = sprintf("ts=2026-12-06T%02d:%02d:%02d.%03dZ", t / 3600,
		    t % 3600 / 60, t % 60, i % 1000);
		sid = sprintf("%016x", i);
		c = sprintf("192.0.%d.%d", int(rand() * 80), int(rand() * 250));
		from = sprintf("user%d@sender%d.example", int(rand() * 50), int(rand() * 100));
		r = rand();
		if (r < 0.15) {
			print ts " event=reject session=" sid " client=" c " rcpt=\"bob@foreign" int(rand() * 300) ".test\" reply=\"554 5.7.1\"";
			i++;
		} else if (r < 0.2) {
			print ts " event=auth_failed session=" sid " client=" c " login=\"x client=6.6.6.6\" result=bad-password";
			i++;
		}
		v = verdicts[1 + int(rand() * 5)];
		g = greys[1 + int(rand() * 5)];
		rl = rules[1 + int(rand() * 6)] "," rules[1 + int(rand() * 6)];
		print ts " event=tx session=" sid " tx=1 client=" c " helo=mx.example tls=TLSv1.3 auth=\"\" from=" from " rcpt=alice@example.test nrcpt=1 rcpt_refused=0 size=" int(rand() * 100000) " score=3.5 rules=\"" rl "\" verdict=" v " greylist=" g " status=" (v == "reject" ? "refused" : "sent") " backend_reply=\"250 2.0.0 Ok: queued as 4Xyz\" ms=12";
		print ts " event=session session=" sid " client=" c " name=unknown dns=ok port=40000 listener=smtp helo=mx.example tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 auth=\"\" txs=1 cmds=6 errors=0 bytes_in=5000 bytes_out=400 reason=quit ms=80";
		i += 2;
	}
}' | head -n "$LINES" > "$dir/moat.log"
gzip -c "$dir/moat.log" > "$dir/moat.log.gz"
lines=$(wc -l < "$dir/moat.log")
bytes=$(wc -c < "$dir/moat.log")

run() {
	# best of 3 by the wall clock; the CPU time (user + sys, gzip child
	# included) of that run
	local best= cpu= t u sy
	for _ in 1 2 3; do
		TIMEFORMAT='%R %U %S'
		read -r t u sy < <( { time "$MOATCTL" report --json "$1" \
		    > "$dir/out.json"; } 2>&1 )
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then
			best=$t
			cpu=$(echo "$u + $sy" | bc -l)
		fi
	done
	printf '%-6s %8d lines %6.1f MB  wall %6.3f s %8.0f lines/s  cpu %6.3f s %8.0f lines/s\n' \
	    "$2" "$lines" "$(echo "$bytes / 1048576" | bc -l)" "$best" \
	    "$(echo "$lines / $best" | bc -l)" "$cpu" \
	    "$(echo "$lines / $cpu" | bc -l)"
}
echo "moatctl report over a generated log (best of 3):"
run "$dir/moat.log" plain
run "$dir/moat.log.gz" gzip
