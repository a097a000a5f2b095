#!/usr/bin/env bash
# prepare.sh: set up kvm/kernel/tree/ so that kbuild (top-level Kbuild -> kvm/kernel/)
# builds kernel KVER's own KVM modules with CONFIG_KVM_XEN.
#
# usage: prepare.sh [--source linux-source-X.Y_VER_all.deb] [--image-version VER]
#                   [--cache DIR] [KVER]
#   KVER              kernel release to build for (default: the running kernel)
#   --source DEB      use this linux-source package instead of finding one
#   --cache DIR       keep the extracted source in DIR/src/VER instead of the user's cache
#                     (dkms.conf: in DKMS's build directory, which goes with the package)
#   --image-version   the Debian version of linux-image-KVER, for a kernel that is neither
#                     running nor installed as a package (e.g. building for another machine);
#                     also taken from $XENKVM_IMAGE_VERSION (how DKMS passes it on)
#
# The repository carries no Linux source.  This extracts arch/x86/kvm and virt/kvm from
# the distro's linux-source-X.Y package of exactly the running image's version (cached
# under ${XDG_CACHE_HOME:-~/.cache}/xenkvm/kmod/src/VER), applies kvm/kernel/patches/*.patch
# if there are any, and generates tree/arch/x86/kvm/Kbuild from that directory's own
# Makefile with $(srctree) pointed at the extracted tree and kvm/kernel/xen.kbuild included.
#
# Refuses (exit 3) when the headers are missing, when the versions of image, headers and
# source disagree, or when the kernel is one this recipe is not safe for.
. "$(dirname "$0")/lib.sh"

src_deb="" image_version=${XENKVM_IMAGE_VERSION:-}
while [ $# -gt 0 ]; do
  case $1 in
    --source) src_deb=$(readlink -f "$2"); shift 2 ;;
    --image-version) image_version=$2; shift 2 ;;
    # (scripts/kvm-kernel/dkms.sh, run by a developer, passes its user's cache on through DKMS)
    --cache) cache=$(readlink -m "${XENKVM_KMOD_CACHE:-$2}"); shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
kver=${1:-$(running_kver)}
series=$(kver_series "$kver")
[ -n "$series" ] || die "cannot parse kernel release '$kver'"

# 1. Headers: kbuild needs the configured tree of exactly this kernel.
hdr=$(headers_dir "$kver")
[ -n "$hdr" ] || refuse "no kernel headers for $kver (looked in /lib/modules/$kver/build): install linux-headers-$kver"
conf=$hdr/include/config/auto.conf
[ -f "$conf" ] || refuse "$hdr has no include/config/auto.conf: not a configured kernel header tree; reinstall linux-headers-$kver"
grep -q '^CONFIG_KVM=m$' "$conf" || refuse "$kver does not build KVM as a module (CONFIG_KVM=$(sed -n 's/^CONFIG_KVM=//p' "$conf")); nothing here can replace it"
if grep -q '^CONFIG_KVM_XEN=y$' "$conf"; then
  note "$kver already has CONFIG_KVM_XEN=y: its stock KVM supports Xen guests, nothing to build"
  exit 4
fi
# Turning CONFIG_KVM_XEN on only inside arch/x86/kvm is safe because no header outside it
# tests the option, so struct layouts and exported symbols stay those of the stock kernel.
for d in "$hdr/include" "$hdr/arch/x86/include" "$(readlink -f "/lib/modules/$kver/source" 2>/dev/null || true)/include" \
         "$(readlink -f "/lib/modules/$kver/source" 2>/dev/null || true)/arch/x86/include"; do
  [ -d "$d" ] || continue
  f=$(grep -rlw CONFIG_KVM_XEN "$d" --include='*.h' 2>/dev/null | grep -v '/generated/\|/config/' | head -1 || true)
  [ -z "$f" ] || refuse "$f tests CONFIG_KVM_XEN: enabling it out of tree would change structures shared with the rest of $kver"
done

# 2. Which Debian kernel this is, and do headers and source match it.
known=$(kernel_debian_version "$kver")
if [ -n "$image_version" ] && [ -n "$known" ] && [ "$image_version" != "$known" ]; then
  refuse "--image-version $image_version, but kernel $kver is Debian $known"
fi
image_version=${image_version:-$known}
[ -n "$image_version" ] ||
  refuse "cannot tell which Debian version kernel $kver is (it is not running and linux-image-$kver is not installed): pass --image-version VER"
hver=$(headers_debian_version "$kver")
if [ -z "$hver" ]; then
  note "warning: $hdr is not from an installed linux-headers-$kver package; its version cannot be checked"
