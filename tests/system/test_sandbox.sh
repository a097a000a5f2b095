#!/usr/bin/env bash
# test_sandbox: xenkvmd runs with least privilege (issue 19, point 6).
#
# 1. A Xen guest with a disk and a user-networking vif boots under xenkvmd's seccomp
#    filters as an unprivileged user (--user): the guest writes and reads back its
#    disk and gets an address by DHCP; meanwhile every thread of the daemon
#    (/proc/PID/task/*) shows Seccomp: 2, there are vCPU, io and serial-in threads,
#    the daemon's uids and gids are the user's, it holds no capabilities and has
#    no_new_privs; the guest powers off and xenkvmd exits 0.
# 2. `xenkvm create -u USER` runs the daemon as USER with its sockets in the run
#    directory: list and destroy work, and the entry goes away.
# 3. --seccomp-probe=KIND for main, io, vcpu and serial-in: a thread of that kind
#    issues a syscall its own filter forbids (for io, vcpu and serial-in one the
#    base filter allows), and xenkvmd dies of SIGSYS (status 159); the kernel log
#    names the thread (audit type=1326) where dmesg is readable.
#
# The user: in the nested host (XENKVM_IN_L1, L1_RUN) the test creates a system user
# in group kvm and gives /dev/kvm to that group (as Debian's udev rules do), and
# undoes both at exit; elsewhere it uses XENKVM_SANDBOX_USER if set (it must be able
# to open /dev/kvm) and otherwise skips the user checks, saying so.
set -uo pipefail
{
name=test_sandbox
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-180}
require_kvm -x
need_assets
[ -x "$vmm" ] || { fail "$vmm is not built"; finish; }
cli=$build/xenkvm

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_sandbox.XXXXXX")
chmod 755 "$tmp"
user= made_user= kvm_mode= kvm_group=
cleanup() {
	[ -n "$made_user" ] && userdel "$made_user" 2>/dev/null
	[ -n "$kvm_mode" ] && { chgrp "$kvm_group" /dev/kvm; chmod "$kvm_mode" /dev/kvm; }
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${XENKVM_IN_L1:-}" ] || [ "${L1_RUN:-}" = 1 ]; then
	user=xktest-sandbox
	kvm_mode=$(stat -c %a /dev/kvm) kvm_group=$(stat -c %G /dev/kvm)
	getent group kvm >/dev/null || groupadd -r kvm
	chgrp kvm /dev/kvm && chmod 660 /dev/kvm
	if ! id "$user" >/dev/null 2>&1; then
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G kvm "$user" && made_user=$user ||
			{ fail "useradd $user"; finish; }
	fi
elif [ -n "${XENKVM_SANDBOX_USER:-}" ]; then
	user=$XENKVM_SANDBOX_USER
else
	echo "  skip the --user checks: not in the nested host and no XENKVM_SANDBOX_USER"
fi
uid=0 gid=0
if [ -n "$user" ]; then
	uid=$(id -u "$user") gid=$(id -g "$user")
fi

# The unprivileged daemon opens the kernel, initrd and disk itself: copies it can read.
cp "$XENKVM_KERNEL" "$tmp/vmlinuz" && cp "$XENKVM_INITRD" "$tmp/initrd" ||
	{ fail "copying the guest assets"; finish; }
truncate -s 16M "$tmp/disk.img"
chmod 644 "$tmp/vmlinuz" "$tmp/initrd"
[ -n "$user" ] && chown "$user" "$tmp/disk.img"
cat >"$tmp/guest.cfg" <<CFG
name = "xktest-sandbox"
kernel = "$tmp/vmlinuz"
ramdisk = "$tmp/initrd"
extra = "console=ttyS0 quiet xktest=sandbox"
memory = 256
vcpus = 2
disk = [ 'format=raw, vdev=xvda, access=rw, target=$tmp/disk.img' ]
vif = [ 'mac=00:16:3e:00:00:19' ]
CFG

field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$2"; }

# --- 1. a guest under the filters, as the user ------------------------------------------
mkfifo "$tmp/in"
exec 3<>"$tmp/in"   # the serial console's input stays open: serial-in keeps running
opts=()
[ -n "$user" ] && opts+=(--user="$user")
timeout -k 5 "$boot_limit" "$vmm" "${opts[@]}" "$tmp/guest.cfg" <&3 >"$tmp/out" 2>"$tmp/err" &
pid=$!
ready=
for _ in $(seq 1 $((boot_limit * 5))); do
	grep -q SANDBOX-READY "$tmp/out" 2>/dev/null && { ready=1; break; }
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
# timeout is the parent: the daemon is its child
dpid=$(pgrep -P "$pid" -x xenkvmd | head -1)
if [ -n "$ready" ] && [ -n "$dpid" ]; then
	ok "guest up under the filters${user:+ as $user}"
	# console input: serial-in feeds the UART and raises its interrupt (an ioctl)
	printf 'x\n' >&3
	threads=() bad=()
	for t in /proc/"$dpid"/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) s=$(field Seccomp "$t/status")
		[ -n "$c" ] || continue
		threads+=("$c=$s")
		[ "$s" = 2 ] || bad+=("$c=$s")
	done
	if [ ${#threads[@]} -gt 0 ] && [ ${#bad[@]} -eq 0 ]; then
		ok "Seccomp: 2 on all ${#threads[@]} threads (${threads[*]})"
	else
		fail "threads without a filter: ${bad[*]:-none listed} (all: ${threads[*]})"
	fi
	for want in vcpu0 vcpu1 io serial-in; do
		printf '%s\n' "${threads[@]}" | grep -q "^$want=" && ok "a $want thread" ||
			fail "no $want thread (${threads[*]})"
	done
	st=/proc/$dpid/status
	[ "$(field NoNewPrivs "$st")" = 1 ] && ok "no_new_privs set" || fail "NoNewPrivs: $(field NoNewPrivs "$st")"
	if [ -n "$user" ]; then
		u=$(field Uid "$st") g=$(field Gid "$st")
		[ "$(echo $u)" = "$uid $uid $uid $uid" ] && ok "uid $uid ($user), not 0" || fail "Uid: $u (want $uid)"
		[ "$(echo $g)" = "$gid $gid $gid $gid" ] && ok "gid $gid" || fail "Gid: $g (want $gid)"
		grps=$(field Groups "$st") kvmgid=$(stat -c %g /dev/kvm)
		[ "$(echo $grps)" = "$kvmgid" ] || [ -z "$(echo $grps)" ] && ok "supplementary groups: '$(echo $grps)' (only /dev/kvm's)" ||
			fail "supplementary groups: $grps"
		[ "$(field CapEff "$st")" = 0000000000000000 ] && [ "$(field CapPrm "$st")" = 0000000000000000 ] &&
			[ "$(field CapBnd "$st")" = 0000000000000000 ] && ok "no capabilities (effective, permitted, bounding)" ||
			fail "capabilities: eff $(field CapEff "$st") prm $(field CapPrm "$st") bnd $(field CapBnd "$st")"
	fi
else
	fail "the guest did not report SANDBOX-READY (daemon pid '${dpid:-?}')"
fi
wait "$pid"
rc=$?
exec 3>&-
out=$(tr -d '\r' <"$tmp/out")
[ "$rc" = 0 ] && ok "guest powered off, exit 0" || fail "exit $rc (0 expected)"
[ "$(printf '%s\n' "$out" | sed -n 's/^SANDBOX-BLK=//p')" = ok ] && ok "disk written and read back (blkback)" ||
	fail "disk: $(printf '%s\n' "$out" | grep SANDBOX-BLK)"
[ "$(printf '%s\n' "$out" | sed -n 's/^SANDBOX-NET=//p')" = 10.0.2.15 ] && ok "DHCP over libslirp: 10.0.2.15" ||
	fail "network: $(printf '%s\n' "$out" | grep SANDBOX-NET)"
if [ "$failed" -gt 0 ]; then
	echo "    --- console (last 15 lines):"; printf '%s\n' "$out" | tail -n 15 | sed 's/^/    | /'
	echo "    --- stderr (last 10 lines):"; tail -n 10 "$tmp/err" | sed 's/^/    | /'
	# a SIGSYS death: which thread, which syscall
	[ "$rc" = 159 ] && dmesg 2>/dev/null | grep "type=1326" | tail -n 3 | sed 's/^/    | /'
fi

# --- 2. xenkvm create -u USER --------------------------------------------------------------
if [ -n "$user" ]; then
	export XDG_RUNTIME_DIR=$tmp/run
	mkdir -p "$XDG_RUNTIME_DIR"
	if "$cli" create -q -u "$user" "$tmp/guest.cfg" >"$tmp/create" 2>&1; then
		ok "xenkvm create -u $user"
		cpid=$(cat "$tmp/run/xenkvm/"*/pid 2>/dev/null | head -1)
		cu=$(field Uid /proc/"${cpid:-0}"/status 2>/dev/null)
		[ "$(echo $cu | cut -d' ' -f1)" = "$uid" ] && ok "created daemon runs as uid $uid" ||
			fail "created daemon (pid ${cpid:-?}) Uid: '$cu'"
		"$cli" list 2>&1 | grep -q xktest-sandbox && ok "list shows it (control socket served by $user)" ||
			fail "list: $("$cli" list 2>&1)"
		"$cli" destroy xktest-sandbox >/dev/null 2>&1 && ok "destroy" || fail "destroy"
		"$cli" list 2>&1 | grep -q xktest-sandbox && fail "still listed after destroy" || ok "gone after destroy"
	else
		fail "xenkvm create -u $user: $(tail -n 5 "$tmp/create")"
	fi
	unset XDG_RUNTIME_DIR
fi

# --- 3. a forbidden syscall from each thread kind ---------------------------------------
for kind in main io vcpu serial-in; do
	timeout -k 5 60 "$vmm" --seccomp-probe="$kind" "${opts[@]}" "$tmp/guest.cfg" \
		</dev/null >"$tmp/probe.out" 2>"$tmp/probe.err"
	prc=$?
	if [ "$prc" = 159 ] && grep -q "the $kind thread issues syscall" "$tmp/probe.err"; then
		ok "$kind: forbidden syscall ends xenkvmd with SIGSYS (status 159)"
	else
		fail "$kind: status $prc (159 = SIGSYS expected): $(tail -n 3 "$tmp/probe.err")"
	fi
	# (every vCPU thread reports its probe: the first line is enough)
	nr=$(sed -n "s/.*the $kind thread issues syscall \([0-9]*\).*/\1/p" "$tmp/probe.err" | head -1)
	if log=$(dmesg 2>/dev/null); then
		printf '%s\n' "$log" | grep "type=1326" | grep "xenkvmd" | grep -q "syscall=$nr " &&
			ok "$kind: the kernel log has the kill (syscall $nr)" ||
			fail "$kind: no audit type=1326 line for syscall $nr in dmesg"
	fi
done
finish
}
