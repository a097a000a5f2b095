#!/usr/bin/env bash
# test_disk_image: a real Debian 12 disk image booted through firmware, as Xen HVM
# boots it (issue 20, acceptance 1, 2 and 5's image cases).
#
# The image is tests/images/build-debian-image.sh's (GRUB i386-pc in the MBR, ext4 on
# partition 1 mounted by UUID, root logs in on ttyS0 by itself); the config is Xen's
# own /etc/xen/xlexample.hvm from xen-utils-common with only its disk path changed,
# started with `xenkvm create -c CONFIG memory=512` and driven over the serial console.
# Each boot gets its own copy of the image, with a fresh nonce in GRUB's env block.
#   1. default: SeaBIOS -> GRUB on the serial console (GRUB's "XENKVM-GRUB" line) ->
#      Linux -> systemd -> the autologin prompt.  tests/images/guest-check.sh, typed in
#      over the console, reports: / is /dev/xvda1 through xen_blkfront, /sys/block
#      holds only xvda (the emulated disk was unplugged; loop devices, which the cloud
#      kernel builds in, are not disks and not counted), the NIC (enX0: Debian 12's
#      systemd names Xen vifs so; eth0 is accepted too) is xen_netfront with
#      10.0.2.15 from xenkvm's DHCP, /sys/hypervisor/type is xen, GRUB's save_env (a
#      write through the firmware's disk) is visible; it writes and fsyncs the nonce.
#      `xenkvm shutdown -w` exits 0, the console shows the kernel's power-down and the
#      daemon's log "exit status 0"; then the file and GRUB's env write are in the
#      image (debugfs at the partition's offset) and e2fsck finds it clean.
#   2. xenkvm_extra=xen_emul_unplug=never in the copy's grubenv (GRUB appends it to the
#      kernel command line): / is /dev/sda1 on ata_piix in a DMA mode (the PIIX3's bus
#      master, BAR4), no xvda; the writes persist.  XENKVM_DISK_UNPLUG_NEVER=0 skips it.
#   3. xen_nopv: a kernel that ignores Xen (as one without Xen's platform driver
#      would) boots from the emulated disk the same way.  XENKVM_DISK_NOPV=0 skips it.
#   5. an all-zero image: SeaBIOS's "No bootable device" on the console, and the
#      domain ends by itself with a non-zero status (`xenkvm create -F`, within
#      XENKVM_NOBOOT_TIMEOUT, 180 s) instead of spinning; a disk smaller than one
#      sector, a directory and a missing file are refused at start (non-zero exit,
#      the path and the reason in the message) within 30 s.
# Skips (77) only when xenkvmd says it cannot boot from firmware ("only direct kernel
# boot is supported"), i.e. before the firmware and IDE parts of issue 20 are in.
#
# XENKVM_DISK_IMAGE_VMM=xenkvm-direct runs case 1 with the image's own kernel and
# initramfs booted directly (kernel=, ramdisk=, extra= root=UUID=...): everything but
# firmware and GRUB, so the harness can be checked before firmware boot exists.
# XENKVM_DISK_IMAGE_VMM=qemu runs the guest-side half with Debian's QEMU + KVM
# instead (-M pc, SeaBIOS): case 2 on QEMU's IDE disk (sda1, ata_piix), and the
# bench's peer (virtio-blk vda1, virtio-net with QEMU's user network); no gate.
# XENKVM_DISK_QEMU_CASES picks among "ide virtio"; XENKVM_DISK_VCPUS overrides the
# vCPUs (xlexample.hvm's 2, but 1 for case 2 and 3; QEMU's default here is 2);
# XENKVM_DISK_DEBUG_EXTRA adds to the kernel command line (systemd.show_status=1).
#
# Inputs (tests/system/run.sh provides them through tests/system/assets.sh
# --with-disk-image; alone, this runs assets.sh itself, which needs root and Debian's
# archive): XENKVM_DISK_IMAGE, XENKVM_XLEXAMPLE.  XENKVM_DISK_BOOT_TIMEOUT (600 s) bounds
# each boot to the login prompt.
#
# It runs on the host (the line below tells run.sh): the gate needs no KVM, and where
# the local KVM cannot run guests the test starts a nested host of its own
# (tests/nested/l1-run, XENKVM_DISK_L1_TIMEOUT, 2300 s), so its few full Debian boots
# have their own time limit instead of eating the shared nested run's.
# xenkvm-system-test: host
# xenkvm-system-test-timeout: 2400
set -uo pipefail

