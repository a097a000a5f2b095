#!/usr/bin/env bash
# xenkvm-system-test: host
# xenkvm-system-test-timeout: 1800
# test_dkms_package: the xenkvm-dkms package end to end on a Debian 12 root (issue #23).
#
#   1. A throw-away root: a private mount namespace with an overlayfs over this machine's
#      / (the upper directory under $BUILD) and a chroot into it; nothing is installed on
#      the real root.  There apt-get installs what a Debian 12 host has or the package
#      pulls in (linux-image, linux-headers and linux-source of Debian's current 6.1,
#      dkms), with the .debs cached under ~/.cache/xenkvm/dkms-package/.
#   2. dpkg -i $BUILD/deb/xenkvm-dkms_*.deb (left there by make check-package): its
#      postinst has dkms build and install the KVM modules for that 6.1 kernel, from
#      /usr/src/linux-source-6.1.tar.xz (this machine's own caches are hidden).
#   3. tests/nested/l1-run boots that stock kernel with the chroot's /lib/modules/KVER as
#      dkms left it: modprobe loads the dkms-built kvm, and KVM_CAP_XEN_HVM > 0.
#   4. dpkg -r removes the built modules, the DKMS tree and every file of dpkg -L;
#      dpkg -P leaves the root as it was before the package came (the overlay's upper
#      directory, apart from dpkg's, apt's and dkms's own bookkeeping).
#
# About 3 minutes of CPU with warm caches (4-5 minutes of wall time on a busy 2-core
# machine; the first run also downloads 210 MB); run.sh runs it beside the shared
# nested run, so it adds no wall time there.  XENKVM_TEST_DKMS_PACKAGE=0 leaves it out.  Needs root, unshare,
# overlayfs and the Debian archive; exits 77 saying why when something is missing.
set -uo pipefail
{
self=$(readlink -f "$0")
here=$(dirname "$self")
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$repo/build}
case $BUILD in /*) ;; *) BUILD=$repo/$BUILD ;; esac
name=test_dkms_package
dkms_name=xenkvm-kvm dkms_version=1.0

# Bookkeeping that is not the package's: dpkg's database and logs, apt's lists and
# caches, and the signing key Debian's dkms makes on its first build (dkms's own file).
snapshot() {	# snapshot UPPER: what the throw-away root has that this machine's / has not
	(cd "$1" && find . -mindepth 1 \( -path ./var/lib/dpkg -o -path ./var/log -o -path ./var/cache \
		-o -path ./var/lib/apt -o -path ./tmp -o -path ./run -o -path './var/lib/dkms/mok.*' \) -prune \
		-o -printf '%y %p\n' | sort)
}

# ---------------------------------------------------------------------------------------
# Inside the chroot.  Lines "ok - ", "not ok - ", "# " and "skip: " go to the outer test.
if [ "${1:-}" = --chroot ]; then
	phase=$2 kver=$3 imgver=$4 deb=$5 state=$6
	ok() { echo "ok - $*"; }
	nok() { echo "not ok - $*"; }
	check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
	series=${kver%%.0-*}
	case $phase in
	prereq)
		# This machine's kernel source caches are not on a fresh host: hide them (a
		# whiteout in the overlay) so the build takes the package's own path.
		rm -rf /root/.cache/xenkvm
		# This root never boots: no initramfs for the kernel (a minute of CPU saved).
		printf '#!/bin/sh\nexit 0\n' >/usr/local/sbin/update-initramfs
		chmod 755 /usr/local/sbin/update-initramfs
		pkgs=(dkms "linux-image-$kver=$imgver" "linux-headers-$kver=$imgver"
		      "linux-source-$series=$imgver" linux-source)
		if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >"$state/apt.log" 2>&1; then
			if grep -qE "Unable to locate|not found|has no installation candidate|Could not resolve|Failed to fetch" "$state/apt.log"; then
				echo "skip: apt-get cannot install ${pkgs[*]}: $(grep -E '^E:' "$state/apt.log" | head -2 | tr '\n' ' ')"
			else
				nok "apt-get install ${pkgs[*]}: $(tail -5 "$state/apt.log" | tr '\n' ' ')"
			fi
			exit 0
		fi
		ok "a Debian 12 root with linux-image/headers/source $imgver and dkms $(dpkg-query -W -f='${Version}' dkms)"
		;;
	install)
		out=$(dpkg -i "$deb" 2>&1); rc=$?
		sed 's/^/#   dpkg -i: /' <<<"$out" | grep -v '^#   dpkg -i: *$'
		check "dpkg -i $(basename "$deb") (rc $rc)" [ $rc = 0 ]
		check "  ... its postinst built the modules for $kver" grep -q "Building initial module for $kver" <<<"$out"
		st=$(dkms status -m $dkms_name -v $dkms_version -k "$kver" 2>&1)
		check "dkms status: $st" grep -q ": installed" <<<"$st"
		m=/lib/modules/$kver/updates/dkms
		for k in kvm kvm-amd kvm-intel; do
			check "  ... $m/$k.ko" [ -f "$m/$k.ko" ]
		done
		check "modprobe on $kver resolves kvm to the dkms build" \
			[ "$(modinfo -k "$kver" -n kvm 2>&1)" = "$m/kvm.ko" ]
		check "  ... built for $kver (vermagic '$(modinfo -F vermagic "$m/kvm.ko" 2>&1)')" \
			grep -q "^$kver " <<<"$(modinfo -F vermagic "$m/kvm.ko" 2>&1)"
		syms=$(nm "$m/kvm.ko" 2>&1)
		check "  ... with Xen support (kvm_xen_hypercall)" grep -q ' T kvm_xen_hypercall$' <<<"$syms"
		check "  ... from the installed linux-source-$series $imgver (the package's Depends)" \
			grep -q "extracting .* from linux-source-$series.tar.xz" <<<"$out"
		dpkg -L xenkvm-dkms >"$state/files"
		check "dpkg -L lists the DKMS source" grep -qx "/usr/src/$dkms_name-$dkms_version/dkms.conf" "$state/files"
		;;
	remove)
		out=$(dpkg -r xenkvm-dkms 2>&1); rc=$?
		check "dpkg -r xenkvm-dkms (rc $rc)" [ $rc = 0 ]
		[ $rc = 0 ] || sed 's/^/#   dpkg -r: /' <<<"$out"
		left=
		while read -r f; do
			[ -d "$f" ] && continue	# directories stay when something else uses them
			[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
		done <"$state/files"
		check "  ... removes every file of dpkg -L${left:+ (left:$left)}" [ -z "$left" ]
		left=$(ls "/lib/modules/$kver/updates/dkms" 2>/dev/null | tr '\n' ' ')
		check "  ... and the built modules${left:+ (left: $left)}" [ -z "$left" ]
		check "  ... and the DKMS tree /var/lib/dkms/$dkms_name" [ ! -e "/var/lib/dkms/$dkms_name" ]
		check "  ... so modprobe on $kver finds the stock kvm again" \
			[ "$(modinfo -k "$kver" -n kvm 2>&1)" = "/lib/modules/$kver/kernel/arch/x86/kvm/kvm.ko" ]
		;;
	purge)
		out=$(dpkg -P xenkvm-dkms 2>&1); rc=$?
		check "dpkg -P xenkvm-dkms (rc $rc)" [ $rc = 0 ]
		[ $rc = 0 ] || sed 's/^/#   dpkg -P: /' <<<"$out"
		check "  ... dpkg forgets it" [ -z "$(dpkg-query -W -f='${Status}' xenkvm-dkms 2>/dev/null)" ]
		;;
	esac
	exit 0
fi

# ---------------------------------------------------------------------------------------
# In a private mount namespace: the overlay root (again, for each phase), then the chroot.
if [ "${1:-}" = --ns ]; then
	phase=$2 work=$3 archives=$4; shift 4
	root=$work/root
	mount --make-rprivate / &&
	mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/ovlwork" "$root" &&
	mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" && mount --rbind /dev "$root/dev" &&
	mount -t tmpfs tmpfs "$root/tmp" && mount -t tmpfs tmpfs "$root/run" &&
	mount --bind "$archives" "$root/var/cache/apt/archives" &&
	mount --bind "$work/state" "$root$work/state" || { echo "not ok - setting up the overlay root"; exit 0; }
	exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		bash "$self" --chroot "$phase" "$@" "$work/state"
fi

# ---------------------------------------------------------------------------------------
# In the nested host booted with the stock kernel: ARGS = KVER MODULES-DIR PROBE
if [ "${1:-}" = --in-l1 ]; then
	kver=$2 mods=$3 probe=$4
	n=0
	ok() { n=$((n + 1)); echo "ok $n - $*"; }
	nok() { n=$((n + 1)); echo "not ok $n - $*"; }
	check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
	cap() { "$probe" | sed -n 's/.*KVM_CAP_XEN_HVM=\([0-9a-fx]*\).*/\1/p'; }

	[ "$(uname -r)" = "$kver" ] || { nok "L1 runs $(uname -r), expected $kver"; exit 0; }
	c=$(cap); check "stock $kver: KVM_CAP_XEN_HVM = 0 (got $c)" [ "$c" = 0 ]
	# The modules directory exactly as the package left it in the Debian 12 root.
	{ mkdir -p "/lib/modules/$kver" && mount --bind "$mods" "/lib/modules/$kver"; } >/tmp/m.out 2>&1 &&
		modprobe -r kvm_amd kvm >>/tmp/m.out 2>&1 && modprobe kvm_amd >>/tmp/m.out 2>&1; rc=$?
	check "modprobe -r kvm_amd kvm; modprobe kvm_amd (rc $rc)" [ $rc = 0 ]
	if [ $rc != 0 ]; then
		sed 's/^/#   modprobe: /' /tmp/m.out
		ls -la "$mods/" "/lib/modules/$kver/" 2>&1 | head -20 | sed 's/^/#   /'
	fi
	t=$(mktemp)
	objcopy -O binary --only-section=.note.gnu.build-id "$mods/updates/dkms/kvm.ko" "$t" 2>/dev/null
	check "  ... loads the dkms-built kvm.ko (same build id)" cmp -s "$t" /sys/module/kvm/notes/.note.gnu.build-id
	c=$(cap); check "dkms-built KVM: KVM_CAP_XEN_HVM > 0 (got $c)" [ "$((${c:-0}))" -gt 0 ]
	"$probe" -x >/tmp/p.out 2>&1; rc=$?
	sed 's/^/#   /' /tmp/p.out
	check "  ... with INTERCEPT_HCALL, and guests run at hardware speed (kvm-probe -x rc $rc)" [ $rc = 0 ]
	exit 0
