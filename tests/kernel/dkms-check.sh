#!/usr/bin/env bash
# dkms-check.sh KVER IMAGE-VERSION: build xenkvm-kvm through DKMS (dkms.conf at the top of
# the repository) into throw-away DKMS trees, check the three modules came out with Xen
# support, and remove them again.  Nothing under /usr/src or /var/lib/dkms is touched
# (except that Debian's dkms creates its signing key /var/lib/dkms/mok.key once).
set -euo pipefail
kver=$1
export XENKVM_IMAGE_VERSION=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
mkdir -p "$t/src" "$t/dkms"
export DKMS_ARGS="--sourcetree $t/src --dkmstree $t/dkms"
"$repo/scripts/kvm-kernel/dkms.sh" build "$kver"
m=$t/dkms/xenkvm-kvm/1.0/$kver/x86_64/module
for k in kvm kvm-amd kvm-intel; do
  [ -f "$m/$k.ko" ] || { echo "dkms-check: DKMS did not produce $k.ko"; exit 1; }
done
nm "$m/kvm.ko" >"$t/syms"
grep -q ' T kvm_xen_hypercall$' "$t/syms" || { echo "dkms-check: DKMS's kvm.ko has no Xen support"; exit 1; }
"$repo/scripts/kvm-kernel/dkms.sh" remove
[ ! -e "$t/src/xenkvm-kvm-1.0" ] || { echo "dkms-check: remove left the staged source"; exit 1; }
echo "dkms-check: ok"
