# Guest side of test_ide: the disks on the PIIX3's emulated IDE through ata_piix
# (sda) and sr (sr0), or, once the Xen unplug took the disk away, only blkfront's
# xvda.  Every line the host checks starts with IDE-.
kv=$(uname -r)
for m in scsi_common scsi_mod libata ata_piix sd_mod cdrom sr_mod; do
	[ -f "/lib/modules/$kv/$m.ko" ] || { echo "IDE-ERROR no module $m"; continue; }
	insmod "/lib/modules/$kv/$m.ko" || echo "IDE-ERROR insmod $m"
done
pv=0
for arg in $(cat /proc/cmdline); do
	case $arg in xkide_pv=1) pv=1 ;; esac
done
if [ $pv = 1 ]; then
	insmod "/lib/modules/$kv/xen-blkfront.ko" || echo "IDE-ERROR insmod xen-blkfront"
fi
# Probing is asynchronous: wait for what should come (sr0 always; sda or xvda).
want=/dev/sda
[ $pv = 1 ] && want=/dev/xvda
i=0
while [ $i -lt 100 ] && ! { [ -b $want ] && [ -b /dev/sr0 ]; }; do
	sleep 0.1
	i=$((i + 1))
done
echo "IDE-BLOCK=$(ls /sys/block | grep -v -e '^loop' -e '^ram' | tr '\n' ' ')"
dmesg | grep -E "ata[0-9]|scsi|sd |sr |BMDMA|xen.*unplug|blkfront" | sed 's/^\[[^]]*\] /DMESG: /'
# libata's transfer mode per device (DMA needs the PIIX's BAR4), e.g. "dev1.0=MWDMA2".
echo "IDE-ATA-XFER=$(for d in /sys/class/ata_device/dev*; do [ -f "$d/xfer_mode" ] &&
	printf '%s=%s ' "${d##*/}" "$(cat "$d/xfer_mode")"; done)"
if [ -b /dev/sda ]; then
	echo "IDE-SDA-SIZE=$(blockdev --getsize64 /dev/sda)"
	echo "IDE-SDA-HEAD=$(dd if=/dev/sda bs=65536 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
	# 1 MiB at 1 MiB, synced to the device
	dd if=/dev/urandom of=/tmp/w bs=1M count=1 2>/dev/null
	dd if=/tmp/w of=/dev/sda bs=1M seek=1 conv=fsync 2>/dev/null || echo "IDE-ERROR write"
	echo "IDE-SDA-WROTE=$(sha256sum /tmp/w | cut -d' ' -f1)"
	echo 3 >/proc/sys/vm/drop_caches
	echo "IDE-SDA-REREAD=$(dd if=/dev/sda bs=1M skip=1 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
fi
if [ -b /dev/xvda ]; then
	echo "IDE-XVDA-HEAD=$(dd if=/dev/xvda bs=65536 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
fi
if [ -b /dev/sr0 ]; then
	echo "IDE-SR0-SIZE=$(blockdev --getsize64 /dev/sr0)"
	echo "IDE-SR0-DATA=$(dd if=/dev/sr0 bs=2048 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)"
fi
echo IDE-DONE
