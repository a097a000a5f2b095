#!/usr/bin/env bash
# run.sh: the system tests (make check-system): boot real guests with build/xenkvmd.
#
# Each test is tests/system/test_*.sh; it prints its own checks, exits 0 when all
# passed, 77 to skip (saying why), anything else on failure.  This script builds the
# guest assets (tests/system/assets.sh), asks build/kvm-probe whether the local KVM can
# run guests, and runs the tests here if it can.  If it cannot, it runs itself once,
# with all the tests, inside a nested host (tests/nested/l1-run: about 15 s to boot).
#
# usage: tests/system/run.sh [TEST...]     TEST: boot, test_boot or test_boot.sh;
#                                          default all
# env:   BUILD               build directory (default build; make passes its own)
#        XENKVM_NESTED       auto (default), always, or never (run here regardless)
#        XENKVM_L1_TIMEOUT   seconds for the whole nested run (default 3000)
#        XENKVM_TEST_TIMEOUT seconds for one test script (default 1200, or what its
#                            line "# xenkvm-system-test-timeout: N" asks for)
#        XENKVM_L1_FREEZE_RETRIES  times a frozen nested host (l1-run exit 123) may be
#                            replaced by a fresh one to run again what it interrupted
#                            (default 3; each freeze is reported with L1's registers)
#        XENKVM_SYSTEM_PARALLEL  1 (default): the tests that run their own nested host
#                            run here while the others run in the shared one; 0: first
#        XENKVM_*            passed on to the tests, also inside the nested host
# Ends with "system: N passed, N failed, N skipped" (counting test scripts); exit 1 if
# any failed.
set -uo pipefail

