#!/usr/bin/env bash
# bench/boot: time from process start to the guest's first line from init,
# and to the process exiting after the guest powers off, for xenkvmd and for
# Debian's qemu-system-x86_64 -enable-kvm booting the same kernel and
# initramfs with the same command line, alternating, in the same host.
# xenkvmd runs three times per round: as a plain PC (xen_platform_pci=0, the
# same guest QEMU gets), with the Xen personality (the guest boots as a Xen HVM
# guest: more work, and the hypercalls KVM does not take are exits), and as a
# PVH domain (type="pvh": the kernel's Xen PVH entry, no emulated devices,
# console on hvc0), which should take at most 0.8x the Xen HVM boot.
# Runs inside the nested host (tests/nested/l1-run) when the local /dev/kvm
# cannot run guests at hardware speed.
#
# -d: the disk-image case instead.  Both sides boot the same Debian 12 disk image
# (tests/images/build-debian-image.sh) through SeaBIOS and GRUB: xenkvmd with Xen's
# own xlexample.hvm (only its disk path changed; memory=MIB, default 512, and its
# vcpus=2 unless -c), QEMU as a KVM user runs that image (-M pc, SeaBIOS,
# virtio-blk, virtio-net on user networking, serial on stdio; Debian's cloud kernel
# has no e1000).  Measured: process start to the first line from a systemd unit
# (XENKVM-BOOT-MARK) and to the process's exit (xenkvm.poweroff on the kernel
# command line: the guest powers off once booted).  Every run boots a fresh copy of
# the image; the sides run in pairs, order alternating (bench/pairs.sh), and the
# summary gives the per-pair xenkvmd/QEMU ratios and their median (target <= 0.8).
# BENCH_SIDES="qemu" runs the QEMU side only.
#
# Without -d, the rounds are pairs too (bench/pairs.sh): each round boots xenkvmd
# three ways and QEMU once, the order of the two sides alternating; -c takes a list
# ("1 2 4") and each count gets its own pairs and summary.
#
# usage: bench/boot/run.sh [-d] [-n PAIRS] [-c "VCPUS..."] [-m MIB]
# Prints one line per run and a summary with medians and xenkvmd/QEMU ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=3 vcpus= mem= disk=0
while getopts "n:c:m:d" o; do
	case $o in
	n) runs=$OPTARG ;; c) vcpus=$OPTARG ;; m) mem=$OPTARG ;; d) disk=1 ;;
	*) sed -n '2,32p' "$0"; exit 2 ;;
	esac
done
BUILD=${BUILD:-build}
args=(-n "$runs")
[ -z "$vcpus" ] || args+=(-c "$vcpus")
[ -z "$mem" ] || args+=(-m "$mem")
[ $disk = 0 ] || args+=(-d)

if [ -z "${L1_RUN:-}" ]; then
	make -s BUILD="$BUILD" all "$BUILD/bench/boot-timer" "$BUILD/kvm-probe"
	if [ $disk = 1 ]; then eval "$(tests/system/assets.sh --with-disk-image)"
	else eval "$(tests/system/assets.sh)"; fi
	if ! "$BUILD/kvm-probe" >/dev/null 2>&1; then
		echo "bench/boot: local KVM cannot run guests at hardware speed; running in the nested host" >&2
		exec tests/nested/l1-run -t 3600 -e XENKVM_KERNEL="$XENKVM_KERNEL" -e XENKVM_INITRD="$XENKVM_INITRD" \
			-e XENKVM_DISK_IMAGE="${XENKVM_DISK_IMAGE:-}" -e XENKVM_XLEXAMPLE="${XENKVM_XLEXAMPLE:-}" \
			-e BENCH_SIDES="${BENCH_SIDES:-xenkvmd qemu}" \
			-- env BUILD="$BUILD" bench/boot/run.sh "${args[@]}"
	fi
