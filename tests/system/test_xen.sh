#!/usr/bin/env bash
# test_xen: Debian's kernels boot unmodified as Xen HVM guests of xenkvmd and use
# their PV paths (issue 3 acceptance 1, issue 4 acceptance 3).
#
# For each boot the guest (tests/system/guest/xen.sh) reports what it sees; the host
# checks: Xen HVM detected, 2-level event channels, grant tables, /sys/hypervisor/type
# = xen, clocksource xen, both vCPUs online and taking Xen IPIs, `sleep 2` lasting
# 2 s +- 10 % of host time, and a XenStore write the guest makes through its xenbus
# device readable from the host with Debian's xenstore-read over the domain's socket.
# Boots: the 6.1 cloud kernel with the vector callback; the same with
# xen_no_vector_callback (events through the platform device's PCI INTx line); the
# 6.12 cloud kernel when tests/system/assets.sh --with-6.12 provided it.
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

# boot LABEL KERNEL EXTRA: runs the guest; fills $tmp/out ("<epoch> <line>") and
# $tmp/xsread, sets rc.
boot() {
	local label=$1 kernel=$2 extra=$3 sock=$tmp/xs.sock
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
	timeout -k 5 "$boot_limit" "$vmm" --xenstore-socket="$sock" "$tmp/$label.cfg" \
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

boot linux-6.1 "$XENKVM_KERNEL" ""
check "6.1 vector" 1
boot linux-6.1-intx "$XENKVM_KERNEL" "xen_no_vector_callback"
check "6.1 INTx" 0
if [ -n "${XENKVM_KERNEL_612:-}" ]; then
	boot linux-6.12 "$XENKVM_KERNEL_612" ""
	check "6.12 vector" 1
else
	echo "  note: no 6.12 kernel (tests/system/assets.sh --with-6.12); not booted"
fi
finish
}
