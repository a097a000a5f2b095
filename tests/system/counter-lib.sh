# Sourced by test_save_restore, test_migrate and bench/migrate: the counting
# guest (tests/system/guest/counter.sh) as the host sees it on its console.
counter_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# console_log SOCKET OUT: host-stamped console lines in OUT (console-log.py),
# in the background; $! is the reader.
console_log() { python3 "$counter_lib_dir/console-log.py" "$1" "$2" & }
# last_cnt FILE: the highest CNT the guest printed so far
last_cnt() { sed -n 's/^[0-9.]* .*CNT \([0-9]*\) [0-9.]*$/\1/p' "$1" 2>/dev/null | tail -n 1; }
# wait_cnt FILE N SECONDS: until the guest printed CNT N; 1 on timeout
wait_cnt() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(last_cnt "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# pong_server PORT LOG: the host's side of the guest's fetches (xkcnt_port):
# a line "pong-N" per connection, in the background; $! is the server.
pong_server() {
	python3 - "$1" >"$2" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    n += 1
    c.sendall(b"pong-%d\n" % n)
    c.close()
PY
}

# counter_cfg CFG NAME PORT DISK: a 2-vCPU, 256 MiB counting guest with DISK
# (a fresh 64 MiB image) as xvda and a user-networking vif fetching from PORT.
counter_cfg() {
	truncate -s 64M "$4"
	cat >"$1" <<CFG
name = "$2"
kernel = "$XENKVM_KERNEL"
ramdisk = "$XENKVM_INITRD"
extra = "console=ttyS0 quiet xktest=counter xkcnt_port=$3"
memory = 256
vcpus = 2
disk = [ "$4,raw,xvda,rw" ]
vif = [ "" ]
CFG
}
