#!/usr/bin/env bash
# bench/hypercall: what a Xen hypercall and an event-channel round trip cost.
#
#  bare      build/bench/hcall-bare: a VM with only KVM's Xen intercept and a
#            64-bit guest doing N no-op xen_version hypercalls, each KVM_EXIT_XEN
#            answered 0 at once: the floor for a hypercall that exits.
#  xenkvmd   the same loop in tg64 (tgbench=N) through xenkvmd's real dispatch.
#            Target: xenkvmd / bare <= 1.05.
#  echo      tg64 (tgecho=M) against xenkvmd --bench-echo: send on an event
#            channel to a domain-0 backend that notifies straight back; the guest
#            spins on the pending bit.  With KVM's fast paths (the send never
#            exits: KVM signals an eventfd, the io thread answers with
#            KVM_XEN_HVM_EVTCHN_SEND) and with --no-kernel-fastpaths (the send
#            exits and the answer is written on the vCPU thread).
#  echo-poll the same round trip with the guest waiting in SCHEDOP_poll, as a
#            frontend blocks, instead of spinning: in the nested host (one L1
#            CPU) a spinning vCPU keeps the io thread that answers off the CPU
#            until the scheduler preempts it, which the spin figure includes.
# All alternate within each round in the same host; runs inside the nested host
# (tests/nested/l1-run) when the local /dev/kvm cannot run guests.  Timings there
# are noisy (software-emulated L1, shared cores): medians of RUNS.
#
# usage: bench/hypercall/run.sh [-n RUNS] [-c CALLS] [-e ECHOES]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=3 calls=20000 echoes=5000
while getopts "n:c:e:" o; do
	case $o in
	n) runs=$OPTARG ;; c) calls=$OPTARG ;; e) echoes=$OPTARG ;;
	*) sed -n '2,19p' "$0"; exit 2 ;;
	esac
done
BUILD=${BUILD:-build}

if [ -z "${L1_RUN:-}" ]; then
	make -s BUILD="$BUILD" all "$BUILD/bench/hcall-bare"
	if ! "$BUILD/kvm-probe" >/dev/null 2>&1; then
		echo "bench/hypercall: local KVM cannot run guests at hardware speed; running in the nested host" >&2
		exec tests/nested/l1-run -t 1800 -- env BUILD="$BUILD" bench/hypercall/run.sh \
			-n "$runs" -c "$calls" -e "$echoes"
	fi
fi

cfg=$(mktemp /tmp/bench-hcall.XXXXXX.cfg)
trap 'rm -f "$cfg"' EXIT
cat >"$cfg" <<CFG
name = "bench-hcall"
kernel = "$BUILD/tests/guest/tg64.bzImage"
memory = 32
vcpus = 1
CFG

# tg LABEL EXTRA [XENKVMD-OPTION...]: ns per call/trip from the guest's bench line
tg() {
	local what=$1 extra=$2 out
	shift 2
	out=$(timeout -k 5 600 "$BUILD/xenkvmd" -q "$@" "$cfg" "extra=\"$extra\"" </dev/null 2>&1) || {
		echo "bench/hypercall: xenkvmd $* ($extra) failed:" >&2
		echo "$out" | tail -5 >&2
		exit 1
	}
	echo "$out" | sed -n "s/^XENKVM-TG bench $what .* \([0-9]*\) cycles\/call \([0-9]*\) ns\/call.*/\1 \2/p" |
		tr -d '\r' | head -1
}

# Each sample is "cycles-per-call ns-per-call" (guest TSC; ns by the guest's scale).
# Ratios compare cycles: both guests read the same TSC.
bare=() xk=() xk_nofast=() echo_fast=() echo_slow=() bare_ns=() xk_ns=() echo_fast_ns=() echo_slow_ns=()
poll_fast=() poll_slow=() r_xk=() r_echo=() r_poll=()
echo "bench/hypercall: $runs runs; $calls hypercalls and $echoes round trips per run"
for i in $(seq 1 "$runs"); do
	b=$("$BUILD/bench/hcall-bare" "$calls" | sed -n 's/.* \([0-9]*\) cycles\/call, .* \([0-9]*\) ns\/call$/\1 \2/p')
	x=$(tg hcall "tgbench=$calls")
	y=$(tg hcall "tgbench=$calls" --no-kernel-fastpaths)
	f=$(tg echo "tgecho=$echoes" --bench-echo)
	s=$(tg echo "tgecho=$echoes" --bench-echo --no-kernel-fastpaths)
	pf=$(tg echo-poll "tgechopoll=$echoes" --bench-echo)
	ps=$(tg echo-poll "tgechopoll=$echoes" --bench-echo --no-kernel-fastpaths)
	for v in "$b" "$x" "$y" "$f" "$s" "$pf" "$ps"; do
		[ -n "$v" ] || { echo "bench/hypercall: run $i gave no number" >&2; exit 1; }
	done
	echo "  run $i (cycles ns): hypercall bare $b | xenkvmd $x | xenkvmd no fast paths $y |" \
		"echo fast paths $f | echo userspace $s | echo-poll fast paths $pf | echo-poll userspace $ps"
	bare+=("${b% *}") xk+=("${x% *}") xk_nofast+=("${y% *}") echo_fast+=("${f% *}") echo_slow+=("${s% *}")
	bare_ns+=("${b#* }") xk_ns+=("${x#* }") echo_fast_ns+=("${f#* }") echo_slow_ns+=("${s#* }")
	# paired, per round: the load on a shared host drifts between rounds
	r_xk+=("$(awk -v a="${x% *}" -v b="${b% *}" 'BEGIN { print a / b }')")
	r_echo+=("$(awk -v a="${f% *}" -v b="${s% *}" 'BEGIN { print a / b }')")
	poll_fast+=("${pf% *}") poll_slow+=("${ps% *}")
	r_poll+=("$(awk -v a="${pf% *}" -v b="${ps% *}" 'BEGIN { print a / b }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
awk -v b="$(median "${bare[@]}")" -v x="$(median "${xk[@]}")" -v y="$(median "${xk_nofast[@]}")" \
    -v f="$(median "${echo_fast[@]}")" -v s="$(median "${echo_slow[@]}")" \
    -v bn="$(median "${bare_ns[@]}")" -v xn="$(median "${xk_ns[@]}")" \
    -v fn="$(median "${echo_fast_ns[@]}")" -v sn="$(median "${echo_slow_ns[@]}")" \
    -v pf="$(median "${poll_fast[@]}")" -v ps="$(median "${poll_slow[@]}")" -v rp="$(median "${r_poll[@]}")" \
    -v rx="$(median "${r_xk[@]}")" -v re="$(median "${r_echo[@]}")" 'BEGIN {
	printf "bench/hypercall (medians; cycles per call, ns in brackets)\n"
	printf "  no-op hypercall: bare KVM %d (%d ns), xenkvmd %d (%d ns): ratio %.2f (target <= 1.05); without fast paths %d (%.2f)\n",
		b, bn, x, xn, x / b, y, y / b
	printf "  event-channel round trip guest->backend->guest: fast paths %d (%d ns), userspace %d (%d ns): fast/userspace %.2f\n",
		f, fn, s, sn, f / s
	printf "  the same, the guest waiting in SCHEDOP_poll: fast paths %d, userspace %d: fast/userspace %.2f (target <= 1.0)\n",
		pf, ps, pf / ps
	printf "  median of the per-round ratios: xenkvmd/bare %.2f, echo fast/userspace %.2f, echo-poll fast/userspace %.2f\n", rx, re, rp
}'
