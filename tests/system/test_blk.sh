#!/usr/bin/env bash
# test_blk: a guest's xen-blkfront disks backed by host files (issue 5, acceptance 1-2).
#
# 1. xvda (raw, read-write) and xvdb (raw, read-only): the guest sees both with the
#    configured sizes, makes a filesystem on xvda, writes XENKVM_BLK_MB (64) MiB of
#    random data and its checksum, syncs, and powers off; the host reads the file
#    back out of the image with debugfs: identical.  Writing xvdb fails in the guest
#    and the image is unchanged.
#    Both disks are on emulated IDE too: the guest's unplug must take them away
#    (xenkvmd says so), and the PCI layout is Xen's (IDE 00:01.1, platform 00:02.0).
#    Run twice: with KVM's in-kernel event-channel fast paths (the default where
#    KVM has them) and with --no-kernel-fastpaths.
# 2. Durability: the guest writes 8 MiB raw, flushes, says so; the host kills
#    xenkvmd with SIGKILL at once; the data is in the image.
#
# Needs xenkvmd to create a blkback per `disk` entry.  Run by tests/system/run.sh
# (assets, nested host); run alone it finds the assets itself and skips (77) when the
# local KVM cannot run guests.  Prints one line per check, last "test_blk: N passed,
# N failed".
set -uo pipefail

