#!/bin/sh
# bayes-cv.sh: k-fold cross-validation of the Bayesian classifier alone.
#
#   bench/bayes-cv.sh [-k FOLDS] [-m MOATCTL] CORPUS
#
# CORPUS holds spam/ and ham/ (one message per file, as ../shared/corpus).
# Messages go to folds by the md5 in their names (or their name's order),
# so the split is fixed and not by date or source folder.  For each fold a
# fresh store learns the other folds' spam and ham (moatctl learn), then
# moatctl scan --bayes-db classifies the held-out fold.  Prints, over all
# folds: spam caught and ham flagged at p >= 0.99 and p >= 0.9 (where
# SpamAssassin's BAYES_99 and BAYES_80/95 begin), messages Bayes did not
# speak on, and the learn and classify speeds.  Not a test: it asserts
# nothing.  About half a minute for the 3,000 messages of ../shared/corpus.
set -eu

k=5
moatctl=./moatctl
while [ $# -gt 1 ]; do
	case "$1" in
	-k) k=$2; shift 2 ;;
	-m) moatctl=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [-k FOLDS] [-m MOATCTL] CORPUS" >&2; exit 2; }
corpus=$1
[ -d "$corpus/spam" ] && [ -d "$corpus/ham" ] || {
	echo "bayes-cv: $corpus has no spam/ and ham/" >&2; exit 2; }

tmp=$(mktemp -d /tmp/bayes-cv.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

# folds: sorted by the part after the last '.', the md5 in corpus names
for c in spam ham; do
	ls "$corpus/$c" | awk -F. '{ print $NF " " $0 }' | sort |
	    awk -v k="$k" -v d="$corpus/$c" \
	    '{ print (NR - 1) % k " " d "/" $2 }' > "$tmp/$c.folds"
done

: > "$tmp/results"
: > "$tmp/speed"
i=0
while [ $i -lt "$k" ]; do
	for c in spam ham; do
		awk -v f=$i '$1 != f { print $2 }' "$tmp/$c.folds" > "$tmp/train.$c"
		awk -v f=$i '$1 == f { print $2 }' "$tmp/$c.folds" > "$tmp/test.$c"
		# shellcheck disable=SC2046
		"$moatctl" learn --"$c" --bayes-db "$tmp/db$i" \
		    $(cat "$tmp/train.$c") |
		    sed -n 's/.* \([0-9]*\) per CPU-second.*/learn \1/p' \
		    >> "$tmp/speed"
	done
	for c in spam ham; do
		# shellcheck disable=SC2046
		"$moatctl" scan -r /dev/null --bayes-db "$tmp/db$i" \
		    $(cat "$tmp/test.$c") > "$tmp/scan.out"
		awk -v c=$c '/ bayes=/ { for (j = 1; j <= NF; j++)
		    if ($j ~ /^bayes=/) { sub("bayes=", "", $j); print c, $j } }' \
		    "$tmp/scan.out" >> "$tmp/results"
		sed -n 's/^cpu: .*: \([0-9.]*\) messages per CPU-second.*/scan \1/p' \
		    "$tmp/scan.out" >> "$tmp/speed"
	done
	rm -rf "$tmp/db$i"
	i=$((i + 1))
done

awk -v k="$k" '
{ n[$1]++
  if ($2 == "-") { none[$1]++; next }
  if ($2 >= 0.99) a[$1]++
  if ($2 >= 0.9) b[$1]++ }
END {
  printf "bayes-cv: %d folds, %d spam, %d ham\n", k, n["spam"], n["ham"]
  printf "p >= 0.99: spam caught %.2f%%, ham flagged %.2f%% (%d of %d)\n",
      100 * a["spam"] / n["spam"], 100 * a["ham"] / n["ham"], a["ham"], n["ham"]
  printf "p >= 0.90: spam caught %.2f%%, ham flagged %.2f%% (%d of %d)\n",
      100 * b["spam"] / n["spam"], 100 * b["ham"] / n["ham"], b["ham"], n["ham"]
  printf "not classified (too little training): %d spam, %d ham\n",
      none["spam"], none["ham"]
}' "$tmp/results"
awk '$1 == "learn" { l += $2; nl++ } $1 == "scan" { s += $2; ns++ }
END { printf "speed: learn %.0f, classify %.0f messages per CPU-second (mean of runs)\n",
      l / nl, s / ns }' "$tmp/speed"
