#!/usr/bin/env bash
# test_ide: the disks of a Xen HVM guest on the PIIX3's emulated IDE (issue 20).
#
# One disk (xvda, raw, read-write) and one CD-ROM (hdc, an ISO-like file) each run:
# 1. xen_emul_unplug=never: the guest's ata_piix finds the disk as sda (size, first
#    64 KiB as in the image) and configures it for bus-master DMA (MWDMA, BAR4),
#    writes 1 MiB with fsync and reads it back; after the guest powers off the 1 MiB
#    is in the image.  sr0 (PIO) reads the CD's first blocks.
# 2. The default: Linux's Xen code unplugs the emulated disks early in boot, so
#    ata_piix finds no sda, blkfront serves xvda (same first 64 KiB), and the CD-ROM,
#    which the unplug leaves alone, is still sr0.
#
# Run by tests/system/run.sh (assets, nested host); run alone it finds the assets
# itself and skips (77) when the local KVM cannot run guests.
set -uo pipefail

{
name=test_ide
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-300}
require_kvm
need_assets
[ -x "$vmm" ] || { fail "$vmm is not built"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_ide.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

val() { printf '%s\n' "$out" | sed -n "s/^$1=//p" | head -1; }

show_output() {
	echo "    --- exit status $rc; guest console (last 30 lines):"
	printf '%s\n' "$out" | tail -n 30 | sed 's/^/    | /'
	echo "    --- stderr (last 10 lines):"
	tail -n 10 "$tmp/err" | sed 's/^/    | /'
}

run_guest() {	# run_guest EXTRA-CMDLINE
	{
		echo "name = \"xktest-ide\""
		echo "kernel = \"$XENKVM_KERNEL\""
		echo "ramdisk = \"$XENKVM_INITRD\""
		echo "extra = \"console=ttyS0 xktest=ide $1\""
		echo "memory = 256"
		echo "vcpus = 1"
		echo "disk = [ 'format=raw, vdev=xvda, access=rw, target=$tmp/disk.img'," \
			"'$tmp/cd.iso,raw,hdc,cdrom' ]"
	} >"$tmp/ide.cfg"
	timeout -k 5 "$boot_limit" "$vmm" "$tmp/ide.cfg" </dev/null >"$tmp/out.raw" 2>"$tmp/err"
	rc=$?
	out=$(tr -d '\r' <"$tmp/out.raw")
}

head -c $((64 << 20)) /dev/urandom >"$tmp/disk.img"
head -c $((4 << 20)) /dev/urandom >"$tmp/cd.iso"
disk_head=$(head -c 65536 "$tmp/disk.img" | sha256sum | cut -d' ' -f1)
cd_data=$(head -c $((16 * 2048)) "$tmp/cd.iso" | sha256sum | cut -d' ' -f1)

# --- 1. no unplug: the guest runs on the emulated disk ---------------------------------
echo "  -- xen_emul_unplug=never"
bad=$failed
run_guest "xen_emul_unplug=never"
if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q '^IDE-DONE'; then
	ok "guest finished and powered off"
else
	fail "guest did not finish (exit $rc)"
fi
[ "$(val IDE-SDA-SIZE)" = $((64 << 20)) ] && ok "ata_piix: sda is the 64 MiB image" ||
	fail "sda: 67108864 bytes expected, guest saw '$(val IDE-SDA-SIZE)' (block devices: $(val IDE-BLOCK))"
# sda is ata1's master (dev1.0); libata picks the mode IDENTIFY and the PIIX3 allow.
case " $(val IDE-ATA-XFER)" in
*" dev1.0="*DMA*) ok "ata_piix runs sda with bus-master DMA ($(val IDE-ATA-XFER))" ;;
*) fail "sda not in a DMA mode (transfer modes: '$(val IDE-ATA-XFER)')" ;;
esac
[ "$(val IDE-SDA-HEAD)" = "$disk_head" ] && ok "sda: first 64 KiB read through IDE as in the image" ||
	fail "sda: first 64 KiB: guest '$(val IDE-SDA-HEAD)', image '$disk_head'"
wrote=$(val IDE-SDA-WROTE)
[ -n "$wrote" ] && [ "$(val IDE-SDA-REREAD)" = "$wrote" ] && ok "sda: 1 MiB written and read back in the guest" ||
	fail "sda: wrote '$wrote', read back '$(val IDE-SDA-REREAD)'"
img=$(dd if="$tmp/disk.img" bs=1M skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
[ -n "$wrote" ] && [ "$img" = "$wrote" ] && ok "sda: the guest's write is in the image file" ||
	fail "sda: image holds '$img', guest wrote '$wrote'"
[ "$(val IDE-SR0-SIZE)" = $((4 << 20)) ] && [ "$(val IDE-SR0-DATA)" = "$cd_data" ] &&
	ok "sr0: the CD-ROM's size and first 16 blocks as in the ISO" ||
	fail "sr0: size '$(val IDE-SR0-SIZE)', data '$(val IDE-SR0-DATA)' (expected $cd_data)"
grep -q 'unplugged by the guest' "$tmp/err" && fail "a disk was unplugged despite xen_emul_unplug=never" ||
	ok "nothing unplugged"
[ $failed = "$bad" ] || show_output

# --- 2. the default: the emulated disk is unplugged, blkfront takes it ---------------------
echo "  -- default unplug"
bad=$failed
disk_head=$(head -c 65536 "$tmp/disk.img" | sha256sum | cut -d' ' -f1)
run_guest "xkide_pv=1"
if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q '^IDE-DONE'; then
	ok "guest finished and powered off"
else
	fail "guest did not finish (exit $rc)"
fi
grep -q 'disk at primary master unplugged by the guest' "$tmp/err" && ok "the guest unplugged the IDE disk" ||
	fail "no unplug reported"
blocks=" $(val IDE-BLOCK)"
case $blocks in *" sda "*) fail "sda still there after the unplug ($blocks)" ;;
*) ok "no sda after the unplug" ;; esac
[ "$(val IDE-XVDA-HEAD)" = "$disk_head" ] && ok "xvda (blkfront) reads the same image" ||
	fail "xvda: '$(val IDE-XVDA-HEAD)', expected $disk_head (block devices:$blocks)"
[ "$(val IDE-SR0-DATA)" = "$cd_data" ] && ok "sr0: the CD-ROM stays on IDE" ||
	fail "sr0 after the unplug: '$(val IDE-SR0-DATA)' (block devices:$blocks)"
[ $failed = "$bad" ] || show_output

finish
exit
}
