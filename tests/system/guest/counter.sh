# Guest side of test_save_restore: counts for ever, every 0.2 s: "CNT n" is
# appended to /count on an ext2 file system on xvda (when there is one) and
# fsync'd, then "CNT n UPTIME" goes to the serial console, so the host sees a
# save and restore as a pause with no gap, no repeat and no time warp, and
# finds every count in the file afterwards.  With a NIC (eth0, DHCP from
# user-mode networking), a background loop connects to 10.0.2.2:PORT (the
# host; xkcnt_port=PORT) every second and prints "NET i <the host's line>" or
# "NET i failed".
# control/shutdown (xenkvm shutdown: a XenStore watch of the kernel's) ends
# it; this init handles no signals, so the poweroff is a forced one.
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
port=
for arg in $(cat /proc/cmdline); do
	case $arg in xkcnt_port=*) port=${arg#*=} ;; esac
done
net=
if [ -n "$port" ] && insmod "/lib/modules/$(uname -r)/xen-netfront.ko" 2>/dev/null; then
	i=0
	while [ $i -lt 100 ] && ! [ -e /sys/class/net/eth0 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ip link set lo up
	ip link set eth0 up 2>/dev/null
	cat >/tmp/udhcpc.sh <<'S'
#!/bin/sh
case $1 in
bound|renew)
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done ;;
deconfig) ifconfig "$interface" 0.0.0.0 ;;
esac
S
	chmod +x /tmp/udhcpc.sh
	if udhcpc -i eth0 -n -q -t 10 -T 2 -s /tmp/udhcpc.sh >/dev/null 2>&1; then
		net="eth0 $(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9.]*\).*/\1/p' | head -1)"
		(
			j=0
			while :; do
				j=$((j + 1))
				# busybox-static's wget crashes; nc it is (stdin open
				# until the host has answered and closed)
				r=$(sleep 1 | timeout 3 nc 10.0.2.2 "$port" 2>&1)
				case $r in
				pong-*) echo "NET $j $r" ;;
				*) echo "NET $j failed: $(echo "$r" | head -c 100)" ;;
				esac
			done
		) &
	else
		echo "CNT-ERROR no DHCP lease"
	fi
fi
echo "CNT-READY ${file:-console only}${net:+, $net}"
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