# The whole script is one block, so bash has read all of it before it runs: editing
# or updating the file during a long run cannot change what this run does.
{
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
export BUILD
nested=${XENKVM_NESTED:-auto}
per_test=${XENKVM_TEST_TIMEOUT:-1200}

summary() {	# summary PASSED FAILED SKIPPED
	echo "system${XENKVM_IN_L1:+ (nested host)}: $1 passed, $2 failed, $3 skipped"
	[ "${freezes:-0}" = 0 ] || echo "system: the nested host froze $freezes time(s); what it interrupted ran again"
	[ "$2" -eq 0 ]
	exit
}

tests=()
if [ $# -eq 0 ]; then
	for t in "$here"/test_*.sh; do [ -e "$t" ] && tests+=("$t"); done
else
	for a in "$@"; do
		a=${a%.sh}; a=${a#test_}
		[ -f "$here/test_$a.sh" ] || { echo "system: no test tests/system/test_$a.sh"; summary 0 1 0; }
		tests+=("$here/test_$a.sh")
	done
fi

probe=$BUILD/kvm-probe
if [ ! -x "$probe" ]; then
	make -s BUILD="$BUILD" "$probe" >&2 || { echo "system: cannot build $probe"; summary 0 1 0; }
fi

if [ -z "${XENKVM_IN_L1:-}" ]; then
	# Assets come from Debian's archive, which only this side can reach.
	# The Debian disk image (a few minutes to build when not cached) only for the
	# test that boots it.
	withimage=
	case " ${tests[*]} " in *"/test_disk_image.sh "*) withimage=--with-disk-image ;; esac
	assets=$("$here/assets.sh" --with-6.12 $withimage) || { echo "system: tests/system/assets.sh failed"; summary 0 1 0; }
	eval "$assets"
	export XENKVM_KERNEL XENKVM_INITRD XENKVM_BLKFRONT XENKVM_NETFRONT
	[ -n "${XENKVM_KERNEL_612:-}" ] && export XENKVM_KERNEL_612
	[ -n "${XENKVM_DISK_IMAGE:-}" ] && export XENKVM_DISK_IMAGE XENKVM_DISK_UUID XENKVM_XLEXAMPLE
fi

verdict=$("$probe")
capable=$?
echo "$verdict"
if [ -n "${XENKVM_IN_L1:-}" ] && [ $capable != 0 ]; then
	echo "system: the nested host's KVM cannot run guests either"
	summary 0 1 0
fi
stuck_report() {	# stuck_report SID: what a test that ran out of time is doing
	local p
	ps -s "$1" -o pid=,stat=,wchan:24=,etime=,args= 2>/dev/null | sed 's/^/    | /'
	for p in $(ps -s "$1" -o pid=,stat= 2>/dev/null | awk '$2 ~ /^D/ { print $1 }'); do
		echo "    kernel stack of $p (uninterruptible):"
		sed 's/^/    | /' "/proc/$p/stack" 2>/dev/null
	done
	echo "    kernel log (last 15 lines):"
	dmesg 2>/dev/null | tail -n 15 | sed 's/^/    | /'
}
# run_limited SECONDS SCRIPT: the script's exit status, 124 if it ran out of time, 125
# if it could not even be killed then.  Not timeout(1): it would wait for ever on a
# process stuck in the kernel, and say nothing about where anything was stuck.
run_limited() {
	local pid t0=$SECONDS i
	setsid -w bash "$2" &
	pid=$!	# a background job is no group leader, so setsid runs bash as this pid
	while kill -0 "$pid" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$1" ]; then
			echo "    over ${1}s; still running:"
			stuck_report "$pid"
			pkill -TERM -s "$pid"; sleep 5; pkill -KILL -s "$pid"
			for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
			if kill -0 "$pid" 2>/dev/null; then
				echo "    it survives SIGKILL: stuck in the kernel"
				stuck_report "$pid"
				return 125
			fi
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 1
	done
	wait "$pid"
}
run_tests() {	# run_tests SCRIPT...: runs each, adds to passed/failed/skipped
	local t n rc start secs limit
	for t in "$@"; do
		n=$(basename "$t" .sh)
		echo "--- $n"
		start=$(date +%s)
		# A test may ask for more with a line "# xenkvm-system-test-timeout: SECONDS"
		# (XENKVM_TEST_TIMEOUT, when set, still decides).
		limit=$(sed -n 's/^# xenkvm-system-test-timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -1)
		limit=${XENKVM_TEST_TIMEOUT:-${limit:-$per_test}}
		run_limited "$limit" "$t"
		rc=$?
		if [ $rc = 123 ] && [ $freezes -lt $max_freezes ]; then
			# Its own nested host froze (tests/nested/l1-run's 123): once more in a fresh one
			freezes=$((freezes + 1))
			echo "--- $n: its nested host froze (the emulated host, not the test, stopped); again"
			run_limited "$limit" "$t"
			rc=$?
		fi
		secs=$(($(date +%s) - start))
		case $rc in
		0) passed=$((passed + 1)); echo "--- $n: passed (${secs}s)" ;;
		77) skipped=$((skipped + 1)); echo "--- $n: skipped (${secs}s)" ;;
		124) failed=$((failed + 1)); echo "--- $n: FAILED: timed out after ${limit}s" ;;
		125) failed=$((failed + 1)); echo "--- $n: FAILED: timed out after ${limit}s, unkillable" ;;
		*) failed=$((failed + 1)); echo "--- $n: FAILED (exit $rc, ${secs}s)" ;;
		esac
	done
}
passed=0 failed=0 skipped=0
# QEMU's software-emulated SVM was seen to freeze the nested host whole (l1-run exit
# 123, with its registers); what it interrupted runs again, this many times per run.
freezes=0 max_freezes=${XENKVM_L1_FREEZE_RETRIES:-3}

