# Guest side of test_blk's durability check: write 8 MiB of random data at
# 1 MiB into xvda, flush (sync issues BLKIF_OP_FLUSH_DISKCACHE), say so,
# and wait to be killed by the host.
insmod "/lib/modules/$(uname -r)/xen-blkfront.ko" || echo "BLK-ERROR insmod"
i=0
while [ $i -lt 100 ] && [ ! -b /dev/xvda ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -b /dev/xvda ] || { echo "BLK-ERROR no /dev/xvda"; exit 1; }
dd if=/dev/urandom of=/tmp/chunk bs=1M count=8 2>/dev/null
sum=$(sha256sum /tmp/chunk | cut -d' ' -f1)
dd if=/tmp/chunk of=/dev/xvda bs=1M seek=1 conv=fsync 2>/dev/null
sync
echo "BLK-FLUSHED=$sum"
sleep 60
