#!/usr/bin/env bash
# test_firmware: a config without kernel= boots through SeaBIOS (Debian's
# bios-256k.bin).  With no disk to boot, SeaBIOS's banner and "No bootable device"
# reach the serial console and xenkvmd ends the domain as not booting (exit status 6)
# instead of leaving SeaBIOS in its wait-and-reboot loop; `xenkvm create -c` says so.
# Both of SeaBIOS's paths: a plain PC (xen_platform_pci=0: fw_cfg, table-loader) and a
# Xen guest (Xen CPUID leaves: hvmloader's info block).  firmware="ovmf" is refused.
#
# Run by tests/system/run.sh (nested host if needed); prints one line per check and,
# last, "test_firmware: N passed, N failed".
set -uo pipefail

# The whole script is one block, so bash has read all of it before it runs: editing
# or updating the file during a long run cannot change what this run does.
{
name=test_firmware
. "$(dirname "$0")/lib.sh"
limit=${XENKVM_FIRMWARE_TIMEOUT:-120}	# seconds from start to "No bootable device"
require_kvm
bios=/usr/share/seabios/bios-256k.bin
if [ ! -r "$bios" ]; then
	echo "SKIP: $name: $bios is missing (scripts/install-deps.sh installs Debian's seabios)"
	exit 77
fi
if [ ! -x "$vmm" ] || [ ! -x "$build/xenkvm" ]; then
	fail "$vmm or $build/xenkvm is not built"
	finish
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_firmware.XXXXXX")
export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR"
trap 'rm -rf "$tmp"' EXIT

# vmm CONFIG [ARGS...]: runs xenkvmd -v; sets rc, out (console, no \r), err, secs
vmm() {
	local start=$(date +%s%N)
	timeout -k 5 "$limit" "$vmm" -v "$@" </dev/null >"$tmp/out.raw" 2>"$tmp/err"
	rc=$?
	secs=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
	out=$(tr -d '\r' <"$tmp/out.raw")
	err=$(cat "$tmp/err")
}

show_output() {
	echo "    --- exit status $rc after ${secs}s; console (last 10 lines):"
	printf '%s\n' "$out" | tail -n 10 | sed 's/^/    | /'
	echo "    --- log (last 12 lines):"
	printf '%s\n' "$err" | grep -v 'debug: \(xenstore\|evtchn\)' | tail -n 12 | sed 's/^/    | /'
}

# no_boot LABEL [LINE...]: an empty machine (no disks) through SeaBIOS
no_boot() {
	local label=$1 bad=$failed
	shift
	{
		echo "name = \"xktest-fw\""
		echo "memory = 128"
		for l in "$@"; do echo "$l"; done
	} >"$tmp/fw.cfg"
	vmm "$tmp/fw.cfg"
	if [ $rc = 6 ]; then ok "$label: ends as not booting (exit 6) after ${secs}s"
	else fail "$label: exit status $rc, expected 6 (did not boot) within ${limit}s"; fi
	if printf '%s\n' "$out" | grep -q 'SeaBIOS (version '; then ok "$label: SeaBIOS's banner on the serial console"
	else fail "$label: no 'SeaBIOS (version ...)' on the serial console"; fi
	if printf '%s\n' "$out" | grep -q 'No bootable device'; then ok "$label: 'No bootable device' on the serial console"
	else fail "$label: no 'No bootable device' on the serial console"; fi
	if printf '%s\n' "$err" | grep -q 'domain ended: the guest did not boot: the firmware found no bootable device'; then
		ok "$label: xenkvmd says why the domain ended"
	else fail "$label: no 'did not boot' reason in xenkvmd's log"; fi
	[ $failed = $bad ] || show_output
}

# --- a plain PC: SeaBIOS's QEMU path (fw_cfg, table-loader, SMBIOS) -------------------
no_boot "PC guest" "xen_platform_pci = 0" "boot = \"dc\"" "vcpus = 2"
if printf '%s\n' "$err" | grep -q 'firmware: Found 2 cpu(s)'; then ok "PC guest: SeaBIOS woke the second vCPU"
else fail "PC guest: SeaBIOS did not find 2 vCPUs"; fi
if printf '%s\n' "$err" | grep -q 'firmware: .*Found QEMU fw_cfg'; then ok "PC guest: SeaBIOS found fw_cfg"
else fail "PC guest: SeaBIOS did not report fw_cfg in its log"; fi
# SeaBIOS found the FADT through the RSDP and XSDT the table-loader placed
if printf '%s\n' "$err" | grep -q 'firmware: table(50434146)=.*(via xsdt)'; then
	ok "PC guest: SeaBIOS found the ACPI tables the table-loader placed"
else fail "PC guest: SeaBIOS did not find the FADT through the XSDT"; fi

# --- a Xen HVM guest: SeaBIOS's Xen path (hvmloader's info block) ---------------------
no_boot "Xen guest" "type = \"hvm\"" "firmware = \"seabios\""
if printf '%s\n' "$err" | grep -q 'firmware: .*Detected Xen v'; then ok "Xen guest: SeaBIOS took its Xen path"
else fail "Xen guest: SeaBIOS did not detect Xen"; fi

# --- xenkvm create -c reports it too ------------------------------------------------
start=$(date +%s)
# stdin stays open (the console would detach on EOF) without making us wait for it
timeout -k 5 "$limit" "$build/xenkvm" create -c "$tmp/fw.cfg" < <(sleep "$limit") >"$tmp/cout" 2>"$tmp/cerr"
rc=$?
if [ $rc = 1 ] && grep -q 'did not boot: the firmware found no bootable device' "$tmp/cerr"; then
	ok "xenkvm create -c: says the domain did not boot (exit 1, $(($(date +%s) - start))s)"
else
	fail "xenkvm create -c: exit $rc; stderr:"
	sed 's/^/    | /' "$tmp/cerr" | tail -n 8
fi
"$build/xenkvm" destroy xktest-fw >/dev/null 2>&1

# --- another image: QEMU's 128 KiB SeaBIOS build; a missing one is refused ------------
if [ -r /usr/share/seabios/bios.bin ]; then
	no_boot "128 KiB image" "xen_platform_pci = 0" 'bios_path_override = "/usr/share/seabios/bios.bin"'
fi
printf 'name = "xktest-fw"\nbios_path_override = "%s/none.bin"\n' "$tmp" >"$tmp/nobios.cfg"
vmm "$tmp/nobios.cfg"
if [ $rc = 2 ] && printf '%s\n' "$err" | grep -q "firmware $tmp/none.bin: No such file"; then
	ok "a missing firmware image: refused with exit 2, naming the file"
else fail "a missing firmware image: exit $rc: $(printf '%s\n' "$err" | grep -v debug | tail -n 2)"; fi

# --- a disk: SeaBIOS boots its boot sector (needs the emulated IDE disk) ---------------
# The sector prints a line through int 10h (SeaBIOS's serial console) and powers off
# through ACPI; an all-zero disk boots nothing.
if [ ! -f "$root/kvm/ide.c" ]; then
	echo "  skip disk boot: this tree has no emulated IDE disk (kvm/ide.c); not counted"
elif ! printf '%s\n' '.code16' '.globl _start' '_start: cli' 'xor %ax, %ax' 'mov %ax, %ds' \
	'mov %ax, %ss' 'mov $0x7c00, %sp' 'sti' 'mov $msg, %si' '1: lodsb' 'test %al, %al' 'jz 2f' \
	'mov $0x0e, %ah' 'mov $0x0007, %bx' 'int $0x10' 'jmp 1b' '2: mov $0x604, %dx' \
	'mov $0x3400, %ax' 'out %ax, %dx' '3: hlt' 'jmp 3b' \
	'msg: .asciz "XKBOOT-OK from the boot sector\r\n"' '.org 510' '.word 0xaa55' >"$tmp/mbr.S" ||
     ! as --32 -o "$tmp/mbr.o" "$tmp/mbr.S" ||
     ! ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$tmp/mbr.bin" "$tmp/mbr.o"; then
	fail "disk boot: cannot assemble the test boot sector (binutils)"
else
	truncate -s 1M "$tmp/boot.img" "$tmp/zero.img"
	dd if="$tmp/mbr.bin" of="$tmp/boot.img" conv=notrunc status=none
	for platform in 0 1; do
		printf 'name = "xktest-fw"\nmemory = 128\nxen_platform_pci = %s\nboot = "dc"\ndisk = [ "%s,raw,xvda,rw" ]\n' \
			"$platform" "$tmp/boot.img" >"$tmp/disk.cfg"
		vmm "$tmp/disk.cfg"
		if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q 'XKBOOT-OK'; then
			ok "disk boot (xen_platform_pci=$platform): SeaBIOS ran the disk's boot sector (${secs}s)"
		else
			fail "disk boot (xen_platform_pci=$platform): exit $rc, no XKBOOT-OK"
			show_output
		fi
	done
	printf 'name = "xktest-fw"\nmemory = 128\nxen_platform_pci = 0\ndisk = [ "%s,raw,hda,rw" ]\n' \
		"$tmp/zero.img" >"$tmp/zero.cfg"
	vmm "$tmp/zero.cfg"
	if [ $rc = 6 ] && printf '%s\n' "$out" | grep -q 'No bootable device'; then
		ok "all-zero disk: 'No bootable device' and exit 6"
	else fail "all-zero disk: exit $rc"; show_output; fi
fi

# --- Linux through SeaBIOS and GRUB on the serial console (needs the IDE disk) --------
# A small image as a Xen user's would be: MBR + GRUB i386-pc core image + an ext2
# partition with the test kernel and initramfs, which reports its CPUs and powers off.
# On the Xen path the guest's Xen platform driver also unplugs the IDE disk.  GRUB reads
# the kernel and initramfs by IDE PIO, which a nested host under load makes slow
# (121 s and 228 s seen): XENKVM_BOOT_TIMEOUT (default 600 s) bounds each boot.
if [ ! -f "$root/kvm/ide.c" ]; then
	echo "  skip Linux through GRUB: this tree has no emulated IDE disk; not counted"
elif ! command -v grub-mkimage >/dev/null || [ ! -f /usr/lib/grub/i386-pc/boot.img ] ||
     ! command -v sfdisk >/dev/null || ! command -v mke2fs >/dev/null; then
	echo "  skip Linux through GRUB: grub-pc-bin, fdisk or e2fsprogs missing; not counted"
else
	need_assets
	g=$tmp/grub
	mkdir -p "$g/root/boot/grub"
	cp "$XENKVM_KERNEL" "$g/root/boot/vmlinuz"
	cp "$XENKVM_INITRD" "$g/root/boot/initrd"
	printf '%s\n' 'serial --unit=0 --speed=115200' 'terminal_input serial' 'terminal_output serial' \
		'set timeout=0' 'menuentry "xktest" {' '  echo "GRUB: loading the kernel"' \
		'  linux /boot/vmlinuz console=ttyS0 quiet xktest=smp' '  initrd /boot/initrd' '}' \
		>"$g/root/boot/grub/grub.cfg"
	if truncate -s 64M "$g/disk.img" && echo 'start=2048, type=83' | sfdisk -q "$g/disk.img" &&
	   truncate -s 63M "$g/part.img" && mke2fs -q -t ext2 -d "$g/root" "$g/part.img" &&
	   dd if="$g/part.img" of="$g/disk.img" bs=1M seek=1 conv=notrunc status=none &&
	   grub-mkimage -O i386-pc -o "$g/core.img" -p '(hd0,msdos1)/boot/grub' \
		biosdisk part_msdos ext2 normal linux serial terminal echo &&
	   dd if=/usr/lib/grub/i386-pc/boot.img of="$g/disk.img" bs=440 count=1 conv=notrunc status=none &&
	   dd if="$g/core.img" of="$g/disk.img" bs=512 seek=1 conv=notrunc status=none; then
		for platform in 0 1; do
			printf 'name = "xktest-fw"\nmemory = 256\nvcpus = 2\nxen_platform_pci = %s\ndisk = [ "%s,raw,xvda,rw" ]\n' \
				"$platform" "$g/disk.img" >"$tmp/grub.cfg"
			limit=${XENKVM_BOOT_TIMEOUT:-600} vmm "$tmp/grub.cfg"
			bad=$failed
			printf '%s\n' "$out" | grep -q 'GRUB: loading the kernel' &&
				ok "Linux via GRUB (xen_platform_pci=$platform): SeaBIOS booted GRUB on the serial console" ||
				fail "Linux via GRUB (xen_platform_pci=$platform): GRUB did not run"
			if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q '^CPUS-ONLINE=2'; then
				ok "Linux via GRUB (xen_platform_pci=$platform): the kernel saw 2 CPUs and powered off (${secs}s)"
			else fail "Linux via GRUB (xen_platform_pci=$platform): exit $rc"; fi
			if [ $platform = 1 ]; then
				printf '%s\n' "$err" | grep -q 'unplugged by the guest' &&
					ok "Linux via GRUB (Xen): the guest unplugged the emulated disk" ||
					fail "Linux via GRUB (Xen): the guest did not unplug the IDE disk"
			fi
			[ $failed = $bad ] || show_output
		done
	else
		fail "Linux via GRUB: cannot build the disk image"
	fi
fi

# --- OVMF is refused clearly ----------------------------------------------------------
printf 'name = "xktest-fw"\nfirmware = "ovmf"\n' >"$tmp/ovmf.cfg"
vmm "$tmp/ovmf.cfg"
if [ $rc = 2 ] && printf '%s\n' "$err" | grep -q 'firmware="ovmf" is not supported yet'; then
	ok "firmware=\"ovmf\": refused with exit 2 and a clear message"
else fail "firmware=\"ovmf\": exit $rc: $err"; fi

finish
}