elif [ "$hver" != "$image_version" ]; then
  refuse "linux-headers-$kver is version $hver but the kernel is $image_version: install linux-headers-$kver=$image_version (or boot the kernel the headers belong to)"
fi

# 3. The source, from the package of exactly that version.
srcpkg=linux-source-$series
srcdir=$cache/src/$image_version
extract_kvm() {  # DEB-or-TARBALL
  local in=$1 tmp=$srcdir.tmp.$$
  rm -rf "$tmp"; mkdir -p "$tmp"
  note "extracting arch/x86/kvm and virt/kvm from $(basename "$in")"
  case $in in
    *.deb) dpkg-deb --fsys-tarfile "$in" | tar -xO "./usr/src/$srcpkg.tar.xz" ;;
    *) cat "$in" ;;
  esac | xz -dc | tar -x -C "$tmp" --strip-components=1 "$srcpkg/arch/x86/kvm" "$srcpkg/virt/kvm" ||
    { rm -rf "$tmp"; die "could not extract the KVM sources from $in"; }
  [ -f "$tmp/arch/x86/kvm/Makefile" ] && [ -f "$tmp/virt/kvm/kvm_main.c" ] ||
    { rm -rf "$tmp"; die "$in does not contain arch/x86/kvm and virt/kvm"; }
  echo "$image_version" >"$tmp/source-version"
  rm -rf "$srcdir"; mv "$tmp" "$srcdir"
}
if [ -n "$src_deb" ]; then
  [ -f "$src_deb" ] || die "no such file: $src_deb"
  p=$(dpkg-deb -f "$src_deb" Package 2>/dev/null) || die "$src_deb is not a Debian package"
  v=$(dpkg-deb -f "$src_deb" Version)
  [ "$p" = "$srcpkg" ] || refuse "$src_deb is $p, kernel $kver needs $srcpkg"
  [ "$v" = "$image_version" ] ||
    refuse "$src_deb is $srcpkg $v but kernel $kver is $image_version: the source must be of exactly the running kernel's version"
  extract_kvm "$src_deb"
elif [ ! -f "$srcdir/source-version" ]; then
  iv=$(dpkg_version "$srcpkg")
  if [ "$iv" = "$image_version" ] && [ -f "/usr/src/$srcpkg.tar.xz" ]; then
    extract_kvm "/usr/src/$srcpkg.tar.xz"
  else
    [ -z "$iv" ] || note "installed $srcpkg is $iv, not $image_version: fetching $image_version"
    dl=$(mktemp -d); chmod 755 "$dl"
    (cd "$dl" && apt-get download "$srcpkg=$image_version" >/dev/null 2>&1) || {
      rm -rf "$dl"
      refuse "$srcpkg=$image_version (the running kernel's version) is not available from the package archive; check 'apt-cache policy $srcpkg', or upgrade to the archive's kernel and reboot"
    }
    extract_kvm "$(ls "$dl"/*.deb)"
    rm -rf "$dl"
  fi
fi
[ "$(cat "$srcdir/source-version")" = "$image_version" ] || die "cache $srcdir is inconsistent; remove it"

# 4. A fresh build tree: pristine source, our patches, the generated Kbuild.
rm -rf "$tree"; mkdir -p "$tree"
cp -a "$srcdir/." "$tree/"
# trace.h re-includes itself as TRACE_INCLUDE_PATH/trace.h = ../../arch/x86/kvm/trace.h,
# resolved against the include path: this directory is the -I that makes it land in tree/.
mkdir -p "$tree/include/trace"
for p in $(ls "$repo"/kvm/kernel/patches/*.patch 2>/dev/null); do
  note "applying $(basename "$p")"
  patch -s -p1 -d "$tree" <"$p" || die "$(basename "$p") does not apply to $srcpkg $image_version"
done
mk=$tree/arch/x86/kvm/Makefile
grep -q '^include $(srctree)/virt/kvm/Makefile.kvm' "$mk" ||
  refuse "$srcpkg $image_version: arch/x86/kvm/Makefile does not include virt/kvm/Makefile.kvm as expected; this kernel series is not supported"
{
  echo "# Generated by scripts/kvm-kernel/prepare.sh for $kver from $srcpkg $image_version:"
  echo "# this directory's Makefile with \$(srctree) -> the extracted tree, after xenkvm's settings."
  echo 'xenkvm_tree := $(abspath $(src)/../../..)'
  echo 'include $(src)/../../../../xen.kbuild'
  sed 's/\$(srctree)/$(xenkvm_tree)/g' "$mk"
} >"$tree/arch/x86/kvm/Kbuild"
cat >"$tree/prepared" <<EOF
kver=$kver
source_version=$image_version
headers=$hdr
glue=$(glue_hash)
EOF
note "prepared kvm/kernel/tree for $kver from $srcpkg $image_version"
