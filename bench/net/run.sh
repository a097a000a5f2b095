#!/usr/bin/env bash
# bench/net: TCP from inside the guest through user-mode networking,
# xenkvmd's netback (xen-netfront) over libslirp against Debian's QEMU 7.2 +
# KVM with virtio-net on -netdev user (also libslirp), same kernel, same
# initramfs, alternating, in the same host (the nested host when the local
# /dev/kvm cannot run guests).  Per run, the guest connects to 10.0.2.2 (the
# host's loopback) where bench/net/netload.c serves: bulk guest->host (tx)
# and host->guest (rx) MB/s, and 1-byte request/response transactions/s (rr).
#
# usage: bench/net/run.sh [-n RUNS] [-s SECONDS]
# Prints one line per run and side (the two sides swap order every run),
# then per test the medians, the per-pair xenkvmd/QEMU ratios with their
# median (the headline: see bench/pairs.sh) and the ratio of the medians.
# BENCH_SIDES="qemu" (or "xenkvmd") runs one side only.
# The virtio side needs virtio_net.ko & co. in the initramfs: they are taken
# from the guest kernel's Debian package (apt-get download, cached).
set -euo pipefail

# One block: bash reads all of it before running, so editing the file
# during a long run cannot change what this run does.
{
cd "$(dirname "$0")/../.."
runs=3 secs=10
while getopts "n:s:" o; do
	case $o in
	n) runs=$OPTARG ;; s) secs=$OPTARG ;;
	*) sed -n '2,15p' "$0"; exit 2 ;;
	esac
done
BUILD=${BUILD:-build}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/bench-net
port=${BENCH_NET_PORT:-5201}

if [ -z "${L1_RUN:-}" ]; then
	make -s BUILD="$BUILD" all "$BUILD/kvm-probe"
	eval "$(tests/system/assets.sh)"
	mkdir -p "$cache" "$BUILD/bench"
	gcc -static -O2 -o "$BUILD/bench/netload" bench/net/netload.c
	kver=$(basename "$(dirname "$XENKVM_NETFRONT")")
	mods=$cache/virtio-net-$kver.cpio.gz
	. bench/guest-modules.sh
	bench_virtio_modules "$mods" "$kver" virtio_pci virtio_net
	# netload for the guest, as one more archive
	work=$(mktemp -d)
	mkdir -p "$work/bin"
	cp "$BUILD/bench/netload" "$work/bin/netload"
	(cd "$work" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -9) >"$BUILD/bench/netload.cpio.gz"
	rm -rf "$work"
	cat "$XENKVM_INITRD" "$mods" "$BUILD/bench/netload.cpio.gz" >"$BUILD/bench/net-initrd.cpio.gz"
	if ! "$BUILD/kvm-probe" >/dev/null 2>&1; then
		echo "bench/net: local KVM cannot run guests at hardware speed; running in the nested host" >&2
		exec tests/nested/l1-run -t 3600 -e XENKVM_KERNEL="$XENKVM_KERNEL" \
			-e BENCH_SIDES="${BENCH_SIDES:-xenkvmd qemu}" \
			-e XENKVM_INITRD="$BUILD/bench/net-initrd.cpio.gz" \
			-- env BUILD="$BUILD" bench/net/run.sh -n "$runs" -s "$secs"
	fi
	XENKVM_INITRD=$BUILD/bench/net-initrd.cpio.gz
fi
: "${XENKVM_KERNEL:?}" "${XENKVM_INITRD:?}"
command -v qemu-system-x86_64 >/dev/null || { echo "bench/net: qemu-system-x86_64 missing" >&2; exit 1; }

tmp=$(mktemp -d /tmp/bench-net.XXXXXX)
server=
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
"$BUILD/bench/netload" serve "$port" >"$tmp/server.log" 2>&1 &
server=$!
append_base="console=ttyS0 quiet xktest=net_bench xknet_secs=$secs xknet_port=$port"
# A run takes about 20 s plus 3 tests: several times that means a hung guest.
tmo=$((180 + 10 * secs))

# run SIDE: one guest run; prints "tx MBps rx MBps rr TPS"
run() {
	local out
	if [ "$1" = xenkvmd ]; then
		cat >"$tmp/n.cfg" <<CFG
name = "bench-net"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "$append_base xknet_dev=xen"
memory = 256
vcpus = 1
vif = [ 'mac=00:16:3e:00:00:01' ]
CFG
		out=$(timeout "$tmo" "$BUILD/xenkvmd" -q "$tmp/n.cfg" </dev/null 2>"$tmp/err" | tr -d '\r') || true
	else
		out=$(timeout "$tmo" qemu-system-x86_64 -enable-kvm -cpu host -m 256 -smp 1 \
			-nodefaults -nographic -no-reboot -serial stdio \
			-netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
			-kernel "$XENKVM_KERNEL" -initrd "$XENKVM_INITRD" \
			-append "$append_base xknet_dev=virtio" </dev/null 2>"$tmp/err" | tr -d '\r') || true
	fi
	if ! grep -q '^BENCH-DONE' <<<"$out" ||
	   [ "$(printf '%s\n' "$out" | grep -c '^BENCH [tr][xr] [0-9]')" != 3 ]; then
		echo "bench/net: $1 run failed:" >&2
		printf '%s\n' "$out" | tail -20 >&2
		tail -5 "$tmp/err" >&2
		return 1
	fi
	# plus the guest's NIC interrupts per rr transaction (the Xen upcall, or
	# virtio-net's own lines): not a ratio, a pointer to where time goes
	printf '%s\n' "$out" | awk '$1 == "BENCH" && $2 ~ /^(tx|rx|rr)$/ { printf "%s %s ", $2, $3 }
		$1 == "BENCH" && $2 == "rr" { n = $4 }
		$1 == "BENCH-IRQS" && $2 == "rr" { for (i = 3; i <= NF; i++) { split($i, kv, "=")
			if (kv[1] == "HYP") hyp = kv[2]; else if (kv[1] ~ /^virtio/) dev += kv[2] } }
		END { if (n > 0) printf "irq/rr %.2f", (hyp > 0 ? hyp : dev) / n; print "" }'
}

. bench/pairs.sh
echo "bench/net: $runs runs each, ${secs}s per test, guest -> 10.0.2.2 (host loopback) through user networking"
bench_pairs "$runs" "MB/s for tx/rx bulk TCP, transactions/s for rr" qemu-virtio tx rx rr || exit 1
exit
}
