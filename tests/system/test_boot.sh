#!/usr/bin/env bash
# test_boot: xenkvmd boots Debian's 6.1 cloud kernel with the test initramfs from an
# xl.cfg, with its console on stdout, and refuses bad input quickly and clearly.
#
# Interface under test (build/xenkvmd CONFIG [key=value...]): the guest's ttyS0 on
# stdout, exit status 0 = guest powered off, 3 = rebooted, 4 = crashed, 1 = host-side
# error, 2 = usage or configuration error; errors explained on stderr.
#
# Run by tests/system/run.sh, which provides a KVM that can run guests and the assets
# (XENKVM_KERNEL, XENKVM_INITRD); run alone it finds them itself, and skips (77) when
# the local KVM cannot run guests.  Prints one line per check and, last,
# "test_boot: N passed, N failed".
set -uo pipefail

# The whole script is one block, so bash has read all of it before it runs: editing
# or updating the file during a long run cannot change what this run does.
{
name=test_boot
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-150}	# seconds for one guest boot (nested, emulated)
error_limit=30				# seconds for the VMM to refuse bad input
require_kvm
need_assets
if [ ! -x "$vmm" ]; then
	fail "$vmm is not built"
	finish
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_boot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# write_cfg FILE [LINE...]: a bootable config; extra lines are appended (xl.cfg lets a
# later assignment override an earlier one).
write_cfg() {
	local f=$1
	shift
	{
		echo "# written by tests/system/test_boot.sh"
		echo "name = \"xktest-boot\""
		echo "kernel = \"$XENKVM_KERNEL\""
		echo "ramdisk = \"$XENKVM_INITRD\""
		echo "extra = \"console=ttyS0 quiet xktest=smp\""
		echo "memory = 256"
		echo "vcpus = 2"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# vmm LIMIT CONFIG [key=value...]: runs xenkvmd; sets rc, out (stdout without \r), err
vmm() {
	local limit=$1
	shift
	timeout -k 5 "$limit" "$vmm" "$@" </dev/null >"$tmp/out.raw" 2>"$tmp/err"
	rc=$?
	out=$(tr -d '\r' <"$tmp/out.raw")
	err=$(cat "$tmp/err")
}

show_output() {
	echo "    --- exit status $rc; guest console (last 15 lines):"
	printf '%s\n' "$out" | tail -n 15 | sed 's/^/    | /'
	echo "    --- stderr (last 10 lines):"
	printf '%s\n' "$err" | tail -n 10 | sed 's/^/    | /'
}

status_name() {
	case $1 in
	0) echo "powered off" ;; 1) echo "host error" ;; 2) echo "config error" ;;
	3) echo "rebooted" ;; 4) echo "crashed" ;; 124) echo "timed out" ;;
	*) [ "$1" -gt 128 ] && echo "killed by signal $(($1 - 128))" || echo "exit $1" ;;
	esac
}

# --- a guest boots, sees its CPUs and memory, and powers off ------------------------
cfg=$tmp/smp.cfg
write_cfg "$cfg"
start=$(date +%s%N)
vmm "$boot_limit" "$cfg"
secs=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
bad=$failed
if [ $rc = 0 ]; then ok "poweroff -f: exit 0 (${secs}s)"
else fail "poweroff -f: exit 0 expected, got $rc ($(status_name $rc))"; fi
if grep -q '^XENKVM-INIT-START ' <<<"$out"; then
	ok "guest console on stdout through ttyS0 ($(printf '%s\n' "$out" | grep -m1 '^XENKVM-INIT-START '))"
else
	fail "no XENKVM-INIT-START line from the guest's ttyS0 on stdout"
fi
cpus=$(printf '%s\n' "$out" | sed -n 's/^CPUS-ONLINE=\([0-9]*\)$/\1/p' | head -1)
if [ "$cpus" = 2 ]; then ok "vcpus = 2: CPUS-ONLINE=2"
else fail "vcpus = 2: CPUS-ONLINE=2 expected, got '${cpus:-nothing}'"; fi
tscdl=$(printf '%s\n' "$out" | sed -n 's/^TSC-DEADLINE-CPUS=\([0-9]*\)$/\1/p' | head -1)
# KVM's in-kernel LAPIC always has the deadline MSR; CPUID must say so.
if [ "$tscdl" = 2 ]; then ok "CPUID offers the TSC-deadline timer on both vCPUs"
else fail "tsc_deadline_timer on 2 vCPUs expected, got '${tscdl:-nothing}'"; fi
memkb=$(printf '%s\n' "$out" | sed -n 's/^MEMTOTAL-KB=\([0-9]*\)$/\1/p' | head -1)
if [ -n "$memkb" ] && [ "$memkb" -gt $((200 * 1024)) ] && [ "$memkb" -le $((256 * 1024)) ]; then
	ok "memory = 256: MemTotal ${memkb} kB"
else
	fail "memory = 256: MemTotal in (200, 256] MiB expected, got '${memkb:-nothing}' kB"
fi
[ $failed = "$bad" ] || show_output
text_of() { printf '%s\n' "$out" | sed -n 's/^KERNEL-TEXT=\([0-9a-f]*\)$/\1/p' | head -1; }
text1=$(text_of)

# --- a guest reboot ends the VMM with exit 3 ---------------------------------------
cfg=$tmp/reboot.cfg
write_cfg "$cfg" 'extra = "console=ttyS0 quiet xktest=reboot"'
vmm "$boot_limit" "$cfg"
if [ $rc = 3 ] && grep -q '^XENKVM-REBOOTING' <<<"$out"; then
	ok "reboot -f: exit 3"
