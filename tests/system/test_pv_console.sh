#!/usr/bin/env bash
# test_pv_console: a Debian 6.1 guest booted with console=hvc0 talks through the Xen
# PV console ring (HVM_PARAM_CONSOLE_PFN/EVTCHN) that xenkvmd serves.
#
#   1. --console=SOCK takes the serial console away from stdio; hvc0's output then
#      reaches stdout by itself: init's first line and the kernel's last are there.
#   2. --pv-console=SOCK: a client on that socket sees the guest's shell on hvc0, types
#      a command whose output only the shell can produce, and powers the guest off
#      through it (exit status 0).
# Run by tests/system/run.sh (KVM with Xen support, assets); skips (77) otherwise.
set -uo pipefail
{
name=test_pv_console
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-150}
require_kvm -x
need_assets
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_pv_console.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

write_cfg() {	# write_cfg FILE EXTRA
	cat >"$1" <<CFG
name = "xktest-pvcons"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "$2"
memory = 256
vcpus = 1
CFG
}

# 1. hvc0 on stdout
write_cfg "$tmp/a.cfg" "console=hvc0 quiet xktest=poweroff"
timeout -k 5 "$boot_limit" "$vmm" -q --console="$tmp/serial-a.sock" "$tmp/a.cfg" </dev/null \
	>"$tmp/a.out" 2>"$tmp/a.err"
rc=$?
out=$(tr -d '\r' <"$tmp/a.out")
[ $rc = 0 ] && ok "console=hvc0 guest powered off (exit 0)" || fail "exit status $rc (want 0)"
if grep -q "^XENKVM-INIT-START" <<<"$out" &&
   grep -q "reboot: Power down" <<<"$out"; then
	ok "init's output arrived through the PV console ring"
else
	fail "no init output on hvc0"
	printf '%s\n' "$out" | tail -n 10 | sed 's/^/    | /'
	tail -n 5 "$tmp/a.err" | sed 's/^/    ! /'
fi

# 2. a shell on hvc0 through --pv-console
write_cfg "$tmp/b.cfg" "console=hvc0 quiet"
"$vmm" -q --console="$tmp/serial-b.sock" --pv-console="$tmp/pv.sock" "$tmp/b.cfg" </dev/null \
	>"$tmp/b.out" 2>"$tmp/b.err" &
pid=$!
python3 - "$tmp/pv.sock" "$boot_limit" >"$tmp/client.out" 2>&1 <<'PY'
import socket, sys, time
path, limit = sys.argv[1], float(sys.argv[2])
deadline = time.time() + limit
s = None
while time.time() < deadline:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        s = None; time.sleep(0.2)
if s is None:
    print("CLIENT: no socket"); sys.exit(1)
s.settimeout(1)
buf = b""
def wait_for(token):
    global buf
    while time.time() < deadline:
        if token in buf:
            return True
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        if not d:
            return False
        buf += d
    return False
if not wait_for(b"xenkvm guest shell on hvc0"):
    print("CLIENT: no shell banner"); print(buf.decode(errors="replace")[-800:]); sys.exit(1)
time.sleep(0.5)
s.sendall(b"echo XK-$((6*7))\n")
if not wait_for(b"XK-42"):
    print("CLIENT: command output missing"); print(buf.decode(errors="replace")[-800:]); sys.exit(1)
print("CLIENT: shell answered")
s.sendall(b"/bin/busybox poweroff -f\n")
time.sleep(1)
PY
crc=$?
wait_start=$(date +%s)
while kill -0 $pid 2>/dev/null && [ $(($(date +%s) - wait_start)) -lt 60 ]; do sleep 0.5; done
if kill -0 $pid 2>/dev/null; then
	kill -9 $pid
	rc=timeout
else
	wait $pid
	rc=$?
fi
if [ $crc = 0 ]; then
	ok "--pv-console: the shell on hvc0 ran a typed command"
else
	fail "--pv-console client"
	sed 's/^/    | /' "$tmp/client.out" | tail -n 12
	tail -n 5 "$tmp/b.err" | sed 's/^/    ! /'
fi
[ "$rc" = 0 ] && ok "poweroff typed on hvc0 ended xenkvmd with status 0" || fail "exit status $rc (want 0)"
[ ! -s "$tmp/b.out" ] && ok "nothing of hvc0 leaked to stdout with --pv-console" \
	|| fail "stdout has $(wc -c <"$tmp/b.out") bytes"
finish
}