fi
command -v qemu-system-x86_64 >/dev/null || { echo "bench/boot: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 1; }
timer=$BUILD/bench/boot-timer

if [ $disk = 1 ]; then
	: "${XENKVM_DISK_IMAGE:?}" "${XENKVM_XLEXAMPLE:?}"
	. tests/images/image-lib.sh
	. bench/pairs.sh
	mem=${mem:-512}
	vcpus=${vcpus:-$(sed -n 's/^vcpus *= *\([0-9]*\).*/\1/p' "$XENKVM_XLEXAMPLE")}
	tmp=$(mktemp -d "${BENCH_DIR:-/dev/shm}/bench-boot.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# One prepared copy (GRUB's env asks for the power-off), copied afresh per run,
	# so that every boot starts from the same disk.
	cp --sparse=always "$XENKVM_DISK_IMAGE" "$tmp/master.img"
	image_grubenv "$tmp/master.img" set xenkvm_extra=xenkvm.poweroff
	sed "s|^disk = \[ '/dev/vg/guest-volume,|disk = [ '$tmp/disk.img,|" "$XENKVM_XLEXAMPLE" >"$tmp/xl.cfg"
	grep -q "^disk = \[ '$tmp/disk.img," "$tmp/xl.cfg" || { echo "bench/boot: unexpected xlexample.hvm disk line" >&2; exit 1; }
	tmo=${BENCH_BOOT_TIMEOUT:-900}
	# run SIDE: prints "mark SECONDS off SECONDS"
	run() {
		local r m e s
		cp --sparse=always "$tmp/master.img" "$tmp/disk.img"
		if [ "$1" = xenkvmd ]; then
			r=$(timeout -k 5 "$tmo" "$timer" XENKVM-BOOT-MARK "$BUILD/xenkvmd" -q "$tmp/xl.cfg" \
				memory="$mem" vcpus="$vcpus" </dev/null 2>"$tmp/err")
		else
			r=$(timeout -k 5 "$tmo" "$timer" XENKVM-BOOT-MARK qemu-system-x86_64 -M pc -accel kvm \
				-cpu host -m "$mem" -smp "$vcpus" -nodefaults -nographic -no-reboot -serial stdio \
				-drive "file=$tmp/disk.img,format=raw,if=virtio" \
				-netdev user,id=n0 -device virtio-net-pci,netdev=n0 </dev/null 2>"$tmp/err")
		fi
		read -r m e s < <(printf '%s\n' "$r" | tr '=' ' ' | awk '{ print $2, $4, $6 }')
		if [ "${s:-x}" != 0 ] || [ "${m:--1}" = -1.000 ]; then
			echo "bench/boot: $1: marker ${m:-?}s status ${s:-timeout}: $(tail -3 "$tmp/err" | tr '\n' ' ')" >&2
			return 1
		fi
		echo "mark $m off $e"
	}
	echo "bench/boot -d: $runs pairs, $vcpus vCPU, $mem MiB, $(basename "$XENKVM_DISK_IMAGE"):" \
	     "start -> XENKVM-BOOT-MARK (mark) and -> exit after the guest's poweroff (off)"
	bench_pairs "$runs" seconds qemu-virtio mark off || exit 1
	exit 0
fi

: "${XENKVM_KERNEL:?}" "${XENKVM_INITRD:?}"
. bench/pairs.sh
mem=${mem:-256}
append="console=ttyS0 quiet xktest=poweroff"
marker=XENKVM-INIT-START
tmp=$(mktemp -d /tmp/bench-boot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
timer=$BUILD/bench/boot-timer

# one MODE: "init SECONDS off SECONDS" of one xenkvmd boot (plain PC, Xen HVM, PVH)
one() {
	local r m e s
	case $1 in
	plain) r=$("$timer" "$marker" "$BUILD/xenkvmd" -q "$cfg" xen_platform_pci=0 </dev/null 2>/dev/null) ;;
	xen) r=$("$timer" "$marker" "$BUILD/xenkvmd" -q "$cfg" </dev/null 2>/dev/null) ;;
	pvh) r=$("$timer" "$marker" "$BUILD/xenkvmd" -q "$cfg" 'type="pvh"' \
		"extra=\"${append/console=ttyS0/console=hvc0}\"" </dev/null 2>/dev/null) ;;
	esac
	read -r m e s < <(printf '%s\n' "$r" | tr '=' ' ' | awk '{ print $2, $4, $6 }')
	[ "${s:-x}" = 0 ] || { echo "bench/boot: xenkvmd ($1) status ${s:-?}" >&2; return 1; }
	echo "$m $e"
}
# run SIDE (for bench_pairs).  The xenkvmd side boots the three ways back to back;
# QEMU's one boot stands against each, so every test name has both sides.  The PVH
# run's ratio to the Xen HVM run of the same round goes to $tmp/pvh.
run() {
	local p x v m e
	if [ "$1" = xenkvmd ]; then
		p=$(one plain) && x=$(one xen) && v=$(one pvh) || return 1
		awk -v x="$x" -v v="$v" 'BEGIN { split(x, a, " "); split(v, b, " ");
			printf "%.3f %.3f\n", b[1] / a[1], b[2] / a[2] }' >>"$tmp/pvh"
		set -- $p $x $v
		echo "pc-init $1 pc-off $2 xen-init $3 xen-off $4 pvh-init $5 pvh-off $6"
	else
		read -r m e s < <("$timer" "$marker" qemu-system-x86_64 -enable-kvm -cpu host -m "$mem" -smp "$vcpus" \
			-nodefaults -nographic -no-reboot -serial stdio \
			-kernel "$XENKVM_KERNEL" -initrd "$XENKVM_INITRD" -append "$append" </dev/null 2>/dev/null |
			tr '=' ' ' | awk '{print $2, $4, $6}')
		[ "${s:-x}" = 0 ] || { echo "bench/boot: qemu status ${s:-?}" >&2; return 1; }
		echo "pc-init $m pc-off $e xen-init $m xen-off $e pvh-init $m pvh-off $e"
	fi
}

for vcpus in ${vcpus:-1}; do
	cfg=$tmp/boot-$vcpus.cfg
	cat >"$cfg" <<CFG
name = "bench-boot"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "$append"
memory = $mem
vcpus = $vcpus
CFG
	: >"$tmp/pvh"
	echo "bench/boot: $runs pairs, $vcpus vCPU, $mem MiB, kernel $(basename "$(readlink -f "$XENKVM_KERNEL")");" \
	     "xenkvmd as a plain PC (pc-*), as a Xen HVM guest (xen-*) and as PVH (pvh-*), each against the same QEMU boot;" \
	     "init = start -> first line from init, off = start -> exit after poweroff (target for xen-off <= 0.50)"
	bench_pairs "$runs" seconds qemu-kvm pc-init pc-off xen-init xen-off pvh-init pvh-off || exit 1
	if [ -s "$tmp/pvh" ]; then
		echo "  PVH / Xen HVM of the same round (target <= 0.80): init $(cut -d' ' -f1 "$tmp/pvh" | tr '\n' ' ')median" \
		     "$(bench_median $(cut -d' ' -f1 "$tmp/pvh")); off $(cut -d' ' -f2 "$tmp/pvh" | tr '\n' ' ')median" \
		     "$(bench_median $(cut -d' ' -f2 "$tmp/pvh"))"
	fi
done
