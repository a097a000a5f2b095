# Guest side of test_boot: a guest-initiated reboot, which the VMM reports as exit 3.
echo "KERNEL-TEXT=$(awk '$3 == "_text" { print $1 }' /proc/kallsyms)"
echo "XENKVM-REBOOTING"
reboot -f
