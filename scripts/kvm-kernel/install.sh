#!/usr/bin/env bash
# install.sh: replace the running kernel's loaded KVM modules with the ones build.sh made
# (kvm/kernel/out/$(uname -r)/), which have Xen HVM support.
#
# usage: install.sh [--persist] [--sign-key KEY.priv --sign-cert CERT.der] [--from DIR] [--dry-run]
#   --persist     also copy them to /lib/modules/KVER/updates/xenkvm/ and run depmod, so they
#                 load at every boot of this kernel (scripts/kvm-kernel/uninstall.sh undoes it)
#   --sign-key/--sign-cert   sign the modules first (needed under Secure Boot / lockdown;
#                 the certificate must be enrolled as a MOK, see docs/KERNEL-MODULES.md)
#   --from DIR    take the modules from DIR instead of kvm/kernel/out/KVER
#   --dry-run     check everything, print what would be done, change nothing
#
# Refuses (exit 3) when the modules were built for another kernel or another source
# version, when the kernel only accepts signed modules and no key was given, or when
# VMs (anything holding /dev/kvm) or modules stacked on kvm are running.
. "$(dirname "$0")/lib.sh"

persist=0 key="" cert="" from=""
while [ $# -gt 0 ]; do
  case $1 in
    --persist) persist=1; shift ;;
    --sign-key) key=$(readlink -f "$2"); shift 2 ;;
    --sign-cert) cert=$(readlink -f "$2"); shift 2 ;;
    --from) from=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
if { [ -n "$key" ] && [ -z "$cert" ]; } || { [ -z "$key" ] && [ -n "$cert" ]; }; then
  die "--sign-key and --sign-cert go together"
fi
[ "$dry_run" = 1 ] || [ "$(id -u)" = 0 ] || refuse "loading kernel modules needs root"

kver=$(running_kver)
dir=${from:-$(out_dir "$kver")}
for m in kvm kvm-amd kvm-intel; do
  [ -f "$dir/$m.ko" ] || refuse "no $m.ko for $kver in $dir: run scripts/kvm-kernel/build.sh first"
done
built_for=$(build_info "$dir" kver)
[ "$built_for" = "$kver" ] || refuse "the modules in $dir were built for ${built_for:-an unknown kernel}, the running kernel is $kver"
vm=$(modinfo -F vermagic "$dir/kvm.ko")
case $vm in "$kver "*) ;; *) refuse "$dir/kvm.ko has vermagic '$vm', the running kernel is $kver" ;; esac
running=$(kernel_debian_version "$kver")
srcver=$(build_info "$dir" source_version)
[ -n "$running" ] || refuse "cannot read the running kernel's Debian version from /proc/version, so cannot check the modules match it"
[ "$srcver" = "$running" ] ||
  refuse "the modules were built from linux-source $srcver but the running kernel is Debian $running: rebuild (scripts/kvm-kernel/build.sh) against the matching source"

vendor=$(vendor_module)
[ -n "$vendor" ] || refuse "this CPU has neither SVM nor VMX: KVM cannot run here"
vendor_ko=$dir/${vendor/_/-}.ko

if why=$(sig_enforced) && [ -z "$key" ]; then
  refuse "$why: the kernel only loads signed modules.  Sign with a Machine Owner Key:
  openssl req -new -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=xenkvm-kvm -outform DER -keyout mok.priv -out mok.der
  mokutil --import mok.der     # then reboot and enrol the key in the MOK manager
  $prog --sign-key mok.priv --sign-cert mok.der   # signs with /usr/lib/linux-kbuild-$(kver_series "$kver")/scripts/sign-file"
fi

already=0
if loaded_kvm_is_ours "$dir" && [ -d "$sysroot/sys/module/$vendor" ]; then
  note "xenkvm's KVM for $kver is already loaded"
  already=1
  [ "$persist" = 1 ] || exit 0
else
  check_kvm_idle
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$dir"/kvm.ko "$dir"/kvm-amd.ko "$dir"/kvm-intel.ko "$work/"
if [ -n "$key" ]; then
  sf=/usr/lib/linux-kbuild-$(kver_series "$kver")/scripts/sign-file
  [ -x "$sf" ] || sf=$(headers_dir "$kver")/scripts/sign-file
  [ -x "$sf" ] || refuse "no sign-file for $kver: install linux-kbuild-$(kver_series "$kver")"
  for m in "$work"/*.ko; do "$sf" sha256 "$key" "$cert" "$m" || die "signing $m failed"; done
  note "signed with $(basename "$cert")"
fi

# Options the admin configured for the stock modules (modprobe.d) apply to ours too.
mod_options() { modprobe -c 2>/dev/null | awk -v m="$1" '$1 == "options" && $2 == m { $1 = $2 = ""; print }' | xargs; }

# Dependencies other than kvm itself come from the stock kernel (irqbypass, ccp, ...).
load_deps() {
  local d
  for d in $(modinfo -F depends "$1" | tr ',' ' '); do
    [ "$d" = kvm ] && continue
    [ -d "$sysroot/sys/module/$d" ] || run modprobe "$d" || die "cannot load $d, which $(basename "$1") needs"
  done
}

restore_stock() {
  note "loading the new modules failed; restoring the stock ones"
  rmmod "$vendor" 2>/dev/null || true
  rmmod kvm 2>/dev/null || true
  modprobe "$vendor" || note "modprobe $vendor failed too: no KVM is loaded now"
  exit 1
}

if [ "$already" = 0 ]; then
  if [ -d "$sysroot/sys/module/$vendor" ]; then run rmmod "$vendor"; fi
  if [ -d "$sysroot/sys/module/kvm" ]; then run rmmod kvm; fi
  load_deps "$work/kvm.ko"
  # shellcheck disable=SC2046 # options are words
  run insmod "$work/kvm.ko" $(mod_options kvm) || restore_stock
  load_deps "$vendor_ko"
  # shellcheck disable=SC2046
  run insmod "$work/$(basename "$vendor_ko")" $(mod_options "$vendor") || restore_stock
  [ "$dry_run" = 1 ] || loaded_kvm_is_ours "$dir" || die "kvm loaded, but it is not the module from $dir"
  note "loaded xenkvm's kvm.ko and $(basename "$vendor_ko") (Xen HVM support) into $kver"
fi

if [ "$persist" = 1 ]; then
  dest=$sysroot/lib/modules/$kver/updates/xenkvm
  run mkdir -p "$dest"
  run cp "$work/kvm.ko" "$work/kvm-amd.ko" "$work/kvm-intel.ko" "$dir/build-info" "$dest/"
  run depmod -a "$kver"
  note "persisted in $dest: these load at every boot of $kver until scripts/kvm-kernel/uninstall.sh"
fi
