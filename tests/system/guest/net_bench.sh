# Guest side of bench/net: TCP load against the host's `netload serve` at
# 10.0.2.2 through user-mode networking.  netload and (for virtio) the
# modules arrive in an extra initramfs archive.  Kernel command line:
#   xknet_dev=xen|virtio  xknet_port=N  xknet_secs=N
#   xknet_tests=tx,rx,rr (a subset, in that order)
dev=xen port=5201 secs=10 tests=tx,rx,rr
for arg in $(cat /proc/cmdline); do
	case $arg in
	xknet_dev=*) dev=${arg#*=} ;; xknet_port=*) port=${arg#*=} ;; xknet_secs=*) secs=${arg#*=} ;;
	xknet_tests=*) tests=${arg#*=} ;;
	esac
done
mods=/lib/modules/$(uname -r)
case $dev in
xen) insmod "$mods/xen-netfront.ko" ;;
*) [ -f "$mods/virtio.order" ] && for m in $(cat "$mods/virtio.order"); do insmod "$mods/$m"; done ;;
esac
i=0
while [ $i -lt 100 ] && ! [ -e /sys/class/net/eth0 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e /sys/class/net/eth0 ] || { echo "BENCH-ERROR no eth0"; exit 1; }
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2
[ -x /bin/netload ] || { echo "BENCH-ERROR no /bin/netload"; exit 1; }
# Interrupts the NIC costs the guest, per /proc/interrupts line: its own
# (eth0-*, virtio*) and, for Xen, the upcall (HYP) that delivers them.
nic_irqs() {
	awk '$NF ~ /^(eth0|virtio)/ { print $NF, $2 } $1 == "HYP:" { print "HYP", $2 }' /proc/interrupts
}
for t in tx rx rr; do
	case ",$tests," in *",$t,"*) ;; *) continue ;; esac
	nic_irqs >/tmp/irqs0
	echo "BENCH $(/bin/netload $t 10.0.2.2 "$port" "$secs" 2>&1)"
	nic_irqs | awk -v t="$t" 'NR == FNR { a[$1] = $2; next }
		{ s = s " " $1 "=" ($2 - a[$1]) } END { print "BENCH-IRQS " t s }' /tmp/irqs0 -
done
echo BENCH-DONE
