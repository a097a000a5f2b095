# Guest side of test_save_restore: counts on the serial console for ever,
# "CNT n UPTIME" every 0.2 s, so the host sees a save and restore as a
# pause with no gap, no repeat and no time warp in the guest's clock.
# control/shutdown (xenkvm shutdown: a XenStore watch of the kernel's)
# ends it; this init handles no signals, so the poweroff is a forced one.
echo "/bin/busybox poweroff -f" >/proc/sys/kernel/poweroff_cmd
echo CNT-READY
n=0
while :; do
	n=$((n + 1))
	echo "CNT $n $(cut -d' ' -f1 /proc/uptime)"
	sleep 0.2
done
