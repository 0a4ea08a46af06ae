#!/bin/sh
# bench/rules-scan.sh: moatctl scan with Debian's stock SpamAssassin rules
# against SpamAssassin itself (local tests only, as spamassassin -L) on the
# same messages, one after the other in one run.  Prints messages/s for each
# (wall clock and per CPU-second), ms per 50 KiB and the ratio.
#
#   bench/rules-scan.sh [CORPUS] [N]
#
# CORPUS: a directory with ham/ and spam/ (default ../shared/corpus); N: how
# many messages (default 300, every k-th file so ham and spam both appear).
# MOATCTL: the moatctl binary (default ./moatctl, i.e. run it from the build
# directory).  ROUNDS (default 5): moat's pass takes about a second, so on a
# shared machine one noisy second would decide the ratio; it is run ROUNDS
# times, each before one ROUNDS-th of SpamAssassin's pass, and the median
# round counts.  Needs the spamassassin package.  It prints figures; it is
# not a test and asserts nothing.
#
# When moatctl has Hyperscan (doc/rules.md, "Hyperscan"), every round also
# runs `moatctl scan --hs-cache HS_CACHE` (default /var/tmp/moat-hs-cache),
# and both are reported.  The databases are built into HS_CACHE first if
# they are not there yet (about two minutes of one core for the stock set,
# once); scanning time never includes that.
#
# BAYES_DB=DIR: every moat run also classifies with the Bayes store in DIR
# (`moatctl scan --bayes-db DIR`, trained beforehand with `moatctl learn`),
# as moatd does with bayes on.  SpamAssassin runs without Bayes either way
# (local_tests_only and no database), which is its cheaper configuration.
set -eu
CORPUS=${1:-../shared/corpus}
N=${2:-300}
MOATCTL=${MOATCTL:-./moatctl}
ROUNDS=${ROUNDS:-5}
HS_CACHE=${HS_CACHE:-/var/tmp/moat-hs-cache}
BAYES_OPT=""
if [ -n "${BAYES_DB:-}" ]; then
	BAYES_OPT="--bayes-db $BAYES_DB"
fi
LIST=$(mktemp)
trap 'rm -f "$LIST"' EXIT
HS_OPT=""
mkdir -p "$HS_CACHE"
if "$MOATCTL" rules --sa-stock --hs-cache "$HS_CACHE" > /dev/null 2> "$LIST.hs"
then
	HS_OPT="--hs-cache $HS_CACHE"
	echo "== $(cat "$LIST.hs")"
else
	echo "== no Hyperscan: $(cat "$LIST.hs")"
fi
rm -f "$LIST.hs"
find "$CORPUS/ham" "$CORPUS/spam" -type f | sort > "$LIST.all"
total=$(wc -l < "$LIST.all")
step=$(( total / N )); [ "$step" -ge 1 ] || step=1
awk -v s="$step" -v n="$N" 'NR % s == 0 && c < n { print; c++ }' \
    "$LIST.all" > "$LIST"
rm -f "$LIST.all"
count=$(wc -l < "$LIST")
bytes=$(xargs cat < "$LIST" | wc -c)
echo "messages: $count, $bytes bytes (mean $((bytes / count)) bytes)"

