#!/usr/bin/env bash
# install-deps.sh: install what building and testing xenkvm needs on Debian 12.
#
# Quiet and idempotent: when everything is installed already it does not touch apt.
# Needs root (or sudo).  Extra package names on the command line are added to the list.
#
# usage: scripts/install-deps.sh [PACKAGE...]
set -euo pipefail

pkgs=(
	build-essential		# gcc, make, libc headers
	clang			# CC=clang builds and the libFuzzer harnesses
	libclang-rt-14-dev	# clang's sanitizer and libFuzzer runtimes
	libcunit1-dev		# unit tests
	libxen-dev		# Xen public headers (ABI structs), libxlutil for config cross-checks
	xenstore-utils		# real libxenstore clients for the xenstore tests
	liburing-dev		# block backend
	libslirp-dev		# user-mode networking
	libseccomp-dev		# xenkvmd's per-thread syscall filters (userspace/sandbox.c)
	liblz4-dev libzstd-dev zlib1g-dev liblzma-dev	# unpacking bzImages on the host
	iproute2		# tap test: network namespace, bridge (ip)
	acpica-tools		# iasl/acpiexec cross-checks of the ACPI tables
	e2fsprogs		# mke2fs for test disk images; debugfs/e2fsck read them back
	mmdebstrap		# tests/images/build-debian-image.sh: the Debian 12 root file system
	grub-pc-bin		# ... its BIOS boot code (grub-mkimage, boot.img; grub-editenv)
	fdisk			# ... its partition table (sfdisk)
	python3
	seabios			# the firmware guests without kernel= boot through (bios-256k.bin)
	grub-pc-bin fdisk	# test_firmware: a GRUB i386-pc boot disk (grub-mkimage, boot.img, sfdisk)
	qemu-system-x86		# the nested test host (tests/nested/l1-run)
	busybox-static		# initramfs of the nested host and of the test guests
	cpio xz-utils		# building initramfs images, unpacking kernel modules
	kmod openssl		# kernel-module tests (modinfo, signing keys)
	help2man man-db		# manual pages from --help (make man), checked with man
	debhelper dh-dkms dpkg-dev fakeroot lintian	# make check-package
	"$@"
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: needs root to install: ${missing[*]}" >&2; exit 1; }
	sudo=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" >/dev/null