{
name=test_disk_image
. "$(dirname "$0")/lib.sh"
. "$root/tests/images/image-lib.sh"
cli=$build/xenkvm
mode=${XENKVM_DISK_IMAGE_VMM:-xenkvm}
boot_limit=${XENKVM_DISK_BOOT_TIMEOUT:-600}
noboot_limit=${XENKVM_NOBOOT_TIMEOUT:-180}
case $mode in xenkvm|xenkvm-direct|qemu) ;; *) fail "XENKVM_DISK_IMAGE_VMM must be xenkvm, xenkvm-direct or qemu, not '$mode'"; finish ;; esac
direct=0
[ "$mode" != xenkvm-direct ] || { mode=xenkvm direct=1; }
vcpus_arg=
[ -z "${XENKVM_DISK_VCPUS:-}" ] || vcpus_arg=vcpus=$XENKVM_DISK_VCPUS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_disk_image.XXXXXX")
export XDG_RUNTIME_DIR=$tmp/rt
mkdir -p "$XDG_RUNTIME_DIR"
cpid=
cleanup() {
	local d
	[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null
	for d in "$XDG_RUNTIME_DIR"/xenkvm/[0-9]*; do
		[ -f "$d/pid" ] && kill -9 "$(cat "$d/pid")" 2>/dev/null
	done
	exec 3>&- 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "${XENKVM_DISK_IMAGE:-}" ] || [ -z "${XENKVM_XLEXAMPLE:-}" ]; then
	assets=$("$here/assets.sh" --with-disk-image) || { fail "tests/system/assets.sh --with-disk-image"; finish; }
	eval "$assets"
fi
[ -f "${XENKVM_DISK_IMAGE:-}" ] || { fail "no disk image '${XENKVM_DISK_IMAGE:-}'"; finish; }
[ -f "${XENKVM_XLEXAMPLE:-}" ] || { fail "no xlexample.hvm '${XENKVM_XLEXAMPLE:-}'"; finish; }

# xl_config DISK-PATH: Xen's example with only the disk path changed
xl_config() {
	sed "s|^disk = \[ '/dev/vg/guest-volume,|disk = [ '$1,|" "$XENKVM_XLEXAMPLE"
}
xl_config /x.img >"$tmp/probe.cfg"
grep -q "^disk = \[ '/x.img,raw,xvda,rw' \]" "$tmp/probe.cfg" ||
	{ fail "xlexample.hvm's disk line is not the one expected: $(grep '^disk' "$XENKVM_XLEXAMPLE")"; finish; }
dom=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$XENKVM_XLEXAMPLE")
[ -n "$dom" ] || { fail "no name in xlexample.hvm"; finish; }

direct_args=()
if [ $direct = 1 ]; then
	# The image's own kernel and initramfs, booted directly: no firmware, no GRUB
	mkdir -p "$tmp/boot"
	fs=$(image_fs "$XENKVM_DISK_IMAGE") &&
	kv=$(debugfs -R "ls -p /boot" "$fs" 2>/dev/null | awk -F/ '$6 ~ /^vmlinuz-/ { sub(/^vmlinuz-/, "", $6); print $6; exit }') &&
	debugfs -R "dump /boot/vmlinuz-$kv $tmp/boot/vmlinuz" "$fs" >/dev/null 2>&1 &&
	debugfs -R "dump /boot/initrd.img-$kv $tmp/boot/initrd.img" "$fs" >/dev/null 2>&1 &&
	[ -n "$kv" ] && [ -s "$tmp/boot/vmlinuz" ] && [ -s "$tmp/boot/initrd.img" ] ||
		{ fail "cannot take the kernel and initramfs out of the image"; finish; }
	uuid=$(debugfs -R stats "$fs" 2>/dev/null | awk '/^Filesystem UUID:/ { print $3 }')
	direct_args=("kernel=\"$tmp/boot/vmlinuz\"" "ramdisk=\"$tmp/boot/initrd.img\""
		     "extra=\"root=UUID=$uuid ro console=ttyS0,115200 quiet ${XENKVM_DISK_DEBUG_EXTRA:-}\"")
fi
if [ "$mode" = xenkvm ] && [ $direct = 0 ]; then
	[ -x "$vmm" ] && [ -x "$cli" ] || { fail "$vmm or $cli is not built"; finish; }
	# The gate: the only reason to skip is a xenkvmd that cannot boot from firmware.
	gate=$("$cli" create -n "$tmp/probe.cfg" memory=512 2>&1)
	if printf '%s\n' "$gate" | grep -q 'only direct kernel boot is supported'; then
		echo "SKIP: $name: this xenkvmd boots only kernel= configs (\"$(printf '%s\n' "$gate" |
			grep 'only direct' | head -1)\"); firmware boot (issue 20) is not in this build"
		exit 77
	fi
