#!/usr/bin/env bash
# test_net_tap: a guest's xen-netfront NIC on a tap vif in a bridge (issue 6,
# acceptance 2).  Everything host-side happens in a network namespace this test
# creates (bridge xkbr0 192.168.77.1/24, xenkvmd's tap joins it), so the host's
# own network is never touched.  The guest (192.168.77.2) answers pings from the
# host, receives 8 MiB over TCP and sends 8 MiB back; both checksums must match.
# Then the vif is detached and re-attached through xenkvmd's control socket
# (network-detach / network-attach): the guest's eth0 goes away, comes back
# with its MAC, and answers ping and TCP again.
#
# Needs root (a namespace, a bridge, a tap) and xenkvmd wiring `vif` entries to
# netback + netdev.  Run by tests/system/run.sh (assets, nested host); run alone it
# finds the assets itself and skips (77) when the local KVM cannot run guests or
# it is not root.  Prints one line per check, last "test_net_tap: N passed, N failed".
set -uo pipefail

{
name=test_net_tap
. "$(dirname "$0")/lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-300}
[ "$(id -u)" = 0 ] || { echo "SKIP: $name: needs root (network namespace, bridge, tap)"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: $name: no /dev/net/tun"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: $name: python3 (host side of the TCP transfer) missing"; exit 77; }
require_kvm
need_assets
[ -x "$vmm" ] || { fail "$vmm is not built"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_net_tap.XXXXXX")
ns=xktap$$
pid=
cleanup() {
	[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }

if ! ip netns add "$ns" 2>"$tmp/nserr"; then
	echo "SKIP: $name: cannot create a network namespace: $(cat "$tmp/nserr")"
	exit 77
fi
in_ns ip link set lo up
in_ns ip link add xkbr0 type bridge
in_ns ip addr add 192.168.77.1/24 dev xkbr0
in_ns ip link set xkbr0 up

cat >"$tmp/net.cfg" <<CFG
name = "xktest-net-tap"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "console=ttyS0 quiet xktest=net_tap"
memory = 256
vcpus = 1
vif = [ 'mac=00:16:3e:4e:54:01, bridge=xkbr0' ]
CFG

show_output() {
	echo "    --- guest console (last 20 lines):"
	tr -d '\r' <"$tmp/out" | tail -n 20 | sed 's/^/    | /'
	echo "    --- stderr (last 10 lines):"
	tail -n 10 "$tmp/err" | sed 's/^/    | /'
}
val() { tr -d '\r' <"$tmp/out" | sed -n "s/^$1=//p" | head -1; }
# wait_line TAG: until the guest printed a line starting with TAG (or died / timed out)
wait_line() {
	for _ in $(seq $((boot_limit * 10))); do
		tr -d '\r' <"$tmp/out" | grep -q "^$1" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

start=$(date +%s)
in_ns "$vmm" --control="$tmp/ctl.sock" "$tmp/net.cfg" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
bad=$failed
if ! wait_line NET-READY; then
	fail "guest never brought eth0 up"
	show_output
	finish
fi
ok "guest up with xen-netfront eth0 ($(($(date +%s) - start))s)"
tap=$(in_ns ip -o link show master xkbr0 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | head -1)
case $tap in
xenkvm*) ok "tap $tap in bridge xkbr0" ;;
*) fail "no xenkvm* tap in bridge xkbr0 (found '$tap')" ;;
esac
[ "$(val NET-MAC)" = 00:16:3e:4e:54:01 ] && ok "guest MAC 00:16:3e:4e:54:01" ||
	fail "guest MAC '$(val NET-MAC)'"

# --- ping ---------------------------------------------------------------------------
if in_ns ping -c 5 -i 0.2 -W 2 192.168.77.2 >"$tmp/ping" 2>&1 ||
   in_ns busybox ping -c 5 -W 2 192.168.77.2 >"$tmp/ping" 2>&1; then
	ok "host pings the guest: $(grep -o '[0-9]* packets received\|[0-9]* received' "$tmp/ping" | head -1)"
else
	fail "ping 192.168.77.2: $(tail -2 "$tmp/ping" | tr '\n' ' ')"
fi

# --- TCP both ways ------------------------------------------------------------------
head -c $((8 << 20)) /dev/urandom >"$tmp/to_guest"
to_sha=$(sha256sum <"$tmp/to_guest" | cut -d' ' -f1)
cat >"$tmp/xfer.py" <<'PY'
import socket, sys, time, hashlib
mode, path = sys.argv[1], sys.argv[2]
if mode == "send":		# to the guest's nc -l -p 5000, retrying until it listens
    data = open(path, "rb").read()
    for _ in range(200):
        try:
            s = socket.create_connection(("192.168.77.2", 5000), timeout=5)
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("cannot connect to the guest")
    s.settimeout(60)
    s.sendall(data)
    s.close()
else:			# accept the guest's 8 MiB on 5001, close after exactly that much
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("192.168.77.1", 5001)); l.listen(1); l.settimeout(120)
    c, _ = l.accept(); c.settimeout(60)
    h, n = hashlib.sha256(), 0
    while n < 8 << 20:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b); n += len(b)
    c.close()
    print(h.hexdigest(), n)
