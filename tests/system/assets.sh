#!/usr/bin/env bash
# assets.sh: build and cache the guest kernel and initramfs the system tests boot.
#
# Everything comes from Debian packages (apt-get download, nothing else):
#   linux-image-cloud-amd64's current 6.1 cloud kernel (CONFIG_XEN_PVHVM=y) with its
#   xen-blkfront.ko, xen-netfront.ko and ACPI button.ko, the emulated-disk drivers
#   (scsi_common, scsi_mod, libata, ata_piix, sd_mod, cdrom, sr_mod), and
#   busybox-static for the initramfs.
# The initramfs /init mounts proc, sys, dev and devpts and prints
#   XENKVM-INIT-START <seconds of /proc/uptime>
# as its first line.  With xktest=NAME on the kernel command line it then runs
# /tests/NAME.sh (copied from tests/system/guest/NAME.sh), prints
# "XENKVM-TEST-END NAME rc=N" if the script returns, and powers off; without it, it
# starts a shell on the console (exit or poweroff -f ends the guest).  The modules are
# in /lib/modules/<kernel release>/ (insmod /lib/modules/$(uname -r)/xen-blkfront.ko).
#
# usage: tests/system/assets.sh [--with-6.12] [--with-disk-image]
#   --with-6.12  also fetch Debian 12's 6.12 kernel (linux-image-6.12-cloud-amd64,
#                which has the Xen guest drivers too) and its modules
#   --with-disk-image  also build (or find cached) the Debian 12 disk image of
#                tests/images/build-debian-image.sh (needs root), and take Xen's
#                /etc/xen/xlexample.hvm out of xen-utils-common (for test_disk_image)
# Prints shell assignments to eval, progress on stderr:
#   XENKVM_KERNEL XENKVM_INITRD XENKVM_BLKFRONT XENKVM_NETFRONT [XENKVM_KERNEL_612]
#   [XENKVM_DISK_IMAGE XENKVM_DISK_UUID XENKVM_XLEXAMPLE]
# Files live in ${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/assets/ (vmlinuz-6.1-cloud,
# initramfs.cpio.gz, xen-blkfront.ko, xen-netfront.ko and, with --with-6.12,
# vmlinuz-6.12-cloud are links to the current versions); a second run with the same
# package versions and guest scripts only checks the package index.
set -euo pipefail

prog=assets.sh
die() { echo "$prog: $*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
with612=0 withimage=0
for a in "$@"; do
	case $a in
	--with-6.12) with612=1 ;;
	--with-disk-image) withimage=1 ;;
	-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) die "unknown argument '$a' (try --help)" ;;
	esac
done

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/assets
mkdir -p "$cache/pkg"
exec 9>"$cache/.lock"
flock 9	# one builder at a time; the others then find everything cached