fi

# ---------------------------------------------------------------------------------------
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
skip() { echo "$name: skipped: $*"; exit 77; }
finish() { echo "$name: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }
# tally LOG PREFIX: counts the "ok"/"not ok" lines of a phase, shows its "# " lines
tally() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$2${line#ok*- }" ;;
		"not ok "*) nok "$2${line#not ok*- }" ;;
		"#"*) echo "$line" ;;
		"skip: "*) skip "${line#skip: }" ;;
		esac
	done <"$1"
}
# chroot_phase PHASE ARGS...: runs PHASE in the throw-away root; false if it failed
chroot_phase() {
	local f=$fail
	unshare -m bash "$self" --ns "$1" "$work" "$archives" "$kver" "$imgver" "$deb" >"$work/$1.log" 2>&1
	tally "$work/$1.log" ""
	grep -qE '^(ok|not ok) ' "$work/$1.log" || nok "$1 phase ran no checks: $(tail -5 "$work/$1.log" | tr '\n' ' ')"
	[ "$fail" = "$f" ]
}

[ "${XENKVM_TEST_DKMS_PACKAGE:-1}" = 1 ] ||
	skip "XENKVM_TEST_DKMS_PACKAGE=0: not run"
if [ -n "${XENKVM_IN_L1:-}" ] || [ -n "${L1_RUN:-}" ]; then
	skip "must run on the outer machine (it builds natively and boots its own nested host)"
