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