PY
in_ns python3 "$tmp/xfer.py" recv - >"$tmp/recv" 2>&1 &
recv_pid=$!
t0=$(date +%s.%N)
if in_ns timeout 120 python3 "$tmp/xfer.py" send "$tmp/to_guest" 2>"$tmp/senderr" && wait_line NET-RX-SHA; then
	got=$(val NET-RX-SHA)
	if [ "$got" = "$to_sha $((8 << 20))" ]; then
		ok "host -> guest: 8 MiB over TCP, checksum matches"
	else
		fail "host -> guest: sent $to_sha, guest got '$got'"
	fi
else
	fail "host -> guest transfer: $(tail -1 "$tmp/senderr")"
fi
wait_line NET-DONE
wait "$recv_pid"
t1=$(date +%s.%N)
from_sha=$(val NET-TX-SHA)
if [ -n "$from_sha" ] && [ "$(cat "$tmp/recv")" = "$from_sha $((8 << 20))" ]; then
	ok "guest -> host: 8 MiB over TCP, checksum matches ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s for both)"
else
	fail "guest -> host: guest sent '$from_sha', host got '$(cat "$tmp/recv")'"
fi

# --- detach and re-attach through the control socket ---------------------------------
# ctl JSON: one request to xenkvmd's control socket; prints the reply line
ctl() {
	python3 - "$tmp/ctl.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(30)
s.sendall(sys.argv[2].encode() + b"\n")
r = b""
while not r.endswith(b"\n"):
    d = s.recv(4096)
    if not d:
        break
    r += d
print(r.decode().strip())
PY
}
taps() { in_ns ip -o link show master xkbr0 2>/dev/null | grep -c xenkvm; }
reply=$(ctl '{"v":1,"id":1,"op":"network-detach","device":"0"}')
case $reply in *'"ok":true'*) ok "network-detach 0 accepted" ;; *) fail "network-detach: $reply" ;; esac
if wait_line NET-UNPLUGGED; then ok "guest's eth0 went away"; else fail "guest kept eth0 after detach"; fi
[ "$(taps)" = 0 ] && ok "tap left the bridge" || fail "tap still in xkbr0 after detach"
reply=$(ctl '{"v":1,"id":2,"op":"network-attach","spec":"mac=00:16:3e:4e:54:01, bridge=xkbr0"}')
case $reply in *'"ok":true'*) ok "network-attach accepted ($reply)" ;; *) fail "network-attach: $reply" ;; esac
if wait_line NET-REPLUGGED; then
	[ "$(val NET-REPLUGGED)" = 00:16:3e:4e:54:01 ] && ok "guest's eth0 is back with its MAC" ||
		fail "re-attached MAC '$(val NET-REPLUGGED)'"
else
	fail "no eth0 in the guest after re-attach"
fi
[ "$(taps)" = 1 ] && ok "a tap is in the bridge again" || fail "$(taps) taps in xkbr0 after re-attach"
if in_ns ping -c 3 -i 0.2 -W 2 192.168.77.2 >"$tmp/ping2" 2>&1 ||
   in_ns busybox ping -c 3 -W 2 192.168.77.2 >"$tmp/ping2" 2>&1; then
	ok "host pings the guest after re-attach"
else
	fail "no ping after re-attach: $(tail -2 "$tmp/ping2" | tr '\n' ' ')"
fi
in_ns python3 -c '
import socket, time
for _ in range(100):
    try:
        s = socket.create_connection(("192.168.77.2", 5002), timeout=5); break
    except OSError:
        time.sleep(0.1)
s.sendall(b"bye"); s.close()' 2>/dev/null
wait_line NET-BYE && [ "$(val NET-BYE)" = bye ] && ok "TCP to the guest after re-attach" ||
	fail "no TCP after re-attach"

# --- shutdown and cleanup -----------------------------------------------------------
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	fail "guest did not power off"
	kill -9 "$pid"
fi
wait "$pid" 2>/dev/null
rc=$?
pid=
[ $rc = 0 ] && ok "xenkvmd exited 0" || fail "xenkvmd exited $rc"
left=$(in_ns ip -o link show 2>/dev/null | grep -c xenkvm)
[ "$left" = 0 ] && ok "tap removed when xenkvmd exited" || fail "$left tap(s) left behind"
[ $failed = "$bad" ] || show_output
finish
exit
}