fi
[ "$(id -u)" = 0 ] || skip "needs root (a mount namespace with an overlay root)"
for t in unshare chroot apt-get apt-cache objcopy; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done
l1run=$repo/tests/nested/l1-run
[ -x "$l1run" ] || skip "tests/nested/l1-run is missing"
deb=$(ls "$BUILD"/deb/xenkvm-dkms_*_all.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { nok "no xenkvm-dkms package in $BUILD/deb (make check-package builds it)"; finish; }
probe=$BUILD/kvm-probe
[ -x "$probe" ] || make -s -C "$repo" BUILD="$BUILD" "$probe" >&2 || { nok "cannot build $probe"; finish; }

# Debian's current 6.1 kernel: what linux-image-amd64 points at (as test_kernel_modules).
img=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1\.[0-9]/{print $2; exit}')
[ -n "$img" ] || { apt-get update -qq >/dev/null 2>&1; img=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1\.[0-9]/{print $2; exit}'); }
[ -n "$img" ] || skip "no linux-image-6.1.0-N-amd64 in the package archive (apt-cache depends linux-image-amd64)"
kver=${img#linux-image-}
imgver=$(apt-cache policy "$img" | awk '/Candidate:/{print $2}')
echo "# kernel $kver, Debian $imgver; package $(basename "$deb")"

archives=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm/dkms-package/archives
mkdir -p "$archives/partial"
# Under $BUILD: a real directory the nested host sees (it shares the checkout).
work=$(mktemp -d "$BUILD/$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/upper" "$work/ovlwork" "$work/root" "$work/state"

t0=$(date +%s)
chroot_phase prereq || finish
before=$(snapshot "$work/upper")
echo "# throw-away root ready in $(($(date +%s) - t0)) s"
t0=$(date +%s)
chroot_phase install || finish
echo "# dpkg -i with the dkms build: $(($(date +%s) - t0)) s"

t0=$(date +%s)
# (the upper directory's copy of the root's /lib/modules/KVER; /lib is usr/lib on Debian 12)
"$l1run" -t 900 -w "$repo" -k "$img" -- "$self" --in-l1 "$kver" "$work/upper$(readlink -f /lib)/modules/$kver" "$probe" \
	>"$work/l1.log" 2>&1
rc=$?
if grep -qE '^(not )?ok ' "$work/l1.log"; then
	tally "$work/l1.log" "L1: "
	[ $rc = 0 ] || nok "l1-run exited $rc"
else
	nok "nested host with $img did not run the test (rc $rc): $(tail -5 "$work/l1.log" | tr '\n' ' ')"
fi
echo "# nested-host phase: $(($(date +%s) - t0)) s"

chroot_phase remove
chroot_phase purge
after=$(snapshot "$work/upper")
left=$(comm -13 <(echo "$before") <(echo "$after"))
gone=$(comm -23 <(echo "$before") <(echo "$after"))
if [ -z "$left" ] && [ -z "$gone" ]; then
	ok "after dpkg -P the root is as before dpkg -i"
else
	nok "after dpkg -P the root differs from before dpkg -i"
	sed 's/^/#   left: /' <<<"$left" | head -20
	sed 's/^/#   gone: /' <<<"$gone" | head -20
fi
finish
}
