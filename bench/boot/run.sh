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
# usage: bench/boot/run.sh [-n RUNS] [-c VCPUS] [-m MIB]
# Prints one line per run and a summary with medians and xenkvmd/QEMU ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=3 vcpus=1 mem=256
while getopts "n:c:m:" o; do
	case $o in
	n) runs=$OPTARG ;; c) vcpus=$OPTARG ;; m) mem=$OPTARG ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
done
BUILD=${BUILD:-build}

if [ -z "${L1_RUN:-}" ]; then
	make -s BUILD="$BUILD" all "$BUILD/bench/boot-timer"
	eval "$(tests/system/assets.sh)"
	if ! "$BUILD/kvm-probe" >/dev/null 2>&1; then
		echo "bench/boot: local KVM cannot run guests at hardware speed; running in the nested host" >&2
		exec tests/nested/l1-run -t 1800 -e XENKVM_KERNEL="$XENKVM_KERNEL" -e XENKVM_INITRD="$XENKVM_INITRD" \
			-- env BUILD="$BUILD" bench/boot/run.sh -n "$runs" -c "$vcpus" -m "$mem"
	fi
fi
: "${XENKVM_KERNEL:?}" "${XENKVM_INITRD:?}"
command -v qemu-system-x86_64 >/dev/null || { echo "bench/boot: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 1; }

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
