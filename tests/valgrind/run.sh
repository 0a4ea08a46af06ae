#!/bin/sh
# make check-valgrind (issue 15): run a few integration tests with moatd
# and moat-milter under valgrind, then fail if any valgrind log reports
# an error or a definitely lost block.
#
# usage: run.sh SRCDIR BUILDDIR TEST...
# The harness finds the daemons through $MOATD and $MOAT_MILTER
# (tests/integration/moattest.py, mltest.py): we point them at wrappers
# that exec the real binary under valgrind, one log per pid (the daemons
# fork a privsep child, and valgrind follows forks into their own log).
# MOAT_TIMEOUT_SCALE stretches the harness's waits: valgrind is slow.
set -u
srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)
shift 2
out=$builddir/tests/valgrind/out
logs=$out/logs

if ! command -v valgrind >/dev/null 2>&1; then
	echo "check-valgrind: valgrind is not installed" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$logs"
# The privsep children run as an unprivileged user: let them write.
chmod 1777 "$logs"

for bin in moatd moat-milter; do
	cat >"$out/$bin" <<EOW
#!/bin/sh
exec valgrind --leak-check=full --errors-for-leak-kinds=definite \\
    --error-exitcode=99 --trace-children=yes --num-callers=30 \\
    --suppressions=$srcdir/tests/valgrind/moat.supp \\
    --log-file=$logs/$bin.%p.log $builddir/$bin "\$@"
EOW
	chmod 755 "$out/$bin"
done

MOATD=$out/moatd
MOAT_MILTER=$out/moat-milter
MOATCTL=$builddir/moatctl
MOAT_TIMEOUT_SCALE=${MOAT_TIMEOUT_SCALE:-8}
export MOATD MOAT_MILTER MOATCTL MOAT_TIMEOUT_SCALE

status=0
cd "$builddir" || exit 1
for t in "$@"; do
	echo "=== $t"
	"${PYTHON3:-python3}" "$srcdir/$t" >"$out/$(basename "$t").log" 2>&1
	rc=$?
	case $rc in
	0) echo "PASS: $t" ;;
	77) echo "SKIP: $t" ;;
	*) echo "FAIL: $t (exit $rc, see $out/$(basename "$t").log)"
	   tail -n 30 "$out/$(basename "$t").log"
	   status=1 ;;
	esac
done

# A definite leak counts as an error (--errors-for-leak-kinds): a
# non-zero ERROR SUMMARY catches both.
bad=0
for f in "$logs"/*.log; do
	[ -e "$f" ] || continue
	if grep -q -e "definitely lost in loss record" \
	    -e "ERROR SUMMARY: [1-9]" "$f"; then
		echo "--- valgrind report: $f"
		cat "$f"
		bad=$((bad + 1))
	fi
done
# A process killed (SIGKILL after the harness's stop deadline, or by a
# test on purpose) never reached valgrind's leak check: say which.
for f in "$logs"/*.log; do
	[ -e "$f" ] || continue
	grep -q "ERROR SUMMARY" "$f" ||
	    echo "note: no summary in $f (killed before exit: not checked)"
done
n=$(ls "$logs" | wc -l)
echo "check-valgrind: $n valgrind logs, $bad with errors or leaks"
[ "$bad" -eq 0 ] || status=1
exit $status
