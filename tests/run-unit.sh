#!/bin/sh
# Runs CUnit test binaries and prints one closing line for the whole set.
# usage: run-unit.sh LABEL BINARY...
label=$1; shift
passed=0 failed=0 bad=""
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	# CUnit's basic runner: "asserts  N  N  N  M  n/a" -> ran, passed, failed
	p=$(printf '%s\n' "$out" | awk '$1=="tests"{print $4}')
	f=$(printf '%s\n' "$out" | awk '$1=="tests"{print $5}')
	if [ -z "$p" ] || [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out"
		echo "$label: $t exited $rc"
		failed=$((failed + ${f:-1})); passed=$((passed + ${p:-0})); bad="$bad $t"
		[ -n "$f" ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
		continue
	fi
	[ "$f" -ne 0 ] && { printf '%s\n' "$out"; bad="$bad $t"; }
	echo "  $label $(basename "$t"): $p passed, $f failed"
	passed=$((passed + p)); failed=$((failed + f))
done
echo "$label: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
