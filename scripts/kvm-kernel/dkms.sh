#!/usr/bin/env bash
# dkms.sh: register xenkvm's KVM with DKMS so it is rebuilt for every kernel update.
#
# usage: dkms.sh install [KVER]   stage into /usr/src/xenkvm-kvm-VERSION, dkms add, build, install
#        dkms.sh build [KVER]     the same without installing
#        dkms.sh remove           dkms remove --all, delete the staged source
#   DKMS_ARGS="--sourcetree D --dkmstree D --installtree D"  use other trees (tests)
#
# Only the files the build needs are staged (the top-level Kbuild, dkms.conf, kvm/kernel's
# glue and patches, scripts/kvm-kernel), not the whole checkout.  "dkms install" puts the
# modules in /lib/modules/KVER/updates/dkms/; they load from the next boot, or at once
# after "modprobe -r kvm_amd kvm; modprobe kvm_amd" (kvm_intel on Intel) with no VM running.
. "$(dirname "$0")/lib.sh"

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$repo/dkms.conf")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$repo/dkms.conf")
read -ra dargs <<<"${DKMS_ARGS:-}"
srctree=/usr/src
for ((i = 0; i < ${#dargs[@]}; i++)); do
  [ "${dargs[$i]}" = --sourcetree ] && srctree=${dargs[$((i + 1))]}
done
command -v dkms >/dev/null || refuse "dkms is not installed: apt-get install dkms"
[ "$(id -u)" = 0 ] || refuse "dkms needs root"

case ${1:-} in
  install|build)
    kver=${2:-$(running_kver)}
    staged=$srctree/$name-$version
    rm -rf "$staged"; mkdir -p "$staged/kvm/kernel" "$staged/scripts"
    cp "$repo/Kbuild" "$repo/dkms.conf" "$staged/"
    cp "$repo/kvm/kernel/Kbuild" "$repo/kvm/kernel/xen.kbuild" "$staged/kvm/kernel/"
    [ -d "$repo/kvm/kernel/patches" ] && cp -r "$repo/kvm/kernel/patches" "$staged/kvm/kernel/"
    cp -r "$repo/scripts/kvm-kernel" "$staged/scripts/"
    dkms "${dargs[@]}" status -m "$name" -v "$version" 2>/dev/null | grep -q . ||
      dkms "${dargs[@]}" add -m "$name" -v "$version"
    dkms "${dargs[@]}" build -m "$name" -v "$version" -k "$kver" ||
      die "dkms build failed; see the make.log dkms names above"
    [ "$1" = build ] || dkms "${dargs[@]}" install -m "$name" -v "$version" -k "$kver"
    ;;
  remove)
    dkms "${dargs[@]}" remove -m "$name" -v "$version" --all || true
    rm -rf "${srctree:?}/$name-$version"
    ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
