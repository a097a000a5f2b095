# Shared helpers for scripts/kvm-kernel/*.sh (sourced, not run).
#
# Everything that reads the state of the running system goes through $sysroot so the
# refusals can be tested against a fake /proc and /sys: XENKVM_SYSROOT=DIR makes the
# scripts read DIR/proc/version, DIR/sys/module/... instead, and (because such a run
# describes a system that is not this one) turns every action into a dry run.

set -euo pipefail

kk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$kk_dir/../.." && pwd)
sysroot=${XENKVM_SYSROOT:-}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/kmod
tree=$repo/kvm/kernel/tree
prog=$(basename "$0" .sh)
dry_run=0
[ -n "$sysroot" ] && dry_run=1

# Exit status 3 means "refused: a precondition does not hold"; the message says what to do.
refuse() { echo "$prog: refusing: $*" >&2; exit 3; }
die() { echo "$prog: error: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

run() {
  if [ "$dry_run" = 1 ]; then echo "$prog: would run: $*"; else "$@"; fi
}

running_kver() { cat "$sysroot/proc/sys/kernel/osrelease"; }

# "6.1.0-56-amd64" -> "6.1": the linux-source-X.Y package series.
kver_series() { echo "$1" | sed -nE 's/^([0-9]+\.[0-9]+)\..*/\1/p'; }

# The Debian package version a kernel was built from, "" if unknown.
#   running kernel: the last "Debian X" in /proc/version (an earlier one names gcc's version)
#   otherwise:      the installed linux-image-KVER package (signed or unsigned)
kernel_debian_version() {
  local kver=$1 v="" p
  if [ "$kver" = "$(running_kver)" ]; then
    v=$(grep -oE 'Debian [0-9][^ ]*' "$sysroot/proc/version" | tail -1 | cut -d' ' -f2)
    [ -n "$v" ] && { echo "$v"; return; }
  fi
  for p in "linux-image-$kver" "linux-image-$kver-unsigned"; do
    v=$(dpkg_version "$p")
    [ -n "$v" ] && { echo "$v"; return; }
  done
  echo ""
}

headers_dir() {
  local kver=$1 d
  for d in "/lib/modules/$kver/build" "/usr/src/linux-headers-$kver"; do
    [ -f "$d/Makefile" ] && [ -f "$d/Module.symvers" ] && { readlink -f "$d"; return; }
  done
  echo ""
}

headers_debian_version() { dpkg_version "linux-headers-$1"; }

# Version of a package whose files are on disk; DKMS runs while dpkg is still
# configuring the kernel, so unpacked and half-configured count too.
# Empty for a package dpkg has never heard of (dpkg-query then fails: not an error here).
dpkg_version() {
  { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null || true; } |
    awk '$3 != "not-installed" && $3 != "config-files" && NF == 4 {print $4}'
}

# Identifies our glue (not Linux's code): a change here invalidates cached builds.
glue_hash() {
  cat "$repo/kvm/kernel/Kbuild" "$repo/kvm/kernel/xen.kbuild" "$kk_dir/prepare.sh" \
      $(ls "$repo"/kvm/kernel/patches/*.patch 2>/dev/null) | sha256sum | cut -c1-12
}

out_dir() { echo "$repo/kvm/kernel/out/$1"; }

# key=value lines written by build.sh beside the modules.
build_info() { sed -n "s/^$2=//p" "$1/build-info" 2>/dev/null; }

vendor_module() {
  if grep -qw svm "$sysroot/proc/cpuinfo" 2>/dev/null; then echo kvm_amd
  elif grep -qw vmx "$sysroot/proc/cpuinfo" 2>/dev/null; then echo kvm_intel
  else echo ""; fi
}

# Refuse while anything keeps the loaded KVM busy: open /dev/kvm (a VM or a probe),
# the vendor module's reference count (each VM holds one), or another module built on
# kvm (kvmgt, ...) that we would have to unload behind the user's back.
check_kvm_idle() {
  local m pids="" p holders
  for p in "$sysroot"/proc/[0-9]*; do
    # (not "ls | grep -q": with pipefail, grep's early exit fails the pipeline for a VMM with many fds)
    [ -n "$(find "$p/fd" -maxdepth 1 -lname /dev/kvm -print -quit 2>/dev/null)" ] && pids="$pids ${p##*/}"
  done
  [ -z "$pids" ] || refuse "/dev/kvm is open by process(es)$pids ($(for p in $pids; do cat "$sysroot/proc/$p/comm" 2>/dev/null; done | tr '\n' ' '| sed 's/ $//')); stop the VMs first"
  for m in kvm_amd kvm_intel; do
    [ -d "$sysroot/sys/module/$m" ] || continue
    [ "$(cat "$sysroot/sys/module/$m/refcnt" 2>/dev/null || echo 0)" = 0 ] ||
      refuse "$m is in use (refcnt $(cat "$sysroot/sys/module/$m/refcnt")): running VMs hold it; stop them first"
  done
  if [ -d "$sysroot/sys/module/kvm/holders" ]; then
    holders=$(ls "$sysroot/sys/module/kvm/holders" | grep -vxE 'kvm_amd|kvm_intel' | tr '\n' ' ' || true)
    [ -z "$holders" ] || refuse "modules built on kvm are loaded: ${holders% }; unload them first (rmmod ${holders% })"
  fi
}

# Signature enforcement: lockdown (what Secure Boot turns on in Debian) or module.sig_enforce.
# Without securityfs to read the lockdown state from, Secure Boot alone counts.
sig_enforced() {
  local f=$sysroot/sys/kernel/security/lockdown
  if [ "$(cat "$sysroot/sys/module/module/parameters/sig_enforce" 2>/dev/null)" = Y ]; then
    echo "module.sig_enforce=1"
  elif [ -r "$f" ]; then
    case $(cat "$f") in *"[none]"*) return 1 ;; esac
    echo "kernel lockdown is $(cat "$f")"
  elif secure_boot_on; then
    echo "Secure Boot is enabled"
  else
    return 1
  fi
}

secure_boot_on() {
  local f
  f=$(ls "$sysroot"/sys/firmware/efi/efivars/SecureBoot-* 2>/dev/null | head -1)
  [ -n "$f" ] || return 1
  # 4 bytes of attributes, then the value byte.
  [ "$(od -An -t u1 -j 4 -N 1 "$f" | tr -d ' ')" = 1 ]
}

# The loaded kvm is the one in DIR when their GNU build IDs are equal (the kernel
# exports each module's notes; modinfo has nothing that tells two builds apart).
loaded_kvm_is_ours() {
  local dir=$1 note=$sysroot/sys/module/kvm/notes/.note.gnu.build-id t rc=1
  [ -r "$note" ] && [ -f "$dir/kvm.ko" ] || return 1
  t=$(mktemp)
  objcopy -O binary --only-section=.note.gnu.build-id "$dir/kvm.ko" "$t" 2>/dev/null &&
    cmp -s "$t" "$note" && rc=0
  rm -f "$t"
  return $rc
}
