#!/usr/bin/env bash
# build-debian-image.sh: a Debian 12 raw disk image that boots through BIOS firmware,
# as a Xen user's HVM guest image does: MBR, GRUB i386-pc, one ext4 partition.
#
# Everything comes from Debian's archive: mmdebstrap (bookworm, minbase plus systemd,
# udev, iproute2, linux-image-cloud-amd64 with its stock initramfs-tools initramfs,
# MODULES=list: xen-blkfront, ata_piix + sd_mod, virtio_blk, ext4), and the
# host's grub-pc-bin for the boot code.  No loop devices and no mounts: the ext4 file
# system is made from the root directory with `mkfs.ext4 -d` as a file of its own and
# copied into the disk file at the partition's offset; boot.img goes into the MBR's
# first 440 bytes, core.img (grub-mkimage) into the gap after it.
#
# The guest (a test image, not for anything else):
#   - disk: MBR, partition 1 from 1 MiB to the end, ext4, label xkroot; / is mounted by
#     UUID (kernel command line and fstab), so the same image boots from xvda1
#     (blkfront), sda1 (ata_piix) or vda1 (virtio-blk);
#   - GRUB on the serial console (ttyS0, 115200), no menu delay; it prints
#     "XENKVM-GRUB extra=<...>" and boots the kernel with
#     root=UUID=... ro console=ttyS0,115200 quiet $xenkvm_extra
#     where xenkvm_extra comes from /boot/grub/grubenv (set it in a copy of the image
#     with tests/images/grubenv.sh, e.g. xenkvm_extra=xen_emul_unplug=never).  GRUB
#     also copies grubenv's xenkvm_nonce to xenkvm_seen with save_env: a disk write
#     through the firmware, before the kernel runs;
#   - root logs in automatically on ttyS0 (serial-getty --autologin root; no
#     password: the root account stays locked for everything else);
#   - systemd-networkd: DHCP on every en* and eth* interface;
#   - xenkvm-boot-mark.service prints "XENKVM-BOOT-MARK <uptime>" on ttyS0 early in
#     boot (bench/boot's marker); with xenkvm.poweroff on the kernel command line
#     (xenkvm_extra), xenkvm-poweroff.service powers the guest off once it is booted.
#
# The image is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/images/, keyed by
# the versions of the packages that make it (and this script): debian12-KEY.img, with
# debian12-KEY.manifest (the packages inside) and debian12-KEY.uuid (the root file
# system's UUID) next to it; debian12.img links to the newest.  A second run with the
# same versions only checks the package index.  Needs root (mmdebstrap's root mode),
# mmdebstrap, grub-pc-bin, e2fsprogs and fdisk (scripts/install-deps.sh).
#
# usage: tests/images/build-debian-image.sh [--size MIB] [--force]
# env:   XENKVM_DEBIAN_MIRROR  (default http://deb.debian.org/debian)
#        XENKVM_DEBIAN_SECURITY (default http://deb.debian.org/debian-security; "none"
#                                leaves it out)
# Prints XENKVM_DISK_IMAGE=<path> and XENKVM_DISK_UUID=<uuid> (to eval) on stdout,
# progress on stderr.
set -euo pipefail

prog=build-debian-image.sh
die() { echo "$prog: $*" >&2; exit 1; }
size_mib=1536 force=0
while [ $# -gt 0 ]; do
	case $1 in
	--size) [[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 512 ] || die "--size wants MiB >= 512"
		size_mib=$2; shift ;;
	--force) force=1 ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap builds the root file system in root mode)"
for t in mmdebstrap mkfs.ext4 sfdisk grub-mkimage debugfs; do
	command -v "$t" >/dev/null || die "$t missing (scripts/install-deps.sh installs it)"
done
grubdir=/usr/lib/grub/i386-pc
[ -f "$grubdir/boot.img" ] && [ -f "$grubdir/diskboot.img" ] || die "$grubdir missing (apt-get install grub-pc-bin)"

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/images
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9	# one builder at a time; the others then find the image cached

