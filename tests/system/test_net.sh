#!/usr/bin/env bash
# test_net: a guest's xen-netfront over user-mode networking (issue 6, acceptance 1).
#
# Debian's 6.1 guest inserts xen-netfront, gets 10.0.2.15 from the built-in DHCP
# server with udhcpc, sends XENKVM_NET_MB (64) MiB of random data to a listener on
# this host's loopback (10.0.2.2 in the guest) and receives the same bytes back from
# a second one: the guest's checksum, what arrived here and what went back agree.
# While the guest is up, `xenkvm network-list` shows the vif Connected with
# netback's counters covering the transfer both ways and no errors.  A second
# boot with 2 vCPUs (netfront then asks for 2 queues) moves XENKVM_NET_MB2 (16) MiB
# the same way over a multi-queue vif.
#
# Run by tests/system/run.sh (assets, nested host); run alone it finds the assets
# itself and skips (77) when the local KVM cannot run guests.  Prints one line per
# check, last "test_net: N passed, N failed".
set -uo pipefail

{
name=test_net
. "$(dirname "$0")/lib.sh"
limit=${XENKVM_BOOT_TIMEOUT:-900}
mb1=${XENKVM_NET_MB:-64}
mb2=${XENKVM_NET_MB2:-16}
cli=$build/xenkvm
require_kvm
need_assets
[ -x "$vmm" ] || { fail "$vmm is not built"; finish; }
[ -x "$cli" ] || { fail "$cli is not built"; finish; }
command -v python3 >/dev/null || { echo "SKIP: $name: python3 (the host-side listener) not installed"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_net.XXXXXX")
export XDG_RUNTIME_DIR=$tmp/rt
mkdir -p "$XDG_RUNTIME_DIR"
lpid= gpid=
cleanup() {
	[ -n "$gpid" ] && kill -9 "$gpid" 2>/dev/null
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$((20000 + $$ % 20000))

# The listener: port receives exactly mb MiB (then closes, which ends the guest's
# nc) and records their checksum; port+1 sends the same bytes back.
cat >"$tmp/listen.py" <<'PY'
import hashlib, socket, sys
port, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def listen(p):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p)); s.listen(1); return s
a, b = listen(port), listen(port + 1)
print("LISTENING", flush=True)
c, _ = a.accept()
h, got = hashlib.sha256(), 0
with open(path, "wb") as f:
    while got < size:
        d = c.recv(min(1 << 20, size - got))
        if not d: break
        f.write(d); h.update(d); got += len(d)
c.close()
print("HOST-RECV=%s %d" % (h.hexdigest(), got), flush=True)
c, _ = b.accept()
with open(path, "rb") as f:
    while True:
        d = f.read(1 << 20)
        if not d: break
        c.sendall(d)
c.close()
print("HOST-SENT", flush=True)
PY
run_case() {	# run_case VCPUS MIB
	local vcpus=$1 mb=$2 bad=$failed t t0 t1 t2 list row dhcp sent recv back qs
	local _ bes fes mac be txp txb txd txe rxp rxb rxd rxe gtx grx
	echo "--- $vcpus vCPU(s), $mb MiB each way"
	: >"$tmp/listen.out"
	python3 "$tmp/listen.py" "$port" $((mb << 20)) "$tmp/recv.bin" >"$tmp/listen.out" 2>&1 &
	lpid=$!
	for _ in $(seq 50); do grep -q LISTENING "$tmp/listen.out" && break; sleep 0.1; done

	cat >"$tmp/net.cfg" <<-EOF2
	name = "xknet"
	kernel = "$XENKVM_KERNEL"
	ramdisk = "$XENKVM_INITRD"
	extra = "console=ttyS0 quiet xktest=net xknet_mb=$mb xknet_port=$port"
	memory = 320
	vcpus = $vcpus
	vif = [ "mac=00:16:3e:12:34:56" ]
	EOF2

	val() { tr -d '\r' <"$tmp/out.raw" | sed -n "s/^$1=//p" | head -1; }
	show_output() {
		echo "    --- guest console (last 20 lines):"
		tr -d '\r' <"$tmp/out.raw" | tail -n 20 | sed 's/^/    | /'
		echo "    --- listener:"
		sed 's/^/    | /' "$tmp/listen.out"
		echo "    --- daemon log (last 10 lines):"
		tail -n 10 "$XDG_RUNTIME_DIR"/xenkvm/logs/xknet.log 2>/dev/null | sed 's/^/    | /'
	}

	start=$(date +%s)
	"$cli" create -F -q "$tmp/net.cfg" </dev/null >"$tmp/out.raw" 2>&1 &
	gpid=$!
	done_=
	for _ in $(seq $((limit * 2))); do
		grep -q '^NET-DONE' "$tmp/out.raw" && { done_=1; break; }
		grep -q '^NET-ERROR\|XENKVM-TEST-END' "$tmp/out.raw" && break
		kill -0 $gpid 2>/dev/null || break
		sleep 0.5
	done
	if [ -n "$done_" ]; then ok "guest finished the transfer ($(($(date +%s) - start))s)"
	else fail "guest did not finish: $(tr -d '\r' <"$tmp/out.raw" | grep '^NET-ERROR' | head -3 | tr '\n' ' ')"; fi

	[ "$(val NET-MAC)" = 00:16:3e:12:34:56 ] && ok "eth0 has the configured MAC" ||
		fail "eth0 MAC '$(val NET-MAC)'"
	qs=$(tr -d '\r' <"$tmp/out.raw" | sed -n 's/.*netback: d[0-9]* vif 0: connected, \([0-9]*\) queue.*/\1/p' | head -1)
	[ "$qs" = "$vcpus" ] && ok "netfront connected with $vcpus queue(s)" || fail "connected with '$qs' queues, expected $vcpus"
	dhcp=$(val NET-DHCP)
	[ "${dhcp%% *}" = 10.0.2.15 ] && [ "${dhcp#* }" = 10.0.2.2 ] && ok "DHCP: 10.0.2.15, router 10.0.2.2" ||
		fail "DHCP: got '$dhcp'"
	sent=$(val NET-SHA-SENT)
	recv=$(sed -n 's/^HOST-RECV=//p' "$tmp/listen.out")
	back=$(val NET-SHA-BACK)
	if [ -n "$sent" ] && [ "$recv" = "$sent $((mb << 20))" ]; then
		ok "guest -> host: $mb MiB arrived intact (sha256 $sent)"
	else
		fail "guest -> host: guest sent '$sent', host got '$recv'"
	fi
	if [ -n "$sent" ] && [ "$back" = "$sent $((mb << 20))" ]; then
		ok "host -> guest: the same $mb MiB came back intact"
	else
		fail "host -> guest: guest received '$back', expected '$sent $((mb << 20))'"
	fi
	t=$(val NET-TIME)
	if [ -n "$t" ]; then
		read -r t0 t1 t2 <<<"$t"
		echo "  info guest->host $(awk -v a="$t0" -v b="$t1" -v m="$mb" 'BEGIN{printf "%.1f", m/(b-a)}') MiB/s," \
		     "host->guest $(awk -v a="$t1" -v b="$t2" -v m="$mb" 'BEGIN{printf "%.1f", m/(b-a)}') MiB/s"
	fi

	# the counters, while the guest is still up
	list=$(timeout 20 "$cli" network-list xknet 2>&1)
	row=$(printf '%s\n' "$list" | awk '$1 == "0"')
	if [ -n "$row" ]; then
		read -r _ bes fes mac be txp txb txd txe rxp rxb rxd rxe <<<"$row"
		[ "$bes" = 4 ] && [ "$fes" = 4 ] && [ "$mac" = 00:16:3e:12:34:56 ] && [ "$be" = user ] &&
			ok "network-list: vif 0 Connected, MAC and backend shown" || fail "network-list: $row"
		if [ "${txb:-0}" -ge $((mb << 20)) ] && [ "${rxb:-0}" -ge $((mb << 20)) ] &&
		   [ "${txp:-0}" -gt 0 ] && [ "${rxp:-0}" -gt 0 ]; then
			ok "network-list: counters cover the transfer (tx $txp pkts/$txb B, rx $rxp pkts/$rxb B)"
		else
			fail "network-list: counters too small: $row"
		fi
		# the guest read its own counters just before NET-DONE; a stray packet may follow
		read -r gtx grx <<<"$(val NET-GUEST-STATS)"
		if [ -n "${gtx:-}" ] && [ "$txp" -ge "$gtx" ] && [ "$txp" -le $((gtx + 20)) ] &&
		   [ "$rxp" -ge "$grx" ] && [ "$rxp" -le $((grx + 20)) ]; then
			ok "network-list: packet counts agree with the guest's eth0 ($gtx tx, $grx rx)"
		else
			fail "network-list: tx $txp rx $rxp packets, the guest counted '${gtx:-?}' '${grx:-?}'"
		fi
		[ "$txe" = 0 ] && [ "$rxe" = 0 ] && ok "network-list: no errors (drops tx $txd, rx $rxd)" ||
			fail "network-list: errors: $row"
	else
		fail "network-list: no vif 0 in: $list"
	fi
	timeout 20 "$cli" destroy xknet >/dev/null 2>&1
	for _ in $(seq 100); do kill -0 $gpid 2>/dev/null || break; sleep 0.1; done
	kill -0 $gpid 2>/dev/null && fail "the domain did not go away after destroy" || ok "destroyed"
	gpid=
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	lpid=
	port=$((port + 2))
	[ "$failed" = "$bad" ] || show_output
}

run_case 1 "$mb1"
run_case 2 "$mb2"
finish
exit
}
