#!/usr/bin/env bash
# bench/boot: time from process start to the guest's first line from init,
# and to the process exiting after the guest powers off, for xenkvmd and for
# Debian's qemu-system-x86_64 -enable-kvm booting the same kernel and
# initramfs with the same command line, alternating, in the same host.
# xenkvmd runs twice per round: as a plain PC (xen_platform_pci=0, the same
# guest QEMU gets) and with the Xen personality (the guest boots as a Xen HVM
# guest: more work, and every hypercall is an exit), then a third time as a
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
# usage: bench/boot/run.sh [-d] [-n RUNS] [-c VCPUS] [-m MIB]
# Prints one line per run and a summary with medians and xenkvmd/QEMU ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=3 vcpus= mem= disk=0
while getopts "n:c:m:d" o; do
	case $o in
	n) runs=$OPTARG ;; c) vcpus=$OPTARG ;; m) mem=$OPTARG ;; d) disk=1 ;;
	*) sed -n '2,27p' "$0"; exit 2 ;;
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
vcpus=${vcpus:-1} mem=${mem:-256}

append="console=ttyS0 quiet xktest=poweroff"
marker=XENKVM-INIT-START
cfg=$(mktemp /tmp/bench-boot.XXXXXX.cfg)
trap 'rm -f "$cfg"' EXIT
cat >"$cfg" <<CFG
name = "bench-boot"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "$append"
memory = $mem
vcpus = $vcpus
CFG

timer=$BUILD/bench/boot-timer
xk_init=() xk_off=() xx_init=() xx_off=() xp_init=() xp_off=() q_init=() q_off=()
echo "bench/boot: $runs runs each, $vcpus vCPU, $mem MiB, kernel $(basename "$(readlink -f "$XENKVM_KERNEL")")"
for i in $(seq 1 "$runs"); do
	read -r m e s < <("$timer" "$marker" "$BUILD/xenkvmd" -q "$cfg" xen_platform_pci=0 2>/dev/null |
		tr '=' ' ' | awk '{print $2, $4, $6}')
	echo "  run $i xenkvmd:     init ${m}s poweroff ${e}s status $s"
	[ "$s" = 0 ] || { echo "bench/boot: xenkvmd run failed (status $s)" >&2; exit 1; }
	xk_init+=("$m") xk_off+=("$e")
	read -r m e s < <("$timer" "$marker" "$BUILD/xenkvmd" -q "$cfg" 2>/dev/null | tr '=' ' ' | awk '{print $2, $4, $6}')
	echo "  run $i xenkvmd Xen: init ${m}s poweroff ${e}s status $s"
	[ "$s" = 0 ] || { echo "bench/boot: xenkvmd (Xen) run failed (status $s)" >&2; exit 1; }
	xx_init+=("$m") xx_off+=("$e")
	read -r m e s < <("$timer" "$marker" "$BUILD/xenkvmd" -q "$cfg" 'type="pvh"' \
		"extra=\"${append/console=ttyS0/console=hvc0}\"" 2>/dev/null | tr '=' ' ' | awk '{print $2, $4, $6}')
	echo "  run $i xenkvmd PVH: init ${m}s poweroff ${e}s status $s"
	[ "$s" = 0 ] || { echo "bench/boot: xenkvmd (PVH) run failed (status $s)" >&2; exit 1; }
	xp_init+=("$m") xp_off+=("$e")
	read -r m e s < <("$timer" "$marker" qemu-system-x86_64 -enable-kvm -cpu host -m "$mem" -smp "$vcpus" \
		-nodefaults -nographic -no-reboot -serial stdio \
		-kernel "$XENKVM_KERNEL" -initrd "$XENKVM_INITRD" -append "$append" 2>/dev/null |
		tr '=' ' ' | awk '{print $2, $4, $6}')
	echo "  run $i qemu:        init ${m}s poweroff ${e}s status $s"
	[ "$s" = 0 ] || { echo "bench/boot: qemu run failed (status $s)" >&2; exit 1; }
	q_init+=("$m") q_off+=("$e")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
xi=$(median "${xk_init[@]}") xo=$(median "${xk_off[@]}") qi=$(median "${q_init[@]}") qo=$(median "${q_off[@]}")
yi=$(median "${xx_init[@]}") yo=$(median "${xx_off[@]}")
pi=$(median "${xp_init[@]}") po=$(median "${xp_off[@]}")
awk -v xi="$xi" -v xo="$xo" -v yi="$yi" -v yo="$yo" -v qi="$qi" -v qo="$qo" -v pi="$pi" -v po="$po" 'BEGIN {
	printf "bench/boot (median)     xenkvmd   xenkvmd Xen   qemu-kvm   ratios to qemu\n"
	printf "  start -> init line    %6.2f s   %6.2f s    %6.2f s   %.2f  %.2f\n", xi, yi, qi, xi / qi, yi / qi
	printf "  start -> exit         %6.2f s   %6.2f s    %6.2f s   %.2f  %.2f   (target <= 0.50)\n", xo, yo, qo, xo / qo, yo / qo
	printf "  PVH (xenkvmd)         init %6.2f s (%.2f of qemu, %.2f of Xen HVM), exit %6.2f s (%.2f of qemu, %.2f of Xen HVM; target <= 0.80)\n", pi, pi / qi, pi / yi, po, po / qo, po / yo
}'
