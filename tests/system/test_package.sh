#!/usr/bin/env bash
# test_package: the Debian packages installed on a Debian 12 root, as an administrator
# would use them.  Only in a throw-away root (the nested host, or XENKVM_PACKAGE_TEST=1):
# it installs and removes packages.
#   - dpkg -i of xenkvm and xenkvm-xl from $BUILD/deb (left there by make check-package);
#     xenkvm-dkms is tested by test_dkms_package.sh (its build needs this machine's CPU
#     speed and a nested host booted with Debian's stock 6.1 kernel)
#   - the test guest created with the installed /usr/sbin/xenkvm runs the installed
#     /usr/sbin/xenkvmd, and `xl list` (xenkvm-xl) shows it
#   - xenkvm-domains start and stop, run as xenkvm-domains.service runs them (its
#     ExecStart/ExecStop lines), with two guests in /etc/xenkvm/auto
#   - dpkg -r removes every file the packages installed (dpkg -P also the conffile)
# Ends with "test_package: N passed, N failed, N skipped".
set -uo pipefail
{
name=test_package
# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"
debs=$build/deb
boot_limit=${XENKVM_BOOT_TIMEOUT:-150}

if [ -z "${XENKVM_IN_L1:-}" ] && [ "${XENKVM_PACKAGE_TEST:-}" != 1 ]; then
	echo "$name: skipped: installs packages, so it runs only in the nested host (or with XENKVM_PACKAGE_TEST=1)"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "$name: skipped: needs root (dpkg -i)"; exit 77; }
ls "$debs"/xenkvm_*_amd64.deb "$debs"/xenkvm-xl_*_all.deb >/dev/null 2>&1 ||
	{ fail "no packages in $debs (make check-package builds them)"; finish; }
[ -n "${XENKVM_KERNEL:-}" ] && [ -n "${XENKVM_INITRD:-}" ] ||
	{ fail "XENKVM_KERNEL/XENKVM_INITRD unset (tests/system/run.sh sets them)"; finish; }
require_kvm

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
cleanup() {
	for p in /run/xenkvm/[0-9]*/pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done
	dpkg -P xenkvm-xl xenkvm >/dev/null 2>&1
	rm -rf "$tmp" /etc/xenkvm/auto/pkg-*.cfg
}
trap cleanup EXIT
unset XDG_RUNTIME_DIR XENKVM_DAEMON	# as root from a service: /run/xenkvm

echo "install"
out=$(dpkg -i "$debs"/xenkvm_*_amd64.deb "$debs"/xenkvm-xl_*_all.deb 2>&1); rc=$?
[ $rc = 0 ] && ok "dpkg -i xenkvm xenkvm-xl" || { fail "dpkg -i: rc=$rc"; show "$out"; finish; }
files=$(dpkg -L xenkvm xenkvm-xl | sort -u)
for f in /usr/sbin/xenkvmd /usr/sbin/xenkvm /usr/sbin/xl /usr/lib/xenkvm/xenkvm-domains \
	 /lib/systemd/system/xenkvm-domains.service /etc/default/xenkvm; do
	[ -e "$f" ] || fail "$f is not installed"
done
getent passwd xenkvm >/dev/null && ok "the postinst made the xenkvm system user" || fail "no xenkvm user"
! getent group kvm >/dev/null || id -nG xenkvm | grep -qw kvm && ok "xenkvm is in the kvm group" ||
	fail "xenkvm is not in the kvm group"

mkcfg() {	# mkcfg FILE NAME
	cat >"$1" <<-EOF
		name = "$2"
		memory = 256
		vcpus = 1
		kernel = "$XENKVM_KERNEL"
		ramdisk = "$XENKVM_INITRD"
		extra = "console=ttyS0 quiet xktest=idle"
	EOF
}
# ready NAME: waits until the guest's init is up (tests/system/guest/idle.sh), so that
# its PV drivers take control/shutdown; each console attach replays recent output
ready() {
	local i
	for ((i = 0; i < boot_limit; i += 2)); do
		sleep 1 | timeout 10 xenkvm console "$1" 2>&1 | grep -q XENKVM-IDLE-READY && return 0
		sleep 1
	done
	return 1
}