fi
if [ -z "${XENKVM_IN_L1:-}" ] && [ "${XENKVM_KVM_CAPABLE:-}" != 1 ] && [ "${XENKVM_DISK_QEMU_ACCEL:-}" != tcg ] &&
   ! "$build/kvm-probe" >/dev/null 2>&1; then
	echo "$name: the local KVM cannot run guests; running in a nested host (tests/nested/l1-run)"
	envs=(-e "BUILD=$build" -e XENKVM_IN_L1=1 -e XENKVM_KVM_CAPABLE=1
	      -e "XENKVM_DISK_IMAGE=$XENKVM_DISK_IMAGE" -e "XENKVM_XLEXAMPLE=$XENKVM_XLEXAMPLE")
	while read -r v; do envs+=(-e "$v=${!v}"); done < <(compgen -e | grep '^XENKVM_' |
		grep -v '^XENKVM_\(IN_L1\|KVM_CAPABLE\|DISK_IMAGE\|XLEXAMPLE\)$')
	"$root/tests/nested/l1-run" -t "${XENKVM_DISK_L1_TIMEOUT:-2300}" -w "$root" "${envs[@]}" \
		-- bash tests/system/test_disk_image.sh
	exit
fi
if [ "$mode" = qemu ]; then
	command -v qemu-system-x86_64 >/dev/null || { fail "qemu-system-x86_64 missing"; finish; }
	[ "${XENKVM_DISK_QEMU_ACCEL:-kvm}" != kvm ] || { require_kvm; [ -w /dev/kvm ] || { fail "/dev/kvm is not usable for QEMU"; finish; }; }
else
	require_kvm
fi

# --- the console: the VMM's stdin is a FIFO held open on fd 3, its output a file ----
out=$tmp/console.out
con_start() {	# con_start CMD...: starts it in the background, sets cpid
	rm -f "$tmp/in"; mkfifo "$tmp/in"
	: >"$out"
	"$@" <"$tmp/in" >"$out" 2>&1 &
	cpid=$!
	exec 3>"$tmp/in"
}
con_text() { tr -d '\r' <"$out" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g'; }
con_wait() {	# con_wait PATTERN SECONDS: 0 when PATTERN (grep -E) shows up in time
	local pat=$1 end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		con_text | grep -Eq -- "$pat" && return 0
		kill -0 "$cpid" 2>/dev/null || { con_text | grep -Eq -- "$pat"; return; }
		sleep 1
	done
	return 1
}
con_send() { printf '%s\r' "$1" >&3; }
con_show() {
	echo "    --- console (last ${1:-25} lines):"
	con_text | grep -v '^$' | tail -n "${1:-25}" | sed 's/^/    | /'
	if [ "$mode" = xenkvm ]; then
		echo "    --- daemon log (last 10 lines):"
		cat "$XDG_RUNTIME_DIR"/xenkvm/[0-9]*/xenkvmd.log "$XDG_RUNTIME_DIR/xenkvm/logs/$dom.log" 2>/dev/null |
			tail -n 10 | sed 's/^/    | /'
	fi
}
con_stop() {	# con_stop SECONDS: waits for the VMM to end, kills it if it does not; sets crc
	local end=$((SECONDS + $1))
	while kill -0 "$cpid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.5; done
	kill -0 "$cpid" 2>/dev/null && kill -9 "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	crc=$?
	exec 3>&-
	cpid=
}
val() { con_text | sed -n "s/^XK-$1=//p" | tail -1; }
# check KEY WANT DESC: the guest's report KEY is WANT (a grep -E pattern, anchored)
check() {
	local v
	v=$(val "$1")
	if printf '%s\n' "$v" | grep -Eqx -- "$2"; then ok "$3 ($1=$v)"; else fail "$3: $1 is '$v', expected '$2'"; fi
}

# boot_image LABEL DISK EXTRA VMM-CMD...: a copy's grubenv gets a nonce and EXTRA;
# boots it to the shell and runs guest-check.sh.  Sets nonce; 0 when the report came.
boot_image() {
	local label=$1 disk=$2 extra=$3 t0=$SECONDS script
	shift 3
	# XENKVM_DISK_DEBUG_EXTRA: more for the kernel command line (systemd.show_status=1 ...)
	extra=$(echo "$extra ${XENKVM_DISK_DEBUG_EXTRA:-}" | sed 's/^ *//; s/ *$//')
	nonce=$label-$RANDOM$RANDOM
	cp --sparse=always "$XENKVM_DISK_IMAGE" "$disk" || { fail "$label: cannot copy the image"; return 1; }
	image_grubenv "$disk" set xenkvm_nonce="$nonce" xenkvm_extra="$extra" ||
		{ fail "$label: cannot set GRUB's env in the copy"; return 1; }
	con_start "$@"
	if [ $direct = 0 ]; then
		if con_wait '^XENKVM-GRUB extra=' 120; then ok "$label: GRUB on the serial console ($((SECONDS - t0))s)"
		else fail "$label: no GRUB on the serial console"; con_show; return 1; fi
		con_text | grep -q "^XENKVM-GRUB extra=$extra\$" && ok "$label: GRUB read its env block (extra='$extra')" ||
			fail "$label: GRUB's line: $(con_text | grep '^XENKVM-GRUB' | head -1)"
	fi
	if con_wait 'root@xenkvm-guest:~# ' "$boot_limit"; then
		ok "$label: systemd's autologin on ttyS0 ($((SECONDS - t0))s from start)"
	else
		fail "$label: no login shell within ${boot_limit}s"; con_show; return 1
	fi
	con_send "stty -echo"
	sleep 1
	script=$(base64 -w0 "$root/tests/images/guest-check.sh")
	con_send "echo $script | base64 -d >/tmp/xk.sh; XK_NONCE=$nonce sh /tmp/xk.sh"
	con_wait '^XK-END' 90 || { fail "$label: guest-check.sh did not finish"; con_show; return 1; }
	return 0
}

# after_image LABEL DISK: the nonce written in the guest and by GRUB is in the image
after_image() {
	local label=$1 disk=$2 got
	got=$(image_cat "$disk" /root/xk-persist)
	[ "$got" = "$nonce" ] && ok "$label: the guest's fsync'd file is in the image afterwards" ||
		fail "$label: /root/xk-persist in the image is '$got', expected '$nonce'"
	if [ $direct = 0 ]; then
		got=$(image_grubenv "$disk" get xenkvm_seen)
		[ "$got" = "$nonce" ] && ok "$label: GRUB's save_env (through the firmware) is in the image" ||
			fail "$label: xenkvm_seen in the image's grubenv is '$got', expected '$nonce'"
	fi
	got=$(e2fsck -fn "$(image_fs "$disk")" 2>&1)
	[ $? = 0 ] && ok "$label: e2fsck -fn finds the file system clean" ||
		fail "$label: e2fsck: $(printf '%s\n' "$got" | tail -3 | tr '\n' ' ')"
}

# --- xenkvm: the cases of the issue ----------------------------------------------------
xen_case() {	# xen_case LABEL EXTRA: boots xlexample.hvm and checks; sets nothing
	local label=$1 extra=$2 disk=$tmp/$1.img bad=$failed rc
	echo "--- $label: xlexample.hvm${extra:+, $extra}"
	xl_config "$disk" >"$tmp/$label.cfg"
	if boot_image "$label" "$disk" "$extra" "$cli" create -c -q "$tmp/$label.cfg" memory=512 $vcpus_arg \
		"${direct_args[@]}"; then
		[ $direct = 1 ] || check GRUBENV "$nonce" "$label: the guest sees GRUB's env write"
		check WROTE "$nonce" "$label: the guest wrote and fsync'd its file"
		if [ "$extra" = xen_nopv ]; then check HYPERVISOR none "$label: the kernel ignores Xen"
		else check HYPERVISOR xen "$label: /sys/hypervisor/type"; fi
		case $extra in
		"")
			check ROOT /dev/xvda1 "$label: / is on the PV disk"
			check DISKMOD xen_blkfront "$label: through xen-blkfront"
			check BLOCKS xvda "$label: /sys/block holds only xvda (the emulated disk is unplugged)"
			# Debian 12's systemd names a Xen vif enX0 (eth0 with net.ifnames=0)
			check NETIF 'eth0|enX0' "$label: the NIC is the vif"
			check NETMOD xen_netfront "$label: the NIC is xen-netfront"
			check NETADDR 10.0.2.15 "$label: it has its DHCP lease from xenkvm's user network"
			;;
		*)
			check CMDLINE ".*$extra.*" "$label: the kernel command line has GRUB's extra"
			check ROOT /dev/sda1 "$label: / is on the emulated IDE disk"
			check HBA ata_piix "$label: through ata_piix"
			check XFER 'XFER_(MW_DMA|UDMA)_[0-9]' "$label: ata_piix runs it with bus-master DMA"
			check BLOCKS sda "$label: no PV disk (/sys/block)"
			;;
		esac
		timeout 180 "$cli" shutdown -w "$dom" >"$tmp/shutdown.out" 2>&1
		rc=$?
		[ $rc = 0 ] && ok "$label: xenkvm shutdown -w exits 0" ||
			fail "$label: xenkvm shutdown -w: exit $rc: $(tail -3 "$tmp/shutdown.out" | tr '\n' ' ')"
		con_stop 30
		con_text | grep -q 'reboot: Power down' && ok "$label: the guest powered off (kernel's 'Power down')" ||
			fail "$label: no 'reboot: Power down' on the console"
		grep -q 'domain ended: .*(exit status 0)' "$XDG_RUNTIME_DIR/xenkvm/logs/$dom.log" 2>/dev/null &&
			ok "$label: the daemon ended with exit status 0 (guest powered off)" ||
			fail "$label: the daemon's log: $(grep 'domain ended' "$XDG_RUNTIME_DIR/xenkvm/logs/$dom.log" 2>/dev/null)"
		after_image "$label" "$disk"
	fi
	if [ -n "$cpid" ]; then
		timeout 20 "$cli" destroy "$dom" >/dev/null 2>&1
		con_stop 10
	fi
	[ "$failed" = "$bad" ] || con_show
	# A daemon that outlived its destroy (seen once: a guest stuck in its power-off)
	# would keep the domain's name and fail the next case at create; a live daemon
	# holds its run directory's "alive" lock.
	local d
	command -v flock >/dev/null &&
	for d in "$XDG_RUNTIME_DIR"/xenkvm/[0-9]*; do
		[ -f "$d/pid" ] && ! flock -n "$d/alive" true 2>/dev/null || continue
		echo "    ($label: its daemon outlived the destroy: killed)"
		kill -9 "$(cat "$d/pid")" 2>/dev/null
		sleep 1
	done
	rm -f "$disk"
}

