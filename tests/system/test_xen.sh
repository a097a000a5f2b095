#!/usr/bin/env bash
# test_xen: Debian's kernels boot unmodified as Xen HVM guests of xenkvmd and use
# their PV paths (issue 3 acceptance 1, issue 4 acceptance 3).
#
# For each boot the guest (tests/system/guest/xen.sh) reports what it sees; the host
# checks: Xen HVM detected, 2-level event channels, grant tables, /sys/hypervisor/type
# = xen, clocksource xen, both vCPUs online and taking Xen IPIs, `sleep 2` lasting
# 2 s +- 10 % of host time, and a XenStore write the guest makes through its xenbus
# device readable from the host with Debian's xenstore-read over the domain's socket.
# Boots: the 6.1 cloud kernel with the vector callback, with KVM's in-kernel event
# channel/timer fast paths (the default where KVM has them; the test then checks
# that guest sends reached a backend through KVM's eventfd, that KVM raised
# ports and took the guest's IPI ports) and with --no-kernel-fastpaths; the same with xen_no_vector_callback (events
# through the platform device's PCI INTx line); the 6.12 cloud kernel, both ways,
# when tests/system/assets.sh --with-6.12 provided it.
# Prints "test_xen: N passed, N failed".
set -uo pipefail
{
name=test_xen
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-180}
require_kvm -x
need_assets --with-6.12
command -v xenstore-read >/dev/null || { fail "xenstore-read missing (xenstore-utils)"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_xen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# boot LABEL KERNEL EXTRA [XENKVMD-OPTION...]: runs the guest; fills $tmp/out
# ("<epoch> <line>"), $tmp/err and $tmp/xsread, sets rc.
boot() {
	local label=$1 kernel=$2 extra=$3 sock=$tmp/xs.sock
	shift 3
	cat >"$tmp/$label.cfg" <<CFG
name = "xktest-xen"
kernel = "$kernel"
ramdisk = "$XENKVM_INITRD"
extra = "console=ttyS0 quiet xktest=xen $extra"
memory = 256
vcpus = 2
CFG
	rm -f "$tmp/xsread"
	# One long-lived reader timestamps the console (bash's EPOCHREALTIME: no
	# process per line) and reads XenStore back when the guest says it wrote.
	timeout -k 5 "$boot_limit" "$vmm" "$@" --xenstore-socket="$sock" "$tmp/$label.cfg" \
		</dev/null 2>"$tmp/err" |
	while IFS= read -r line; do
		line=${line%$'\r'}   # no tr in between: it would buffer the timing away
		printf '%s %s\n' "$EPOCHREALTIME" "$line"
		case $line in
		XS-WRITTEN*) XENSTORED_PATH=$sock xenstore-read /local/domain/1/data/xenkvm-test \
				>"$tmp/xsread" 2>&1 ;;
		esac
	done >"$tmp/out"
	rc=${PIPESTATUS[0]}
}

line() { sed -n "s/^[0-9.]* $1//p" "$tmp/out" | head -1; }
has() { grep -q "^[0-9.]* DMESG: .*$1" "$tmp/out"; }
show() {
	echo "    --- exit $rc; console (last 20 lines):"
	cut -d' ' -f2- "$tmp/out" | tail -n 20 | sed 's/^/    | /'
	echo "    --- stderr (last 8 lines):"
	tail -n 8 "$tmp/err" | sed 's/^/    | /'
}

# check LABEL VECTOR(1/0): the checks common to every boot
check() {
	local label=$1 vector=$2 bad=$failed t0 t1 ipi
	[ "$rc" = 0 ] && ok "$label: guest powered off (exit 0)" || fail "$label: exit 0 expected, got $rc"
	[ "$(line 'HYPERVISOR=')" = xen ] && ok "$label: /sys/hypervisor/type = xen" ||
		fail "$label: /sys/hypervisor/type = '$(line 'HYPERVISOR=')'"
	has "Hypervisor detected: Xen HVM" && ok "$label: Xen HVM detected" || fail "$label: no 'Hypervisor detected: Xen HVM'"
	has "Xen version 4.17" && ok "$label: Xen version 4.17" || fail "$label: no 'Xen version 4.17'"
	has "Using 2-level ABI" && ok "$label: 2-level event channels" || fail "$label: no 2-level event channel ABI"
	has "Grant table.*initialized" && ok "$label: grant tables initialised" || fail "$label: no grant table initialisation"
	if [ "$vector" = 1 ]; then
		has "callback vector for event delivery is enabled" && ok "$label: vector callback" ||
			fail "$label: no vector callback"
		[ "$(line 'CLOCKSOURCE=')" = xen ] && ok "$label: clocksource xen" ||
			fail "$label: clocksource '$(line 'CLOCKSOURCE=')'"
	else
		has "callback vector for event delivery is enabled" && fail "$label: vector callback in use" ||
			ok "$label: no vector callback (xen_no_vector_callback)"
		grep -q "^[0-9.]* IRQ: .*xen-platform" "$tmp/out" && ok "$label: events through the platform PCI IRQ" ||
			fail "$label: no xen-platform-pci interrupt line"
	fi
	[ "$(line 'CPUS-ONLINE-LIST=')" = 0-1 ] && ok "$label: both vCPUs online" ||
		fail "$label: CPUs online '$(line 'CPUS-ONLINE-LIST=')'"
	# an IPI row (resched/callfunc event channels) whose CPU1 column is non-zero:
	# "<time> IRQ: N: cpu0 cpu1 chip name"
	ipi=$(awk '$2 == "IRQ:" && /xen/ && /(resched|callfunc)/ && $5 > 0 { n++ } END { print n + 0 }' "$tmp/out")
	if [ "$vector" = 0 ]; then
		ok "$label: IPIs (native with xen_no_vector_callback)"
	elif [ "$ipi" -gt 0 ]; then ok "$label: vCPU 1 received Xen IPIs ($ipi kinds)"
	else fail "$label: no Xen IPI reached vCPU 1"; fi
	t0=$(awk '$2 == "SLEEP-BEGIN" { print $1; exit }' "$tmp/out")
	t1=$(awk '$2 == "SLEEP-END" { print $1; exit }' "$tmp/out")
	if [ -n "$t0" ] && [ -n "$t1" ] && awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; exit !(d >= 1.8 && d <= 2.2) }'; then
		ok "$label: sleep 2 took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s of host time"
	else
		fail "$label: sleep 2 took '${t0:-?}'..'${t1:-?}' (2 s +- 10 % expected)"
	fi
	if [ "$(cat "$tmp/xsread" 2>/dev/null)" = hello ]; then
		ok "$label: guest's XenStore write read back by xenstore-read on the host"
	else
		fail "$label: xenstore-read of the guest's data/xenkvm-test gave '$(cat "$tmp/xsread" 2>/dev/null)'"
	fi
	[ "$failed" = "$bad" ] || show
}

