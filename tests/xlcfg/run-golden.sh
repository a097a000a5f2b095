#!/bin/sh
# Golden tests for xl.cfg reading: each tests/xlcfg/NAME.cfg is read by
# xlcfg-dump (with the overrides listed one per line in NAME.args, if any)
# and the output must equal NAME.expected byte for byte.  Where libxen-dev is
# installed, xlu-crosscheck also compares our parser with Xen's libxlutil on
# the same file.
#   usage: run-golden.sh [BUILD_DIR]        (default: build)
#   UPDATE=1 run-golden.sh ...  rewrites the .expected files: review the diff!
build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
dump=$build/xlcfg-dump
xcheck=$build/xlu-crosscheck
cd "$(dirname "$0")" || exit 1
[ -x "$dump" ] || { echo "run-golden: $dump not built (make BUILD=$build $dump)"; exit 1; }
passed=0 failed=0 out=$(mktemp)
trap 'rm -f "$out"' EXIT
for cfg in *.cfg; do
	name=${cfg%.cfg}
	if [ -f "$name.args" ]; then
		# one override per line, passed as separate arguments
		set --
		while IFS= read -r line; do set -- "$@" "$line"; done < "$name.args"
	else
		set --
	fi
	"$dump" "$cfg" "$@" >"$out" 2>&1
	echo "exit $?" >>"$out"
	if [ -n "$UPDATE" ]; then
		cp "$out" "$name.expected"
	fi
	if cmp -s "$out" "$name.expected"; then
		passed=$((passed + 1))
	else
		echo "FAIL $cfg:"
		diff -u "$name.expected" "$out" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
	if [ -x "$xcheck" ]; then
		if "$xcheck" "$cfg" >"$out" 2>&1; then
			passed=$((passed + 1))
			grep -v '^agree' "$out" | sed 's/^/  note: /'
		else
			echo "FAIL crosscheck $cfg:"
			sed 's/^/    /' "$out"
			failed=$((failed + 1))
		fi
	fi
done
[ -x "$xcheck" ] || echo "  note: $xcheck not built (needs libxen-dev): skipped the libxlutil cross-check"
echo "xlcfg-golden: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
