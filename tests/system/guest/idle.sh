# Stays up until the host shuts the domain down (xenkvm shutdown, xenkvm-domains stop).
# This init handles no signals, so the kernel's orderly poweroff, which Xen's
# control/shutdown triggers, is made a forced one.
echo "/bin/busybox poweroff -f" >/proc/sys/kernel/poweroff_cmd
echo XENKVM-IDLE-READY
while :; do sleep 3600; done
