#!/usr/bin/env bash
# test_save_restore: `xenkvm save` and `xenkvm restore` of a running Debian 6.1 Xen
# HVM guest (2 vCPUs, event channels, grant table, XenStore, PV console, a blkfront
# disk, a netfront NIC on user-mode networking) whose tests/system/guest/counter.sh
# appends "CNT n" to a file on xvda with fsync and prints "CNT n UPTIME" on the
# serial console every 0.2 s, and connects to a port of the host over its NIC every
# second ("NET i pong-N").
#   - a save into a directory that does not exist fails and the guest counts on;
#     so does one that runs out of space half way (an 8 MiB tmpfs, as root): no
#     file is left and the guest's disk serves again;
#   - the save ends the domain (gone from `xenkvm list`), the file is complete;
#   - a truncated file, one with a corrupted byte and one from another build are
#     refused with a clear message and start nothing, as is an override that
#     changes the machine (vcpus=1);
#   - the restore (with name="xksave-r": another name, the same domid and MACs):
#     the restored guest continues: the counts before and after, joined, run 1..N
#     with no gap and no repeat; its uptime moves on across the save, but not by
#     the seconds it was paused (the save's own included), and
#     afterwards advances as the host's clock does (its `sleep 0.2` loop takes as
#     long by either clock);
#   - a XenStore watch of the guest's kernel still fires: `xenkvm shutdown`
#     (control/shutdown) powers it off;
#   - the file on xvda, read after the poweroff (debugfs), holds every count once,
#     in order, up to the last the console showed;
#   - the NIC works after the restore: the guest's TCP connections to the host
#     (through user-mode networking, which the restored daemon starts afresh: the
#     guest keeps its DHCP lease and address) are answered again.
# Run by tests/system/run.sh (KVM with Xen support, assets); skips (77) otherwise.
# xenkvm-system-test-timeout: 400
set -uo pipefail
{
name=test_save_restore
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/counter-lib.sh"
boot_limit=${XENKVM_BOOT_TIMEOUT:-150}
require_kvm -x
need_assets
cli=$build/xenkvm
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_save_restore.XXXXXX")
export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$XDG_RUNTIME_DIR"
reader_pid=
http_pid= small=
cleanup() {
	[ -n "$small" ] && umount "$small" 2>/dev/null
	[ -n "$reader_pid" ] && kill "$reader_pid" 2>/dev/null
	[ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null
	"$cli" destroy xksave >/dev/null 2>&1
	"$cli" destroy xksave-r >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# The host's side of the guest's fetches: a line "pong-N" per connection.
port=$((20000 + $$ % 20000))
pong_server "$port" "$tmp/http.log"
http_pid=$!
counter_cfg "$tmp/guest.cfg" xksave "$port" "$tmp/disk.img"

# read_console DOMID OUT: the domain's serial console, host-stamped (counter-lib.sh).
read_console() {
	console_log "$XDG_RUNTIME_DIR/xenkvm/$1/console.sock" "$2"
	reader_pid=$!
}
# As root, the daemon stays root so that it may write the save file in $tmp (0700).
uopt=
[ "$(id -u)" = 0 ] && uopt="-u root"
domid_of() { "$cli" list 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }

out=$("$cli" create -q $uopt "$tmp/guest.cfg" 2>&1); rc=$?
[ $rc = 0 ] && ok "created the counting guest" || { fail "create: rc=$rc"; show "$out"; finish; }
id=$(domid_of xksave)
read_console "$id" "$tmp/con1"
wait_cnt "$tmp/con1" 20 "$boot_limit" &&
	ok "the guest counts (CNT $(last_cnt "$tmp/con1"); $(grep -o 'CNT-READY.*' "$tmp/con1" | head -n 1))" ||
	{ fail "no CNT lines"; show "$(cat "$tmp/con1")"; finish; }

# A save that cannot be written: the guest runs on.
out=$("$cli" save xksave "$tmp/no/such/dir/g.save" 2>&1); rc=$?
n=$(last_cnt "$tmp/con1")
if [ $rc = 1 ] && grep -q "cannot create" <<<"$out"; then
	ok "save into a missing directory refused: $(head -n 1 <<<"$out")"
else
	fail "save into a missing directory: rc=$rc"; show "$out"
fi
wait_cnt "$tmp/con1" $((n + 5)) 10 && [ -n "$(domid_of xksave)" ] &&
	ok "after the failed save the guest counts on ($n -> $(last_cnt "$tmp/con1"))" ||
	fail "the guest stopped after a failed save"

# A save that runs out of space half way (root: an 8 MiB tmpfs): no file left,
# and the guest counts on, into its file too (the disk serves again).
if [ "$(id -u)" = 0 ] && mkdir -p "$tmp/small" && mount -t tmpfs -o size=8m tmpfs "$tmp/small" 2>/dev/null; then
	small=$tmp/small
	out=$("$cli" save xksave "$tmp/small/g.save" 2>&1); rc=$?
	n=$(last_cnt "$tmp/con1")
	left=$(ls -A "$tmp/small")
	if [ $rc = 1 ] && grep -qi "space" <<<"$out" && [ -z "$left" ]; then
		ok "a save that fills its file system fails and leaves nothing: $(head -n 1 <<<"$out" | cut -c1-110)"
	else
		fail "save into a full file system: rc=$rc, left: '$left'"; show "$out"
	fi
	wait_cnt "$tmp/con1" $((n + 5)) 20 && [ -n "$(domid_of xksave)" ] &&
		ok "after it the guest counts on, its disk too ($n -> $(last_cnt "$tmp/con1"))" ||
		fail "the guest stopped after a save that ran out of space"
	umount "$tmp/small" && small=
else
	skip "a save that runs out of space: needs root for a small tmpfs"
fi

# The save.
t0=$(date +%s.%N)
out=$("$cli" save xksave "$tmp/g.save" 2>&1); rc=$?
t1=$(date +%s.%N)
wait "$reader_pid" 2>/dev/null; reader_pid=
at_save=$(last_cnt "$tmp/con1")
[ $rc = 0 ] && grep -q "Saved domain xksave" <<<"$out" &&
	ok "saved in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s at CNT $at_save ($(du -h "$tmp/g.save" | cut -f1))" ||
	{ fail "save: rc=$rc"; show "$out"; finish; }
[ -z "$(domid_of xksave)" ] && ok "the saved domain is gone from xenkvm list" ||
	fail "xksave still listed after the save"
ls "$tmp"/g.save.* >/dev/null 2>&1 && fail "a temporary file was left: $(ls "$tmp")" ||
	ok "no temporary file left"

# Damaged and foreign files: refused, nothing started.
size=$(stat -c %s "$tmp/g.save")
head -c $((size / 2)) "$tmp/g.save" >"$tmp/trunc.save"
cp "$tmp/g.save" "$tmp/corrupt.save"
printf '\x5a' | dd of="$tmp/corrupt.save" bs=1 seek=$((size / 3)) conv=notrunc status=none
python3 - "$tmp/g.save" "$tmp/foreign.save" <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
idlen = struct.unpack_from("<H", d, 12)[0]
bid = b"xenkvm-9.9-other"
hdr = d[:12] + struct.pack("<H", len(bid)) + bid
hdr += struct.pack("<I", zlib.crc32(hdr) & 0xffffffff)
open(sys.argv[2], "wb").write(hdr + d[14 + idlen + 4:])
PY
for bad in trunc:truncated corrupt:checksum foreign:"another build"; do
	f=${bad%%:*} want=${bad#*:}
	out=$("$cli" restore -q "$tmp/$f.save" 2>&1); rc=$?
	if [ $rc = 1 ] && grep -q "$want" <<<"$out" && [ -z "$(domid_of xksave)" ]; then
		ok "$f file refused, nothing started: $(head -n 1 <<<"$out" | cut -c1-150)"
	else
		fail "$f file: rc=$rc (want 1 and '$want')"; show "$out"
	fi
done

# An override that changes the machine: refused, nothing left running.
out=$("$cli" restore -q "$tmp/g.save" vcpus=1 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "change the machine" <<<"$out" && [ -z "$(domid_of xksave)" ]; then
	ok "restore with vcpus=1 refused: $(grep -m1 "change the machine" <<<"$out" | cut -c1-120)"
else
	fail "restore with vcpus=1: rc=$rc"; show "$out"
fi

# The restore, under another name (xl restore FILE name=...): same domid, same MAC.
t_rs=$(date +%s.%N)
out=$("$cli" restore -q "$tmp/g.save" 'name="xksave-r"' 2>&1); rc=$?
[ $rc = 0 ] && [ "$(domid_of xksave-r)" = "$id" ] && ok "restored as xksave-r with its domid $id" ||
	{ fail "restore: rc=$rc, domid '$(domid_of xksave-r)' (want $id)"; show "$out";
	  tail -n 15 "$XDG_RUNTIME_DIR"/xenkvm/logs/xksave.log 2>/dev/null | sed 's/^/    ! /'; finish; }
read_console "$id" "$tmp/con2"
wait_cnt "$tmp/con2" $((at_save + 25)) 60 && ok "the restored guest counts on (CNT $(last_cnt "$tmp/con2"))" ||
	{ fail "no counting after the restore"; show "$(cat "$tmp/con2")"; }

# A XenStore watch of the guest's kernel: control/shutdown.
out=$(timeout 60 "$cli" shutdown -w xksave-r 2>&1); rc=$?
if [ $rc = 0 ] && [ -z "$(domid_of xksave-r)" ]; then
	ok "xenkvm shutdown -w: the guest's control/shutdown watch fired"
else
	fail "shutdown after the restore: rc=$rc"
	show "$out$(tail -n 8 "$tmp/con2"; tail -n 12 "$XDG_RUNTIME_DIR/xenkvm/$id/xenkvmd.log")"
	"$cli" destroy xksave-r >/dev/null 2>&1
fi
wait "$reader_pid" 2>/dev/null; reader_pid=

# The counter's lines: each check printed as "ok TEXT" or "FAIL TEXT" (or "| detail").
python3 - "$tmp/con1" "$tmp/con2" "$at_save" "$t0" "$t_rs" >"$tmp/checks" 2>&1 <<'PY'
import re, sys
c1, c2, at_save = sys.argv[1], sys.argv[2], int(sys.argv[3])
# The domain is paused from just after `save` starts until the restore: at
# least from then until `restore` started.
frozen = float(sys.argv[5]) - float(sys.argv[4])
def lines(p):
    out = []
    for l in open(p):
        t, _, text = l.rstrip("\n").partition(" ")
        out.append((float(t), text))
    return out
a, b = lines(c1), lines(c2)
# A line cut by the save is finished by the restored guest: join the raw bytes.
text = (open(c1 + ".raw", "rb").read() + open(c2 + ".raw", "rb").read()).decode(errors="replace")
text = text.replace("\r", "")
cnts = [(int(m.group(1)), float(m.group(2))) for m in re.finditer(r"^CNT (\d+) ([\d.]+)$", text, re.M)]
nums = [n for n, _ in cnts]
ok = nums == list(range(1, len(nums) + 1)) and len(nums) > at_save + 20
print("%s counts 1..%d each once, in order, across the save at %d" %
      ("ok" if ok else "FAIL", nums[-1] if nums else 0, at_save))
if not ok:
    bad = [(i + 1, n) for i, n in enumerate(nums) if n != i + 1][:5]
    print("| first mismatches (want, got): %s" % bad)
up = dict(cnts)
# No time warp across the save: the guest's clock and vCPUs are read at the
# pause, so the seconds it stays paused (the save's own included) do not pass
# for it, and the step across the save is a step like the ones around it (the
# longest of the ten before and after, twice for the line the pause cut, plus
# half a second).  Host stamps cannot tell: the consoles are read late.
near = [up[n + 1] - up[n] for n in range(at_save - 10, at_save + 12)
        if n != at_save and n in up and n + 1 in up]
step = max(near) if near else 0
warp = up.get(at_save + 1, 0) - up.get(at_save, 0)
print("%s no time warp across the save: uptime CNT %d -> %d moved %.2f s (the longest step "
      "around it %.2f s; %.2f s passed on the host while it was paused)" %
      ("ok" if 0 < warp <= 2 * step + 0.5 else "FAIL", at_save, at_save + 1, warp, step, frozen))
# After the restore the guest's clock runs with the host's: 20 lines of sleep 0.2.
after = [(t, int(m.group(1))) for t, x in b for m in [re.match(r"^CNT (\d+) ", x)] if m]
after = [(t, n) for t, n in after if n > at_save + 2]
if len(after) >= 20:
    (h0, n0), (h1, n1) = after[0], after[19]
    g = up[n1] - up[n0]
    h = h1 - h0
    good = abs(g - h) < 0.25 * h and h > 19 * 0.2 * 0.9
    print("%s after the restore %d sleeps of 0.2 s took %.2f s by the guest's clock, %.2f s by the host's" %
          ("ok" if good else "FAIL", n1 - n0, g, h))
else:
    print("FAIL too few lines after the restore (%d)" % len(after))
PY
while read -r verdict text; do
	case $verdict in
	ok) ok "$text" ;;
	FAIL) fail "$text" ;;
	*) echo "    $verdict $text" ;;
	esac
done <"$tmp/checks"
[ -s "$tmp/checks" ] || fail "the console checks printed nothing"

# The file on xvda: every count once, in order, at least up to the console's last.
last=$(last_cnt "$tmp/con2")
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

# The NIC before and after the restore.
net_ok() { grep -c "^NET [0-9]* pong-[0-9]*\$" "$1.raw" 2>/dev/null | head -n 1; }
tr -d '\r' <"$tmp/con1.raw" >"$tmp/n1.raw" 2>/dev/null
tr -d '\r' <"$tmp/con2.raw" >"$tmp/n2.raw" 2>/dev/null
n1=$(net_ok "$tmp/n1") n2=$(net_ok "$tmp/n2")
if [ "${n2:-0}" -ge 2 ]; then
	ok "the NIC works after the restore: $n2 connections to the host's port answered (before the save: $n1)"
else
	fail "the NIC after the restore: ${n2:-0} connections answered (before: ${n1:-0})"
	show "$(grep -a "CNT-\|NET" "$tmp/n1.raw" | head -n 3; grep -a "NET" "$tmp/n2.raw" | tail -n 3;
		sed 's/^/http: /' "$tmp/http.log" | tail -n 3)"
fi
finish
}
