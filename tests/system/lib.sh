# lib.sh: what every system test shares.  A test sets `name`, sources this
# file, and gets: here, root, build, vmm; ok/fail/skip counters, `show TEXT`
# and `finish` (prints "NAME: N passed, N failed[, N skipped]" and exits 0, 1,
# or 77 when every check was skipped); `require_kvm [-x]` (skip with
# exit 77 unless the local KVM runs guests, -x: with Xen support; run.sh has
# already checked when it sets XENKVM_KVM_CAPABLE=1); `need_assets [ARGS]`
# (the guest kernel and initramfs from tests/system/assets.sh ARGS, unless
# run.sh exported them).
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
vmm=$build/xenkvmd

passed=0 failed=0 skipped=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
fail() { echo "  FAIL $*"; failed=$((failed + 1)); }
# skip WHY: a check that could not run here, counted apart (never as passed)
skip() { echo "  SKIP $*"; skipped=$((skipped + 1)); }
# show TEXT: the last lines of TEXT, indented, as a failure's context
show() { printf '%s\n' "$1" | tail -n 15 | sed 's/^/    | /'; }
finish() {
	if [ "$skipped" -gt 0 ]; then
		echo "$name: $passed passed, $failed failed, $skipped skipped"
	else
		echo "$name: $passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ] || exit 1
	# nothing ran at all: a skip, not a pass
	[ "$passed" -gt 0 ] || [ "$skipped" -eq 0 ] || exit 77
	exit 0
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