# --- package resolution: meta package -> concrete package and version ----------------
# The last answer is remembered so that the cache still works without the archive.
updated=0
apt_update() {
	[ $updated = 0 ] || return 0
	updated=1
	[ "$(id -u)" = 0 ] || return 0
	echo "$prog: apt-get update" >&2
	apt-get update -qq >/dev/null 2>&1 || true
}
# resolve_all NAME...: fills r_pkg[NAME] and r_ver[NAME].  A kernel meta package
# resolves to the image package it depends on.  Two apt-cache calls in all: without a
# binary package cache (Debian's docker images) each one parses every index (~1 s).
declare -A r_pkg r_ver
resolve_query() {
	local n p v
	while read -r n p; do r_pkg[$n]=$p; done < <(apt-cache depends "$@" 2>/dev/null | awk '
		/^[^ ]/ { cur = $1; print cur, cur; next }
		/Depends: linux-image-[0-9]/ && !seen[cur]++ { print cur, $2 }')
	while read -r p v; do
		for n in "$@"; do [ "${r_pkg[$n]:-}" = "$p" ] && r_ver[$n]=$v; done
	done < <(apt-cache policy "${r_pkg[@]}" 2>/dev/null | awk '
		/^[^ ].*:$/ { cur = substr($1, 1, length($1) - 1) }
		/Candidate:/ && $2 != "(none)" { print cur, $2 }')
	return 0
}
resolve_all() {
	local n missing=0
	[ $# -eq 0 ] || resolve_query "$@"
	for n in "$@"; do [ -n "${r_ver[$n]:-}" ] || missing=1; done
	if [ $missing = 1 ]; then apt_update; resolve_query "$@"; fi
	for n in "$@"; do
		if [ -n "${r_ver[$n]:-}" ]; then
			echo "${r_pkg[$n]} ${r_ver[$n]}" >"$cache/resolved-$n"
		elif [ -f "$cache/resolved-$n" ]; then
			read -r "r_pkg[$n]" "r_ver[$n]" <"$cache/resolved-$n"
			echo "$prog: $n: not in the package index, using cached ${r_pkg[$n]} ${r_ver[$n]}" >&2
		else
			die "cannot resolve $n (not in the package index; apt-get update?)"
		fi
	done
}

# fetch PACKAGE VERSION DIR: download and unpack into DIR/root once
fetch() {
	local pkg=$1 ver=$2 dir=$3
	[ -f "$dir/ready" ] && return 0
	echo "$prog: fetching $pkg $ver" >&2
	rm -rf "$dir"; mkdir -p "$dir/deb"
	(cd "$dir/deb" && apt-get download "$pkg=$ver" >/dev/null 2>&1) ||
		{ apt_update; (cd "$dir/deb" && apt-get download "$pkg=$ver" >/dev/null 2>&1); } ||
		die "apt-get download $pkg=$ver failed"
	dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
	rm -rf "$dir/deb"
}

# What each kernel package is cut down to besides vmlinuz; the optional ones
# are kept where the kernel has them as modules (acpi/button: the ACPI power
# button, for test_cli's trigger power).
kmods="block/xen-blkfront net/xen-netfront"
kmods_optional="acpi/button"

# Modules for the emulated disks (test_ide: ata_piix, sd and sr on the PIIX3's IDE),
# where the kernel has them as modules, in dependency order.  Kept apart from $kmods
# and their "ready" mark, so that adding them never unpacks the kernel again for a
# tree that does not know them: they are only added, from a separate unpack.
kmods_extra="scsi/scsi_common scsi/scsi_mod ata/libata ata/ata_piix scsi/sd_mod cdrom/cdrom scsi/sr_mod"

# kernel_extra PKG VER DIR: add $kmods_extra to DIR/modules once
kernel_extra() {
	local real=$1 ver=$2 dir=$3 tmp kver m f
	[ "$(cat "$dir/ready-extra" 2>/dev/null)" = "$kmods_extra" ] && return 0
	tmp=$dir.extra
	fetch "$real" "$ver" "$tmp"
	kver=$(ls "$tmp/root/lib/modules" | head -1)
	for m in $kmods_extra; do
		f=$(ls "$tmp/root/lib/modules/$kver/kernel/drivers/$m".ko* 2>/dev/null | head -1) || true
		[ -n "$f" ] || continue
		case $f in
		*.xz) xz -dc "$f" ;;
		*.zst) zstd -qdc "$f" ;;
		*) cat "$f" ;;
		esac >"$dir/modules/$kver/.$(basename "$m").ko.tmp"
		mv "$dir/modules/$kver/.$(basename "$m").ko.tmp" "$dir/modules/$kver/$(basename "$m").ko"
	done
	rm -rf "$tmp"
	printf '%s' "$kmods_extra" >"$dir/ready-extra"
}

# kernel META TAG: unpack the kernel once and keep only vmlinuz and $kmods
kernel() {
	local meta=$1 tag=$2 real=${r_pkg[$1]} ver=${r_ver[$1]} dir kver m f
	dir=$cache/pkg/${real}_$ver
	if [ "$(cat "$dir/ready" 2>/dev/null)" != "$kmods $kmods_optional" ]; then
		rm -f "$dir/ready"   # cut down to another module list: unpack again
		fetch "$real" "$ver" "$dir"
		kver=$(ls "$dir/root/lib/modules" | head -1)
		[ -n "$kver" ] && [ -f "$dir/root/boot/vmlinuz-$kver" ] || die "$real: no kernel inside"
		mkdir -p "$dir/modules/$kver"
		mv "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinuz"
		for m in $kmods $kmods_optional; do
			f=$(ls "$dir/root/lib/modules/$kver/kernel/drivers/$m".ko* 2>/dev/null | head -1) ||
				true
			case " $kmods_optional " in *" $m "*) [ -n "$f" ] || continue ;; esac
			[ -n "$f" ] || die "$real has no $m module"
			case $f in
			*.xz) xz -dc "$f" ;;
			*.zst) zstd -qdc "$f" ;;
			*) cat "$f" ;;
			esac >"$dir/modules/$kver/$(basename "$m").ko"
		done
		rm -rf "$dir/root"
		printf '%s' "$kmods $kmods_optional" >"$dir/ready"
	fi
	kernel_extra "$real" "$ver" "$dir"
	kernel_dir=$dir
	kernel_key="$kernel_key ${real}_$ver"
	ln -sfn "pkg/${real}_$ver/vmlinuz" "$cache/vmlinuz-$tag"
}

k612meta=
if [ $with612 = 1 ]; then
	k612meta=linux-image-6.12-cloud-amd64	# 6.12-amd64 if the cloud flavour ever goes
	apt-cache show "$k612meta" >/dev/null 2>&1 || k612meta=linux-image-6.12-amd64
fi
xuc=
[ $withimage = 0 ] || xuc=xen-utils-common
resolve_all linux-image-cloud-amd64 $k612meta busybox-static $xuc

kernel_key=
kernel linux-image-cloud-amd64 6.1-cloud
k61=$kernel_dir
ln -sfn "pkg/$(basename "$k61")/modules/$(ls "$k61/modules")/xen-blkfront.ko" "$cache/xen-blkfront.ko"
ln -sfn "pkg/$(basename "$k61")/modules/$(ls "$k61/modules")/xen-netfront.ko" "$cache/xen-netfront.ko"
k612=
if [ $with612 = 1 ]; then
	kernel "$k612meta" 6.12-cloud
	k612=$kernel_dir
