# Guest side of test_net: xen-netfront over user-mode networking.  DHCP with
# udhcpc, then XKNET_MB (xknet_mb=N, default 64) MiB of random data to the
# host's port xknet_port (10.0.2.2, the host's loopback), then the same bytes
# back from port xknet_port+1.  Lines the host checks start with NET-.
mb=64 port=5555
for arg in $(cat /proc/cmdline); do
	case $arg in xknet_mb=*) mb=${arg#*=} ;; xknet_port=*) port=${arg#*=} ;; esac
done
insmod "/lib/modules/$(uname -r)/xen-netfront.ko" || echo "NET-ERROR insmod"
i=0
while [ $i -lt 100 ] && ! [ -e /sys/class/net/eth0 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e /sys/class/net/eth0 ] || { echo "NET-ERROR no eth0"; exit 1; }
echo "NET-MAC=$(cat /sys/class/net/eth0/address)"
ip link set lo up
ip link set eth0 up
# busybox has no default udhcpc script in this initramfs
cat >/tmp/udhcpc.sh <<'S'
#!/bin/sh
case $1 in
bound|renew)
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	echo "$ip ${router%% *}" >/tmp/dhcp ;;
deconfig) ifconfig "$interface" 0.0.0.0 ;;
esac
S
chmod +x /tmp/udhcpc.sh
udhcpc -i eth0 -n -q -t 10 -T 2 -s /tmp/udhcpc.sh >/dev/null 2>&1 || echo "NET-ERROR udhcpc"
echo "NET-DHCP=$(cat /tmp/dhcp 2>/dev/null)"
echo "NET-IP=$(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9.]*\).*/\1/p' | head -1)"
dd if=/dev/urandom of=/tmp/data bs=1M count="$mb" 2>/dev/null
echo "NET-SHA-SENT=$(sha256sum </tmp/data | cut -d' ' -f1)"
# the host closes once it has every byte, which ends nc
start=$(cut -d' ' -f1 /proc/uptime)
timeout 600 nc 10.0.2.2 "$port" </tmp/data >/dev/null || echo "NET-ERROR send"
rm -f /tmp/data
mid=$(cut -d' ' -f1 /proc/uptime)
timeout 600 nc 10.0.2.2 $((port + 1)) </dev/null >/tmp/back || echo "NET-ERROR receive"
end=$(cut -d' ' -f1 /proc/uptime)
echo "NET-SHA-BACK=$(sha256sum </tmp/back | cut -d' ' -f1) $(wc -c </tmp/back)"
echo "NET-TIME=$start $mid $end"
echo "NET-GUEST-STATS=$(cat /sys/class/net/eth0/statistics/tx_packets) $(cat /sys/class/net/eth0/statistics/rx_packets)"
echo NET-DONE
# stay up until the host has read the counters and destroys us
sleep 120
