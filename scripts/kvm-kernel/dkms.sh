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
force_file=/usr/share/dkms/modules_to_force_install/$name
for ((i = 0; i < ${#dargs[@]}; i++)); do
  [ "${dargs[$i]}" = --sourcetree ] && srctree=${dargs[$((i + 1))]}
done
command -v dkms >/dev/null || refuse "dkms is not installed: apt-get install dkms"
[ "$(id -u)" = 0 ] || refuse "dkms needs root"

case ${1:-} in
  install|build)
    kver=${2:-$(running_kver)}
    staged=$srctree/$name-$version
    export XENKVM_KMOD_CACHE=$cache	# the extracted source cache build.sh uses too
    rm -rf "$staged"; mkdir -p "$staged/kvm/kernel" "$staged/scripts"
    cp "$repo/Kbuild" "$repo/dkms.conf" "$staged/"
    cp "$repo/kvm/kernel/Kbuild" "$repo/kvm/kernel/xen.kbuild" "$staged/kvm/kernel/"
    [ -d "$repo/kvm/kernel/patches" ] && cp -r "$repo/kvm/kernel/patches" "$staged/kvm/kernel/"
    cp -r "$repo/scripts/kvm-kernel" "$staged/scripts/"
    dkms "${dargs[@]}" status -m "$name" -v "$version" 2>/dev/null | grep -q . ||
      dkms "${dargs[@]}" add -m "$name" -v "$version"
    dkms "${dargs[@]}" build -m "$name" -v "$version" -k "$kver" ||
      die "dkms build failed; see the make.log dkms names above"
    [ "$1" = build ] && exit 0
    # Our kvm.ko has the stock one's (empty) module version, so dkms install would keep
    # the stock modules ("DKMS will not replace this module"), now and at every kernel
    # update; this entry (the xenkvm-dkms package ships the same) makes dkms skip that check.
    if [ ! -e "$force_file" ]; then
      mkdir -p "$(dirname "$force_file")" && echo "${name}_version-override" >"$force_file"
    fi
    dkms "${dargs[@]}" install -m "$name" -v "$version" -k "$kver"
    ;;
  remove)
    dkms "${dargs[@]}" remove -m "$name" -v "$version" --all || true
    rm -rf "${srctree:?}/$name-$version"
    # (not for throw-away trees, nor when the xenkvm-dkms package owns it)
    [ "$srctree" != /usr/src ] || dpkg -S "$force_file" >/dev/null 2>&1 || rm -f "$force_file"
    ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