else
	fail "reboot -f: exit 3 after XENKVM-REBOOTING expected, got $rc ($(status_name $rc))"
	show_output
fi
text2=$(text_of)

# --- the bzImage unpacked by xenkvmd: KASLR as the kernel's own decompressor does it -
# Both boots above entered vmlinux directly.  Each picks 1 of ~480 kernel offsets, so
# both landing on the link address (ffffffff81000000) means no randomisation.
link=ffffffff81000000
aligned() { [ -n "$1" ] && [ $((0x${1:8} % 0x200000)) = 0 ] && [ "${1:0:8}" = ffffffff ]; }
if aligned "$text1" && aligned "$text2" && { [ "$text1" != $link ] || [ "$text2" != $link ]; }; then
	ok "unpacked on the host, KASLR: kernel text at $text1 and at $text2"
else
	fail "KASLR: two boots' kernel text 2 MiB-aligned and not both at $link expected, got '$text1' '$text2'"
fi
cfg=$tmp/nokaslr.cfg
write_cfg "$cfg" 'extra = "console=ttyS0 quiet nokaslr xktest=smp"'
vmm "$boot_limit" -v "$cfg"
if [ $rc = 0 ] && [ "$(text_of)" = $link ] && grep -q 'unpacked on the host.*KASLR off' <<<"$err"; then
	ok "nokaslr: kernel text at the link address $link"
else
	fail "nokaslr: exit 0 with the kernel text at $link expected, got $rc, '$(text_of)'"
	show_output
fi
cfg=$tmp/smp.cfg
vmm "$boot_limit" -v --guest-decompress "$cfg"
cpus=$(printf '%s\n' "$out" | sed -n 's/^CPUS-ONLINE=\([0-9]*\)$/\1/p' | head -1)
if [ $rc = 0 ] && [ "$cpus" = 2 ] && aligned "$(text_of)" && ! grep -q 'unpacked on the host' <<<"$err"; then
	ok "--guest-decompress: the bzImage unpacks itself and boots (kernel text at $(text_of))"
else
	fail "--guest-decompress: exit 0, 2 CPUs, no host unpacking expected, got $rc, '$cpus' CPUs"
	show_output
fi

# --- bad input: refused with exit 1 or 2, quickly, with a message -------------------
# refused DESC PATTERN CONFIG [key=value...]: PATTERN (grep -E -i) must be in stderr
refused() {
	local desc=$1 pat=$2
	shift 2
	vmm "$error_limit" "$@"
	local msgs
	msgs=$(printf '%s\n' "$err" | grep -v ': info: ')	# the error, not the banner
	if [ $rc = 124 ] || [ $rc -gt 128 ]; then
		fail "$desc: $(status_name $rc) instead of an error exit"
	elif [ $rc != 1 ] && [ $rc != 2 ]; then
		fail "$desc: exit 1 or 2 expected, got $rc ($(status_name $rc))"
	elif [ -z "$err" ]; then
		fail "$desc: exit $rc but nothing on stderr"
	elif ! grep -Eiq -- "$pat" <<<"$msgs"; then
		fail "$desc: no message on stderr matches /$pat/"
	else
		ok "$desc: exit $rc, $(printf '%s\n' "$msgs" | grep -Ei -m1 -- "$pat" | cut -c1-100)"
		return
	fi
	show_output
}

cfg=$tmp/nokernel.cfg
write_cfg "$cfg" "kernel = \"$tmp/no-such-kernel\""
refused "missing kernel file" "no-such-kernel" "$cfg"

cfg=$tmp/notbz.cfg
write_cfg "$cfg" 'kernel = "/bin/true"'
refused "kernel that is not a bzImage" "/bin/true|bzImage" "$cfg"

truncate -s 64M "$tmp/big-ramdisk"
cfg=$tmp/bigrd.cfg
write_cfg "$cfg" "ramdisk = \"$tmp/big-ramdisk\"" "memory = 32"
refused "64 MiB ramdisk, memory = 32" "ramdisk|initrd|kernel|mem" "$cfg"

# The 6.1 kernel itself needs ~51 MiB to decompress, so with memory = 32 the kernel
# does not fit either; with 64 only the ramdisk is too big.
truncate -s 96M "$tmp/bigger-ramdisk"
cfg=$tmp/bigrd2.cfg
write_cfg "$cfg" "ramdisk = \"$tmp/bigger-ramdisk\"" "memory = 64"
refused "96 MiB ramdisk, memory = 64" "ramdisk|initrd" "$cfg"

cfg=$tmp/tiny.cfg
write_cfg "$cfg" "memory = 8"
refused "memory = 8 (below any sane minimum)" "mem" "$cfg"

cfg=$tmp/manycpus.cfg
write_cfg "$cfg" "vcpus = 1000"
refused "vcpus = 1000 (beyond KVM's limit)" "vcpu|cpu" "$cfg"

cfg=$tmp/lots.cfg
write_cfg "$cfg" 'memory = "lots"'
line=$(grep -n '^memory = "lots"' "$cfg" | cut -d: -f1)
vmm "$error_limit" "$cfg"
if [ $rc = 2 ] && grep -qF "lots.cfg:$line:" <<<"$err"; then
	ok "memory = \"lots\": exit 2, $(printf '%s\n' "$err" | grep -F -m1 "lots.cfg:$line:" | cut -c1-100)"
else
	fail "memory = \"lots\": exit 2 with 'lots.cfg:$line:' on stderr expected, got $rc ($(status_name $rc))"
	show_output
fi

finish
exit
}
