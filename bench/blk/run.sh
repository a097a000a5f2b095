#!/usr/bin/env bash
# bench/blk: block I/O from inside the guest, xenkvmd's blkback (xen-blkfront)
# against Debian's QEMU 7.2 + KVM with virtio-blk, same kernel, same image
# size on the same filesystem, alternating, in the same host (the nested
# host when the local /dev/kvm cannot run guests).  Per run: sequential
# write and read MB/s with 1 MiB requests, 4 KiB random read and write IOPS,
# all O_DIRECT at queue depth 1 (bench/blk/blkload.c, run in the guest).
# The image is filled with random data first (reads of holes would measure
# zero-filling, and how much of the image the write test happened to
# cover) and lives on tmpfs (BENCH_DIR, default /dev/shm), so both sides
# measure the VMM and its transport, not the host's disk.
#
# usage: bench/blk/run.sh [-n RUNS] [-s SECONDS] [-m IMAGE_MIB]
# Prints one line per run and side (the two sides swap order every run),
# then per test the medians, the per-pair xenkvmd/QEMU ratios with their
# median (the headline: see bench/pairs.sh) and the ratio of the medians.
# BENCH_SIDES="qemu" (or "xenkvmd") runs one side only.
# The virtio side needs virtio_blk.ko & co. in the initramfs: they are taken
# from the guest kernel's Debian package (apt-get download, cached).
set -euo pipefail

# One block: bash reads all of it before running, so editing the file
# during a long run cannot change what this run does.
{
cd "$(dirname "$0")/../.."
runs=3 secs=10 img_mb=512
while getopts "n:s:m:" o; do
	case $o in
	n) runs=$OPTARG ;; s) secs=$OPTARG ;; m) img_mb=$OPTARG ;;
	*) sed -n '2,18p' "$0"; exit 2 ;;
	esac
done
BUILD=${BUILD:-build}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/bench-blk

if [ -z "${L1_RUN:-}" ]; then
	make -s BUILD="$BUILD" all "$BUILD/kvm-probe"
	eval "$(tests/system/assets.sh)"
	mkdir -p "$cache" "$BUILD/bench"
	gcc -static -O2 -o "$BUILD/bench/blkload" bench/blk/blkload.c
	kver=$(basename "$(dirname "$XENKVM_BLKFRONT")")
	extra=$cache/virtio-$kver.cpio.gz
	. bench/guest-modules.sh
	bench_virtio_modules "$extra" "$kver" virtio_pci virtio_blk
	cat "$XENKVM_INITRD" "$extra" >"$BUILD/bench/blk-initrd.cpio.gz"
	if ! "$BUILD/kvm-probe" >/dev/null 2>&1; then
		echo "bench/blk: local KVM cannot run guests at hardware speed; running in the nested host" >&2
		exec tests/nested/l1-run -t 3600 -m 4G -e XENKVM_KERNEL="$XENKVM_KERNEL" \
			-e BENCH_SIDES="${BENCH_SIDES:-xenkvmd qemu}" -e BENCH_DIR="${BENCH_DIR:-/dev/shm}" \
			-e XENKVM_INITRD="$BUILD/bench/blk-initrd.cpio.gz" \
			-- env BUILD="$BUILD" bench/blk/run.sh -n "$runs" -s "$secs" -m "$img_mb"
	fi
	XENKVM_INITRD=$BUILD/bench/blk-initrd.cpio.gz
fi
: "${XENKVM_KERNEL:?}" "${XENKVM_INITRD:?}"
command -v qemu-system-x86_64 >/dev/null || { echo "bench/blk: qemu-system-x86_64 missing" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_DIR:-/dev/shm}/bench-blk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tool=$tmp/tool.img
cp "$BUILD/bench/blkload" "$tool"
toolsz=$(stat -c %s "$tool")
truncate -s $(( (toolsz + 4095) / 4096 * 4096 )) "$tool"
img=$tmp/disk.img
head -c "${img_mb}M" /dev/urandom >"$tmp/filled.img"
append_base="console=ttyS0 quiet xktest=blk_bench xkblk_secs=$secs xkblk_toolsz=$toolsz"
# A run takes about 30 s plus 4 tests: several times that means a hung guest.
tmo=$((300 + 10 * secs))

# run SIDE: one guest run; prints "seqwrite MBps seqread MBps randread IOPS randwrite IOPS"
run() {
	local out
	cp "$tmp/filled.img" "$img"
	if [ "$1" = xenkvmd ]; then
		cat >"$tmp/b.cfg" <<CFG
name = "bench-blk"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "$append_base xkblk_dev=xvda xkblk_tool=xvdb"
memory = 512
vcpus = 1
disk = [ 'format=raw, vdev=xvda, access=rw, target=$img', 'format=raw, vdev=xvdb, access=ro, target=$tool' ]
CFG
		out=$(timeout "$tmo" "$BUILD/xenkvmd" -q "$tmp/b.cfg" </dev/null 2>"$tmp/err" | tr -d '\r') || true
	else
		out=$(timeout "$tmo" qemu-system-x86_64 -enable-kvm -cpu host -m 512 -smp 1 \
			-nodefaults -nographic -no-reboot -serial stdio \
			-drive "file=$img,if=virtio,format=raw" \
			-drive "file=$tool,if=virtio,format=raw,readonly=on" \
			-kernel "$XENKVM_KERNEL" -initrd "$XENKVM_INITRD" \
			-append "$append_base xkblk_dev=vda xkblk_tool=vdb" </dev/null 2>"$tmp/err" | tr -d '\r') || true
	fi
	if ! grep -q '^BENCH-DONE' <<<"$out"; then
		echo "bench/blk: $1 run failed:" >&2
		printf '%s\n' "$out" | tail -20 >&2
		tail -5 "$tmp/err" >&2
		return 1
	fi
	printf '%s\n' "$out" | awk '$1 == "BENCH" && $2 ~ /^seq/ { printf "%s %s ", $2, $4 }
				    $1 == "BENCH" && $2 ~ /^rand/ { printf "%s %s ", $2, $5 } END { print "" }'
}

. bench/pairs.sh
echo "bench/blk: $runs runs each, ${secs}s per test, ${img_mb} MiB image on $(df --output=fstype "$tmp" | tail -1), O_DIRECT QD1 in the guest"
bench_pairs "$runs" "MB/s for seq 1 MiB, IOPS for rand 4 KiB" qemu-virtio seqwrite seqread randread randwrite || exit 1
exit
}