mirror=${XENKVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${XENKVM_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
sources=("deb $mirror bookworm main" "deb $mirror bookworm-updates main")
[ "$security" = none ] || sources+=("deb $security bookworm-security main")
packages=(systemd-sysv udev dbus iproute2 kmod e2fsprogs initramfs-tools zstd linux-image-cloud-amd64)

# --- the cache key: the candidate versions of what goes in, the host's GRUB, and this
# script.  The host's apt index stands for the mirror's (both are bookworm's); the
# last answer is remembered so that a cached image is still found without the archive.
versions() {
	local kimg
	kimg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$kimg" ] || return 1
	apt-cache policy "${packages[@]}" "$kimg" 2>/dev/null | awk '
		/^[^ ].*:$/ { cur = substr($1, 1, length($1) - 1) }
		/Candidate:/ { if ($2 == "(none)") bad = 1; print cur, $2 }
		END { exit bad }'
	dpkg-query -W -f='${Package} ${Version}\n' grub-pc-bin
}
if ! vers=$(versions) || [ -z "$vers" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	vers=$(versions) || vers=
fi
if [ -n "$vers" ]; then
	printf '%s\n' "$vers" >"$cache/versions.last"
elif [ -f "$cache/versions.last" ]; then
	echo "$prog: package versions unknown (no archive?); using the last ones" >&2
	vers=$(cat "$cache/versions.last")
else
	die "cannot resolve the package versions (apt-get update?)"
fi
key=$( { printf '%s\n' "$vers" "size=$size_mib" "${sources[@]}"; cat "$0"; } | sha256sum | cut -c1-16)
img=$cache/debian12-$key.img
if [ $force = 0 ] && [ -f "$img" ] && [ -f "$cache/debian12-$key.uuid" ]; then
	ln -sfn "$(basename "$img")" "$cache/debian12.img"
	printf 'XENKVM_DISK_IMAGE=%q\nXENKVM_DISK_UUID=%q\n' "$img" "$(cat "$cache/debian12-$key.uuid")"
	exit 0
fi

t0=$(date +%s)
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/root
uuid=$(cat /proc/sys/kernel/random/uuid)
label=xkroot

# --- the root file system ---------------------------------------------------------
# Files written by the customize hook below; kept as here-documents so that the cache
# key (this script) covers them.
mkdir -p "$work/files"
# The initramfs takes only what finds / on the disks the tests and the bench give it
# (MODULES=list and their dependencies): the firmware reads it through the emulated
# disk, sector by sector, so its size is boot time.  MODULES=most would be 13 MB.
cat >"$work/files/modules" <<'EOF'
xen-blkfront
ata_piix
sd_mod
virtio_pci
virtio_blk
ext4
crc32c_generic
EOF
cat >"$work/files/fstab" <<EOF
# built by xenkvm's tests/images/build-debian-image.sh: by UUID, so any disk name works
UUID=$uuid	/	ext4	errors=remount-ro	0	1
EOF
cat >"$work/files/dhcp.network" <<'EOF'
# any NIC: xen-netfront's eth0, virtio-net's ens3/enp0s3
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF
cat >"$work/files/autologin.conf" <<'EOF'
# test image: root logs in on the serial console without a password
[Service]
ExecStart=
ExecStart=-/sbin/agetty -o '-p -f -- \\u' --keep-baud --autologin root 115200,57600,38400,9600 - $TERM
EOF
cat >"$work/files/xenkvm-boot-mark.service" <<'EOF'
# bench/boot's marker: the guest's first line from a systemd unit, as early as local
# file systems are up
[Unit]
Description=xenkvm boot marker on ttyS0
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'read -r up _ </proc/uptime; echo "XENKVM-BOOT-MARK $up" >/dev/ttyS0'

[Install]
WantedBy=sysinit.target
EOF
cat >"$work/files/xenkvm-poweroff.service" <<'EOF'
# bench/boot: with xenkvm.poweroff on the kernel command line, the guest powers
# itself off once booted, so a run ends cleanly by itself
[Unit]
Description=xenkvm: power off once booted (xenkvm.poweroff)
ConditionKernelCommandLine=xenkvm.poweroff
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/systemctl --no-block poweroff

[Install]
WantedBy=multi-user.target
EOF
cat >"$work/files/grub.cfg" <<EOF
# built by xenkvm's tests/images/build-debian-image.sh
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
set timeout_style=hidden
set xenkvm_extra=
load_env
# A write through the firmware's disk, before the kernel: the test compares it.
if [ -n "\$xenkvm_nonce" ]; then
	set xenkvm_seen="\$xenkvm_nonce"
	save_env xenkvm_seen
fi
echo "XENKVM-GRUB extra=\$xenkvm_extra"
menuentry "Debian 12 (xenkvm test image)" {
	search --no-floppy --fs-uuid --set=root $uuid
	linux /vmlinuz root=UUID=$uuid ro console=ttyS0,115200 quiet \$xenkvm_extra
	initrd /initrd.img
}
EOF

echo "$prog: mmdebstrap bookworm (minbase + ${packages[*]})" >&2
mmdebstrap --mode=root --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; echo MODULES=list >"$1/etc/initramfs-tools/conf.d/xenkvm"' \
	--essential-hook="copy-in $work/files/modules /etc/initramfs-tools" \
	--customize-hook="copy-in $work/files/fstab /etc" \
	--customize-hook='mkdir -p "$1/etc/systemd/network" "$1/etc/systemd/system/serial-getty@ttyS0.service.d"' \
	--customize-hook="copy-in $work/files/dhcp.network /etc/systemd/network" \
	--customize-hook="copy-in $work/files/autologin.conf /etc/systemd/system/serial-getty@ttyS0.service.d" \
	--customize-hook="copy-in $work/files/xenkvm-boot-mark.service $work/files/xenkvm-poweroff.service /etc/systemd/system" \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd xenkvm-boot-mark.service xenkvm-poweroff.service' \
	--customize-hook='chroot "$1" systemctl mask systemd-firstboot.service' \
	--customize-hook='echo xenkvm-guest >"$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 xenkvm-guest\n" >"$1/etc/hosts"' \
	--customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" >"$1/.manifest"' \
	bookworm "$rootfs" "${sources[@]}" >&2 || die "mmdebstrap failed"
mv "$rootfs/.manifest" "$work/manifest"
# What systemd-update-done writes: /etc and /var are up to date with /usr.  Without
# it every boot of a fresh copy would count as "after an update" and run the
# ConditionNeedsUpdate= units (hwdb, journal catalog, ld.so.cache) first.
for d in etc var; do
	printf '# xenkvm test image: see systemd-update-done.service(8)\nTIMESTAMP_NSEC=%s\n' \
		"$(stat -c %.9Y "$rootfs/usr" | tr -d .)" >"$rootfs/$d/.updated"
	touch "$rootfs/$d/.updated"	# newer than /usr
done
# A machine id of its own (mmdebstrap's cleanup empties it): an empty one would make
# every boot a first boot.
tr -d - </proc/sys/kernel/random/uuid >"$rootfs/etc/machine-id"

# The kernel and initramfs, as Debian's /vmlinuz and /initrd.img links name them.
kver=$(ls "$rootfs/lib/modules" | head -1)
[ -n "$kver" ] && [ -f "$rootfs/boot/vmlinuz-$kver" ] || die "no kernel in the image"
[ -f "$rootfs/boot/initrd.img-$kver" ] || die "no initramfs for $kver in the image"
[ -e "$rootfs/vmlinuz" ] || ln -s "boot/vmlinuz-$kver" "$rootfs/vmlinuz"
[ -e "$rootfs/initrd.img" ] || ln -s "boot/initrd.img-$kver" "$rootfs/initrd.img"
# The initramfs must find / on each of the disks the tests and the bench use.
mods=$(chroot "$rootfs" lsinitramfs "/boot/initrd.img-$kver" 2>/dev/null || true)
builtin=$(cat "$rootfs/lib/modules/$kver/modules.builtin" 2>/dev/null || true)
for m in xen-blkfront ata_piix sd_mod virtio_blk ext4; do
	printf '%s\n%s\n' "$mods" "$builtin" | grep -q "/$m\.ko" ||
		die "the initramfs of $kver has no $m (and the kernel does not build it in)"
done

# GRUB: its modules and config in /boot/grub, the env block (exactly 1024 bytes, as
# grub-editenv makes it: save_env rewrites it in place).
mkdir -p "$rootfs/boot/grub/i386-pc"
cp "$grubdir"/*.mod "$grubdir"/*.lst "$rootfs/boot/grub/i386-pc/"
cp "$work/files/grub.cfg" "$rootfs/boot/grub/grub.cfg"
grub-editenv "$rootfs/boot/grub/grubenv" create

# --- the disk: MBR, partition 1 from 1 MiB ----------------------------------------
part_start=2048	# sectors; the gap before it holds core.img
disk=$work/disk.img
truncate -s "${size_mib}M" "$disk"
echo "label: dos
start=$part_start, type=83, bootable" | sfdisk -q "$disk" >/dev/null || die "sfdisk failed"
part_sectors=$(sfdisk -d "$disk" | awk -F'size=' '/^.*1 :/ { split($2, a, ","); print a[1] + 0 }')
[ "${part_sectors:-0}" -gt 0 ] || die "cannot read back the partition size"

echo "$prog: mkfs.ext4 -d ($((part_sectors / 2048)) MiB)" >&2
fs=$work/fs.img
truncate -s $((part_sectors * 512)) "$fs"
mkfs.ext4 -q -F -L "$label" -U "$uuid" -d "$rootfs" "$fs" || die "mkfs.ext4 -d failed"
dd if="$fs" of="$disk" bs=1M seek=$((part_start / 2048)) conv=notrunc,sparse status=none
rm -f "$fs"

# --- GRUB's boot code, without grub-install ------------------------------------------
# core.img = diskboot.img (one sector) + the compressed kernel with the modules that
# reach /boot/grub on partition 1; written from sector 1.  diskboot.img's blocklist
# (its last 12 bytes: start LBA u64, sector count u16, segment u16) is filled by
# grub-mkimage as "start 2, the rest of core.img", which is where it lies here.
core=$work/core.img
grub-mkimage -O i386-pc -d "$grubdir" -o "$core" -p '(hd0,msdos1)/boot/grub' \
	biosdisk part_msdos ext2 search search_fs_uuid normal serial terminal configfile \
	loadenv linux echo test boot || die "grub-mkimage failed"
core_sectors=$(( ($(stat -c %s "$core") + 511) / 512 ))
[ $core_sectors -lt $part_start ] || die "core.img ($core_sectors sectors) does not fit before the partition"
le() { od -An -j "$2" -N "$3" -t u"$3" "$1" | tr -d ' '; }	# le FILE OFFSET BYTES
[ "$(le "$core" 500 8)" = 2 ] && [ "$(le "$core" 508 2)" = $((core_sectors - 1)) ] ||
	die "core.img's blocklist is not 'sector 2, $((core_sectors - 1)) sectors' (grub-mkimage changed?)"
dd if="$core" of="$disk" bs=512 seek=1 conv=notrunc status=none
# boot.img: 0x5c holds core.img's LBA (1, its default), 0x66 the jump over the
# "is the boot drive a hard disk" check: two NOPs make it trust DL=0x80 as
# grub-bios-setup does for hard disks.  Only the first 440 bytes: the partition
# table and the signature stay.
boot=$work/boot.img
cp "$grubdir/boot.img" "$boot"
[ "$(le "$boot" 92 8)" = 1 ] || die "boot.img's kernel sector is not 1 (grub changed?)"
printf '\x90\x90' | dd of="$boot" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$boot" of="$disk" bs=440 count=1 conv=notrunc status=none

# --- check and keep -----------------------------------------------------------------
debugfs -R 'stat /boot/grub/grubenv' "$disk?offset=$((part_start * 512))" >/dev/null 2>&1 ||
	die "debugfs cannot read the partition inside the disk image"
mv "$work/manifest" "$cache/debian12-$key.manifest"
echo "$uuid" >"$cache/debian12-$key.uuid"
mv "$disk" "$img"
ln -sfn "$(basename "$img")" "$cache/debian12.img"
# keep the two newest images
ls -t "$cache"/debian12-*.img 2>/dev/null | tail -n +3 | while read -r old; do
	rm -f "$old" "${old%.img}.uuid" "${old%.img}.manifest"
done
echo "$prog: built $img ($(du -m "$img" | cut -f1) MiB used of ${size_mib} MiB) in $(($(date +%s) - t0))s" >&2
printf 'XENKVM_DISK_IMAGE=%q\nXENKVM_DISK_UUID=%q\n' "$img" "$uuid"