echo "a guest from the installed programs"
mkcfg "$tmp/one.cfg" pkg-one
out=$(timeout "$boot_limit" /usr/sbin/xenkvm create "$tmp/one.cfg" 2>&1); rc=$?
[ $rc = 0 ] && ok "/usr/sbin/xenkvm create" || { fail "create: rc=$rc"; show "$out"; }
pid=$(cat /run/xenkvm/*/pid 2>/dev/null | head -1)
exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
[ "$exe" = /usr/sbin/xenkvmd ] && ok "the domain runs /usr/sbin/xenkvmd" || fail "the domain runs '$exe'"
ready pkg-one && ok "the guest booted" || fail "pkg-one: no XENKVM-IDLE-READY within ${boot_limit}s"
out=$(xl list 2>&1)
grep -Eq "^pkg-one +[0-9]+ +256 +1 " <<<"$out" && ok "xl list (xenkvm-xl) shows it" || { fail "xl list"; show "$out"; }
out=$(timeout 120 xl shutdown -w pkg-one 2>&1); rc=$?
[ $rc = 0 ] && ! xl list pkg-one >/dev/null 2>&1 && ok "xl shutdown -w" || { fail "xl shutdown -w: rc=$rc"; show "$out"; }

echo "xenkvm-domains.service's actions with two guests in /etc/xenkvm/auto"
mkcfg /etc/xenkvm/auto/pkg-a.cfg pkg-a
mkcfg /etc/xenkvm/auto/pkg-b.cfg pkg-b
unit=/lib/systemd/system/xenkvm-domains.service
start=$(sed -n 's/^ExecStart=//p' "$unit") stop=$(sed -n 's/^ExecStop=//p' "$unit")
echo "XENDOMAINS_STOP_MAXWAIT=120" >>/etc/default/xenkvm
out=$(timeout $((boot_limit * 2)) $start 2>&1); rc=$?
l=$(xenkvm list 2>&1)
[ $rc = 0 ] && grep -q "^pkg-a " <<<"$l" && grep -q "^pkg-b " <<<"$l" \
	&& ok "ExecStart ($start) started both" || { fail "ExecStart: rc=$rc"; show "$out"$'\n'"$l"; }
ready pkg-a && ready pkg-b && ok "both booted" || fail "pkg-a or pkg-b did not boot"
t0=$(date +%s)
out=$(timeout 200 $stop 2>&1); rc=$?
t1=$(date +%s)
l=$(xenkvm list 2>&1)
[ $rc = 0 ] && ! grep -q "^pkg-" <<<"$l" && ! grep -q destroying <<<"$out" \
	&& ok "ExecStop ($stop) shut both down cleanly in $((t1 - t0)) s" || { fail "ExecStop: rc=$rc"; show "$out"$'\n'"$l"; }
rm -f /etc/xenkvm/auto/pkg-*.cfg

echo "remove"
out=$(dpkg -r xenkvm-xl xenkvm 2>&1); rc=$?
left=
while read -r f; do
	[ -d "$f" ] && continue	# directories (/lib is a link to one) stay if shared
	[ -f "$f" ] || [ -L "$f" ] || continue
	[ "$f" = /etc/default/xenkvm ] && continue	# a conffile: dpkg -r keeps it, -P removes it
	left="$left $f"
done <<<"$files"
[ $rc = 0 ] && [ -z "$left" ] && ok "dpkg -r removes every file" || { fail "dpkg -r: rc=$rc, left:$left"; show "$out"; }
out=$(dpkg -P xenkvm 2>&1); rc=$?
[ $rc = 0 ] && [ ! -e /etc/default/xenkvm ] && ok "dpkg -P removes the conffile" || { fail "dpkg -P: rc=$rc"; show "$out"; }
finish
}
