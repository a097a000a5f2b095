#!/bin/sh
# Debian's real libxenstore clients (xenstore-utils) against the xenkvm
# XenStore served on a temporary unix socket (XENSTORED_PATH).
# usage: test_xenstore_utils.sh [PATH/TO/xenkvm-xenstored]
#        (default: ${BUILD:-build}/xenkvm-xenstored)
# Exit 77 (skip) without xenstore-utils; ends with "xenstore-utils: N passed, N failed".
server=${1:-${BUILD:-build}/xenkvm-xenstored}
for t in xenstore-ls xenstore-read xenstore-write xenstore-rm xenstore-list \
	 xenstore-chmod xenstore-exists xenstore-watch; do
	command -v "$t" >/dev/null 2>&1 || { echo "xenstore-utils: SKIP, $t not installed (apt-get install xenstore-utils)"; exit 77; }
done
[ -x "$server" ] || { echo "xenstore-utils: server $server not built (make BUILD=... \$BUILD/xenkvm-xenstored)"; exit 1; }

dir=$(mktemp -d)
XENSTORED_PATH=$dir/sock
export XENSTORED_PATH
passed=0 failed=0
T="timeout 10"

ok()   { passed=$((passed + 1)); echo "  ok   $1"; }
fail() { failed=$((failed + 1)); echo "  FAIL $1"; [ -n "$2" ] && printf '%s\n' "$2" | sed 's/^/       | /'; }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected: $2
got:      $3"; fi; }

"$server" --socket "$XENSTORED_PATH" --domain 3:guest3 2>"$dir/server.log" &
spid=$!
i=0
while [ ! -S "$XENSTORED_PATH" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$XENSTORED_PATH" ] || { cat "$dir/server.log"; echo "xenstore-utils: 0 passed, 1 failed"; exit 1; }

# write / read / exists
$T xenstore-write /test/a hello /test/b "two words"; check "write two keys" 0 $?
check "read" hello "$($T xenstore-read /test/a)"
check "read two keys" "hello
two words" "$($T xenstore-read /test/a /test/b)"
check "read -p" "/test/a: hello" "$($T xenstore-read -p /test/a)"
$T xenstore-read /test/missing >/dev/null 2>&1; check "read missing fails" 1 $?
$T xenstore-exists /test/a; check "exists" 0 $?
$T xenstore-exists /test/missing; check "exists missing" 1 $?

# list / ls
check "list" "a
b" "$($T xenstore-list /test)"
check "list -p" "/test/a
/test/b" "$($T xenstore-list -p /test)"
check "list /" "tool
local
vm
libxl
test" "$($T xenstore-list /)"
check "ls" 'a = "hello"
b = "two words"' "$($T xenstore-ls /test)"
check "ls -f domain memory" '/local/domain/3/memory/static-max = "524288"
/local/domain/3/memory/target = "524288"
/local/domain/3/memory/videoram = "0"' "$($T xenstore-ls -f /local/domain/3/memory)"
check "ls name" "guest3" "$($T xenstore-read /local/domain/3/name)"
check "ls platform feature" "1" "$($T xenstore-read /local/domain/3/control/platform-feature-xs_reset_watches)"

# permissions (xenstore-ls -p prints them)
out=$($T xenstore-ls -p /local/domain/3 | grep -E '^(name|control|data) ')
case $out in
*'name = "guest3"'*'(n0,r3)'*'control = ""'*'(n0,r3)'*'data = ""'*'(n3)'*) ok "populated permissions" ;;
*) fail "populated permissions" "$out" ;;
esac
$T xenstore-chmod /test/a r3 w4; check "chmod" 0 $?
out=$($T xenstore-ls -p /test | grep '^a ')
case $out in *'(r3,w4)') ok "chmod result" ;; *) fail "chmod result" "$out" ;; esac
$T xenstore-chmod -r /test n0 b5; check "chmod -r" 0 $?
out=$($T xenstore-ls -p /test | sed 's/.*(\(.*\))$/\1/' | sort -u)
check "chmod -r result" "n0,b5" "$out"
$T xenstore-chmod /test/a x9 >/dev/null 2>&1; check "chmod bad perm fails" 1 $?

# rm
$T xenstore-rm /test/b; check "rm" 0 $?
check "rm result" "a" "$($T xenstore-list /test)"
$T xenstore-write /deep/x/y/z 1 && $T xenstore-rm -t /deep/x/y/z
$T xenstore-exists /deep; check "rm -t tidies empty parents" 1 $?
$T xenstore-rm /test; check "rm subtree" 0 $?
$T xenstore-exists /test/a; check "rm subtree result" 1 $?

# a watch, fired by a write from another client
$T xenstore-watch -n 3 /w >"$dir/watch.out" 2>&1 &
wpid=$!
i=0
while [ ! -s "$dir/watch.out" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
$T xenstore-write /w/x 1
$T xenstore-write /w/y/z 2
wait $wpid; check "watch exits after 3 events" 0 $?
check "watch events" "/w
/w/x
/w/y/z" "$(cat "$dir/watch.out")"

# a dozen concurrent writers through transactions (the CLI wraps each in one)
pids=
for n in 1 2 3 4 5 6 7 8 9 10 11 12; do $T xenstore-write /par/k$n v$n & pids="$pids $!"; done
for p in $pids; do wait "$p"; done
check "concurrent writers" 12 "$($T xenstore-list /par | wc -l)"

kill "$spid"; wait "$spid"; rc=$?
check "server exits cleanly, nothing leaked" 0 $rc
if grep -q -i -E 'leak|error' "$dir/server.log"; then fail "server log clean" "$(cat "$dir/server.log")"; else ok "server log clean"; fi
rm -rf "$dir"
echo "xenstore-utils: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
