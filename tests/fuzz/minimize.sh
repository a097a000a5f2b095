#!/bin/sh
# Folds a long run's corpus back into the checked-in seeds (make fuzz-minimize):
# for each harness, libFuzzer's -merge=1 adds to the named seeds of
# tests/fuzz/corpus/NAME the fewest inputs out of the rest of the seeds and
# ${XDG_CACHE_HOME:-~/.cache}/xenkvm/fuzz/NAME that cover what they all
# cover, and that set becomes the new seeds.
#   - named seeds (hand-made: any name but a 40-digit SHA-1) always stay,
#     and so do crash-* seeds: every crash ever found is replayed by CI;
#   - seeds named by SHA-1 (earlier merges) compete with the new inputs;
#   - crash inputs a long run left in .../xenkvm/fuzz-crashes/NAME/ are added
#     as crash-* once they run clean (the bug is fixed), and listed if not.
# Review and commit the result (git status tests/fuzz/corpus).
#
# usage: minimize.sh [HARNESS...]   (paths or names; default: every build/fuzz/*)
set -u
cache=${XDG_CACHE_HOME:-$HOME/.cache}/xenkvm
build=${BUILD:-build}
[ $# -eq 0 ] && set -- "$build"/fuzz/*
status=0
size_kib() { echo $(($(find "$1" -type f -exec cat {} + | wc -c) / 1024)); }
for f in "$@"; do
	[ -x "$f" ] || f=$build/fuzz/$f
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/$name grown=$cache/fuzz/$name crashes=$cache/fuzz-crashes/$name
	mkdir -p "$seeds"
	new=$(mktemp -d)
	before="$(ls "$seeds" | wc -l) files, $(size_kib "$seeds") KiB"
	# The kept seeds go first: merge keeps that directory whole and
	# takes from the others only what adds coverage.
	mkdir "$new/keep" "$new/hashed"
	for s in "$seeds"/*; do
		[ -f "$s" ] || continue
		if basename "$s" | grep -Eqx '[0-9a-f]{40}'; then
			cp "$s" "$new/hashed/"
		else
			cp "$s" "$new/keep/"
		fi
	done
	dirs="$new/hashed"
	[ -d "$grown" ] && dirs="$dirs $grown"
	# shellcheck disable=SC2086  # two directory arguments
	if ! "$f" -merge=1 -rss_limit_mb=2048 -timeout=25 "$new/keep" $dirs >"$new.log" 2>&1; then
		tail -20 "$new.log"; echo "minimize $name: merge FAILED, seeds left as they were"
		rm -rf "$new" "$new.log"; status=1; continue
	fi
	rm -rf "$new/hashed"
	mv "$new/keep"/* "$new"/ && rmdir "$new/keep"
	for c in "$crashes"/*; do
		[ -f "$c" ] || continue
		h=$(sha1sum <"$c" | cut -d' ' -f1)
		# already a seed (under whatever name)?
		sha1sum "$new"/* 2>/dev/null | grep -q "^$h " && continue
		if "$f" -runs=1 "$c" >/dev/null 2>&1; then
			cp "$c" "$new/crash-$h"
		else
			echo "minimize $name: $c still fails, not added"
		fi
	done
	rm -f "$seeds"/*
	cp "$new"/* "$seeds"/
	rm -rf "$new" "$new.log"
	echo "minimize $name: $before -> $(ls "$seeds" | wc -l) files, $(size_kib "$seeds") KiB"
done
echo "seeds: $(size_kib tests/fuzz/corpus) KiB in tests/fuzz/corpus (keep it under 2 MiB)"
exit $status
