#!/usr/bin/env bash
# xenkvm-system-test: host
# test_kernel_modules: the kernel half of xenkvm (scripts/kvm-kernel/, kvm/kernel/, dkms.conf).
#
# Outside the nested host (fast, no VM):
#   - refusals: missing headers, unknown kernel version, source package of another version,
#     headers of another version than the running kernel, Secure Boot/lockdown without a
#     key, modules built from another source version, KVM in use (fake /proc and /sys
#     through XENKVM_SYSROOT, which also makes install.sh a dry run)
#   - signing with a throw-away key lifts the Secure Boot refusal
#   - build.sh builds Debian's current 6.1 kernel's KVM (cached by source version + glue)
# Inside the nested host booted with that stock kernel (tests/nested/l1-run -k):
#   KVM_CAP_XEN_HVM = 0 -> install.sh refuses while /dev/kvm is open -> install.sh ->
#   cap > 0 and a guest vmmcall exits as KVM_EXIT_XEN -> uninstall.sh -> cap = 0 ->
#   install.sh --persist + modprobe loads ours -> uninstall.sh removes it -> cap = 0.
#
# Needs: the Debian archive (linux-headers/linux-image/linux-source of the current 6.1),
# gcc, make; exits 77 saying why when something is missing.  Set XENKVM_TEST_DKMS=1 to
# also build through dkms (another minute of CPU).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kk=$repo/scripts/kvm-kernel
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/kmod

