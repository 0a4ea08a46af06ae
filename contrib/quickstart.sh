#!/bin/bash
# quickstart.sh: the README's two commands, on a fresh Debian 12 as root.
#
#   contrib/quickstart.sh demo   install what is missing, build, and run
#                                moatd with the default rules in front of
#                                a private Postfix on loopback; from an
#                                untrusted address send a clean mail
#                                (delivered, X-Spam headers), GTUBE (550)
#                                and a relay attempt (554); show the
#                                replies, moatd's log and the delivery.
#   contrib/quickstart.sh test   install what is missing, build, and run the
#                                whole suite: unit and integration tests,
#                                again under ASan+UBSan, then make distcheck,
#                                the engine's tests without Hyperscan, and
#                                the Debian package (built, installed,
#                                run before Postfix, purged).
#
# Builds go to _build/ (out of tree), so the source tree stays clean.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

PKGS="build-essential autoconf automake pkg-config libevent-dev libssl-dev
libpcre2-dev libcmocka-dev libhiredis-dev libcrypt-dev zlib1g-dev python3 postfix swaks
redis-server openssl dnsmasq-base dovecot-core libnet-ssleay-perl liblmdb-dev fail2ban
spamassassin"
# spamassassin: only its stock rule files, which the example config and the
# Debian package's config load (sa_rules on).
# Hyperscan, the optional prefilter (doc/rules.md), is packaged for amd64.
if [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ]; then
	PKGS="$PKGS libhyperscan-dev"
fi
# ss(8): test_mta_defects reads the listen backlog moatd really set.
PKGS="$PKGS iproute2"
# Sender authentication (issue 16): the libraries, the Public Suffix List,
# and for test_sender_auth real DKIM signers (python3-dkim, with
# python3-nacl for ed25519).
PKGS="$PKGS libspf2-dev libopendkim-dev libopendmarc-dev publicsuffix"
PKGS="$PKGS python3-dkim python3-nacl"
# moat-milter (issue 15): libmilter, and miltertest for its tests.
PKGS="$PKGS libmilter-dev miltertest"

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "quickstart: run as root (it installs packages and starts a" \
		    "private Postfix)" >&2
		exit 1
	fi
}

install_deps() {
	local missing=() p
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "quickstart: installing ${missing[*]}"
	# A fresh machine gets a loopback-only system Postfix, never an open
	# MX; the tests and the demo run private instances of their own.
	echo "postfix postfix/main_mailer_type select Local only" |
	    debconf-set-selections
	echo "postfix postfix/mailname string localhost" | debconf-set-selections
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR [configure options...]
build() {
	local dir=$1
	shift
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || "$top/configure" -q "$@"; } &&
	    make -j2 -s >/dev/null)
}

case "${1:-}" in
demo)
	need_root
	install_deps
	build _build/main --enable-werror
	MOATD=$top/_build/main/moatd exec python3 contrib/demo.py "${@:2}"
	;;
test)
	need_root
	install_deps
	build _build/main --enable-werror
	echo "== make check"
	(cd _build/main && make -j2 check) || {
		cat _build/main/test-suite.log; exit 1; }
	echo "== make check with AddressSanitizer and UndefinedBehaviorSanitizer"
	build _build/asan --enable-werror --enable-sanitizers
	(cd _build/asan && ASAN_OPTIONS=detect_leaks=1 make -j2 check) || {
		cat _build/asan/test-suite.log; exit 1; }
	echo "== make distcheck"
	(cd _build/main && make -j2 distcheck >distcheck.log 2>&1) || {
		tail -60 _build/main/distcheck.log; exit 1; }
	# Where libhyperscan-dev is missing (not amd64) moat builds without
	# it; keep that build and its fallbacks working too.
	echo "== the engine's tests without Hyperscan"
	build _build/nohs --enable-werror --without-hyperscan
	(cd _build/nohs && make -j2 check TESTS="test_rule_hs test_rule_eval \
	    tests/integration/test_moatctl_scan.py") || {
		cat _build/nohs/test-suite.log; exit 1; }
	# One plain closing line over both runs, for whoever reads the end.
	count() { awk -v k="# $1:" '$1" "$2 == k { n += $3 } END { print n+0 }' \
	    _build/main/test-suite.log _build/asan/test-suite.log; }
	echo "$(count PASS) passed, $(( $(count FAIL) + $(count ERROR) +
	    $(count XPASS) )) failed, $(count SKIP) skipped"
	# The package: dpkg-buildpackage, lintian, apt-get install, moatd
	# with the packaged config before a private Postfix, purge.  About
	# two minutes; it installs and purges the package moat, so it runs
	# here and not in make check (tests/integration/test_deb.py).
	echo "== the Debian package"
	PKGS="debhelper dpkg-dev lintian fakeroot" install_deps
	rc=0
	MOATD=$top/_build/main/moatd python3 tests/integration/test_deb.py ||
	    rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit 1
	echo "quickstart: all tests passed (unit, integration, sanitizers," \
	    "distcheck, without Hyperscan, Debian package)"
	;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac
