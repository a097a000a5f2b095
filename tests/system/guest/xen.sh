# Guest side of test_xen: what a Xen HVM guest sees of its host.  Every line
# the host checks starts with a tag; the host times SLEEP-BEGIN..SLEEP-END.
echo "HYPERVISOR=$(cat /sys/hypervisor/type 2>/dev/null)"
echo "CLOCKSOURCE=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "CPUS-ONLINE-LIST=$(cat /sys/devices/system/cpu/online)"
dmesg | grep -E "Hypervisor detected|Xen version|2-level ABI|callback vector|Grant table|xen-platform-pci|Xen HVM" |
	sed 's/^\[[^]]*\] /DMESG: /'
# Xen IPIs are event channels: "xen-percpu-ipi" rows of /proc/interrupts, one count per CPU.
grep -E "resched|callfunc|xen-platform|timer" /proc/interrupts | sed 's/^ */IRQ: /'
echo SLEEP-BEGIN
sleep 2
echo SLEEP-END
# A XenStore write through the guest's own xenbus device: XS_WRITE (11),
# req_id 7, tx 0, 22 bytes "data/xenkvm-test\0hello" (relative to /local/domain/<id>).
if [ -c /dev/xen/xenbus ]; then
	printf '\013\000\000\000\007\000\000\000\000\000\000\000\026\000\000\000data/xenkvm-test\000hello' >/dev/xen/xenbus
	echo XS-WRITTEN
else
	echo "XS-NODEV"
fi
# The host reads the node back meanwhile.
sleep 3
poweroff -f