# The two run interleaved: SpamAssassin checks the messages in ROUNDS
# chunks, and before each chunk moat scans all of them once, so both see
# the machine in the same state.
: > "$LIST.rounds"
: > "$LIST.hsrounds"
echo "== SpamAssassin $(spamassassin -V | head -1 | awk '{print $3}'): local tests only, 1 process, in $ROUNDS chunks"
MOATCTL="$MOATCTL" ROUNDS="$ROUNDS" OUT="$LIST.rounds" HS_OPT="$HS_OPT" \
HSOUT="$LIST.hsrounds" BAYES_OPT="$BAYES_OPT" \
perl -MTime::HiRes=time -MMail::SpamAssassin -e '
  my $sa = Mail::SpamAssassin->new({ local_tests_only => 1,
      dont_copy_prefs => 1, userprefs_filename => "/dev/null" });
  $sa->init(1);
  my ($n, $bytes, $wall, $cpu) = (0, 0, 0, 0);
  my @files = map { chomp; $_ } <STDIN>;
  my $k = $ENV{ROUNDS};
  for my $r (0 .. $k - 1) {
    # one moat round over every message (its own CPU, not ours)
    my $args = join(" ", map { "\x27$_\x27" } @files);
    system("\"$ENV{MOATCTL}\" scan -q --sa-stock $ENV{BAYES_OPT} $args" .
      " | grep -E \x27^(speed|cpu): \x27 | paste -s -d \"|\" >> \"$ENV{OUT}\"") == 0
      or die "moatctl failed\n";
    if ($ENV{HS_OPT} ne "") {
      system("\"$ENV{MOATCTL}\" scan -q --sa-stock $ENV{BAYES_OPT} $ENV{HS_OPT} $args" .
        " 2>/dev/null | grep -E \x27^(speed|cpu): \x27 | paste -s -d \"|\" >> \"$ENV{HSOUT}\"") == 0
        or die "moatctl --hs-cache failed\n";
    }
    my @chunk = @files[int($r * @files / $k) .. int(($r + 1) * @files / $k) - 1];
    my ($t0, $c0) = (time, (times)[0]);
    for my $f (@chunk) {
      open(my $fh, "<", $f) or next; local $/; my $raw = <$fh>; close $fh;
      my $msg = $sa->parse($raw); my $st = $sa->check($msg);
      $st->finish; $msg->finish; $n++; $bytes += length $raw;
    }
    ($wall, $cpu) = ($wall + time - $t0, $cpu + (times)[0] - $c0);
  }
  printf "speed: %.3f s for %d messages: %.1f messages/s, %.3f ms per 50 KiB\n",
    $wall, $n, $n / $wall, $wall * 1000 * 51200 / $bytes;
  printf "cpu: %.3f s: %.1f messages per CPU-second, %.3f CPU-ms per 50 KiB\n",
    $cpu, $n / $cpu, $cpu * 1000 * 51200 / $bytes;
' < "$LIST" | tee "$LIST.sa"
sa_rate=$(awk '/^cpu:/ { print $4 }' "$LIST.sa")

# report NAME ROUNDSFILE: the median round, the rounds, the ratio
report() {
	echo "== moat: $MOATCTL scan --sa-stock${BAYES_OPT:+ $BAYES_OPT}$1 (1 thread), median of $ROUNDS rounds"
	# order the rounds by messages per CPU-second; print the middle one
	awk -F'|' '{ split($2, c, " "); print c[4] "\t" $0 }' "$2" |
	  sort -n | awk -v m=$(((ROUNDS + 1) / 2)) 'NR == m' | cut -f2- |
	  tr '|' '\n' | tee "$LIST.moat"
	echo "rounds (messages per CPU-second): $(awk -F'|' '{ split($2, c, " ");
	  printf "%s ", c[4] }' "$2")"
	moat_rate=$(awk '/^cpu:/ { print $4 }' "$LIST.moat")
	awk -v m="$moat_rate" -v s="$sa_rate" 'BEGIN {
	  printf "ratio (messages per CPU-second, moat / SpamAssassin): %.1f\n", m / s }'
	rm -f "$LIST.moat"
}
report "" "$LIST.rounds"
pcre_rate=$moat_rate
if [ -n "$HS_OPT" ]; then
	report " $HS_OPT" "$LIST.hsrounds"
	awk -v h="$moat_rate" -v p="$pcre_rate" 'BEGIN {
	  printf "ratio (messages per CPU-second, with / without Hyperscan): %.2f\n", h / p }'
fi
rm -f "$LIST.rounds" "$LIST.hsrounds" "$LIST.sa"