fi

bbpkg=${r_pkg[busybox-static]} bbver=${r_ver[busybox-static]}
bbdir=$cache/pkg/${bbpkg}_$bbver
if [ ! -f "$bbdir/ready" ]; then
	fetch "$bbpkg" "$bbver" "$bbdir"
	mv "$bbdir/root/bin/busybox" "$bbdir/busybox"
	rm -rf "$bbdir/root"
	touch "$bbdir/ready"
fi

# --- the initramfs ------------------------------------------------------------------
read -r -d '' init <<'INIT' || true
#!/bin/busybox sh
# xenkvm test guest init (built by tests/system/assets.sh)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
read -r up idle </proc/uptime
echo "XENKVM-INIT-START $up"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
hostname xenkvm-guest
test=
for arg in $(cat /proc/cmdline); do
	case $arg in xktest=*) test=${arg#xktest=} ;; esac
done
if [ -n "$test" ]; then
	case $test in
	*[!A-Za-z0-9_-]*) echo "XENKVM-TEST-ERROR bad test name" ;;
	*)
		if [ -f "/tests/$test.sh" ]; then
			sh "/tests/$test.sh"
			echo "XENKVM-TEST-END $test rc=$?"
		else
			echo "XENKVM-TEST-ERROR no test $test"
		fi ;;
	esac
else
	echo "xenkvm guest shell on $(cat /sys/class/tty/console/active 2>/dev/null); exit or poweroff -f ends the guest"
	setsid cttyhack sh -l
fi
poweroff -f
INIT

key=$( {
	printf '%s\n' "$init" "$bbver" "$kernel_key" "$kmods $kmods_optional $kmods_extra"
	for f in "$here"/guest/*.sh; do [ -e "$f" ] && { basename "$f"; cat "$f"; }; done
} | sha256sum | cut -c1-16)
initrd=$cache/initramfs-$key.cpio.gz
if [ ! -f "$initrd" ]; then
	echo "$prog: building initramfs" >&2
	ird=$(mktemp -d "$cache/ird.XXXXXX")
	mkdir -p "$ird"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,tests,lib/modules}
	cp "$bbdir/busybox" "$ird/bin/busybox"
	# applet links made here, so the guest does not spend its first second on --install
	"$bbdir/busybox" --list-full | while read -r a; do
		[ -e "$ird/$a" ] || ln -s /bin/busybox "$ird/$a"
	done
	printf '%s\n' "$init" >"$ird/init"; chmod 755 "$ird/init"
	echo "PS1='\\h:\\w# '" >"$ird/etc/profile"
	echo "root:x:0:0:root:/root:/bin/sh" >"$ird/etc/passwd"
	for f in "$here"/guest/*.sh; do [ -e "$f" ] && cp "$f" "$ird/tests/"; done
	for k in "$k61" $k612; do cp -r "$k/modules/." "$ird/lib/modules/"; done
	(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$ird"
	# keep the five newest initramfs builds
	ls -t "$cache"/initramfs-*.cpio.gz 2>/dev/null | tail -n +6 | xargs -r rm -f
fi
ln -sfn "$(basename "$initrd")" "$cache/initramfs.cpio.gz"

# --- the disk image and Xen's example config ------------------------------------------
if [ $withimage = 1 ]; then
	xdir=$cache/pkg/${r_pkg[xen-utils-common]}_${r_ver[xen-utils-common]}
	if [ ! -f "$xdir/ready" ]; then
		fetch "${r_pkg[xen-utils-common]}" "${r_ver[xen-utils-common]}" "$xdir"
		[ -f "$xdir/root/etc/xen/xlexample.hvm" ] || die "xen-utils-common has no /etc/xen/xlexample.hvm"
		mv "$xdir/root/etc/xen/xlexample.hvm" "$xdir/xlexample.hvm"
		rm -rf "$xdir/root"
		touch "$xdir/ready"
	fi
	ln -sfn "pkg/$(basename "$xdir")/xlexample.hvm" "$cache/xlexample.hvm"
	image=$("$here/../images/build-debian-image.sh") || die "tests/images/build-debian-image.sh failed"
fi

kv=$(ls "$k61/modules")
printf 'XENKVM_KERNEL=%q\n' "$k61/vmlinuz"
printf 'XENKVM_INITRD=%q\n' "$initrd"
printf 'XENKVM_BLKFRONT=%q\n' "$k61/modules/$kv/xen-blkfront.ko"
printf 'XENKVM_NETFRONT=%q\n' "$k61/modules/$kv/xen-netfront.ko"
[ -z "$k612" ] || printf 'XENKVM_KERNEL_612=%q\n' "$k612/vmlinuz"
if [ $withimage = 1 ]; then
	printf '%s\n' "$image"
	printf 'XENKVM_XLEXAMPLE=%q\n' "$xdir/xlexample.hvm"
fi
