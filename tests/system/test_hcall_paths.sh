#!/usr/bin/env bash
# test_hcall_paths: the freestanding Xen test guests (tests/guest: tg64.bzImage in long
# mode, tg32.bzImage in 32-bit protected mode with the compat ABI) boot under xenkvmd
# with each hypercall entry path (issue 3, acceptance 2):
#   intercept  KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL (KVM's own hypercall page)
#   blob       KVM_XEN_HVM_CONFIG blob copy of xenkvm's page on the MSR write
#   msr        userspace MSR exit, xenkvmd copies its page (no kernel Xen support)
# and, once, the path xenkvmd picks by itself.  Each guest writes the hypercall MSR,
# calls xen_version, memory_op (shared_info), event_channel_op (unbound, IPI, loopback
# interdomain, send with 2-level pending/selector/upcall bits, mask/unmask, close, status)
# and error cases through the page, prints "XENKVM-TG ok|FAIL ..." per check and
# "XENKVM-TG PASS n checks", then SCHEDOP_shutdown(poweroff).
#
# The guests are tiny, so they also run on a KVM that emulates guest code: there (this
# machine's own KVM, no KVM_CAP_XEN_HVM) only msr can work and the kernel paths are
# reported as skipped.  In the nested host (XENKVM_IN_L1=1 from tests/system/run.sh, or
# L1_RUN=1 from tests/nested/l1-run) the kernel has Xen support, so all three must work.
# tests/system/run.sh sends this test to the nested host like the others whenever the
# local KVM cannot boot Linux; run it directly to exercise the local KVM (about 0.1 s per
# guest here, although guest code is emulated).
#
# env: BUILD (default build), XENKVM_HCALL_PATHS (default "intercept blob msr"),
#      XENKVM_HCALL_TIMEOUT seconds per guest run (default 30)
# Prints one line per check and, last, "test_hcall_paths: N passed, N failed"; exit 0
# when all that could run passed, 77 when nothing could run, 1 otherwise.
set -uo pipefail

# The whole script is one block, so bash has read all of it before it runs: editing
# or updating the file during a long run cannot change what this run does.
{
name=test_hcall_paths
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
vmm=$build/xenkvmd
limit=${XENKVM_HCALL_TIMEOUT:-30}
paths=${XENKVM_HCALL_PATHS:-intercept blob msr}
in_l1=
[ -n "${XENKVM_IN_L1:-}" ] || [ "${L1_RUN:-}" = 1 ] && in_l1=1

passed=0 failed=0 skipped=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
fail() { echo "  FAIL $*"; failed=$((failed + 1)); }
skip() { echo "  skip $*"; skipped=$((skipped + 1)); }
finish() {
	[ "$skipped" -eq 0 ] || echo "$name: $skipped skipped"
	echo "$name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] || exit 1
	[ "$passed" -gt 0 ] || exit 77
	exit 0
}

if [ ! -c /dev/kvm ]; then
	echo "SKIP: $name: no /dev/kvm"
	exit 77
fi
images=("$build/tests/guest/tg64.bzImage" "$build/tests/guest/tg32.bzImage")
if [ -z "$in_l1" ]; then
	# Standalone runs build what they need; in L1 the tree is read-only in spirit.
	make -s -C "$root" BUILD="$build" "$vmm" "${images[@]}" >&2 || { fail "building xenkvmd and the test guests"; finish; }
fi
for f in "$vmm" "${images[@]}"; do
	[ -e "$f" ] || { fail "$f is not built (make all)"; finish; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cfg=$tmp/tg.cfg
{
	echo "# written by tests/system/$name.sh"
	echo "name = \"xktest-tg\""
	echo "type = \"hvm\""
	echo "memory = 32"     # tests/guest/tg.c relies on 0xc0000000 not being RAM
	echo "vcpus = 1"
} >"$cfg"

# what_path PATH: how xenkvmd names it in its start-up line
what_path() {
	case $1 in
	intercept) echo "kernel intercept" ;;
	blob) echo "kernel blob copy" ;;
	msr) echo "userspace MSR exit" ;;
	esac
}

# run_guest PATH IMAGE [OPTION...] [-- OVERRIDE...]: boots IMAGE with --xen-hcall=PATH;
# sets rc, out (serial, no \r), err (xenkvmd's messages), secs
run_guest() {
	local start end p=$1 img=$2 opts=() over=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && { shift; over=("$@"); }
	start=$(date +%s%N)
	timeout -k 5 "$limit" "$vmm" --xen-hcall="$p" "${opts[@]}" "$cfg" "kernel=\"$img\"" "${over[@]}" </dev/null \
		>"$tmp/out.raw" 2>"$tmp/err"
	rc=$?
	end=$(date +%s%N)
	secs=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }')
	out=$(tr -d '\r' <"$tmp/out.raw")
	err=$(cat "$tmp/err")
}

