#!/usr/bin/env bash
# bench/migrate: migrating a running guest over loopback TCP in the same host,
# xenkvm against Debian's QEMU 7.2 + KVM, in pairs (bench/pairs.sh).
#   xenkvmd: the Debian 6.1 kernel and initramfs as a Xen HVM guest (xktest=counter:
#     "CNT n UPTIME" on the serial console every 0.2 s), moved with
#     `xenkvm migrate --tcp` to a `xenkvm migrate-receive --listen` using a second run
#     directory (a second "host").
#   qemu: the same kernel and initramfs, same RAM and vCPUs, as a plain KVM guest,
#     moved with the HMP monitor's `migrate -d tcp:` to a second QEMU started with
#     `-incoming tcp:`; `info migrate` gives its total time and downtime.
# Measured per run: total (xenkvm: the `xenkvm migrate` command; QEMU: `info
# migrate`'s total time) and downtime (xenkvm: the last CNT line on the source's
# console to the first on the destination's, which includes up to 0.2 s of the
# guest's loop; QEMU: `info migrate`'s downtime).  xenkvm's migration is not live
# yet: the guest is paused for the whole copy, so its downtime is about its total.
# Runs inside the nested host (tests/nested/l1-run) when the local /dev/kvm cannot
# run guests at hardware speed.
#
# usage: bench/migrate/run.sh [-n PAIRS] [-m MIB] [-c VCPUS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=3 mem=256 vcpus=1
while getopts "n:m:c:" o; do
	case $o in
	n) runs=$OPTARG ;; m) mem=$OPTARG ;; c) vcpus=$OPTARG ;;
	*) sed -n '2,21p' "$0"; exit 2 ;;
	esac
done
BUILD=${BUILD:-build}
if [ -z "${L1_RUN:-}" ]; then
	make -s BUILD="$BUILD" all "$BUILD/kvm-probe"
	eval "$(tests/system/assets.sh)"
	if ! "$BUILD/kvm-probe" >/dev/null 2>&1; then
		echo "bench/migrate: local KVM cannot run guests at hardware speed; running in the nested host" >&2
		exec tests/nested/l1-run -t 3600 -e XENKVM_KERNEL="$XENKVM_KERNEL" -e XENKVM_INITRD="$XENKVM_INITRD" \
			-e BENCH_SIDES="${BENCH_SIDES:-xenkvmd qemu}" \
			-- env BUILD="$BUILD" bench/migrate/run.sh -n "$runs" -m "$mem" -c "$vcpus"
	fi
