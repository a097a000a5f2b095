# lib.sh: what every system test shares.  A test sets `name`, sources this
# file, and gets: here, root, build, vmm; ok/fail counters and `finish`
# (prints "NAME: N passed, N failed" and exits); `require_kvm [-x]` (skip with
# exit 77 unless the local KVM runs guests, -x: with Xen support; run.sh has
# already checked when it sets XENKVM_KVM_CAPABLE=1); `need_assets [ARGS]`
# (the guest kernel and initramfs from tests/system/assets.sh ARGS, unless
# run.sh exported them).
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
vmm=$build/xenkvmd

passed=0 failed=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
fail() { echo "  FAIL $*"; failed=$((failed + 1)); }
finish() {
	echo "$name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

require_kvm() {
	local verdict
	[ "${XENKVM_KVM_CAPABLE:-}" = 1 ] && return 0
	if ! verdict=$("$build/kvm-probe" "$@" 2>&1); then
		echo "SKIP: $name: the local KVM cannot run this test (${verdict:-no $build/kvm-probe});" \
		     "tests/system/run.sh runs it in a nested host"
		exit 77
	fi
}

need_assets() {
	local assets
	[ -n "${XENKVM_KERNEL:-}" ] && [ -n "${XENKVM_INITRD:-}" ] && return 0
	assets=$("$here/assets.sh" "$@") || { fail "guest assets (tests/system/assets.sh)"; finish; }
	eval "$assets"
}
