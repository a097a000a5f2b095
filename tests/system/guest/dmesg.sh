# Prints the kernel log with its timestamps, then powers off: where a boot's time went
# (bench/boot -l compares the Xen HVM and PVH boots of the same kernel this way).
dmesg