fi
: "${XENKVM_KERNEL:?}" "${XENKVM_INITRD:?}"
command -v qemu-system-x86_64 >/dev/null || { echo "bench/migrate: qemu-system-x86_64 missing" >&2; exit 1; }
. bench/pairs.sh
. tests/system/counter-lib.sh
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
cli=$BUILD/xenkvm
tmp=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-migrate.XXXXXX")
cleanup() {
	XDG_RUNTIME_DIR=$tmp/a "$cli" destroy xkbench >/dev/null 2>&1 || true
	XDG_RUNTIME_DIR=$tmp/b "$cli" destroy xkbench >/dev/null 2>&1 || true
	[ -z "${qpids:-}" ] || kill $qpids 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
append="console=ttyS0 quiet xktest=counter"
cat >"$tmp/guest.cfg" <<CFG
name = "xkbench"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "$append"
memory = $mem
vcpus = $vcpus
CFG
uopt=
[ "$(id -u)" = 0 ] && uopt="-u root"
port=$((30000 + $$ % 20000))

# console SOCKET OUT: host-stamped lines until the socket closes (background).
console() { console_log "$1" "$2" >/dev/null; }
cnt_times() { awk '/CNT [0-9]+ [0-9.]+$/ { if (!f) f = $1; l = $1 } END { print f, l }' "$1"; }

run_xenkvmd() {
	local a=$tmp/a b=$tmp/b id t0 t1 first last rc rpid i
	rm -rf "$a" "$b" "$tmp"/c1 "$tmp"/c2
	mkdir -m 700 "$a" "$b"
	XDG_RUNTIME_DIR=$a "$cli" create -q $uopt "$tmp/guest.cfg" >/dev/null 2>"$tmp/err" || return 1
	id=$(XDG_RUNTIME_DIR=$a "$cli" list | awk '$1 == "xkbench" { print $2 }')
	console "$a/xenkvm/$id/console.sock" "$tmp/c1"
	wait_cnt "$tmp/c1" 15 120 || return 1
	XDG_RUNTIME_DIR=$b "$cli" migrate-receive $uopt --listen "127.0.0.1:$port" 2>"$tmp/recv" &
	rpid=$!
	for ((i = 0; i < 50; i++)); do grep -q waiting "$tmp/recv" && break; sleep 0.1; done
	console "$b/xenkvm/$id/console.sock" "$tmp/c2"
	t0=$(date +%s.%N)
	XDG_RUNTIME_DIR=$a "$cli" migrate --tcp "127.0.0.1:$port" xkbench 2>>"$tmp/err"; rc=$?
	t1=$(date +%s.%N)
	wait "$rpid"
	[ $rc = 0 ] || return 1
	wait_cnt "$tmp/c2" $(( $(last_cnt "$tmp/c1") + 5 )) 30 || return 1
	XDG_RUNTIME_DIR=$b "$cli" destroy xkbench >/dev/null 2>&1
	wait
	read -r _ last < <(cnt_times "$tmp/c1")
	read -r first _ < <(cnt_times "$tmp/c2")
	awk -v a="$t0" -v b="$t1" -v l="$last" -v f="$first" \
		'BEGIN { printf "total %.3f downtime %.3f\n", b - a, f - l }'
}

hmp() {	# SOCKET COMMAND: the monitor's answer
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
def until_prompt():
    buf = b""
    while not buf.rstrip().endswith(b"(qemu)"):
        buf += s.recv(4096)
    return buf
until_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
print(until_prompt().decode(errors="replace"))
PY
}

run_qemu() {
	local q=(qemu-system-x86_64 -accel kvm -cpu host -m "$mem" -smp "$vcpus" -nodefaults -nographic
		 -kernel "$XENKVM_KERNEL" -initrd "$XENKVM_INITRD" -append "$append")
	local st i total down
	rm -f "$tmp"/c1 "$tmp"/c2 "$tmp"/*.sock
	"${q[@]}" -serial "unix:$tmp/s1.sock,server=on,wait=off" -monitor "unix:$tmp/m1.sock,server=on,wait=off" \
		</dev/null >/dev/null 2>"$tmp/qerr1" &
	qpids=$!
	"${q[@]}" -serial "unix:$tmp/s2.sock,server=on,wait=off" -monitor "unix:$tmp/m2.sock,server=on,wait=off" \
		-incoming "tcp:127.0.0.1:$port" </dev/null >/dev/null 2>"$tmp/qerr2" &
	qpids="$qpids $!"
	console "$tmp/s1.sock" "$tmp/c1"
	wait_cnt "$tmp/c1" 15 120 || return 1
	console "$tmp/s2.sock" "$tmp/c2"
	hmp "$tmp/m1.sock" "migrate -d tcp:127.0.0.1:$port" >/dev/null
	for ((i = 0; i < 600; i++)); do
		st=$(hmp "$tmp/m1.sock" "info migrate")
		grep -q "Migration status: completed" <<<"$st" && break
		grep -q "Migration status: failed" <<<"$st" && return 1
		sleep 0.1
	done
	total=$(sed -n 's/^total time: \([0-9]*\) ms.*/\1/p' <<<"$st")
	down=$(sed -n 's/^downtime: \([0-9]*\) ms.*/\1/p' <<<"$st")
	wait_cnt "$tmp/c2" $(( $(last_cnt "$tmp/c1") + 5 )) 30 || return 1
	kill $qpids 2>/dev/null; wait; qpids=
	[ -n "$total" ] && [ -n "$down" ] || return 1
	awk -v t="$total" -v d="$down" 'BEGIN { printf "total %.3f downtime %.3f\n", t / 1000, d / 1000 }'
}

run() {
	if [ "$1" = xenkvmd ]; then run_xenkvmd; else run_qemu; fi
}
echo "bench/migrate: $runs pairs, $vcpus vCPU, $mem MiB, kernel $(basename "$(readlink -f "$XENKVM_KERNEL")"),"
echo "  loopback TCP; xenkvm's migration is not live (paused for the whole copy)"
bench_pairs "$runs" seconds qemu downtime total || exit 1
