# Guest side of test_pvh: what a PVH guest says of its boot, its CPUs and xvda.
# Every line the host checks starts with PVH-.  Then powers off (ACPI S5 through
# the hardware-reduced sleep register) unless xkpvh_wait=1 is on the command line,
# when it waits for the host's `xenkvm shutdown`.
wait=0
for arg in $(cat /proc/cmdline); do
	case $arg in xkpvh_wait=1) wait=1 ;; esac
done
dmesg | grep -E "Xen PVH|PVH" | sed 's/^\[[^]]*\] /PVH-DMESG: /' | head -n 5
online=$(cat /sys/devices/system/cpu/online)
count=0
for r in $(echo "$online" | tr ',' ' '); do
	case $r in
	*-*) count=$((count + ${r#*-} - ${r%-*} + 1)) ;;
	*) count=$((count + 1)) ;;
	esac
done
echo "PVH-CPUS=$count"
[ -e /sys/firmware/acpi/tables/FACP ] && echo "PVH-ACPI=yes"
# No emulated devices: no PCI bus, no UART, no RTC.
echo "PVH-PCI-DEVICES=$(ls /sys/bus/pci/devices 2>/dev/null | wc -l)"
insmod "/lib/modules/$(uname -r)/xen-blkfront.ko" || echo "PVH-ERROR insmod"
i=0
while [ $i -lt 100 ] && [ ! -b /dev/xvda ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -b /dev/xvda ]; then
	dd if=/dev/urandom of=/tmp/pattern bs=64k count=16 2>/dev/null
	dd if=/tmp/pattern of=/dev/xvda bs=64k conv=fsync 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/xvda of=/tmp/back bs=64k count=16 iflag=direct 2>/dev/null ||
		dd if=/dev/xvda of=/tmp/back bs=64k count=16 2>/dev/null
	if cmp -s /tmp/pattern /tmp/back; then
		echo "PVH-DISK-OK $(sha256sum /tmp/pattern | cut -d' ' -f1)"
	else
		echo "PVH-ERROR disk read-back differs"
	fi
else
	echo "PVH-ERROR no /dev/xvda"
	dmesg | grep -iE "grant|gnttab|balloon|blkfront|xen|BUG|RIP" | tail -n 30 | sed 's/^/PVH-LOG: /'
fi
# The vif: a DHCP lease from user-mode networking.
insmod "/lib/modules/$(uname -r)/xen-netfront.ko" || echo "PVH-ERROR insmod netfront"
i=0
while [ $i -lt 100 ] && ! [ -e /sys/class/net/eth0 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -e /sys/class/net/eth0 ]; then
	ip link set eth0 up
	cat >/tmp/udhcpc.sh <<'S'
#!/bin/sh
case $1 in
bound|renew) ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"; echo "$ip" >/tmp/dhcp ;;
deconfig) ifconfig "$interface" 0.0.0.0 ;;
esac
S
	chmod +x /tmp/udhcpc.sh
	udhcpc -i eth0 -n -q -t 10 -T 2 -s /tmp/udhcpc.sh >/dev/null 2>&1 || echo "PVH-ERROR udhcpc"
	echo "PVH-DHCP=$(cat /tmp/dhcp 2>/dev/null)"
else
	echo "PVH-ERROR no eth0"
fi
if [ $wait = 1 ]; then
	echo "PVH-WAITING"
	while :; do sleep 1; done
fi
