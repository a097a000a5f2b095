# Guest side of test_sandbox: disk and network I/O while xenkvmd runs under its
# seccomp filters (blkback and libslirp on the io thread, KVM exits on the vCPUs),
# then a pause in which the host inspects xenkvmd's threads.  Lines the host
# checks start with SANDBOX-.
insmod "/lib/modules/$(uname -r)/xen-blkfront.ko" || echo "SANDBOX-ERROR insmod blkfront"
insmod "/lib/modules/$(uname -r)/xen-netfront.ko" || echo "SANDBOX-ERROR insmod netfront"
i=0
while [ $i -lt 100 ] && ! { [ -b /dev/xvda ] && [ -e /sys/class/net/eth0 ]; }; do
	sleep 0.1
	i=$((i + 1))
done
if [ -b /dev/xvda ]; then
	dd if=/dev/urandom of=/tmp/blk bs=1M count=4 2>/dev/null
	dd if=/tmp/blk of=/dev/xvda bs=1M oflag=direct 2>/dev/null
	sync
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/xvda of=/tmp/back bs=1M count=4 iflag=direct 2>/dev/null
	if cmp -s /tmp/blk /tmp/back; then echo "SANDBOX-BLK=ok"; else echo "SANDBOX-BLK=mismatch"; fi
else
	echo "SANDBOX-BLK=no-device"
fi
if [ -e /sys/class/net/eth0 ]; then
	ip link set lo up
	ip link set eth0 up
	cat >/tmp/udhcpc.sh <<'S'
#!/bin/sh
case $1 in
bound|renew) ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"; echo "$ip" >/tmp/dhcp ;;
deconfig) ifconfig "$interface" 0.0.0.0 ;;
esac
S
	chmod +x /tmp/udhcpc.sh
	udhcpc -i eth0 -n -q -t 10 -T 2 -s /tmp/udhcpc.sh >/dev/null 2>&1
	echo "SANDBOX-NET=$(cat /tmp/dhcp 2>/dev/null)"
else
	echo "SANDBOX-NET=no-device"
fi
echo SANDBOX-READY
# the host looks at /proc/PID/task meanwhile
sleep 6
poweroff -f
