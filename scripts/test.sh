#!/usr/bin/env bash
# test.sh: the whole test suite, as CI runs it.
#   install the dependencies (scripts/install-deps.sh), build with gcc (build/) and with
#   clang (build-clang/), build the Debian test disk image (cached), then make check:
#   unit tests, the same under ASan+UBSan, the ring consumers under TSan (check-tsan),
#   the xl.cfg golden corpus, the ACPI iasl check, the Debian packages
#   (check-package), every libFuzzer harness for FUZZ_SECONDS (default 15) each, and
#   the system tests, which boot real guests (in a nested host when the local KVM
#   cannot).
# The check targets run one after another so their output stays readable; the builds use
# JOBS parallel jobs (default 2).
#
# usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
t0=$(date +%s)
step() { echo "=== $* (+$(($(date +%s) - t0))s)"; }

step "dependencies"
scripts/install-deps.sh
step "make (gcc)"
make -j"$jobs"
step "make CC=clang BUILD=build-clang"
make -j"$jobs" CC=clang BUILD=build-clang
# The Debian disk image test_disk_image boots: built here (3-4 min the first time)
# so the step's time shows on its own; cached in ~/.cache/xenkvm/images by package
# versions, so later runs on the same machine only check the package index.
step "tests/images/build-debian-image.sh"
tests/images/build-debian-image.sh >/dev/null
step "make check"
rc=0
for target in check-unit check-asan check-tsan check-xlcfg check-acpi check-package fuzz check-system; do
	step "make $target"
	make -j"$jobs" "$target" FUZZ_SECONDS="${FUZZ_SECONDS:-15}" || { rc=1; echo "=== make $target FAILED"; }
done
step "done: $([ $rc = 0 ] && echo all passed || echo FAILURES)"
exit $rc
