#!/usr/bin/env bash
# demo.sh: boot the example Debian 12 guest (examples/debian.cfg) to a shell on this
# terminal.
#
# Installs the dependencies, builds, fetches the guest kernel and a busybox initramfs
# from Debian's packages (tests/system/assets.sh), then runs
#   build/xenkvm create -c examples/debian.cfg kernel="..." ramdisk="..." [key=value...]
# (the domain runs detached under xenkvmd; -c attaches its console) directly when the
# local KVM can run guests (build/kvm-probe), or else inside a throw-away nested host
# (tests/nested/l1-run -i; ~15 s more to start).
#
# In the guest shell: poweroff -f ends the guest and the console; Ctrl-] detaches
# (`build/xenkvm console debian` attaches again, `build/xenkvm destroy debian` ends it).
# Nested, the same keys work, and leaving the console ends the nested host with its
# guest; Ctrl-\ x kills the nested host itself.
#
# usage: scripts/demo.sh [key=value...]     e.g. scripts/demo.sh vcpus=4 memory=512
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}

scripts/install-deps.sh
make -s -j2 BUILD="$build"
eval "$(tests/system/assets.sh)"
args=(examples/debian.cfg "kernel=\"$XENKVM_KERNEL\"" "ramdisk=\"$XENKVM_INITRD\"" "$@")
if verdict=$("$build/kvm-probe"); then
	exec "$build/xenkvm" create -c "${args[@]}"
fi
echo "$verdict"
echo "demo: this KVM cannot run guests; booting a nested host first (Ctrl-\\ x kills it)"
exec tests/nested/l1-run -i -w "$PWD" -- "$build/xenkvm" create -c "${args[@]}"