# bad_disk LABEL PATH PATTERN: refused at start, with PATH and PATTERN in the message
bad_disk() {
	local label=$1 path=$2 pat=$3 t0=$SECONDS rc msg
	xl_config "$path" >"$tmp/bad.cfg"
	msg=$(timeout 60 "$cli" create -q "$tmp/bad.cfg" memory=512 </dev/null 2>&1)
	rc=$?
	if [ $rc != 0 ] && [ $rc != 124 ] && [ $((SECONDS - t0)) -le 30 ] &&
	   printf '%s\n' "$msg" | grep -qF -- "$path" && printf '%s\n' "$msg" | grep -Eqi -- "$pat"; then
		ok "$label: refused at start (exit $rc): $(printf '%s\n' "$msg" | grep -F -- "$path" | head -1)"
	else
		fail "$label: exit $rc after $((SECONDS - t0))s, expected a refusal naming $path and /$pat/:"
		printf '%s\n' "$msg" | tail -5 | sed 's/^/    | /'
	fi
	timeout 20 "$cli" destroy "$dom" >/dev/null 2>&1
}

if [ $direct = 1 ]; then
	xen_case pv ""
elif [ "$mode" = xenkvm ]; then
	xen_case pv ""
	# One vCPU unless XENKVM_DISK_VCPUS says otherwise: on the emulated IDE disk the
	# boot does many more exits, and a second vCPU on the nested host's one made a
	# QEMU boot of the same kind miss 300 s where one vCPU took 380 s.
	[ -n "$vcpus_arg" ] || vcpus_arg=vcpus=1
	# With PIO only (no BAR4) these two boots mostly stalled in the nested host (the
	# guest's timers stopped: "rcu_preempt kthread timer wakeup didn't happen"); with
	# bus-master DMA they reach the login faster than the PV case.
	if [ "${XENKVM_DISK_UNPLUG_NEVER:-1}" != 0 ]; then
		xen_case unplug-never xen_emul_unplug=never
	else
		skip "unplug-never: XENKVM_DISK_UNPLUG_NEVER=0"
	fi
	if [ "${XENKVM_DISK_NOPV:-1}" != 0 ]; then
		xen_case nopv xen_nopv
	else
		skip "nopv: XENKVM_DISK_NOPV=0"
	fi

	echo "--- bad disks"
	truncate -s 64M "$tmp/zero.img"
	xl_config "$tmp/zero.img" >"$tmp/zero.cfg"
	t0=$SECONDS
	con_start timeout -k 5 "$noboot_limit" "$cli" create -F -q "$tmp/zero.cfg" memory=512
	if con_wait 'No bootable device' "$noboot_limit"; then
		ok "all-zero image: SeaBIOS's 'No bootable device' on the console ($((SECONDS - t0))s)"
	else
		fail "all-zero image: no 'No bootable device' on the console"
	fi
	con_stop "$noboot_limit"
	case $crc in
	0) fail "all-zero image: xenkvm create -F exited 0, as if the guest had powered off" ;;
	124|137) fail "all-zero image: the domain was still there after ${noboot_limit}s" ;;
	*) ok "all-zero image: the domain ended by itself, not booting (exit $crc, $((SECONDS - t0))s)" ;;
	esac
	[ $crc != 0 ] && [ $crc != 124 ] && [ $crc != 137 ] || con_show 10
	timeout 20 "$cli" destroy "$dom" >/dev/null 2>&1
	head -c 100 /dev/zero >"$tmp/tiny.img"
	bad_disk "disk of 100 bytes" "$tmp/tiny.img" 'small|sector|size'
	mkdir "$tmp/adir"
	bad_disk "a directory" "$tmp/adir" 'directory'
	bad_disk "a missing file" "$tmp/missing.img" 'no such file|not exist|missing|not found'
