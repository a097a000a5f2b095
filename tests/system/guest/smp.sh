# Guest side of test_boot: what the guest sees of its CPUs and memory.
# Prints CPUS-ONLINE=N (from /sys/devices/system/cpu/online), CPUS-ONLINE-LIST=...,
# MEMTOTAL-KB=N (MemTotal of /proc/meminfo), KERNEL-TEXT=ADDR (where the kernel
# runs: KASLR moves it), TSC-DEADLINE-CPUS=N (CPUs whose flags list
# tsc_deadline_timer), then powers off.
online=$(cat /sys/devices/system/cpu/online)
count=0
for r in $(echo "$online" | tr ',' ' '); do
	case $r in
	*-*) count=$((count + ${r#*-} - ${r%-*} + 1)) ;;
	*) count=$((count + 1)) ;;
	esac
done
echo "CPUS-ONLINE=$count"
echo "CPUS-ONLINE-LIST=$online"
echo "MEMTOTAL-KB=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
echo "KERNEL-TEXT=$(awk '$3 == "_text" { print $1 }' /proc/kallsyms)"
echo "TSC-DEADLINE-CPUS=$(grep '^flags' /proc/cpuinfo | grep -c tsc_deadline_timer)"
poweroff -f
