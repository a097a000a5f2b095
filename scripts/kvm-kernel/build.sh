#!/usr/bin/env bash
# build.sh: build kernel KVER's own KVM modules with CONFIG_KVM_XEN into kvm/kernel/out/KVER/.
#
# usage: build.sh [--rebuild] [--source DEB] [--image-version VER] [KVER]
#   (--source/--image-version/KVER: as for prepare.sh, which this runs first)
#
# The result is kvm.ko, kvm-amd.ko, kvm-intel.ko, their Module.symvers and build-info
# (kver, source version, glue hash, vermagic).  Builds are cached under ${XDG_CACHE_HOME:-~/.cache}/xenkvm/kmod/
# modules/KVER/SOURCEVERSION-GLUEHASH/, so a CI run with the same kernel and the same
# kvm/kernel glue reuses the modules; --rebuild ignores the cache.
. "$(dirname "$0")/lib.sh"

rebuild=0 pass=()
while [ $# -gt 0 ]; do
  case $1 in
    --rebuild) rebuild=1; shift ;;
    --source|--image-version) pass+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
kver=${1:-$(running_kver)}

"$kk_dir/prepare.sh" ${pass[@]+"${pass[@]}"} "$kver"
srcver=$(sed -n 's/^source_version=//p' "$tree/prepared")
hdr=$(sed -n 's/^headers=//p' "$tree/prepared")
key=$cache/modules/$kver/$srcver-$(glue_hash)
out=$(out_dir "$kver")
mods="kvm kvm-amd kvm-intel"

have_all() { local m; for m in $mods; do [ -f "$1/$m.ko" ] || return 1; done; [ -f "$1/build-info" ] && [ -f "$1/Module.symvers" ]; }

if [ "$rebuild" = 0 ] && have_all "$key"; then
  note "using cached build $key"
else
  # Build with the compiler the kernel was built with (its -Werror flags are tuned to it).
  cc=$(sed -nE 's/^CONFIG_CC_VERSION_TEXT="?([^ ]+) .*/\1/p' "$hdr/include/config/auto.conf")
  command -v "$cc" >/dev/null 2>&1 || { note "warning: $kver was built with $cc, which is not installed; using gcc"; cc=gcc; }
  note "building KVM for $kver from linux-source $srcver with $cc (about a minute on 2 cores)"
  make -C "$hdr" M="$repo" CC="$cc" -j2 modules
  # kbuild's bookkeeping for the whole external tree lands at the top of the repository;
  # keep the symbol versions (tests compare them with the stock kernel's), drop the rest.
  symvers=$(mktemp); cp "$repo/Module.symvers" "$symvers"
  rm -f "$repo/Module.symvers" "$repo/modules.order" "$repo/.Module.symvers.cmd" "$repo/.modules.order.cmd"
  built=$tree/arch/x86/kvm
  tmp=$key.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  for m in $mods; do cp "$built/$m.ko" "$tmp/"; done
  mv "$symvers" "$tmp/Module.symvers"
  # kvm.ko carries 19 MB of debug info; the loaded code is the same without it.
  strip --strip-debug "$tmp"/*.ko
  cat >"$tmp/build-info" <<EOF
kver=$kver
source_version=$srcver
glue=$(glue_hash)
vermagic=$(modinfo -F vermagic "$tmp/kvm.ko")
compiler=$cc
EOF
  rm -rf "$key"; mkdir -p "$(dirname "$key")"; mv "$tmp" "$key"
fi
rm -rf "$out"; mkdir -p "$out"
cp "$key"/* "$out/"
modinfo -F vermagic "$out/kvm.ko" | grep -q "^$kver " || die "built modules have vermagic '$(modinfo -F vermagic "$out/kvm.ko")', not $kver"
note "modules for $kver in ${out#"$repo"/}"
