#!/usr/bin/env bash
# test_migrate: `xenkvm migrate` between two xenkvm "hosts" in one machine (two run
# directories, as two hosts would have) of a Debian 6.1 Xen HVM guest (2 vCPUs, a
# blkfront disk, a netfront NIC on user-mode networking) running
# tests/system/guest/counter.sh ("CNT n UPTIME" on the serial console every 0.2 s,
# "CNT n" appended to a file on xvda with fsync, a TCP connection to the host every
# second):
#   - a stream cut short (the receiving command reads only 3 MB of it), one with a
#     byte flipped in transit and one from another build are refused by the
#     receiver; the source guest runs on and counts, `xenkvm migrate` exits 1;
#   - a receiver that reads the whole stream and then answers with an ERROR line,
#     or with EOF: the source runs on, migrate exits 1 with the receiver's reason;
#   - the receiver killed (SIGKILL, it and its xenkvmd) in the middle of a copy
#     slowed to ~10 MB/s: the source guest runs on and counts, migrate exits 1,
#     nothing is left on the receiving side;
#   - a migration over loopback TCP (migrate-receive --listen): the source is gone,
#     the destination runs with the same domid; then back again over -C (a local
#     migrate-receive on the socketpair) after a pause: it arrives paused; once
#     unpaused, the counts joined over the three consoles run 1..N with no gap and
#     no repeat, `sleep 0.2` keeps the host's pace after the moves, the NIC answers
#     after them; a third move, to B by the default transport (a stand-in `ssh` on
#     PATH checks it is called as `ssh HOST xenkvm migrate-receive`); a XenStore
#     watch of the guest's kernel fires (shutdown -w), the
#     file on xvda holds every count after the poweroff; the downtime of the TCP
#     move (last line on the source's console to the first on the destination's)
#     and the total time of each move are printed.
# Not live: the guest is paused for the whole copy (--live is refused).
# Run by tests/system/run.sh (KVM with Xen support, assets); skips (77) otherwise.
# xenkvm-system-test-timeout: 400
set -uo pipefail
{
name=test_migrate
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter-lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-150}
require_kvm -x
need_assets
cli=$build/xenkvm
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_migrate.XXXXXX")
runA=$tmp/runA runB=$tmp/runB
mkdir -p "$runA" "$runB"
chmod 700 "$runA" "$runB"
export XDG_RUNTIME_DIR=$runA
readers=()
http_pid=
recv_pid=
cleanup() {
	for p in "${readers[@]}" $http_pid $recv_pid; do kill "$p" 2>/dev/null; done
	XDG_RUNTIME_DIR=$runA "$cli" destroy xkmig >/dev/null 2>&1
	XDG_RUNTIME_DIR=$runB "$cli" destroy xkmig >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

port=$((20000 + $$ % 20000))
mport=$((port + 1))
pong_server "$port" "$tmp/http.log"
http_pid=$!
counter_cfg "$tmp/guest.cfg" xkmig "$port" "$tmp/disk.img"
# A 1 MiB-per-0.1 s pipe: a copy long enough to kill the receiver in its middle.
cat >"$tmp/slow.py" <<'PY'
import os, sys, time
while True:
    d = os.read(0, 1 << 20)
    if not d:
        break
    os.write(1, d)
    time.sleep(0.1)
PY

# read_console RUNDIR DOMID OUT: the serial console, host-stamped (counter-lib.sh).
read_console() {
	console_log "$1/xenkvm/$2/console.sock" "$3"
	readers+=($!)
}
# As root the daemons stay root: the disk is in $tmp (0700).
uopt=
[ "$(id -u)" = 0 ] && uopt="-u root"
domid_in() { XDG_RUNTIME_DIR=$1 "$cli" list 2>/dev/null | awk -v n=xkmig '$1 == n { print $2 }'; }
elapsed() { awk "BEGIN { printf \"%.2f\", $2 - $1 }"; }
# first_after FILE T: host time of the first CNT line in FILE; last_before: the last.
first_cnt_time() { awk '/CNT [0-9]+ [0-9.]+$/ { print $1; exit }' "$1"; }
last_cnt_time() { awk '/CNT [0-9]+ [0-9.]+$/ { t = $1 } END { print t }' "$1"; }
logtail() { tail -n 12 "$1"/xenkvm/logs/xkmig.log "$1"/xenkvm/*/xenkvmd.log 2>/dev/null | sed 's/^/    ! /'; }

out=$("$cli" create -q $uopt "$tmp/guest.cfg" 2>&1); rc=$?
[ $rc = 0 ] && ok "created the counting guest" || { fail "create: rc=$rc"; show "$out"; finish; }
id=$(domid_in "$runA")
read_console "$runA" "$id" "$tmp/con1"
wait_cnt "$tmp/con1" 20 "$boot_limit" &&
	ok "the guest counts (CNT $(last_cnt "$tmp/con1"); $(grep -o 'CNT-READY.*' "$tmp/con1" | head -n 1))" ||
	{ fail "no CNT lines"; show "$(cat "$tmp/con1")"; finish; }

# A receiver that gets only the first 3 MB: it refuses the stream, the source runs on.
n=$(last_cnt "$tmp/con1")
out=$("$cli" migrate -C "head -c 3000000 | XDG_RUNTIME_DIR=$runB $cli migrate-receive $uopt" xkmig 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "runs on here" <<<"$out" && grep -q "truncated" <<<"$out"; then
	ok "a stream cut at 3 MB is refused, migrate exits 1: $(grep -m1 'truncated' <<<"$out" | cut -c1-140)"
else
	fail "cut stream: rc=$rc"; show "$out"
fi
wait_cnt "$tmp/con1" $((n + 10)) 20 && [ "$(domid_in "$runA")" = "$id" ] && [ -z "$(domid_in "$runB")" ] &&
	ok "the source guest counts on ($n -> $(last_cnt "$tmp/con1")), nothing runs on the receiving side" ||
	{ fail "after the cut stream: CNT $(last_cnt "$tmp/con1"), source '$(domid_in "$runA")', receiver '$(domid_in "$runB")'"; logtail "$runA"; }

# A byte flipped in transit, and a stream from another build: refused by the
# receiver with the reason, the source runs on.
cat >"$tmp/mangle.py" <<'PY'
import os, struct, sys, zlib
mode, seen, head = sys.argv[1], 0, b""
while True:
    d = os.read(0, 1 << 16)
    if not d:
        break
    if mode == "flip" and seen <= 2000000 < seen + len(d):
        i = 2000000 - seen
        d = d[:i] + bytes([d[i] ^ 0x5a]) + d[i + 1:]
    if mode == "foreign" and seen == 0:
        idlen = struct.unpack_from("<H", d, 12)[0]
        bid = b"xenkvm-9.9-other"
        hdr = d[:12] + struct.pack("<H", len(bid)) + bid
        d = hdr + struct.pack("<I", zlib.crc32(hdr) & 0xffffffff) + d[14 + idlen + 4:]
    seen += len(d)
    os.write(1, d)
PY
for bad in flip:"checksum mismatch" foreign:"another build"; do
	m=${bad%%:*} want=${bad#*:}
	n=$(last_cnt "$tmp/con1")
	out=$("$cli" migrate -C "python3 $tmp/mangle.py $m | XDG_RUNTIME_DIR=$runB $cli migrate-receive $uopt" xkmig 2>&1); rc=$?
	if [ $rc = 1 ] && grep -q "runs on here" <<<"$out" && grep -q "$want" <<<"$out"; then
		ok "$m stream refused by the receiver, migrate exits 1: $(grep -m1 "$want" <<<"$out" | cut -c1-140)"
	else
		fail "$m stream: rc=$rc (want 1 and '$want')"; show "$out"
	fi
	wait_cnt "$tmp/con1" $((n + 5)) 20 && [ "$(domid_in "$runA")" = "$id" ] && [ -z "$(domid_in "$runB")" ] &&
		ok "the source guest counts on ($n -> $(last_cnt "$tmp/con1"))" ||
		{ fail "after the $m stream: CNT $(last_cnt "$tmp/con1"), source '$(domid_in "$runA")', receiver '$(domid_in "$runB")'"; logtail "$runA"; }
done

# A receiver that takes the whole stream and then says no (an ERROR line), or
# just goes (EOF): the handshake, not the copy, decides; the source runs on.
cat >"$tmp/refuse.py" <<'PY'
import os, struct, sys
def take(n):
    b = b""
    while len(b) < n:
        d = os.read(0, n - len(b))
        if not d:
            sys.exit("refuse.py: the stream ended early")
        b += d
    return b
hdr = take(14)
take(struct.unpack_from("<H", hdr, 12)[0] + 4)
while True:
    sid, ver, ln = struct.unpack("<IIQ", take(16))
    take(ln + 4)
    if sid == 0:
        break
if sys.argv[1] == "error":
    os.write(1, b"XENKVM-MIGRATE-ERROR test: refused after the whole stream\n")
PY
for how in error:"the receiver refused: test: refused after the whole stream" eof:"closed the connection before confirming"; do
	m=${how%%:*} want=${how#*:}
	n=$(last_cnt "$tmp/con1")
	out=$("$cli" migrate -C "python3 $tmp/refuse.py $m" xkmig 2>&1); rc=$?
	if [ $rc = 1 ] && grep -q "runs on here" <<<"$out" && grep -q "$want" <<<"$out"; then
		ok "a receiver that took the whole stream and answered $m: migrate exits 1: $(grep -m1 "$want" <<<"$out" | cut -c1-140)"
	else
		fail "receiver answering $m: rc=$rc (want 1 and '$want')"; show "$out"
	fi
	wait_cnt "$tmp/con1" $((n + 5)) 20 && [ "$(domid_in "$runA")" = "$id" ] &&
		ok "the source guest counts on ($n -> $(last_cnt "$tmp/con1"))" ||
		{ fail "after the $m answer: CNT $(last_cnt "$tmp/con1"), source '$(domid_in "$runA")'"; logtail "$runA"; }
done

# The receiver killed in the middle of a slowed copy.
n=$(last_cnt "$tmp/con1")
rm -f "$tmp/recv.pid"
# (sh's $$ is the receiver's pid: it execs it.)
"$cli" migrate -C "python3 $tmp/slow.py | sh -c 'echo \$\$ >$tmp/recv.pid; exec env XDG_RUNTIME_DIR=$runB $cli migrate-receive $uopt'" \
	xkmig >"$tmp/kill.out" 2>&1 &
mig_pid=$!
for ((i = 0; i < 100; i++)); do
	ls "$runB"/xenkvm/*/pid >/dev/null 2>&1 && [ -s "$tmp/recv.pid" ] && break
	sleep 0.1
done
sleep 1
dpid=$(cat "$runB"/xenkvm/*/pid 2>/dev/null | head -n 1)
if [ -s "$tmp/recv.pid" ] && [ -n "$dpid" ]; then
	kill -9 "$(cat "$tmp/recv.pid")" "$dpid" 2>/dev/null
	wait "$mig_pid"; rc=$?
	out=$(cat "$tmp/kill.out")
	if [ $rc = 1 ] && grep -q "runs on here" <<<"$out"; then
		ok "receiver and its xenkvmd killed mid-copy: migrate exits 1: $(grep -m1 'runs on here' <<<"$out" | cut -c1-140)"
	else
		fail "receiver killed: rc=$rc"; show "$out"
	fi
else
	wait "$mig_pid"
	fail "the receiving daemon never started (nothing to kill)"; show "$(cat "$tmp/kill.out")"
fi
wait_cnt "$tmp/con1" $((n + 10)) 20 && [ "$(domid_in "$runA")" = "$id" ] && [ -z "$(domid_in "$runB")" ] &&
	ok "after the kill the source guest counts on ($n -> $(last_cnt "$tmp/con1")), nothing runs on the receiving side" ||
	{ fail "after the kill: CNT $(last_cnt "$tmp/con1"), source '$(domid_in "$runA")'"; logtail "$runA"; }
XDG_RUNTIME_DIR=$runB "$cli" destroy xkmig >/dev/null 2>&1

# Over loopback TCP.
XDG_RUNTIME_DIR=$runB "$cli" migrate-receive $uopt --listen "127.0.0.1:$mport" >"$tmp/recv.out" 2>&1 &
recv_pid=$!
for ((i = 0; i < 50; i++)); do grep -q "waiting for a migration" "$tmp/recv.out" && break; sleep 0.1; done
# The destination's console is read from the moment its daemon is there: the
# first line the guest prints after the move is stamped when it comes.
read_console "$runB" "$id" "$tmp/con2"
t0=$(date +%s.%N)
out=$("$cli" migrate --tcp "127.0.0.1:$mport" xkmig 2>&1); rc=$?
t1=$(date +%s.%N)
wait "$recv_pid"; rrc=$?; recv_pid=
if [ $rc = 0 ] && [ $rrc = 0 ] && [ -z "$(domid_in "$runA")" ] && [ "$(domid_in "$runB")" = "$id" ]; then
	ok "migrated over TCP in $(elapsed "$t0" "$t1") s: gone here, running there with domid $id"
else
	fail "TCP migration: rc=$rc, receiver rc=$rrc, source '$(domid_in "$runA")', destination '$(domid_in "$runB")'"
	show "$out$(echo; cat "$tmp/recv.out")"; logtail "$runA"; logtail "$runB"; finish
fi
wait "${readers[0]}" 2>/dev/null
at1=$(last_cnt "$tmp/con1")
wait_cnt "$tmp/con2" $((at1 + 25)) 30 && ok "the guest counts on at the destination (CNT $at1 -> $(last_cnt "$tmp/con2"))" ||
	{ fail "no counting after the TCP migration"; show "$(tail -n 5 "$tmp/con2")"; logtail "$runB"; }
down1=$(elapsed "$(last_cnt_time "$tmp/con1")" "$(first_cnt_time "$tmp/con2")")
echo "    downtime (last CNT line on the source's console to the first on the destination's): ${down1} s; total $(elapsed "$t0" "$t1") s; the source's daemon: $(grep -ho 'the stream was written.*\|the receiver confirmed.*' "$runA"/xenkvm/logs/xkmig.log | tail -n 2 | tr '\n' ' ')the receiver: $(grep -o 'loaded and paused.*' "$tmp/recv.out")"

# And back, over -C (a local migrate-receive on the socketpair), paused: it
# stays paused, as xl keeps it.
read_console "$runA" "$id" "$tmp/con3"
XDG_RUNTIME_DIR=$runB "$cli" pause xkmig
t0=$(date +%s.%N)
out=$(XDG_RUNTIME_DIR=$runB "$cli" migrate -C "XDG_RUNTIME_DIR=$runA $cli migrate-receive $uopt" xkmig 2>&1); rc=$?
t1=$(date +%s.%N)
st=$(XDG_RUNTIME_DIR=$runA "$cli" list 2>/dev/null | awk '$1 == "xkmig" { print $5 }')
n=$(last_cnt "$tmp/con2")
sleep 1
if [ $rc = 0 ] && [ -z "$(domid_in "$runB")" ] && [ "$(domid_in "$runA")" = "$id" ] &&
   [[ $st == *p* ]] && [ "$(last_cnt "$tmp/con3")" = "" ]; then
	ok "migrated back over -C in $(elapsed "$t0" "$t1") s, paused as it was (state $st, no count since CNT $n)"
	XDG_RUNTIME_DIR=$runA "$cli" unpause xkmig
else
	fail "-C migration: rc=$rc, '$(domid_in "$runB")' / '$(domid_in "$runA")'"; show "$out"; logtail "$runB"; logtail "$runA"; finish
fi
wait "${readers[1]}" 2>/dev/null
at2=$(last_cnt "$tmp/con2")
wait_cnt "$tmp/con3" $((at2 + 30)) 40 && ok "the guest counts on back home (CNT $at2 -> $(last_cnt "$tmp/con3"))" ||
	{ fail "no counting after the -C migration"; show "$(tail -n 5 "$tmp/con3")"; logtail "$runA"; }
echo "    total $(elapsed "$t0" "$t1") s (paused before it: no downtime to measure); the source's daemon: $(grep -ho 'the stream was written.*\|the receiver confirmed.*' "$runB"/xenkvm/logs/xkmig.log | tail -n 2 | tr '\n' ' ')the receiver: $(grep -o 'loaded and paused.*' <<<"$out")"

# Once more to B by the default transport, `ssh HOST xenkvm migrate-receive`: a
# stand-in ssh on PATH checks the host and runs the command here (in B's run
# directory; as the domains' user).
mkdir -p "$tmp/bin"
cat >"$tmp/bin/ssh" <<SSH
#!/bin/sh
[ "\$1" = fakehost ] || { echo "ssh: called for '\$1'" >&2; exit 255; }
shift
echo "\$*" >"$tmp/ssh.args"
PATH=$build:\$PATH XDG_RUNTIME_DIR=$runB exec "\$@" $uopt
SSH
chmod +x "$tmp/bin/ssh"
read_console "$runB" "$id" "$tmp/con4"
out=$(PATH=$tmp/bin:$PATH "$cli" migrate xkmig fakehost 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(cat "$tmp/ssh.args" 2>/dev/null)" = "xenkvm migrate-receive" ] &&
   [ -z "$(domid_in "$runA")" ] && [ "$(domid_in "$runB")" = "$id" ]; then
	ok "migrated over 'ssh fakehost xenkvm migrate-receive' (a stand-in ssh)"
else
	fail "ssh migration: rc=$rc, ssh ran '$(cat "$tmp/ssh.args" 2>/dev/null)', '$(domid_in "$runA")' / '$(domid_in "$runB")'"
	show "$out"; logtail "$runA"; logtail "$runB"; finish
fi
wait "${readers[2]}" 2>/dev/null
at3=$(last_cnt "$tmp/con3")
wait_cnt "$tmp/con4" $((at3 + 25)) 40 && ok "the guest counts on (CNT $at3 -> $(last_cnt "$tmp/con4"))" ||
	{ fail "no counting after the ssh migration"; show "$(tail -n 5 "$tmp/con4")"; logtail "$runB"; }

# A XenStore watch of the guest's kernel: control/shutdown.
out=$(XDG_RUNTIME_DIR=$runB timeout 60 "$cli" shutdown -w xkmig 2>&1); rc=$?
if [ $rc = 0 ] && [ -z "$(domid_in "$runB")" ]; then
	ok "xenkvm shutdown -w after three migrations: the guest's control/shutdown watch fired"
else
	fail "shutdown: rc=$rc"; show "$out"; XDG_RUNTIME_DIR=$runB "$cli" destroy xkmig >/dev/null 2>&1
fi
wait "${readers[3]}" 2>/dev/null

python3 - "$tmp/con1" "$tmp/con2" "$tmp/con3" "$tmp/con4" >"$tmp/checks" 2>&1 <<'PY'
import re, sys
text = b"".join(open(p + ".raw", "rb").read() for p in sys.argv[1:]).decode(errors="replace").replace("\r", "")
cnts = [(int(m.group(1)), float(m.group(2))) for m in re.finditer(r"^CNT (\d+) ([\d.]+)$", text, re.M)]
nums = [n for n, _ in cnts]
good = nums == list(range(1, len(nums) + 1)) and len(nums) > 60
print("%s counts 1..%d each once, in order, across three migrations" % ("ok" if good else "FAIL", nums[-1] if nums else 0))
if not good:
    print("| first mismatches (want, got): %s" % [(i + 1, n) for i, n in enumerate(nums) if n != i + 1][:5])
up = dict(cnts)
def stamped(p):
    out = []
    for l in open(p):
        t, _, x = l.rstrip("\n").partition(" ")
        m = re.match(r"^CNT (\d+) ", x)
        if m:
            out.append((float(t), int(m.group(1))))
    return out
last = stamped(sys.argv[4])
# The last 21 lines: the first ones after a move may come in a burst.
after = [(t, n) for t, n in last if n in up][-21:]
if len(after) >= 21:
    (h0, n0), (h1, n1) = after[0], after[20]
    g, h = up[n1] - up[n0], h1 - h0
    print("%s after the migrations %d sleeps of 0.2 s took %.2f s by the guest's clock, %.2f s by the host's" %
          ("ok" if abs(g - h) < 0.25 * h and h > 20 * 0.2 * 0.9 else "FAIL", n1 - n0, g, h))
else:
    print("FAIL too few lines after the migrations (%d)" % len(after))
PY
while read -r verdict text; do
	case $verdict in
	ok) ok "$text" ;;
	FAIL) fail "$text" ;;
	*) echo "    $verdict $text" ;;
	esac
done <"$tmp/checks"
[ -s "$tmp/checks" ] || fail "the console checks printed nothing"

last=$(last_cnt "$tmp/con4")
if ! command -v debugfs >/dev/null && ! [ -x /sbin/debugfs ]; then
	skip "the file on xvda: no debugfs (e2fsprogs) on this host"
else
	PATH=$PATH:/sbin debugfs -R "cat /count" "$tmp/disk.img" >"$tmp/count" 2>/dev/null
	n=$(grep -c . "$tmp/count")
	if awk '$0 != "CNT " NR { bad = 1 } END { exit bad }' "$tmp/count" && [ "$n" -ge "${last:-1}" ] &&
	   [ "$n" -le $(( ${last:-0} + 1 )) ]; then
		ok "the file on xvda holds CNT 1..$n each once, in order (console's last: $last)"
	else
		fail "the file on xvda: $n lines, console's last $last"
		show "$(awk '$0 != "CNT " NR { print NR ": " $0 }' "$tmp/count" | head -n 5)"
	fi
fi

net_ok() { tr -d '\r' <"$1.raw" | grep -c "^NET [0-9]* pong-[0-9]*\$"; }
n2=$(net_ok "$tmp/con2") n3=$(net_ok "$tmp/con3")
if [ "${n2:-0}" -ge 2 ] && [ "${n3:-0}" -ge 2 ]; then
	ok "the NIC works after each migration: $n2 and $n3 connections to the host's port answered"
else
	fail "the NIC after the migrations: ${n2:-0} and ${n3:-0} connections answered"
	show "$(tr -d '\r' <"$tmp/con3.raw" | grep -a NET | tail -n 3)"
fi
finish
}