# ---------------------------------------------------------------------------------------
# Phase run inside L1 by the outer test: ARGS = KVER STOCK-MODULES-DIR PROBE
if [ "${1:-}" = --in-l1 ]; then
  kver=$2 stock=$3 probe=$4
  n=0
  ok() { n=$((n + 1)); echo "ok $n - $*"; }
  nok() { n=$((n + 1)); echo "not ok $n - $*"; }
  check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
  cap() { "$probe" --cap | sed -n 's/^KVM_CAP_XEN_HVM=//p'; }

  [ "$(uname -r)" = "$kver" ] || { nok "L1 runs $(uname -r), expected $kver"; exit 0; }
  # A real system has its kernel's modules in /lib/modules; give L1 the stock KVM's.
  mkdir -p "/lib/modules/$kver" && cp -a "$stock/." "/lib/modules/$kver/" && depmod -a "$kver"
  echo "# $(grep -oE 'Debian [0-9][^ ]*' /proc/version | tail -1), $(cat /sys/module/kvm/taint 2>/dev/null | sed 's/^$/stock kvm/')"

  c=$(cap); check "stock $kver: KVM_CAP_XEN_HVM = 0 (got $c)" [ "$c" = 0 ]
  "$probe" >/tmp/p.out 2>&1; rc=$?
  check "stock: the hypercall probe reports no Xen support (rc $rc)" [ $rc = 1 ]

  exec 3</dev/kvm
  out=$("$kk/install.sh" 2>&1); rc=$?
  check "install.sh refuses while /dev/kvm is open (rc $rc)" [ $rc = 3 ]
  check "  ... and names the process" grep -q '/dev/kvm is open by process' <<<"$out"
  exec 3<&-
  c=$(cap); check "  ... and leaves the stock KVM loaded (cap $c)" [ "$c" = 0 ]

  "$kk/install.sh" >/tmp/i.out 2>&1; rc=$?
  sed 's/^/#   /' /tmp/i.out
  check "install.sh loads the rebuilt modules (rc $rc)" [ $rc = 0 ]
  c=$(cap); check "rebuilt: KVM_CAP_XEN_HVM > 0 (got $c)" [ "${c:-0}" -gt 0 ]
  "$probe" >/tmp/p.out 2>&1; rc=$?
  sed 's/^/#   /' /tmp/p.out
  check "rebuilt: KVM_XEN_HVM_CONFIG(INTERCEPT_HCALL) works and vmmcall exits as KVM_EXIT_XEN (rc $rc)" [ $rc = 0 ]
  check "  ... with the guest's hypercall number and argument" grep -q 'KVM_EXIT_XEN hcall input=17 .*arg0=0xabc' /tmp/p.out
  XENKVM_PROBE=$probe "$kk/status.sh" >/tmp/s.out 2>&1
  check "status.sh says xenkvm's build is loaded" grep -q '^kvm: xenkvm build' /tmp/s.out
  check "kvm_amd is loaded on top of it" [ -d /sys/module/kvm_amd ]
  out=$("$kk/install.sh" 2>&1); rc=$?
  check "install.sh again is a no-op (rc $rc)" grep -q 'already loaded' <<<"$out"

  # The point of it all: Debian's 6.1 guest now boots as a Xen HVM guest through
  # the kernel intercept, with PV clock, event channels and xenbus working.
  vmm=${BUILD:-$repo/build}/xenkvmd
  if [ -x "$vmm" ] && [ -n "${XENKVM_KERNEL:-}" ] && [ -n "${XENKVM_INITRD:-}" ]; then
    printf 'name = "xktest-kmod"\nkernel = "%s"\nramdisk = "%s"\nextra = "console=ttyS0 quiet xktest=xen"\nmemory = 256\nvcpus = 2\n' \
      "$XENKVM_KERNEL" "$XENKVM_INITRD" >/tmp/g.cfg
    timeout 300 "$vmm" --xen-hcall=intercept --xenstore-socket=/tmp/xs.sock /tmp/g.cfg </dev/null 2>/tmp/g.err |
      while IFS= read -r line; do
        line=${line%$'\r'}
        printf '%s\n' "$line"
        case $line in XS-WRITTEN*) XENSTORED_PATH=/tmp/xs.sock xenstore-read /local/domain/1/data/xenkvm-test >/tmp/g.xs 2>&1 ;; esac
      done >/tmp/g.out
    check "guest on the rebuilt KVM: xenkvmd reports the kernel intercept path" grep -q 'hypercalls: kernel intercept' /tmp/g.err
    check "  ... Xen HVM detected" grep -q 'DMESG: Hypervisor detected: Xen HVM' /tmp/g.out
    check "  ... 2-level event channels and the vector callback" \
      sh -c "grep -q 'Using 2-level ABI' /tmp/g.out && grep -q 'callback vector for event delivery is enabled' /tmp/g.out"
    check "  ... PV clock: clocksource xen" grep -qx 'CLOCKSOURCE=xen' /tmp/g.out
    check "  ... xenbus: the guest's XenStore write read back on the host" grep -qx hello /tmp/g.xs
    grep -q 'CLOCKSOURCE=xen' /tmp/g.out || sed 's/^/#   guest: /' /tmp/g.out | tail -15
  else
    nok "guest boot on the rebuilt KVM: xenkvmd or the guest assets missing (BUILD, XENKVM_KERNEL, XENKVM_INITRD)"
  fi

  "$kk/uninstall.sh" >/tmp/u.out 2>&1; rc=$?
  sed 's/^/#   /' /tmp/u.out
  check "uninstall.sh restores the stock modules (rc $rc)" [ $rc = 0 ]
  c=$(cap); check "restored: KVM_CAP_XEN_HVM = 0 (got $c)" [ "$c" = 0 ]
  check "restored: kvm is not out-of-tree (taint '$(cat /sys/module/kvm/taint)')" \
    sh -c '! grep -q O /sys/module/kvm/taint'

  "$kk/install.sh" --persist >/tmp/i.out 2>&1; rc=$?
  check "install.sh --persist (rc $rc)" [ $rc = 0 ]
  check "  ... puts the modules in /lib/modules/$kver/updates/xenkvm" [ -f "/lib/modules/$kver/updates/xenkvm/kvm.ko" ]
  modprobe -r kvm_amd kvm && modprobe kvm_amd
  c=$(cap); check "  ... and modprobe now loads them (cap $c)" [ "${c:-0}" -gt 0 ]
  "$kk/uninstall.sh" >/tmp/u.out 2>&1; rc=$?
  check "uninstall.sh after --persist (rc $rc)" [ $rc = 0 ]
  check "  ... removes the persisted copies" [ ! -e "/lib/modules/$kver/updates/xenkvm" ]
  c=$(cap); check "  ... and the stock KVM is back (cap $c)" [ "$c" = 0 ]
  exit 0
