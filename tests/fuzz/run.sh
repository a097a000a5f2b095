#!/bin/sh
# Runs each libFuzzer harness for a bounded time from its seed corpus.
# usage: run.sh SECONDS HARNESS...
secs=$1; shift
passed=0 failed=0
for f in "$@"; do
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/$name
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
	if "$f" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 "$work" >"$work.log" 2>&1; then
		echo "  fuzz $name: ok ($(grep -c . "$work.log") log lines)"
		passed=$((passed + 1))
	else
		tail -40 "$work.log"; echo "  fuzz $name: FAILED"
		failed=$((failed + 1))
	fi
	rm -rf "$work" "$work.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
