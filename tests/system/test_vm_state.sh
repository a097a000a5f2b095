#!/usr/bin/env bash
# test_vm_state: kvm/'s share of save/restore (issue 21) on a live VM, without a
# guest kernel: build/vm-state-roundtrip runs two vCPUs counting in a register and
# in RAM and OUTing each value, pauses, saves to memory, destroys the VM, loads the
# stream into a fresh VM and runs on.  Checks: no gap and no repeat in either
# counter, RAM/registers/LAPIC/MP state/irqchip equal after the load, the KVM
# clock continues, all-zero pages not in the stream; a truncated, corrupted,
# foreign-build or wrong-shape (vCPU count) stream is refused with a message.
# Then a whole machine (build/machine-state-roundtrip: serial, RTC, ACPI PM too)
# with the tg64 test guest printing "count N" lines on COM1: saved mid-run,
# loaded into a machine built afresh from the same config; the joined console
# holds one start line and every count once, in order.
# Run by tests/system/run.sh (needs a KVM that runs guests); skips (77) otherwise.
set -uo pipefail
{
name=test_vm_state
. "$(dirname "$0")/lib.sh"
require_kvm
tool=$build/vm-state-roundtrip
[ -x "$tool" ] || { fail "$tool missing (make builds it)"; finish; }
for round in 1 2 3; do
	out=$("$tool" -n 2000 2>&1)
	rc=$?
	if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q "^vm-state-roundtrip: [1-9][0-9]* passed, 0 failed$"; then
		ok "round $round: $(printf '%s\n' "$out" | tail -n 1)"
	else
		fail "round $round: vm-state-roundtrip exit $rc"
		show "$(printf '%s\n' "$out" | grep -v '^  ok')"
	fi
done
mtool=$build/machine-state-roundtrip
tg=$build/tests/guest/tg64.bzImage
if [ ! -x "$mtool" ] || [ ! -f "$tg" ]; then
	fail "$mtool or $tg missing (make builds them)"
	finish
fi
for round in 1 2; do
	out=$(timeout -k 5 300 "$mtool" "$tg" 300 2>&1)
	rc=$?
	if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q "^machine-state-roundtrip: [1-9][0-9]* passed, 0 failed$"; then
		ok "machine round $round: $(printf '%s\n' "$out" | grep counts | sed 's/^  ok   //')"
	else
		fail "machine round $round: machine-state-roundtrip exit $rc"
		show "$(printf '%s\n' "$out" | grep -v '^  ok')"
	fi
done
finish
}
