# Guest side of test_net_tap: xen-netfront on a tap vif bridged in the host.
# Address 192.168.77.2/24 (host 192.168.77.1).  Receives 8 MiB on TCP port
# 5000, then sends 8 MiB to the host's port 5001, then waits for the vif to
# be detached and re-attached (NET-UNPLUGGED, NET-REPLUGGED) and for the
# host's word on port 5002.  Lines the host checks start with NET-.
insmod "/lib/modules/$(uname -r)/xen-netfront.ko" || echo "NET-ERROR insmod"
i=0
while [ $i -lt 100 ] && ! [ -e /sys/class/net/eth0 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e /sys/class/net/eth0 ] || { echo "NET-ERROR no eth0"; exit 1; }
ip link set lo up
ip addr add 192.168.77.2/24 dev eth0
ip link set eth0 up
echo "NET-MAC=$(cat /sys/class/net/eth0/address)"
echo NET-READY
nc -l -p 5000 >/tmp/in
echo "NET-RX-SHA=$(sha256sum </tmp/in | cut -d' ' -f1) $(wc -c </tmp/in)"
dd if=/dev/urandom of=/tmp/out bs=1M count=8 2>/dev/null
echo "NET-TX-SHA=$(sha256sum </tmp/out | cut -d' ' -f1)"
# the host closes after 8 MiB, which ends nc
nc 192.168.77.1 5001 </tmp/out >/dev/null
echo NET-DONE
# Hot-unplug and re-plug, driven by the host through xenkvmd's control
# socket: eth0 must go away, come back, and carry traffic again.
i=0
while [ $i -lt 900 ] && [ -e /sys/class/net/eth0 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e /sys/class/net/eth0 ] && { echo "NET-ERROR eth0 still there after detach"; exit 1; }
echo NET-UNPLUGGED
i=0
while [ $i -lt 900 ] && ! [ -e /sys/class/net/eth0 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e /sys/class/net/eth0 ] || { echo "NET-ERROR no eth0 after re-attach"; exit 1; }
ip addr add 192.168.77.2/24 dev eth0
ip link set eth0 up
echo "NET-REPLUGGED=$(cat /sys/class/net/eth0/address)"
# the host connects once it has pinged us: then we are done
nc -l -p 5002 >/tmp/bye
echo "NET-BYE=$(cat /tmp/bye)"