# A kernel path the host cannot offer: xenkvmd refuses with usage status 2 and says so.
kernel_refused() {
	[ "$rc" = 2 ] && grep -q 'needs a kernel with CONFIG_KVM_XEN' <<<"$err"
}

show_failure() {
	echo "$out" | grep -v '^XENKVM-TG ok ' | tail -15 | sed 's/^/       guest: /'
	echo "$err" | tail -8 | sed 's/^/       xenkvmd: /'
}

# check_run LABEL PATH: the verdict on the last run_guest
check_run() {
	local label=$1 want nok npass
	want=$(what_path "$2")
	npass=$(sed -n 's/^XENKVM-TG PASS \([0-9]*\) checks$/\1/p' <<<"$out")
	nok=$(grep -c '^XENKVM-TG ok ' <<<"$out")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "$label: no result within ${limit}s"
		show_failure
	elif ! grep -q "hypercalls: $want" <<<"$err"; then
		fail "$label: xenkvmd did not report the $want path (exit $rc)"
		show_failure
	elif grep -q '^XENKVM-TG FAIL' <<<"$out"; then
		fail "$label: guest checks failed: $(grep -c '^XENKVM-TG FAIL' <<<"$out") FAIL lines (exit $rc)"
		show_failure
	elif [ -z "$npass" ] || [ "$npass" != "$nok" ]; then
		fail "$label: no PASS line matching the guest's ok lines (PASS '${npass}', $nok ok; exit $rc)"
		show_failure
	elif [ "$rc" != 0 ]; then
		fail "$label: $npass checks passed but xenkvmd exited $rc, not 0 (SCHEDOP_shutdown poweroff)"
		show_failure
	else
		ok "$label: $npass checks passed, powered off (${secs}s)"
	fi
}

for p in $paths; do
	case $p in intercept|blob|msr) ;; *) fail "XENKVM_HCALL_PATHS: unknown path '$p'"; continue ;; esac
	for img in "${images[@]}"; do
		label="$p/$(basename "$img" .bzImage)"
		run_guest "$p" "$img"
		if [ "$p" != msr ] && kernel_refused; then
			if [ -n "$in_l1" ]; then
				fail "$label: the nested host's KVM has no Xen support (KVM_CAP_XEN_HVM)"
			else
				skip "$label: this KVM has no KVM_CAP_XEN_HVM (kernel path; runs in the nested host)"
			fi
			continue
		fi
		check_run "$label" "$p"
	done
done

# auto: the kernel intercept where KVM has it, else the userspace MSR path.
run_guest auto "${images[0]}"
if grep -q "hypercalls: kernel intercept" <<<"$err"; then
	check_run "auto/tg64 (kernel intercept)" intercept
elif grep -q "hypercalls: userspace MSR exit" <<<"$err"; then
	if [ -n "$in_l1" ]; then
		fail "auto/tg64: xenkvmd chose the MSR path in the nested host, whose KVM has Xen support"
	else
		check_run "auto/tg64 (userspace MSR exit)" msr
	fi
else
	fail "auto/tg64: xenkvmd reported no hypercall path (exit $rc)"
	show_failure
fi

# Event channels to a domain-0 backend on the intercept path, with KVM's fast paths
# (the guest's sends reach xenkvmd --bench-echo through KVM's eventfd, the answers
# are raised by KVM) and without: tg64 checks every one of 200 round trips.
if [ -n "$in_l1" ] || grep -q "Xen fast paths: in kernel" <<<"$err"; then
	for fp in on off; do
		label="intercept/tg64 echo, fast paths $fp"
		fpo=()
		[ $fp = off ] && fpo=(--no-kernel-fastpaths)
		run_guest intercept "${images[0]}" --bench-echo "${fpo[@]}" -- 'extra="tgecho=200"'
		bad=$failed
		check_run "$label" intercept
		grep -q '^XENKVM-TG ok bench: every echo came back' <<<"$out" ||
			fail "$label: the guest did not report its round trips"
		echoes=$(sed -n 's/.*bench echo backend: \([0-9]*\) round trips.*/\1/p' <<<"$err")
		sends=$(sed -n 's/.*Xen fast paths: \([0-9]*\) guest sends to backends via eventfd.*/\1/p' <<<"$err")
		if [ "${echoes:-0}" -lt 200 ]; then
			fail "$label: the echo backend answered '${echoes:-}' sends, 200 expected"
		elif [ $fp = on ] && [ "${sends:-0}" -lt 200 ]; then
			fail "$label: ${sends:-no} guest sends came through KVM's eventfd, 200 expected"
		elif [ $fp = off ] && [ -n "$sends" ]; then
			fail "$label: fast paths were used with --no-kernel-fastpaths"
		else
			ok "$label: $echoes round trips answered, ${sends:-no} sends through the eventfd"
		fi
		[ "$failed" = "$bad" ] || show_failure
	done
else
	skip "intercept/tg64 echo: this KVM has no in-kernel Xen fast paths (runs in the nested host)"
fi
finish
exit
}