{
name=test_blk
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-300}
mb=${XENKVM_BLK_MB:-64}
require_kvm
need_assets
[ -x "$vmm" ] || { fail "$vmm is not built"; finish; }
command -v debugfs >/dev/null || { echo "SKIP: $name: debugfs (e2fsprogs) not installed"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_blk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

write_cfg() {	# write_cfg FILE TEST DISK...
	local f=$1 t=$2
	shift 2
	{
		echo "name = \"xktest-blk\""
		echo "kernel = \"$XENKVM_KERNEL\""
		echo "ramdisk = \"$XENKVM_INITRD\""
		echo "extra = \"console=ttyS0 xktest=$t xkblk_mb=$mb\""
		echo "memory = 256"
		echo "vcpus = 1"
		printf 'disk = [ '
		local sep=
		for d in "$@"; do printf "%s'%s'" "$sep" "$d"; sep=', '; done
		echo ' ]'
	} >"$f"
}

show_output() {
	echo "    --- exit status $rc; guest console (last 20 lines):"
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/    | /'
	echo "    --- stderr (last 10 lines):"
	tail -n 10 "$tmp/err" | sed 's/^/    | /'
}

val() { printf '%s\n' "$out" | sed -n "s/^$1=//p" | head -1; }

# --- 1. read-write and read-only disks -----------------------------------------------
for fp in on off; do
echo "  -- KVM's event-channel fast paths: $fp"
fp_opt=()
[ $fp = off ] && fp_opt=(--no-kernel-fastpaths)
a=$tmp/a.img b=$tmp/b.img
rm -f "$a" "$b"
truncate -s 256M "$a"
head -c $((32 << 20)) /dev/urandom >"$b"
b_sum=$(sha256sum <"$b" | cut -d' ' -f1)
b_head=$(head -c 4096 "$b" | sha256sum | cut -d' ' -f1)
write_cfg "$tmp/blk.cfg" blk "format=raw, vdev=xvda, access=rw, target=$a" \
	"format=raw, vdev=xvdb, access=ro, target=$b"
start=$(date +%s)
timeout -k 5 "$boot_limit" "$vmm" "${fp_opt[@]}" "$tmp/blk.cfg" </dev/null >"$tmp/out.raw" 2>"$tmp/err"
rc=$?
out=$(tr -d '\r' <"$tmp/out.raw")
bad=$failed
if [ $rc = 0 ] && grep -q '^BLK-DONE' <<<"$out"; then
	ok "guest finished and powered off ($(($(date +%s) - start))s)"
else
	fail "guest did not finish (exit $rc)"
fi
[ "$(val BLK-SIZE-A)" = $((256 << 20)) ] && ok "xvda: 256 MiB" ||
	fail "xvda: 268435456 bytes expected, guest saw '$(val BLK-SIZE-A)'"
[ "$(val BLK-RO-A)" = 0 ] && ok "xvda: writable" || fail "xvda: ro='$(val BLK-RO-A)'"
sha=$(val BLK-SHA)
img_sha=$(debugfs -R "cat /data" "$a" 2>/dev/null | sha256sum | cut -d' ' -f1)
img_rec=$(debugfs -R "cat /data.sha256" "$a" 2>/dev/null | tr -d '\n')
if [ -n "$sha" ] && [ "$sha" = "$img_sha" ] && [ "$sha" = "$img_rec" ]; then
	ok "xvda: $mb MiB written by the guest read back from the image: identical"
else
	fail "xvda: guest sha '$sha', image file sha '$img_sha', recorded '$img_rec'"
fi
if e2fsck -fn "$a" >/dev/null 2>&1; then ok "xvda: filesystem clean (e2fsck -fn)"
else fail "xvda: e2fsck -fn reports errors"; fi
[ "$(val BLK-SIZE-B)" = $((32 << 20)) ] && ok "xvdb: 32 MiB" ||
	fail "xvdb: 33554432 bytes expected, guest saw '$(val BLK-SIZE-B)'"
[ "$(val BLK-RO-B)" = 1 ] && ok "xvdb: read-only in the guest" || fail "xvdb: ro='$(val BLK-RO-B)'"
[ "$(val BLK-HEAD-B)" = "$b_head" ] && ok "xvdb: first 4 KiB read correctly" ||
	fail "xvdb: first 4 KiB: guest '$(val BLK-HEAD-B)', image '$b_head'"
[ "$(val BLK-RO-WRITE)" = failed ] && ok "xvdb: a write fails in the guest" ||
	fail "xvdb: write '$(val BLK-RO-WRITE)', expected failed"
[ "$(sha256sum <"$b" | cut -d' ' -f1)" = "$b_sum" ] && ok "xvdb: image unchanged" ||
	fail "xvdb: the read-only image changed"
pci=$(printf '%s\n' "$out" | sed -n 's/^BLK-PCI=//p')
if printf '%s\n' "$pci" | grep -qx '0000:00:01.1 0x8086:0x7010' &&
	printf '%s\n' "$pci" | grep -qx '0000:00:02.0 0x5853:0x0001'; then
	ok "PCI: PIIX3 IDE at 00:01.1, Xen platform device at 00:02.0"
else
	fail "PCI layout: $(printf '%s ' $pci)"
fi
# Both disks were on emulated IDE too, until the guest's unplug took them away.
n=$(grep -c 'disk at primary .* unplugged by the guest' "$tmp/err")
[ "$n" = 2 ] && ok "the guest's unplug took xvda and xvdb off IDE before blkfront" ||
	fail "IDE unplug: $n of 2 disks unplugged"
[ $failed = "$bad" ] || show_output
done

# --- 2. a flush survives SIGKILL of the daemon -----------------------------------------
c=$tmp/c.img
truncate -s 64M "$c"
write_cfg "$tmp/flush.cfg" blk_flush "format=raw, vdev=xvda, access=rw, target=$c"
: >"$tmp/out.raw"
"$vmm" "$tmp/flush.cfg" </dev/null >"$tmp/out.raw" 2>"$tmp/err" &
pid=$!
flushed=
for _ in $(seq $((boot_limit * 10))); do
	flushed=$(tr -d '\r' <"$tmp/out.raw" | sed -n 's/^BLK-FLUSHED=//p' | head -1)
	[ -n "$flushed" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
rc=$?
out=$(tr -d '\r' <"$tmp/out.raw")
on_disk=$(dd if="$c" bs=1M skip=1 count=8 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ -z "$flushed" ]; then
	fail "durability: the guest never reported its flush (exit $rc)"
	show_output
elif [ "$flushed" = "$on_disk" ]; then
	ok "durability: 8 MiB acknowledged before the flush is in the image after SIGKILL"
else
	fail "durability: guest wrote $flushed, image holds $on_disk"
fi

finish
exit
}
