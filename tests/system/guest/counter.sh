# Guest side of test_save_restore: counts for ever, every 0.2 s: "CNT n" is
# appended to /count on an ext2 file system on xvda (when there is one) and
# fsync'd, then "CNT n UPTIME" goes to the serial console, so the host sees a
# save and restore as a pause with no gap, no repeat and no time warp, and
# finds every count in the file afterwards.  control/shutdown (xenkvm
# shutdown: a XenStore watch of the kernel's) ends it; this init handles no
# signals, so the poweroff is a forced one.
echo "/bin/busybox poweroff -f" >/proc/sys/kernel/poweroff_cmd
file=
if insmod "/lib/modules/$(uname -r)/xen-blkfront.ko" 2>/dev/null; then
	i=0
	while [ $i -lt 100 ] && ! [ -b /dev/xvda ]; do
		sleep 0.1
		i=$((i + 1))
	done
fi
if [ -b /dev/xvda ]; then
	mkdir -p /mnt
	if mke2fs -F /dev/xvda >/dev/null 2>&1 && { mount -t ext4 /dev/xvda /mnt || mount /dev/xvda /mnt; }; then
		file=/mnt/count
		: >"$file"
	else
		echo "CNT-ERROR no file system on xvda"
	fi
fi
echo "CNT-READY ${file:-console only}"
n=0
while :; do
	n=$((n + 1))
	if [ -n "$file" ]; then
		echo "CNT $n" >>"$file"
		fsync "$file" 2>/dev/null || sync
	fi
	echo "CNT $n $(cut -d' ' -f1 /proc/uptime)"
	sleep 0.2
done