# fastpaths LABEL on|off: which event-channel paths xenkvmd says it used.  "on"
# needs KVM's EVTCHN_SEND (the nested host's 6.12 has it): then guest sends to the
# XenStore/backends must have arrived through KVM's eventfd and KVM must have raised
# ports (both counted by xenkvmd at exit).
fastpaths() {
	local label=$1 want=$2 bad=$failed sends raises timers ipis
	sends=$(sed -n 's/.*Xen fast paths: \([0-9]*\) guest sends to backends via eventfd, \([0-9]*\) raises.*/\1/p' "$tmp/err")
	raises=$(sed -n 's/.*Xen fast paths: \([0-9]*\) guest sends to backends via eventfd, \([0-9]*\) raises.*/\2/p' "$tmp/err")
	if [ "$want" = on ]; then
		grep -q "Xen fast paths: in kernel" "$tmp/err" && ok "$label: fast paths in the kernel" ||
			fail "$label: xenkvmd did not report in-kernel fast paths"
		[ "${sends:-0}" -gt 0 ] && ok "$label: $sends guest sends reached backends through KVM's eventfd" ||
			fail "$label: no guest send went through KVM's eventfd ('${sends:-}')"
		[ "${raises:-0}" -gt 0 ] && ok "$label: $raises events raised by KVM (KVM_XEN_HVM_EVTCHN_SEND)" ||
			fail "$label: KVM raised no event ('${raises:-}')"
		# Linux binds VIRQ_TIMER before it arms a timer: from then on KVM runs
		# it, so userspace's timerfd should hardly ever fire (hundreds otherwise).
		timers=$(sed -n 's/.*raises by KVM, \([0-9]*\) Xen timer expiries in userspace.*/\1/p' "$tmp/err")
		[ -n "$timers" ] && [ "$timers" -le 10 ] && ok "$label: Xen timers run by KVM ($timers userspace expiries)" ||
			fail "$label: ${timers:-?} Xen timer expiries in userspace (KVM's timer not used)"
		# Each vCPU's IPI ports (reschedule, call-function, spinlock kick) go to KVM
		# once their vector route is in place; check() saw both vCPUs take IPIs.
		ipis=$(sed -n 's/.*, \([0-9]*\) IPI port bindings in KVM.*/\1/p' "$tmp/err")
		[ "${ipis:-0}" -ge 2 ] && ok "$label: $ipis guest IPI ports delivered by KVM" ||
			fail "$label: guest IPI ports not handed to KVM ('${ipis:-}')"
	else
		grep -q "Xen fast paths: off" "$tmp/err" && [ -z "$sends" ] &&
			ok "$label: fast paths off, everything in userspace" ||
			fail "$label: fast paths not reported off"
	fi
	[ "$failed" = "$bad" ] || show
}

boot linux-6.1 "$XENKVM_KERNEL" ""
check "6.1 vector" 1
fastpaths "6.1 vector" on
boot linux-6.1-nofast "$XENKVM_KERNEL" "" --no-kernel-fastpaths
check "6.1 vector, no fast paths" 1
fastpaths "6.1 vector, no fast paths" off
boot linux-6.1-intx "$XENKVM_KERNEL" "xen_no_vector_callback"
check "6.1 INTx" 0
# An INTx callback is a line KVM does not drive: no IPI port may go to KVM.
ipis=$(sed -n 's/.*, \([0-9]*\) IPI port bindings in KVM.*/\1/p' "$tmp/err")
[ "${ipis:-0}" = 0 ] && ok "6.1 INTx: no IPI port handed to KVM ('${ipis:-}')" ||
	fail "6.1 INTx: $ipis IPI ports handed to KVM under an INTx callback"
if [ -n "${XENKVM_KERNEL_612:-}" ]; then
	boot linux-6.12 "$XENKVM_KERNEL_612" ""
	check "6.12 vector" 1
	fastpaths "6.12 vector" on
	boot linux-6.12-nofast "$XENKVM_KERNEL_612" "" --no-kernel-fastpaths
	check "6.12 vector, no fast paths" 1
	fastpaths "6.12 vector, no fast paths" off
else
	echo "  note: no 6.12 kernel (tests/system/assets.sh --with-6.12); not booted"
fi
finish
}
