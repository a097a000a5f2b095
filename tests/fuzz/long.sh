#!/bin/sh
# The long fuzz campaign (make fuzz-long): every harness for SECONDS, JOBS at
# a time, each growing a persistent corpus that outlives the run.
#
#   corpus:  ${XDG_CACHE_HOME:-~/.cache}/xenkvm/fuzz/NAME (new inputs go
#            here; the checked-in seeds tests/fuzz/corpus/NAME are read too)
#   crashes: ${XDG_CACHE_HOME:-~/.cache}/xenkvm/fuzz-crashes/NAME/ (kept)
#   logs:    ${XDG_CACHE_HOME:-~/.cache}/xenkvm/fuzz-logs/NAME.log
#
# One line per harness: exec/s, the final cov/ft, corpus size, and any crash
# file.  Exits 1 if any harness crashed, leaked, timed out or ran out of memory.
# tests/fuzz/minimize.sh folds the grown corpora back into the seeds.
#
# usage: long.sh SECONDS JOBS HARNESS...
#        long.sh --one SECONDS HARNESS     (one harness; used by the above)
set -u
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm

if [ "$1" = --one ]; then
	secs=$2 f=$3
	name=$(basename "$f")
	corpus=$cache/fuzz/$name crashes=$cache/fuzz-crashes/$name/ log=$cache/fuzz-logs/$name.log
	mkdir -p "$corpus" "$crashes" "$cache/fuzz-logs"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	before=$(ls "$crashes" | wc -l)
	# -timeout: one input running 25 s is a hang, reported like a crash.
	"$f" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$crashes" "$corpus" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	line=$(printf '%-14s %8s exec/s  %-22s corpus %5s files' "$name" "${execs:-?}" \
		"${cov:-cov: ? ft: ?}" "$(ls "$corpus" | wc -l)")
	if [ "$rc" -ne 0 ] || [ "$(ls "$crashes" | wc -l)" -ne "$before" ]; then
		grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY)|runtime error|ALARM|out-of-memory' "$log" |
			sed "s/^/  $name: /"
		echo "  fuzz-long $line  CRASH (exit $rc): ${crash:-see $log}"
		exit 1
	fi
	echo "  fuzz-long $line  ok"
	exit 0
fi

secs=$1 jobs=$2; shift 2
echo "fuzz-long: $# harnesses, $secs s each, $jobs at a time; corpora in $cache/fuzz/"
# xargs runs JOBS harnesses at once and exits 123 if any of them failed.
if printf '%s\n' "$@" | xargs -P "$jobs" -I{} "$0" --one "$secs" {}; then
	echo "fuzz-long: $# harnesses, no crash"
else
	echo "fuzz-long: CRASHES (inputs in $cache/fuzz-crashes/, logs in $cache/fuzz-logs/)"
	exit 1
fi