if [ -z "${XENKVM_IN_L1:-}" ] && { [ "$nested" = always ] || { [ $capable != 0 ] && [ "$nested" != never ]; }; }; then
	# Tests that start nested hosts themselves say so with a line
	# "# xenkvm-system-test: host"; they run here, all others in one L1 boot.
	here_tests=() l1_tests=()
	for t in "${tests[@]}"; do
		if grep -q '^# xenkvm-system-test: host' "$t"; then here_tests+=("$t")
		else l1_tests+=("$(basename "$t")"); fi
	done
	# The two halves each keep about one CPU busy (a nested host is one emulated
	# vCPU), so they run side by side; the host tests' output follows the nested run's.
	hpid=
	if [ "${XENKVM_SYSTEM_PARALLEL:-1}" = 1 ] && [ ${#here_tests[@]} -gt 0 ] && [ ${#l1_tests[@]} -gt 0 ]; then
		hostlog=$(mktemp "${TMPDIR:-/tmp}/system-host.XXXXXX")
		hostcnt=$(mktemp "${TMPDIR:-/tmp}/system-host.XXXXXX")
		echo "system: meanwhile here: $(for t in "${here_tests[@]}"; do basename "$t" .sh; done | tr '\n' ' ')(output after the nested run's)"
		( run_tests "${here_tests[@]}"; echo "$passed $failed $skipped $freezes" >"$hostcnt" ) >"$hostlog" 2>&1 </dev/null &
		hpid=$!
	else
		run_tests "${here_tests[@]}"
	fi
	if [ ${#l1_tests[@]} -gt 0 ]; then
		envs=(-e "BUILD=$BUILD" -e XENKVM_IN_L1=1)
		while read -r v; do envs+=(-e "$v=${!v}"); done < <(compgen -e | grep '^XENKVM_' | grep -v '^XENKVM_IN_L1$')
		log=$(mktemp "${TMPDIR:-/tmp}/system-run.XXXXXX")
		remaining=("${l1_tests[@]}")
		while :; do
			echo "system: running ${remaining[*]} in a nested host (tests/nested/l1-run)"
			"$root/tests/nested/l1-run" -t "${XENKVM_L1_TIMEOUT:-3000}" -w "$root" "${envs[@]}" \
				-- tests/system/run.sh "${remaining[@]}" | tee "$log"
			rc=${PIPESTATUS[0]}
			inner=$(sed -n 's/^system (nested host): \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$log" | tail -1)
			if [ -n "$inner" ]; then
				read -r p f s <<<"$inner"
				passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
				break
			fi
			# Count what finished; what did not may run again if L1 froze.
			next=()
			for t in "${remaining[@]}"; do
				case $(sed -n "s/^--- ${t%.sh}: \(passed\|skipped\|FAILED\).*/\1/p" "$log" | tail -1) in
				passed) passed=$((passed + 1)) ;;
				skipped) skipped=$((skipped + 1)) ;;
				FAILED) failed=$((failed + 1)) ;;
				*) next+=("$t") ;;
				esac
			done
			[ ${#next[@]} -gt 0 ] || break
			if [ "$rc" = 123 ] && [ $freezes -lt $max_freezes ]; then
				freezes=$((freezes + 1))
				echo "system: the nested host froze during ${next[0]%.sh} (l1-run exit 123: the" \
				     "emulated host, not a test, stopped); ${next[*]} again in a fresh one"
				remaining=("${next[@]}")
				continue
			fi
			echo "system: the nested host ended before its tests did (l1-run exit $rc): ${next[*]} did not finish"
			failed=$((failed + 1))
			break
		done
		rm -f "$log"
	fi
	if [ -n "$hpid" ]; then
		wait "$hpid"
		cat "$hostlog"
		if read -r p f s z <"$hostcnt" && [ -n "$z" ]; then
			passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s)) freezes=$((freezes + z))
		else
			echo "system: the tests run here did not report their counts"
			failed=$((failed + 1))
		fi
		rm -f "$hostlog" "$hostcnt"
	fi
	summary $passed $failed $skipped
fi
[ $capable = 0 ] || echo "system: XENKVM_NESTED=never: running here although the probe says no"
export XENKVM_KVM_CAPABLE=1
run_tests "${tests[@]}"
summary $passed $failed $skipped
exit
}
