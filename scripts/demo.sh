#!/usr/bin/env bash
# demo.sh: boot the example Debian 12 guest (examples/debian.cfg) to a root shell on
# this terminal, as Xen would boot it: SeaBIOS and GRUB from its own disk image, then
# Debian's kernel on xen-blkfront (its disk) and xen-netfront (user-mode networking:
# DHCP gives it 10.0.2.15, and it reaches out through the host).
#
# Installs the dependencies, builds, builds the disk image from Debian's packages
# (tests/images/build-debian-image.sh: 3-4 minutes the first time, cached after) and
# keeps a copy of it as the demo's own disk, build/demo/debian.img (in the work tree,
# which a nested host shares read-write; what the guest writes stays there between
# runs, DEMO_FRESH=1 starts from a clean copy), then runs
#   build/xenkvm create -c examples/debian.cfg "disk=['<copy>,raw,xvda,rw']" [key=value...]
# directly when the local KVM can run guests (build/kvm-probe), or else inside a
# throw-away nested host (tests/nested/l1-run -i; slow: expect minutes to a login).
#
# In the guest: root is logged in on the console; `poweroff` ends the guest and the
# console; Ctrl-] detaches (`build/xenkvm console debian` attaches again,
# `build/xenkvm destroy debian` ends it).  Nested, leaving the console ends the nested
# host with its guest; Ctrl-\ x kills the nested host itself.
#
# usage: scripts/demo.sh [key=value...]     e.g. scripts/demo.sh vcpus=4 memory=1024
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}

scripts/install-deps.sh
make -s -j2 BUILD="$build"
eval "$(tests/images/build-debian-image.sh)"
demo=$build/demo
mkdir -p "$demo"
disk=$(cd "$demo" && pwd)/debian.img
if [ ! -f "$disk" ] || [ "${DEMO_FRESH:-0}" = 1 ] || [ "$XENKVM_DISK_IMAGE" -nt "$disk" ]; then
	echo "demo: a fresh copy of $XENKVM_DISK_IMAGE as $disk"
	cp --sparse=always "$XENKVM_DISK_IMAGE" "$disk.tmp" && mv "$disk.tmp" "$disk"
fi
args=(examples/debian.cfg "disk=['$disk,raw,xvda,rw']" "$@")
if verdict=$("$build/kvm-probe"); then
	exec "$build/xenkvm" create -c "${args[@]}"
fi
echo "$verdict"
echo "demo: this KVM cannot run guests; booting a nested host first (Ctrl-\\ x kills it)"
exec tests/nested/l1-run -i -w "$PWD" -- "$build/xenkvm" create -c "${args[@]}"