else
	# QEMU as a KVM user runs it: the guest-side half of the cases above
	qemu=(qemu-system-x86_64 -M pc -m 512 -smp "${XENKVM_DISK_VCPUS:-2}"
	      -nodefaults -nographic -serial stdio -no-reboot)
	# XENKVM_DISK_QEMU_ACCEL=tcg checks the guest half without a usable KVM (slowly)
	if [ "${XENKVM_DISK_QEMU_ACCEL:-kvm}" = kvm ]; then qemu+=(-accel kvm -cpu host)
	else qemu+=(-accel tcg); fi
	for c in ${XENKVM_DISK_QEMU_CASES:-ide virtio}; do
		disk=$tmp/$c.img bad=$failed
		echo "--- qemu: $c"
		if [ $c = ide ]; then
			args=(-drive "file=$disk,format=raw,if=ide")
		else
			args=(-drive "file=$disk,format=raw,if=virtio" -netdev user,id=n0 -device virtio-net-pci,netdev=n0)
		fi
		if boot_image "qemu-$c" "$disk" "" "${qemu[@]}" "${args[@]}"; then
			check GRUBENV "$nonce" "qemu-$c: the guest sees GRUB's env write"
			check WROTE "$nonce" "qemu-$c: the guest wrote and fsync'd its file"
			check HYPERVISOR none "qemu-$c: not a Xen guest"
			if [ $c = ide ]; then
				check ROOT /dev/sda1 "qemu-$c: / is on the IDE disk"
				check HBA ata_piix "qemu-$c: through ata_piix"
				check BLOCKS sda "qemu-$c: /sys/block"
			else
				check ROOT /dev/vda1 "qemu-$c: / is on the virtio disk"
				check DISKMOD virtio_blk "qemu-$c: through virtio_blk"
				check NETMOD virtio_net "qemu-$c: the NIC is virtio-net"
				check NETADDR 10.0.2.15 "qemu-$c: DHCP from QEMU's user network"
			fi
			con_send "poweroff"
			con_stop 120
			[ "$crc" = 0 ] && ok "qemu-$c: poweroff ends QEMU with status 0" || fail "qemu-$c: QEMU exit $crc"
			after_image "qemu-$c" "$disk"
		fi
		[ -z "$cpid" ] || con_stop 0
		[ "$failed" = "$bad" ] || con_show
		rm -f "$disk"
	done
fi
finish
exit
}
