#!/usr/bin/env bash
# uninstall.sh: go back to the running kernel's stock KVM modules.
#
# usage: uninstall.sh [--dry-run]
#
# Removes copies install.sh --persist put in /lib/modules/KVER/updates/xenkvm/ (and runs
# depmod), unloads an out-of-tree kvm and loads the distro's kvm and kvm_amd/kvm_intel
# with modprobe.  Refuses (exit 3) while VMs or modules stacked on kvm are running, and
# while a DKMS-installed copy would simply be loaded again (dkms remove it first).
. "$(dirname "$0")/lib.sh"

while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ "$dry_run" = 1 ] || [ "$(id -u)" = 0 ] || refuse "unloading kernel modules needs root"
kver=$(running_kver)
vendor=$(vendor_module)
[ -n "$vendor" ] || refuse "this CPU has neither SVM nor VMX: there is no KVM to restore"

for f in "$sysroot/lib/modules/$kver/updates/dkms/kvm.ko"*; do
  [ -e "$f" ] || continue
  refuse "DKMS installed a kvm.ko for $kver ($f); modprobe would load it again: run 'dkms remove xenkvm-kvm/<version> -k $kver' first"
done

persisted=$sysroot/lib/modules/$kver/updates/xenkvm
if [ -d "$persisted" ]; then
  run rm -rf "$persisted"
  run depmod -a "$kver"
  note "removed $persisted"
fi

taint=$(cat "$sysroot/sys/module/kvm/taint" 2>/dev/null || echo "")
if [ -d "$sysroot/sys/module/kvm" ] && [ -d "$sysroot/sys/module/$vendor" ] && [[ $taint != *O* ]]; then
  note "the stock KVM of $kver is already loaded"
  exit 0
fi
check_kvm_idle
if [ -d "$sysroot/sys/module/$vendor" ]; then run rmmod "$vendor"; fi
if [ -d "$sysroot/sys/module/kvm" ]; then run rmmod kvm; fi
run modprobe "$vendor" || die "modprobe $vendor failed: no KVM is loaded now (are /lib/modules/$kver and its modules.dep intact?)"
if [ "$dry_run" = 0 ]; then
  taint=$(cat /sys/module/kvm/taint 2>/dev/null || echo "")
  [[ $taint != *O* ]] || die "modprobe loaded an out-of-tree kvm again (taint '$taint'): $(modinfo -n kvm)"
fi
note "stock KVM of $kver loaded ($(modinfo -k "$kver" -n kvm 2>/dev/null || echo kvm))"
