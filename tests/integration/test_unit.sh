#!/bin/sh
# The systemd unit's hardening (contrib/moatd.service, issue 17):
# `systemd-analyze security --offline=true` must rate it 3.0 or better
# (OK), and the unit must keep what moatd needs: the capabilities to bind
# port 25 and to switch user, and a writable spool.  Needs no root and no
# running systemd; SKIPs (77) without systemd-analyze or --offline.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
unit=$top/contrib/moatd.service
max=3.0

command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: no systemd-analyze"; exit 77; }
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
case $out in
*"Overall exposure level"*) ;;
*unrecognized*|*"Unknown option"*)
	echo "SKIP: systemd-analyze has no --offline ($out)"; exit 77 ;;
*)	echo "FAIL: systemd-analyze security said:"; echo "$out"; exit 1 ;;
esac
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "exposure $score (at most $max)"
if [ -z "$score" ] || ! awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
	printf '%s\n' "$out" | grep '✗'
	echo "FAIL: exposure ${score:-unknown} > $max"
	exit 1
fi
# What the hardening must not take away from moatd.
for want in 'CapabilityBoundingSet=.*CAP_NET_BIND_SERVICE' \
    'CapabilityBoundingSet=.*CAP_SETUID' 'CapabilityBoundingSet=.*CAP_SETGID' \
    '^ReadWritePaths=.*/spool/moat' '^ExecReload=.* -t -c ' \
    '^SystemCallFilter=@system-service' '^NoNewPrivileges=yes' \
    '^ProtectSystem=strict'; do
	grep -q -- "$want" "$unit" || { echo "FAIL: $unit lacks $want"; exit 1; }
done
# Not set on purpose: noroot would take root's capabilities away (no bind
# to port 25, no setuid), W^X would break PCRE2's JIT.
for bad in '^SecureBits=.*noroot' '^MemoryDenyWriteExecute=yes' '^User='; do
	if grep -q -- "$bad" "$unit"; then
		echo "FAIL: $unit sets $bad"; exit 1
	fi
done
echo "PASS"
