# Guest side of test_blk: xen-blkfront on xvda (read-write) and xvdb (read-only).
# Every line the host checks starts with BLK-.  Size of the random file:
# xkblk_mb=N on the kernel command line (default 64).
mb=64
for arg in $(cat /proc/cmdline); do
	case $arg in xkblk_mb=*) mb=${arg#xkblk_mb=} ;; esac
done
# The PCI layout (PIIX3 at 00:01.x, the platform device at 00:02.0).
for d in /sys/bus/pci/devices/*; do
	echo "BLK-PCI=${d##*/} $(cat "$d/vendor"):$(cat "$d/device")"
done
insmod "/lib/modules/$(uname -r)/xen-blkfront.ko" || echo "BLK-ERROR insmod"
# The frontend probes asynchronously: wait for the block devices themselves.
i=0
while [ $i -lt 100 ] && ! { [ -b /dev/xvda ] && [ -b /dev/xvdb ]; }; do
	sleep 0.1
	i=$((i + 1))
done
[ -b /dev/xvda ] || { echo "BLK-ERROR no /dev/xvda"; exit 1; }
echo "BLK-SIZE-A=$(blockdev --getsize64 /dev/xvda)"
echo "BLK-RO-A=$(blockdev --getro /dev/xvda)"
dmesg | grep -E "blkfront|xvd" | sed 's/^\[[^]]*\] /DMESG: /'
mke2fs -F /dev/xvda >/dev/null 2>&1 || mke2fs /dev/xvda >/dev/null || echo "BLK-ERROR mke2fs"
mkdir -p /mnt
mount -t ext4 /dev/xvda /mnt || mount /dev/xvda /mnt || echo "BLK-ERROR mount"
dd if=/dev/urandom of=/mnt/data bs=1M count="$mb" 2>/dev/null
sum=$(sha256sum /mnt/data | cut -d' ' -f1)
echo "$sum" >/mnt/data.sha256
umount /mnt
sync
echo "BLK-SHA=$sum"
if [ -b /dev/xvdb ]; then
	echo "BLK-SIZE-B=$(blockdev --getsize64 /dev/xvdb)"
	echo "BLK-RO-B=$(blockdev --getro /dev/xvdb)"
	echo "BLK-HEAD-B=$(dd if=/dev/xvdb bs=4096 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
	# the block layer refuses writes to a read-only disk; force one past it too
	blockdev --setrw /dev/xvdb 2>/dev/null
	if dd if=/dev/zero of=/dev/xvdb bs=4096 count=1 conv=fsync 2>/dev/null; then
		echo "BLK-RO-WRITE=succeeded"
	else
		echo "BLK-RO-WRITE=failed"
	fi
fi
echo BLK-DONE