fi

# ---------------------------------------------------------------------------------------
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
skip() { echo "test_kernel_modules: skipped: $*"; exit 77; }
finish() { echo "test_kernel_modules: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }
# expect RC PATTERN WHAT CMD...: CMD exits RC and its output matches PATTERN
expect() {
  local want=$1 pat=$2 what=$3 out rc; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" = "$want" ] && grep -qE -- "$pat" <<<"$out"; then ok "$what"
  else nok "$what (rc $rc, want $want; output: $(tail -3 <<<"$out" | tr '\n' ' '))"; fi
}

# It boots its own nested host with the stock kernel, so it cannot run inside one
# (tests/system/run.sh runs every test inside L1 on machines whose KVM cannot run guests).
if [ -n "${XENKVM_IN_L1:-}" ] || [ -n "${L1_RUN:-}" ]; then
  skip "must run on the outer machine (it boots its own nested host with Debian's stock 6.1 kernel): run tests/system/test_kernel_modules.sh there"
fi
l1run=$repo/tests/nested/l1-run
[ -x "$l1run" ] || skip "tests/nested/l1-run is missing"
for t in gcc make xz dpkg-deb apt-get openssl objcopy; do
  command -v "$t" >/dev/null || skip "$t is not installed"
done
export DEBIAN_FRONTEND=noninteractive
if ! command -v modinfo >/dev/null; then
  apt-get install -y -qq kmod >/dev/null 2>&1 || skip "kmod (modinfo, insmod) is not installed and apt-get cannot install it"
fi

# Debian's current 6.1 kernel: what linux-image-amd64 points at.
img=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1\.[0-9]/{print $2; exit}')
[ -n "$img" ] || { apt-get update -qq >/dev/null 2>&1; img=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1\.[0-9]/{print $2; exit}'); }
[ -n "$img" ] || skip "no linux-image-6.1.0-N-amd64 in the package archive (apt-cache depends linux-image-amd64)"
kver=${img#linux-image-}
imgver=$(apt-cache policy "$img" | awk '/Candidate:/{print $2}')
echo "# kernel $kver, Debian $imgver"
if [ ! -f "/lib/modules/$kver/build/Makefile" ]; then
  apt-get install -y -qq --no-install-recommends "linux-headers-$kver=$imgver" >/dev/null 2>&1 ||
    skip "cannot install linux-headers-$kver=$imgver"
fi
hver=$(dpkg-query -W -f='${Version}' "linux-headers-$kver")
[ "$hver" = "$imgver" ] || skip "installed linux-headers-$kver is $hver, the archive's image is $imgver"

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# --- refusals (outside L1) -------------------------------------------------------------
expect 3 "install linux-headers-6\.1\.0-9999-amd64" "prepare.sh refuses without headers, naming the package" \
  "$kk/prepare.sh" 6.1.0-9999-amd64
expect 3 "pass --image-version" "prepare.sh refuses a kernel whose version it cannot tell" \
  "$kk/prepare.sh" "$kver"

# A source package of another version than the kernel: a stand-in .deb is enough,
# the refusal comes before anything is extracted.
mkdir -p "$work/fakesrc/DEBIAN" "$work/fakesrc/usr/src"
printf 'Package: linux-source-6.1\nVersion: 6.1.1-1\nArchitecture: all\nMaintainer: test <t@t>\nDescription: stand-in\n' \
  >"$work/fakesrc/DEBIAN/control"
dpkg-deb -b "$work/fakesrc" "$work/linux-source-6.1_6.1.1-1_all.deb" >/dev/null
expect 3 "is linux-source-6\.1 6\.1\.1-1 but kernel $kver is $imgver" "prepare.sh refuses a source package of another version" \
  "$kk/prepare.sh" --source "$work/linux-source-6.1_6.1.1-1_all.deb" --image-version "$imgver" "$kver"

# A fake running system (XENKVM_SYSROOT): /proc/version names the running kernel's version.
fake_system() {  # DIR DEBIAN-VERSION
  local d=$1
  rm -rf "$d"; mkdir -p "$d/proc/sys/kernel" "$d/sys/kernel/security" "$d/sys/module/kvm/holders" \
    "$d/sys/module/kvm_amd" "$d/sys/module/module/parameters"
  echo "$kver" >"$d/proc/sys/kernel/osrelease"
  echo "Linux version $kver (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian $2 (2026-01-01)" >"$d/proc/version"
  echo "flags : fpu svm" >"$d/proc/cpuinfo"
  echo "[none] integrity confidentiality" >"$d/sys/kernel/security/lockdown"
  echo N >"$d/sys/module/module/parameters/sig_enforce"
  echo 0 >"$d/sys/module/kvm_amd/refcnt"
  echo 1 >"$d/sys/module/kvm/refcnt"
  ln -s ../../kvm_amd "$d/sys/module/kvm/holders/kvm_amd"
}
fake_system "$work/old" 6.1.1-1
expect 3 "linux-headers-$kver is version $imgver but the kernel is 6\.1\.1-1" \
  "prepare.sh refuses headers of another version than the running kernel" \
  env XENKVM_SYSROOT="$work/old" "$kk/prepare.sh"
expect 3 "--image-version $imgver, but kernel $kver is Debian 6\.1\.1-1" "--image-version cannot override what /proc/version says" \
  env XENKVM_SYSROOT="$work/old" "$kk/prepare.sh" --image-version "$imgver"

# kbuild through the top-level Kbuild refuses an unprepared tree, or one prepared for another kernel.
mkdir -p "$work/stage/kvm/kernel"
cp "$repo/Kbuild" "$work/stage/" && cp "$repo/kvm/kernel/Kbuild" "$repo/kvm/kernel/xen.kbuild" "$work/stage/kvm/kernel/"
expect 2 "kvm/kernel/tree is not prepared: run scripts/kvm-kernel/prepare.sh" "kbuild stops on an unprepared tree" \
  make -C "/lib/modules/$kver/build" M="$work/stage" modules
mkdir -p "$work/stage/kvm/kernel/tree/arch/x86/kvm" && : >"$work/stage/kvm/kernel/tree/arch/x86/kvm/Kbuild"
echo kver=6.1.0-1-amd64 >"$work/stage/kvm/kernel/tree/prepared"
expect 2 "prepared for 6\.1\.0-1-amd64, not $kver" "kbuild stops on a tree prepared for another kernel" \
  make -C "/lib/modules/$kver/build" M="$work/stage" modules

# --- build (cached by source version and glue) ------------------------------------------
t0=$(date +%s)
if ! "$kk/build.sh" --image-version "$imgver" "$kver" >"$work/build.log" 2>&1; then
  if grep -q 'refusing:.*not available from the package archive' "$work/build.log"; then
    skip "linux-source-6.1=$imgver is not in the archive"
  fi
  nok "build.sh $kver: $(tail -5 "$work/build.log" | tr '\n' ' ')"; finish
fi
out=$repo/kvm/kernel/out/$kver
ok "build.sh built kvm.ko, kvm-amd.ko, kvm-intel.ko for $kver in $(($(date +%s) - t0)) s"
[ "$(sed -n 's/^source_version=//p' "$out/build-info")" = "$imgver" ] && ok "build-info records source $imgver" ||
  nok "build-info: $(cat "$out/build-info")"
# (not "nm | grep -q": with pipefail, grep's early exit makes nm's SIGPIPE a failure)
syms=$(nm "$out/kvm.ko")
grep -q ' T kvm_xen_hypercall$' <<<"$syms" && ok "kvm.ko contains the Xen code (kvm_xen_hypercall)" ||
  nok "kvm.ko has no kvm_xen_hypercall"
# Same exported symbols with the same CRCs as Debian's kvm.ko: no structure shared with
# the rest of the kernel (or with kvm-amd/kvm-intel) changed shape.
ours=$(awk '$3 ~ /arch\/x86\/kvm\/kvm$/ {print $2, $1}' "$out/Module.symvers" | sort)
stock=$(awk '$3 == "arch/x86/kvm/kvm" {print $2, $1}' "/lib/modules/$kver/build/Module.symvers" | sort)
if [ -n "$ours" ] && [ "$ours" = "$stock" ]; then
  ok "kvm.ko exports the same $(wc -l <<<"$ours") symbols with the same CRCs as Debian's"
else
  nok "kvm.ko's exports differ from Debian's: $(diff <(echo "$stock") <(echo "$ours") | head -5 | tr '\n' ' ')"
fi
[ ! -e "$repo/Module.symvers" ] && ok "build.sh leaves no kbuild files at the top of the repo" || nok "Module.symvers left at the top"

# --- install.sh checks against fake systems (dry run: nothing is loaded here) ----------
fake_system "$work/sys" "$imgver"
expect 0 "would run: insmod .*/kvm\.ko" "install.sh: all checks pass on a matching idle system (dry run)" \
  env XENKVM_SYSROOT="$work/sys" "$kk/install.sh"
fake_system "$work/old" 6.1.1-1
expect 3 "built from linux-source $imgver but the running kernel is Debian 6\.1\.1-1" \
  "install.sh refuses modules built from another source version" env XENKVM_SYSROOT="$work/old" "$kk/install.sh"
fake_system "$work/sb" "$imgver"
echo "none [integrity] confidentiality" >"$work/sb/sys/kernel/security/lockdown"
expect 3 "lockdown.*sign-file.*|sign-file" "install.sh refuses unsigned modules under lockdown and says how to sign" \
  env XENKVM_SYSROOT="$work/sb" "$kk/install.sh"
expect 3 "mokutil --import" "  ... including MOK enrolment" env XENKVM_SYSROOT="$work/sb" "$kk/install.sh"
fake_system "$work/sb2" "$imgver"
rm "$work/sb2/sys/kernel/security/lockdown"
mkdir -p "$work/sb2/sys/firmware/efi/efivars"
printf '\x06\x00\x00\x00\x01' >"$work/sb2/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0bcb10bc"
expect 3 "Secure Boot is enabled" "install.sh refuses unsigned modules when the SecureBoot EFI variable is set" \
  env XENKVM_SYSROOT="$work/sb2" "$kk/install.sh"
fake_system "$work/enf" "$imgver"
echo Y >"$work/enf/sys/module/module/parameters/sig_enforce"
expect 3 "module\.sig_enforce=1" "install.sh refuses unsigned modules under module.sig_enforce=1" \
  env XENKVM_SYSROOT="$work/enf" "$kk/install.sh"
openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=xenkvm-test -outform DER \
  -keyout "$work/mok.priv" -out "$work/mok.der" >/dev/null 2>&1
expect 0 "signed with mok\.der" "install.sh --sign-key/--sign-cert signs and then proceeds under lockdown" \
  env XENKVM_SYSROOT="$work/sb" "$kk/install.sh" --sign-key "$work/mok.priv" --sign-cert "$work/mok.der"
sf=/usr/lib/linux-kbuild-$(echo "$kver" | cut -d. -f1-2)/scripts/sign-file
cp "$out/kvm.ko" "$work/signed.ko" && "$sf" sha256 "$work/mok.priv" "$work/mok.der" "$work/signed.ko" &&
  [ "$(modinfo -F signer "$work/signed.ko")" = xenkvm-test ] && ok "sign-file signs the built kvm.ko (signer xenkvm-test)" ||
  nok "signing kvm.ko with $sf"
fake_system "$work/busy" "$imgver"
echo 2 >"$work/busy/sys/module/kvm_amd/refcnt"
expect 3 "kvm_amd is in use \(refcnt 2\)" "install.sh refuses while VMs hold kvm_amd" env XENKVM_SYSROOT="$work/busy" "$kk/install.sh"
fake_system "$work/kvmgt" "$imgver"
echo OE >"$work/kvmgt/sys/module/kvm/taint"
ln -s ../../kvmgt "$work/kvmgt/sys/module/kvm/holders/kvmgt"
expect 3 "modules built on kvm are loaded: kvmgt" "install.sh refuses while other modules use kvm" \
  env XENKVM_SYSROOT="$work/kvmgt" "$kk/install.sh"
expect 3 "modules built on kvm are loaded: kvmgt" "uninstall.sh refuses likewise" \
  env XENKVM_SYSROOT="$work/kvmgt" "$kk/uninstall.sh"
fake_system "$work/other" "$imgver"
echo 6.1.0-1-amd64 >"$work/other/proc/sys/kernel/osrelease"
expect 3 "no kvm\.ko for 6\.1\.0-1-amd64" "install.sh refuses when nothing was built for the running kernel" \
  env XENKVM_SYSROOT="$work/other" "$kk/install.sh"

# --- optional: the DKMS definition -------------------------------------------------------
if [ "${XENKVM_TEST_DKMS:-0}" = 1 ]; then
  if command -v dkms >/dev/null; then
    "$here/../kernel/dkms-check.sh" "$kver" "$imgver" >"$work/dkms.log" 2>&1 && ok "dkms add/build/remove for $kver" ||
      nok "dkms: $(tail -5 "$work/dkms.log" | tr '\n' ' ')"
  else
    echo "# XENKVM_TEST_DKMS=1 but dkms is not installed: skipped"
  fi
fi

# --- in the nested host, booted with the stock kernel -----------------------------------
# The stock kernel's own KVM modules, as installed on a real system, for modprobe in L1.
stock=$cache/stock/$kver/lib/modules/$kver
if [ ! -f "$stock/kernel/arch/x86/kvm/kvm.ko" ] && [ ! -f "$stock/kernel/arch/x86/kvm/kvm.ko.xz" ]; then
  (cd "$work" && apt-get download "$img=$imgver" >/dev/null 2>&1) || skip "cannot download $img=$imgver"
  rm -rf "$cache/stock/$kver"; mkdir -p "$cache/stock/$kver"
  dpkg-deb --fsys-tarfile "$work"/linux-image-*.deb |
    tar -x -C "$cache/stock/$kver" --wildcards "./lib/modules/$kver/kernel/arch/x86/kvm" "./lib/modules/$kver/kernel/virt/lib" \
      "./lib/modules/$kver/kernel/drivers/crypto/ccp" "./lib/modules/$kver/modules.*" 2>/dev/null
  rm -f "$work"/*.deb
fi
[ -d "$stock/kernel/arch/x86/kvm" ] || skip "could not extract the stock KVM modules of $img"
probe=$out/xen_hcall_probe
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$probe" "$repo/tests/kernel/xen_hcall_probe.c" || { nok "compiling the probe"; finish; }

t0=$(date +%s)
"$l1run" -t 900 -w "$repo" -k "$img" -e BUILD="${BUILD:-$repo/build}" \
  -e XENKVM_KERNEL="${XENKVM_KERNEL:-}" -e XENKVM_INITRD="${XENKVM_INITRD:-}" \
  -- "$repo/tests/system/test_kernel_modules.sh" --in-l1 "$kver" "$stock" "$probe" \
  >"$work/l1.log" 2>&1
rc=$?
sed -n 's/^#/# L1:/p' "$work/l1.log"
if ! grep -q '^ok ' "$work/l1.log"; then
  nok "nested host with $img did not run the test (rc $rc): $(tail -5 "$work/l1.log" | tr '\n' ' ')"
  finish
fi
while read -r line; do
  case $line in
    "ok "*) ok "L1: ${line#ok [0-9]* - }" ;;
    "not ok "*) nok "L1: ${line#not ok [0-9]* - }" ;;
  esac
done < <(grep -E '^(not )?ok ' "$work/l1.log")
[ $rc = 0 ] || nok "l1-run exited $rc"
echo "# nested-host phase: $(($(date +%s) - t0)) s"
finish
