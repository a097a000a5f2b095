# Guest side of test_boot: a guest-initiated reboot, which the VMM reports as exit 3.
echo "XENKVM-REBOOTING"
reboot -f
