#!/usr/bin/env bash
# test_pvh: type="pvh" domains (issue 22): Xen's xlexample.pvhlinux with only its
# paths changed boots Debian's cloud kernel through its PVH entry, with no
# emulated devices, its console on hvc0.
#
# 1. xenkvmd alone, 4 vCPUs, a disk: the guest's dmesg says Xen PVH, 4 CPUs are
#    online, it sees no PCI device, writes a random pattern to xvda and reads it
#    back; `poweroff -f` ends xenkvmd with status 0 (ACPI S5 through the
#    hardware-reduced sleep register).  The vif gets a DHCP lease from user-mode
#    networking.  Debian's 6.12 kernel too, when run.sh
#    fetched it.
# 2. Through the CLI: `xenkvm create` starts it, `list -l` says pvh, `xenkvm console`
#    attaches to hvc0 (a PVH domain has no serial port), `xenkvm shutdown -w`
#    powers it off through control/shutdown, status 0.
# 3. A kernel image without the PVH entry note is refused with a clear error.
# Run by tests/system/run.sh (KVM with Xen support, assets); skips (77) otherwise.
set -uo pipefail
{
name=test_pvh
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-200}
require_kvm -x
need_assets
cli=$build/xenkvm
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_pvh.XXXXXX")
cleanup() {
	for d in "$tmp"/rt/xenkvm/[0-9]*; do
		[ -f "$d/pid" ] && kill -9 "$(cat "$d/pid")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
show() { printf '%s\n' "$1" | tail -n 15 | sed 's/^/    | /'; }

# Xen's /etc/xen/xlexample.pvhlinux (xen-utils-common), its paths changed.
write_cfg() {	# write_cfg FILE KERNEL EXTRA
	cat >"$1" <<CFG
# =====================================================================
# Example PVH Linux guest configuration
# =====================================================================
type = "pvh"
name = "xktest-pvh"
kernel = "$2"
ramdisk = "$XENKVM_INITRD"
extra = "$3"
memory = 512
vcpus = 4
vif = [ '' ]
disk = [ '$tmp/disk.img,raw,xvda,rw' ]
CFG
}
truncate -s 16M "$tmp/disk.img"

boot_direct() {	# boot_direct LABEL KERNEL
	local label=$1 out rc
	write_cfg "$tmp/d.cfg" "$2" "console=hvc0 xktest=pvh"
	timeout -k 5 "$boot_limit" "$vmm" -q "$tmp/d.cfg" </dev/null >"$tmp/d.out" 2>"$tmp/d.err"
	rc=$?
	out=$(tr -d '\r' <"$tmp/d.out")
	[ $rc = 0 ] && ok "$label: powered off from inside, exit status 0" \
		|| { fail "$label: exit status $rc (want 0)"; show "$(cat "$tmp/d.err")"; }
	grep -q "^XENKVM-INIT-START" <<<"$out" && ok "$label: init's output on hvc0 (the PV console)" \
		|| { fail "$label: no init output on hvc0"; show "$out"; return; }
	grep -q "^PVH-DMESG: .*Xen PVH" <<<"$out" && ok "$label: dmesg says Xen PVH" \
		|| { fail "$label: dmesg does not say PVH"; show "$(grep PVH <<<"$out")"; }
	grep -q "^PVH-CPUS=4$" <<<"$out" && ok "$label: 4 vCPUs online" \
		|| fail "$label: $(grep PVH-CPUS <<<"$out" || echo no CPU count) (want 4)"
	grep -q "^PVH-PCI-DEVICES=0$" <<<"$out" && ok "$label: no PCI devices" \
		|| fail "$label: $(grep PVH-PCI <<<"$out")"
	grep -q "^PVH-DISK-OK" <<<"$out" && ok "$label: xvda written and read back" \
		|| { fail "$label: xvda"; show "$(grep -E 'PVH-|blkfront' <<<"$out"; grep -E 'physmap|mapping' "$tmp/d.err")"; }
	grep -q "^PVH-DHCP=10\.0\.2\." <<<"$out" && ok "$label: eth0 got a DHCP lease: $(grep PVH-DHCP <<<"$out")" \
		|| { fail "$label: no DHCP lease"; show "$(grep -E 'PVH-(DHCP|ERROR)' <<<"$out")"; }
	# the host sees what the guest wrote
	local sum
	sum=$(head -c 1048576 "$tmp/disk.img" | sha256sum | cut -d' ' -f1)
	grep -q "^PVH-DISK-OK $sum" <<<"$out" && ok "$label: the image holds the guest's pattern" \
		|| fail "$label: the image does not hold the guest's pattern"
}

# 1.
boot_direct "6.1" "$XENKVM_KERNEL"
if [ -n "${XENKVM_KERNEL_612:-}" ]; then
	boot_direct "6.12" "$XENKVM_KERNEL_612"
fi

# 2. through the CLI
export XDG_RUNTIME_DIR=$tmp/rt
mkdir -p "$XDG_RUNTIME_DIR"
write_cfg "$tmp/c.cfg" "$XENKVM_KERNEL" "console=hvc0"
if "$cli" create -q "$tmp/c.cfg" </dev/null >"$tmp/c.out" 2>&1; then
	ok "xenkvm create: PVH domain started"
	out=$("$cli" list -l xktest-pvh 2>&1)
	grep -q '"type": "pvh"' <<<"$out" && ok "list -l: type pvh" || { fail "list -l: no pvh"; show "$out"; }
	for ((i = 0; i < boot_limit; i += 2)); do
		sleep 1 | timeout 10 "$cli" console xktest-pvh >"$tmp/boot.con" 2>&1
		grep -q "xenkvm guest shell on hvc0" "$tmp/boot.con" && break
		sleep 1
	done
	grep -q "xenkvm guest shell on hvc0" "$tmp/boot.con" && ok "xenkvm console: the shell on hvc0" \
		|| { fail "xenkvm console: no shell on hvc0"; show "$(tr -d '\r' <"$tmp/boot.con")"; }
	# The initramfs's init ignores signals: make the orderly poweroff a forced one.
	{ sleep 1; echo 'echo XK-$((6*7)); echo "/bin/busybox poweroff -f" >/proc/sys/kernel/poweroff_cmd'; sleep 3; } |
		timeout 20 "$cli" console xktest-pvh >"$tmp/cmd.con" 2>&1
	tr -d '\r' <"$tmp/cmd.con" | grep -q "^XK-42$" && ok "xenkvm console: typed command ran on hvc0" \
		|| { fail "xenkvm console: no XK-42"; show "$(tr -d '\r' <"$tmp/cmd.con")"; }
	out=$(timeout -k 5 "$boot_limit" "$cli" shutdown -w xktest-pvh 2>&1)
	rc=$?
	[ $rc = 0 ] && grep -q "has been shut down" <<<"$out" && ok "xenkvm shutdown -w: powered off" \
		|| { fail "xenkvm shutdown -w: rc $rc"; show "$out"; }
	grep -q "exit status 0" "$XDG_RUNTIME_DIR"/xenkvm/logs/xktest-pvh.log 2>/dev/null \
		&& ok "xenkvmd ended with status 0" \
		|| { fail "no 'exit status 0' in the domain's log"; show "$(tail -n 5 "$XDG_RUNTIME_DIR"/xenkvm/logs/xktest-pvh.log 2>&1)"; }
else
	fail "xenkvm create"
	show "$(cat "$tmp/c.out")"
fi

# 4. firmware_override="ELF" in an HVM domain: the freestanding test guests built as
#    ELF images with the PHYS32 note (tests/guest), 64- and 32-bit, run their Xen
#    checks, print through the UART and console_io, and power off.  tg64.elf, the
#    bzImage's ELF without the note, is refused.
make -s -C "$root" BUILD="$build" "$build/tests/guest/tg64-pvh.elf" "$build/tests/guest/tg32-pvh.elf" \
	"$build/tests/guest/tg64.elf" >&2 || fail "building the test guests"
for bits in 64 32; do
	cat >"$tmp/fw.cfg" <<CFG
name = "xktest-fw$bits"
type = "hvm"
memory = 32
vcpus = 1
firmware_override = "$build/tests/guest/tg$bits-pvh.elf"
CFG
	timeout -k 5 60 "$vmm" "$tmp/fw.cfg" </dev/null >"$tmp/fw.out" 2>"$tmp/fw.err"
	rc=$?
	out=$(tr -d '\r' <"$tmp/fw.out")
	[ $rc = 0 ] && grep -q "^XENKVM-TG PASS" <<<"$out" \
		&& ok "firmware_override tg$bits-pvh.elf: $(grep '^XENKVM-TG PASS' <<<"$out"), powered off" \
		|| { fail "firmware_override tg$bits-pvh.elf: exit $rc"; show "$out$(tail -n 5 "$tmp/fw.err")"; }
	grep -q "guest console_io: .*XENKVM-TG" "$tmp/fw.err" && ok "tg$bits-pvh.elf: console_io output reached xenkvmd" \
		|| fail "tg$bits-pvh.elf: no console_io output"
done
sed -i "s|^firmware_override = .*|firmware_override = \"$build/tests/guest/tg64.elf\"|" "$tmp/fw.cfg"
timeout 30 "$vmm" -q "$tmp/fw.cfg" </dev/null >/dev/null 2>"$tmp/fw.err"
rc=$?
[ $rc = 2 ] && grep -q "PHYS32_ENTRY" "$tmp/fw.err" && ok "an ELF without the PVH note is refused: $(head -n 1 "$tmp/fw.err")" \
	|| { fail "tg64.elf without the note: status $rc"; show "$(cat "$tmp/fw.err")"; }

# 3. no PVH note: the initramfs is not even an ELF; busybox from the host has no note
printf '\177ELF\2\1\1' >"$tmp/notelf"
write_cfg "$tmp/n.cfg" "$tmp/notelf" ""
timeout 30 "$vmm" -q "$tmp/n.cfg" </dev/null >/dev/null 2>"$tmp/n.err"
rc=$?
[ $rc = 2 ] && grep -q "kernel '$tmp/notelf'" "$tmp/n.err" && ok "a truncated ELF is refused (status 2): $(head -n 1 "$tmp/n.err")" \
	|| { fail "truncated ELF: status $rc"; show "$(cat "$tmp/n.err")"; }
finish
}
