#!/usr/bin/env bash
# status.sh: which KVM the running kernel has loaded, and does it support Xen guests.
#
# usage: status.sh
#
# Prints one "key: value" line each: the kernel and its Debian version, the loaded kvm
# (stock, xenkvm's build in kvm/kernel/out/KVER, or another out-of-tree one), copies
# persisted by install.sh or DKMS, and KVM_CAP_XEN_HVM as /dev/kvm reports it (through
# tests/kernel/xen_hcall_probe.c, compiled once into the cache, or $XENKVM_PROBE).
. "$(dirname "$0")/lib.sh"

kver=$(running_kver)
dir=$(out_dir "$kver")
dv=$(kernel_debian_version "$kver")
echo "kernel: $kver (${dv:+Debian $dv}${dv:-no Debian version known})"
if [ ! -d "$sysroot/sys/module/kvm" ]; then
  echo "kvm: not loaded"
elif loaded_kvm_is_ours "$dir"; then
  echo "kvm: xenkvm build from linux-source $(build_info "$dir" source_version) (kvm/kernel/out/$kver)"
elif [[ $(cat "$sysroot/sys/module/kvm/taint" 2>/dev/null) == *O* ]]; then
  echo "kvm: out-of-tree, not this checkout's build"
else
  echo "kvm: stock"
fi
for m in kvm_amd kvm_intel; do
  [ -d "$sysroot/sys/module/$m" ] && echo "vendor: $m (refcnt $(cat "$sysroot/sys/module/$m/refcnt"))"
done
[ -d "$sysroot/lib/modules/$kver/updates/xenkvm" ] && echo "persisted: /lib/modules/$kver/updates/xenkvm"
ls "$sysroot/lib/modules/$kver/updates/dkms/kvm.ko"* >/dev/null 2>&1 && echo "persisted: /lib/modules/$kver/updates/dkms (DKMS)"
if why=$(sig_enforced); then echo "signatures: required ($why)"; else echo "signatures: not required"; fi

probe=${XENKVM_PROBE:-$cache/probe/xen_hcall_probe}
src=$repo/tests/kernel/xen_hcall_probe.c
if [ -z "${XENKVM_PROBE:-}" ] && { [ ! -x "$probe" ] || [ "$src" -nt "$probe" ]; }; then
  mkdir -p "$(dirname "$probe")"
  ${CC:-cc} -O2 -o "$probe" "$src" 2>/dev/null || { echo "KVM_CAP_XEN_HVM: unknown (cannot compile the probe)"; exit 0; }
fi
if [ -e /dev/kvm ] && [ -z "$sysroot" ]; then
  "$probe" --cap | sed 's/=/: /'
else
  echo "KVM_CAP_XEN_HVM: unknown (no /dev/kvm)"
fi
