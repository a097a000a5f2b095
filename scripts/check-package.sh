#!/usr/bin/env bash
# check-package.sh: build the Debian packages from a copy of this checkout's files
# (`dpkg-buildpackage -us -uc -b`, unit tests skipped: make check runs them) and check
# them: lintian reports no error or warning, and each package holds what it must.
#
# usage: scripts/check-package.sh [OUT-DIR]    (the .debs are left in OUT-DIR if given)
set -euo pipefail
cd "$(dirname "$0")/.."
prog=check-package
keep=${1:-}
for t in dpkg-buildpackage dh lintian help2man; do
	command -v "$t" >/dev/null || { echo "$prog: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$prog.XXXXXX"); [ -n "${KEEP_TMP:-}" ] || trap 'rm -rf "$tmp"' EXIT
src=$tmp/xenkvm
mkdir "$src"
git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$src"
echo "$prog: dpkg-buildpackage (log: $tmp/build.log while it runs)"
if ! (cd "$src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b -j2) >"$tmp/build.log" 2>&1; then
	tail -40 "$tmp/build.log"; echo "$prog: FAILED: dpkg-buildpackage"; exit 1
fi
rc=0
lintian --fail-on error,warning "$tmp"/*.changes >"$tmp/lintian.log" 2>&1 || rc=1
grep -v '^running with root privileges' "$tmp/lintian.log" || true
[ $rc = 0 ] && echo "$prog: ok: lintian clean" || echo "$prog: FAILED: lintian"
want() {	# want DEB PATH...
	local deb=$1 list; shift
	# shellcheck disable=SC2086  # $deb is a glob on purpose
	list=$(dpkg-deb -c "$tmp"/$deb | awk '{ print $6 }')
	for p in "$@"; do
		grep -qx "./$p" <<<"$list" || { echo "$prog: FAILED: $deb lacks /$p"; rc=1; }
	done
}
want xenkvm_*_amd64.deb usr/sbin/xenkvmd usr/sbin/xenkvm usr/lib/xenkvm/xenkvm-domains \
	lib/systemd/system/xenkvm-domains.service etc/default/xenkvm usr/share/man/man1/xenkvm.1.gz \
	usr/share/man/man5/xenkvm.cfg.5.gz usr/share/man/man8/xenkvmd.8.gz \
	usr/share/bash-completion/completions/xenkvm
want xenkvm-dkms_*_all.deb usr/src/xenkvm-kvm-1.0/dkms.conf usr/src/xenkvm-kvm-1.0/Kbuild \
	usr/src/xenkvm-kvm-1.0/scripts/kvm-kernel/prepare.sh usr/share/dkms/modules_to_force_install/xenkvm-kvm
want xenkvm-xl_*_all.deb usr/sbin/xl
dpkg-deb -I "$tmp"/xenkvm_*_amd64.deb postinst | grep -q "adduser --system" ||
	{ echo "$prog: FAILED: xenkvm's postinst does not create its system user"; rc=1; }
dpkg-deb -I "$tmp"/xenkvm_*_amd64.deb postinst | grep -q "xenkvm-domains.service" ||
	{ echo "$prog: FAILED: xenkvm's postinst does not enable xenkvm-domains.service"; rc=1; }
[ -n "$keep" ] && mkdir -p "$keep" && cp "$tmp"/*.deb "$keep"/
[ $rc = 0 ] && echo "$prog: ok: packages hold their files" && echo "package: 1 passed, 0 failed"
[ $rc = 0 ] || echo "package: 0 passed, 1 failed"
exit $rc
