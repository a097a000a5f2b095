#!/usr/bin/env bash
# test_cli: the xenkvm CLI end to end (docs/CLI.md).
#
# Three parts, each printing one line per check:
#   A. the CLI alone (no daemon, no KVM): help and --help for every verb, bad usage
#      (exit 2), bad configs with file:line (exit 1), list on an empty run directory,
#      every domain verb on an unknown domain, mem-set's sizes, sysrq's keys,
#      trigger's kinds, create -n.
#   B. the whole lifecycle against build/tests/cli-fake-xenkvmd, a stand-in daemon
#      with xenkvmd's command line and sockets but no guest (no KVM needed): create,
#      list/--json/-l, vcpu-list, pause/unpause, console, xenstore-*, block-list,
#      unsupported ops, reboot with on_reboot=restart, shutdown -w, destroy (and its
#      SIGKILL fallback), a daemon killed with SIGKILL cleaned up by the next list,
#      create failing with the log's last lines, create -F.
#   C. the real build/xenkvmd booting the test guest (needs a KVM that runs guests:
#      tests/system/run.sh provides the nested host): create with a disk and a vif,
#      list's memory and vCPUs, the guest's shell through console, xenstore-read,
#      maxmem= above memory= and mem-set through the guest's balloon (list's Mem,
#      the daemon's RSS), sysrq h (the kernel's help on the console), trigger power
#      (the guest's count of power-button events) and nmi, shutdown's fallback to
#      the power button when the drivers do not announce control/feature-poweroff,
#      shutdown -w through control/shutdown, destroy of a busy guest, on_reboot
#      ="restart" after an in-guest reboot.  Skipped, saying why, where the KVM cannot
#      run guests or xenkvmd lacks --control.
# Each part uses its own run directory (XDG_RUNTIME_DIR), so it never touches real
# domains.  Ends with "test_cli: N passed, N failed, N skipped"; exit 0 when nothing
# failed (77 when nothing ran at all).
set -uo pipefail

# The whole script is one block, so bash has read all of it before it runs.
{
name=test_cli
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cli=${XENKVM_CLI:-$build/xenkvm}
# XENKVM_CLI_PARTS: which parts run (default ABC); with XENKVM_CLI=.../xl, test_host
# runs part B through the xl personality.
parts=${XENKVM_CLI_PARTS:-ABC}
fake=$build/tests/cli-fake-xenkvmd
vmm=$build/xenkvmd
boot_limit=${XENKVM_BOOT_TIMEOUT:-150}

passed=0 failed=0 skipped=0
ok() { echo "  ok   $*"; passed=$((passed + 1)); }
fail() { echo "  FAIL $*"; failed=$((failed + 1)); }
skip() { echo "  SKIP $*"; skipped=$((skipped + 1)); }
finish() {
	echo "$name: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] || exit 1
	[ "$passed" -gt 0 ] || exit 77
	exit 0
}
# show TEXT: indented, for a failure's context
show() { printf '%s\n' "$1" | tail -n 15 | sed 's/^/    | /'; }

[ -x "$cli" ] || { fail "$cli is not built (make)"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_cli.XXXXXX")
cleanup() {
	# Any daemon still running from this test holds its run directory's lock.
	for d in "$tmp"/rt*/xenkvm/[0-9]*; do
		[ -f "$d/pid" ] && kill -9 "$(cat "$d/pid")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# grep_out GREP-ARGS...: grep over $out (a here-string: with pipefail, printf | grep -q
# fails at random when grep exits before printf has written everything)
grep_out() { grep "$@" <<<"$out"; }
has() { local text=$1; shift; grep "$@" <<<"$text"; }
# x ARGS...: runs the CLI with a 30 s limit; sets rc, out, err
x() {
	timeout -k 5 "${XLIMIT:-30}" "$cli" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
# expect DESC RC [PATTERN]: the last x had exit RC and PATTERN (grep -E) in stdout+stderr
expect() {
	local desc=$1 want=$2 pat=${3:-}
	if [ "$rc" != "$want" ]; then
		fail "$desc: exit $want expected, got $rc"
		show "$out"$'\n'"$err"
	elif [ -n "$pat" ] && ! grep -Eq -- "$pat" <<<"$out"$'\n'"$err"; then
		fail "$desc: nothing matches /$pat/"
		show "$out"$'\n'"$err"
	else
		ok "$desc"
	fi
}

# ============================== A. the CLI alone ===================================
echo "A. the CLI alone"
if [[ $parts == *A* ]]; then
export XDG_RUNTIME_DIR=$tmp/rtA
mkdir -p "$XDG_RUNTIME_DIR"
unset XENKVM_DAEMON

x; expect "no verb: usage, exit 2" 2 "Usage: xenkvm"
x frobnicate; expect "unknown verb: exit 2" 2 "unknown verb 'frobnicate'"
x help; expect "help lists the verbs" 0 "xenstore-watch"
verbs=$(printf '%s\n' "$out" | awk '/^  [a-z]/ { print $1 }')
n=0 bad=
for v in $verbs; do
	n=$((n + 1))
	x help "$v"; [ $rc = 0 ] && grep_out -q "^Usage: xenkvm $v" || bad="$bad help:$v"
	x "$v" --help; [ $rc = 0 ] && grep_out -q "^Usage: xenkvm $v" || bad="$bad --help:$v"
done
for v in create list console destroy shutdown reboot pause unpause vcpu-list mem-set sysrq trigger info block-attach \
	 block-detach block-list network-attach network-detach network-list xenstore-ls \
	 xenstore-read xenstore-write xenstore-rm xenstore-watch help; do
	has "$verbs" -qx "$v" || bad="$bad missing:$v"
done
if [ -z "$bad" ]; then ok "help VERB and VERB --help for all $n verbs"
else fail "help:$bad"; fi

x destroy; expect "destroy without DOMAIN: exit 2" 2 "requires at least 1 argument"
x create; expect "create without CONFIG: exit 2" 2 "no config file"
x create -Z x.cfg; expect "create -Z: exit 2" 2 "unknown option '-Z'"
x list -x; expect "list -x: exit 2" 2 "unknown option"
x shutdown -a dom; expect "shutdown -a DOMAIN: exit 2" 2 "-a takes no DOMAIN"
x xenstore-write dom path; expect "xenstore-write without VALUE: exit 2" 2 "pairs|requires"
x xenstore-watch -n 0 dom p; expect "xenstore-watch -n 0: exit 2" 2 "positive"
x create "$tmp/none.cfg"; expect "missing config file: exit 1" 1 "none.cfg"

printf '# test\nname = "a"\nmemory = "lots"\n' >"$tmp/bad.cfg"
x create "$tmp/bad.cfg"; expect "invalid value: exit 1 with file:line" 1 "^$tmp/bad.cfg:3: "
printf 'name = "a"\nkernel = "/k"\nmemory = 64\n' >"$tmp/ok.cfg"
x create "$tmp/ok.cfg" 'memory="x"'; expect "invalid override: exit 1, named" 1 "command line"
printf 'name = "a"\nkernel = "/k"\ntype = "pv"\n' >"$tmp/pv.cfg"
x create "$tmp/pv.cfg"; expect "type = pv refused clearly, file:line" 1 "pv.cfg:3: .*not supported"
printf 'kernel = "/k"\n' >"$tmp/noname.cfg"
x create "$tmp/noname.cfg"; expect "no name: refused" 1 "name is required|needs a name"
printf 'name = "123"\nkernel = "/k"\n' >"$tmp/numname.cfg"
x create "$tmp/numname.cfg"; expect "numeric name: refused" 1 "all digits|must not be a number"
printf 'name = "w"\nkernel = "/k"\nfrobnication = 1\n' >"$tmp/unknown.cfg"
x create -n "$tmp/unknown.cfg"; expect "unknown key: warning naming it; -n dry run" 0 "frobnication"
grep_out -q -- "--domid=" && ok "create -n shows the xenkvmd command line" \
	|| fail "create -n: no xenkvmd command line in: $out"
# no type= (xl: a PV guest): said once, as HVM; with type="hvm" nothing is said
expect "no type=: 'Xen would run this as PV', run as HVM" 0 "unknown.cfg: type not set: Xen would run this as a PV guest; running it as HVM"
printf 'name = "w"\nkernel = "/k"\ntype = "hvm"\n' >"$tmp/typed.cfg"
x create -n "$tmp/typed.cfg"
[ $rc = 0 ] && ! has "$err" -q "type not set" && ok "type=\"hvm\": no type warning" \
	|| { fail "type=hvm: rc=$rc"; show "$err"; }

x list; expect "list on an empty run directory: header only" 0 "^Name +ID +Mem VCPUs"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && ok "list: no rows" || fail "list: rows on an empty run dir: $out"
x list --json; expect "list --json on an empty run directory: []" 0 '^\[\]$'
x destroy nosuch; expect "destroy of an unknown domain: xl's message, exit 1" 1 "nosuch is an invalid domain identifier"
x console 42; expect "console of an unknown domid: exit 1" 1 "42 is an invalid domain identifier"
bad=
for v in pause unpause reboot vcpu-list block-list network-list "block-detach xvda" \
	 "network-detach 0" "mem-set 64" "sysrq s" "trigger power" "trigger nmi 1"; do
	read -r -a words <<<"$v"   # the verb, then what follows DOMAIN
	x "${words[0]}" nosuch "${words[@]:1}"
	[ $rc = 1 ] && has "$err" -q "nosuch is an invalid domain identifier" ||
		bad="$bad ${words[0]}:$rc"
done
[ -z "$bad" ] && ok "every domain verb on an unknown domain: exit 1, xl's message" || fail "unknown domain:$bad"
for m in abc 1x 12mb -5 0 2t 99999999999999999999; do
	x mem-set nosuch "$m"
	[ $rc = 2 ] && has "$err" -q "MEMORY '$m' is not a size" || bad="$bad $m:$rc"
done
[ -z "$bad" ] && ok "mem-set with a malformed or out-of-range size: exit 2 before any lookup" ||
	fail "mem-set sizes:$bad"
for k in "" ss " "; do
	x sysrq nosuch "$k"
	[ $rc = 2 ] && has "$err" -q "is not one printable character" || bad="$bad '$k':$rc"
done
[ -z "$bad" ] && ok "sysrq with no key, two keys or a space: exit 2" || fail "sysrq keys:$bad"
for t in "init" "sleep" "power 1" "nmi x" "nmi 256" "nmi -1" "nmi 1 2"; do
	read -r -a words <<<"$t"
	x trigger nosuch "${words[@]}"
	[ $rc = 2 ] || bad="$bad '$t':$rc"
done
[ -z "$bad" ] && ok "trigger with another kind, or a bad or misplaced VCPU: exit 2" ||
	fail "trigger args:$bad"
x info; expect "info" 0 "^control_protocol +: 1$"
# info tells the truth about the KVM: the same verdict as build/kvm-probe (one probe)
if [ -x "$build/kvm-probe" ]; then
	if "$build/kvm-probe" >/dev/null; then want="^kvm +: yes, hardware speed$"
	else want="^kvm +: (yes, but it cannot run guests at a useful speed|no \()"; fi
	x info; expect "info's kvm line agrees with kvm-probe" 0 "$want"
	expect "info names the Xen support and the hypercall path" 0 "^kvm_xen +: (yes|no: )"
	grep_out -Eq "^xen_hypercall_path +: (intercept|blob|msr|none)" \
		&& ok "info: xen_hypercall_path" || { fail "info: no xen_hypercall_path line"; show "$out"; }
	if "$build/kvm-probe" -x >/dev/null; then
		grep_out -Eq "^kvm_xen +: yes" && ok "info: kvm_xen yes where kvm-probe -x is" \
			|| { fail "info: kvm_xen should be yes"; show "$out"; }
	fi
else
	skip "info's kvm line: $build/kvm-probe is not built"
fi

fi

# ============================== B. the fake daemon ==================================
echo "B. lifecycle against the stand-in daemon (build/tests/cli-fake-xenkvmd, no guest)"
if [[ $parts != *B* ]]; then
	:
elif [ ! -x "$fake" ]; then
	skip "part B: $fake is not built (make BUILD=... \$BUILD/tests/cli-fake-xenkvmd)"
else
	export XDG_RUNTIME_DIR=$tmp/rtB XENKVM_DAEMON=$fake
	mkdir -p "$XDG_RUNTIME_DIR"
	rd=$XDG_RUNTIME_DIR/xenkvm
	: >"$tmp/kernel"
	truncate -s 16M "$tmp/disk.img"
	cat >"$tmp/fake.cfg" <<-EOF
		name = "fk1"
		kernel = "$tmp/kernel"
		memory = 384
		vcpus = 3
		disk = [ "$tmp/disk.img,raw,xvda,rw" ]
		on_reboot = "restart"
	EOF
	# create warns (and logs) when the KVM is too slow for guests: a cached verdict of
	# "emulated" for this very /dev/kvm stands in for such a host.  Its own run
	# directory, so the domids below are as they would be.
	export XDG_RUNTIME_DIR=$tmp/rtP
	mkdir -p "$XDG_RUNTIME_DIR"
	x info
	probe=$XDG_RUNTIME_DIR/xenkvm/kvm-probe
	if [ -f "$probe" ]; then
		key=$(head -1 "$probe")
		printf '%s\nhw=0 emulated=1 xen=0 msr=1 vcpus=8\nTEST-SLOW-VERDICT\n' "$key" >"$probe"
		cp "$tmp/fake.cfg" "$tmp/slow.cfg"; sed -i 's/"fk1"/"slow1"/' "$tmp/slow.cfg"
		x create "$tmp/slow.cfg"
		expect "create on a KVM that emulates guest code: a warning saying what to do" 0 \
			"warning: .*TEST-SLOW-VERDICT.*|warning: its guest code is emulated.*l1-run"
		d=$(ls -d "$XDG_RUNTIME_DIR"/xenkvm/[0-9]* 2>/dev/null | head -1)
		grep -q "TEST-SLOW-VERDICT" "$d/xenkvmd.log" 2>/dev/null && ok "the warning is in the domain's log" \
			|| fail "no warning in $d/xenkvmd.log"
		x destroy slow1
		printf '%s\nhw=1 emulated=0 xen=0 msr=1 vcpus=8\nTEST-FAST-VERDICT\n' "$key" >"$probe"
		x create "$tmp/slow.cfg"
		if [ $rc = 0 ] && ! has "$err" -q "useful speed"; then ok "create on a capable KVM: no speed warning"
		else fail "create on a capable KVM: rc=$rc"; show "$err"; fi
		x destroy slow1
	else
		fail "info left no probe verdict in $probe"
	fi
	export XDG_RUNTIME_DIR=$tmp/rtB
	x create "$tmp/fake.cfg"; expect "create: started, returns" 0 "Started domain fk1 \(id=1\)"
	[ -d "$rd/1" ] && [ -f "$rd/1/pid" ] && [ -S "$rd/1/control.sock" ] && [ -f "$rd/1/config" ] \
		&& ok "run directory entry 1/ with pid, control.sock, config copy" \
		|| fail "run directory entry: $(ls -l "$rd/1" 2>&1)"
	x create "$tmp/fake.cfg"; expect "create with a name in use: exit 1" 1 "already exists"
	x list; expect "list shows it" 0 "^fk1 +1 +384 +3 +-b---- "
	x list --json
	if ! command -v python3 >/dev/null; then
		skip "list --json values: no python3 here to parse it"
	elif [ $rc = 0 ] && printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d) == 1 and d[0]["name"] == "fk1" and d[0]["domid"] == 1, d
assert d[0]["memory_mib"] == 384 and d[0]["vcpus"] == 3 and d[0]["state"] == "running", d
' 2>"$tmp/py"; then ok "list --json parses with the right values"
	else fail "list --json: $(cat "$tmp/py") $out"; fi
	x list -l; expect "list -l has vCPUs and the config text" 0 '"vcpu_list"'
	grep_out -q 'on_reboot' && ok "list -l: config text" || fail "list -l: no config text"
	x vcpu-list fk1; expect "vcpu-list: 3 vCPUs" 0 "^fk1 +1 +2 "
	x pause fk1; expect "pause" 0
	x list 1; expect "list: paused" 0 "^fk1 +1 .* --p--- "
	x pause fk1; expect "pause twice: the daemon's message" 1 "already paused"
	x unpause 1; expect "unpause by domid" 0

	{ sleep 0.5; echo "hello console"; sleep 1; } | timeout 20 "$cli" console fk1 >"$tmp/con" 2>&1
	rc=$?
	if [ $rc = 0 ] && grep -q "FAKE-GUEST fk1 up" "$tmp/con" && grep -q "echo: hello console" "$tmp/con"; then
		ok "console: replayed output, input reaches the guest, detach on end of input"
	else fail "console (exit $rc)"; show "$(cat "$tmp/con")"; fi
	# (typed after the replay arrived: a client that closes with output unread
	# makes its bytes in flight race the daemon's view of the hang-up)
	{ sleep 0.3; printf 'a\035b\n'; } | timeout 20 "$cli" console fk1 >"$tmp/con" 2>&1
	{ sleep 0.3; echo probe; sleep 0.5; } | timeout 20 "$cli" console fk1 >"$tmp/con2" 2>&1
	# "a" went before the Ctrl-] (the fake guest still holds it in its line), "b" never
	if tr -d '\r' <"$tmp/con2" | grep -qx "echo: aprobe" && ! grep -q "ab" "$tmp/con2"; then
		ok "console: Ctrl-] detaches; nothing after it reaches the guest"
	else fail "console Ctrl-]"; show "$(cat "$tmp/con2")"; fi
	sleep 0.5 | timeout 20 "$cli" console -t pv fk1 >"$tmp/pvcon" 2>&1
	grep -q "FAKE-PV fk1 up" "$tmp/pvcon" && ! grep -q "FAKE-GUEST" "$tmp/pvcon" &&
		ok "console -t pv: the PV console's own socket" || { fail "console -t pv"; show "$(cat "$tmp/pvcon")"; }
	x console -t vga fk1; expect "console -t vga: refused" 2 "is not serial or pv"

	x xenstore-read fk1 name; expect "xenstore-read (relative path)" 0 "^fk1$"
	x xenstore-write fk1 data/a "one two" /local/domain/1/data/b 2; expect "xenstore-write" 0
	x xenstore-read 1 data/a /local/domain/1/data/b; expect "xenstore-read two paths" 0 "^one two$"
	x xenstore-ls fk1 data; expect "xenstore-ls" 0 '^a = "one two"$'
	x xenstore-ls -f fk1 data; expect "xenstore-ls -f" 0 '^/local/domain/1/data/b = "2"$'
	x xenstore-rm fk1 data/a; expect "xenstore-rm" 0
	x xenstore-read fk1 data/a; expect "xenstore-read of a removed node: exit 1" 1 "couldn't read"
	timeout 20 "$cli" xenstore-watch -n 2 fk1 data >"$tmp/watch" 2>&1 &
	wpid=$!
	sleep 0.5
	"$cli" xenstore-write fk1 data/c 3 >/dev/null 2>&1
	wait $wpid
	rc=$?
	if [ $rc = 0 ] && [ "$(cat "$tmp/watch")" = "/local/domain/1/data
/local/domain/1/data/c" ]; then ok "xenstore-watch -n 2: the initial event and a write"
	else fail "xenstore-watch (exit $rc)"; show "$(cat "$tmp/watch")"; fi

	x block-list fk1; expect "block-list" 0 "^xvda .* $tmp/disk.img$"
	x network-list fk1; expect "network-list: the daemon says it is not supported" 1 "not supported by this xenkvmd"
	x block-attach fk1 "nonsense=1"; expect "block-attach with a bad spec: refused locally" 1 "."
	x network-attach fk1 "mac=00:16:3e:00:00:01"; expect "network-attach: not supported, clearly" 1 "not supported by this xenkvmd"
	x mem-set fk1 64; expect "mem-set: not supported, clearly" 1 "not supported by this xenkvmd"
	x sysrq fk1 s; expect "sysrq: not supported, clearly" 1 "not supported by this xenkvmd"
	x trigger fk1 nmi; expect "trigger: not supported, clearly" 1 "not supported by this xenkvmd"

	x reboot fk1; expect "reboot" 0
	x list --json; expect "on_reboot=restart: same domain, restarts = 1" 0 '"restarts": 1'
	x xenstore-read fk1 control/shutdown; expect "reboot wrote control/shutdown" 0 "^reboot$"
	x shutdown -w fk1; expect "shutdown -w: waits until it is gone" 0 "has been shut down"
	x list; [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [ ! -e "$rd/1" ] && ok "gone from list and the run directory" \
		|| fail "after shutdown -w: $out $(ls "$rd")"
	[ -f "$rd/logs/fk1.log" ] && grep -q "exit status 0" "$rd/logs/fk1.log" && ok "its log kept as logs/fk1.log" \
		|| fail "no logs/fk1.log with the exit status"

	x create -q "$tmp/fake.cfg"; expect "create again: next domid" 0
	[ -d "$rd/2" ] && ok "domids are not reused at once (2, not 1)" || fail "domid: $(ls "$rd")"
	x destroy fk1; expect "destroy" 0
	[ ! -e "$rd/2" ] && ok "destroy removed the entry" || fail "destroy left $rd/2"

	FAKE_XENKVMD_HANG=1 "$cli" create -q "$tmp/fake.cfg" 'name="hung"' </dev/null >/dev/null 2>&1
	x destroy hung; expect "destroy of a daemon that ignores it: SIGKILL fallback" 0 "killing pid"

	x create -q "$tmp/fake.cfg" 'name="crashy"'
	pid=$(cat "$rd"/*/pid 2>/dev/null | head -1)
	kill -9 "$pid" 2>/dev/null
	sleep 0.3
	x list; if [ $rc = 0 ] && ! grep_out -q crashy && [ -z "$(ls -d "$rd"/[0-9]* 2>/dev/null)" ]; then
		ok "a daemon killed with SIGKILL: cleaned up by the next list"
	else fail "stale entry after kill -9: $out $(ls "$rd")"; fi

	x create "$tmp/fake.cfg" "kernel=\"$tmp/no-such-kernel\""
	expect "create of a domain that fails: exit 1 with the log's last lines" 1 "failed to start.*|.*no-such-kernel"
	has "$err" -q "| xenkvmd: kernel $tmp/no-such-kernel" && ok "the log line is shown" || fail "no log line: $err"
	[ -z "$(ls -d "$rd"/[0-9]* 2>/dev/null)" ] && ok "a failed create leaves no entry" || fail "entry left: $(ls "$rd")"

	# -F: the daemon in the foreground (this process), still listed and controllable
	"$cli" create -F -q "$tmp/fake.cfg" 'name="fg"' </dev/null >"$tmp/fg.out" 2>&1 &
	fgpid=$!
	for _ in $(seq 50); do "$cli" list 2>/dev/null | grep -q '^fg ' && break; sleep 0.1; done
	x list; expect "create -F: listed while it runs" 0 "^fg "
	x shutdown fg; expect "shutdown of the -F domain" 0
	wait $fgpid
	rc=$?
	[ $rc = 0 ] && ok "create -F: exit status 0 after poweroff (xenkvmd's status)" || fail "create -F: exit $rc"
	grep -q "FAKE-GUEST fg up" "$tmp/fg.out" && ok "create -F: console on stdout" || fail "create -F: no console output"
	unset XENKVM_DAEMON
fi

# ============================== C. the real xenkvmd =================================
echo "C. the real xenkvmd with the test guest"
# guest_cmd SECONDS CMD: types CMD into the guest's shell and keeps the console until
# the command has finished (its XK-DONE-nonce line) or SECONDS have passed; prints the output.
# Waiting for the marker, not a fixed time: on a loaded host a dd took longer than 8 s.
guest_cmd() {
	local f i done=XK-DONE-$RANDOM$RANDOM	# console attach replays earlier output: a fresh marker
	f=$(mktemp "${TMPDIR:-/tmp}/guest_cmd.XXXXXX")
	{
		sleep 1
		printf '%s\necho %s\n' "$2" "$done"
		for ((i = 0; i < $1 * 5; i++)); do grep -aq "^$done" "$f" && break; sleep 0.2; done
	} | timeout $(($1 + 15)) "$cli" console xkcli >"$f" 2>&1
	tr -d '\r' <"$f"
	rm -f "$f"
}
# mem_is MIB: waits (up to a minute) for list's Mem column to show MIB
mem_is() {
	local i
	for ((i = 0; i < 60; i++)); do
		x list xkcli
		grep_out -Eq "^xkcli +[0-9]+ +$1 " && return 0
		sleep 1
	done
	return 1
}
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
# pwrbtn_count: the guest's count of ACPI fixed power-button events
pwrbtn_count() {
	guest_cmd 20 'sed "s/^ */XK-PWRBTN=/" /sys/firmware/acpi/interrupts/ff_pwr_btn' |
		sed -n 's/^XK-PWRBTN=\([0-9]*\) .*/\1/p' | tail -1
}
# xl trigger and the ACPI fallback of shutdown.  The guest loads Debian's ACPI button
# driver, which enables the fixed power button and counts each press (the test shell
# has nothing that powers off on it).
triggers() {
	local con n0 n1 n2
	con=$(guest_cmd 20 'insmod /lib/modules/$(uname -r)/button.ko; echo XK-BUTTON=$?')
	has "$con" -q '^XK-BUTTON=0' || { fail "insmod button.ko"; show "$con"; }
	n0=$(pwrbtn_count)
	x trigger xkcli power; expect "trigger power" 0
	n1=$(pwrbtn_count)
	[ -n "$n0" ] && [ "$n1" = $((n0 + 1)) ] && ok "trigger power: the guest saw one power-button event" ||
		fail "trigger power: ff_pwr_btn went from '$n0' to '$n1'"
	# drivers that do not announce control/feature-poweroff get the button instead
	x xenstore-rm xkcli control/feature-poweroff control/feature-reboot
	expect "xenstore-rm control/feature-poweroff and -reboot" 0
	x shutdown xkcli; expect "shutdown when the PV drivers do not listen" 0
	n2=$(pwrbtn_count)
	[ "$n2" = $((n1 + 1)) ] && ok "shutdown fell back to the ACPI power button" ||
		fail "shutdown fallback: ff_pwr_btn went from '$n1' to '$n2'"
	x xenstore-read xkcli control/shutdown
	[ -z "$out" ] && ok "shutdown fallback: control/shutdown left alone" || fail "control/shutdown = '$out'"
	x reboot xkcli; expect "reboot when the PV drivers do not listen: refused, naming trigger reset" 1 \
		"trigger reset"
	x xenstore-write xkcli control/feature-poweroff 1 control/feature-reboot 1
	expect "feature-poweroff and -reboot restored" 0
	x trigger xkcli nmi; expect "trigger nmi" 0
	sleep 2
	con=$(guest_cmd 10 'echo XK-NMI')
	has "$con" -q "NMI received for unknown reason" &&
		ok "trigger nmi: the guest's kernel reported the NMI" ||
		{ fail "trigger nmi: no 'NMI received' on the console"; show "$con"; }
	x trigger xkcli nmi 5; expect "trigger nmi 5 on a 2-vCPU domain: refused" 1 "no vCPU 5"
}
# xl mem-set through the guest's own xen-balloon driver (Debian's kernel has it built
# in): memory/target moves, the guest gives RAM back with decrease_reservation and
# list's Mem follows what it really gave; host memory the guest had dirtied is freed
# (the daemon's RSS falls); mem-set to maxmem= takes RAM back past memory=.
balloon() {
	local pid rss0 rss1 cur0 cur1 con
	x xenstore-read xkcli memory/target; expect "memory/target: memory= in KiB" 0 "^327680$"
	x xenstore-read xkcli memory/static-max; expect "memory/static-max: maxmem= in KiB" 0 "^393216$"
	x list --json
	pid=$(printf '%s\n' "$out" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p' | head -1)
	# dirty 128 MiB of guest RAM and free it again: pages the balloon can take
	con=$(guest_cmd 60 'dd if=/dev/zero of=/fill bs=1M count=128 2>/dev/null; rm -f /fill;
cat /sys/devices/system/xen_memory/xen_memory0/info/current_kb | sed "s/^/XK-CUR=/"')
	cur0=$(printf '%s\n' "$con" | sed -n 's/^XK-CUR=\([0-9]*\)$/\1/p' | tail -1)
	rss0=$(rss_kib "$pid")
	x mem-set xkcli 400; expect "mem-set above maxmem=: refused with the range" 1 "outside 32..384 MiB"
	x mem-set xkcli 160; expect "mem-set xkcli 160" 0
	x xenstore-read xkcli memory/target; expect "mem-set wrote memory/target" 0 "^163840$"
	if mem_is 160; then ok "list: Mem 160 once the guest's balloon gave 160 MiB back"
	else fail "list: Mem did not reach 160"; show "$out"; fi
	rss1=$(rss_kib "$pid")
	if [ -n "$rss0" ] && [ -n "$rss1" ] && [ $((rss0 - rss1)) -ge $((48 << 10)) ]; then
		ok "the daemon's RSS fell by $(((rss0 - rss1) >> 10)) MiB (from $((rss0 >> 10)) MiB)"
	else
		fail "the daemon's RSS went from '$rss0' to '$rss1' KiB (48 MiB less expected)"
	fi
	con=$(guest_cmd 30 'cat /sys/devices/system/xen_memory/xen_memory0/info/current_kb | sed "s/^/XK-CUR=/"')
	cur1=$(printf '%s\n' "$con" | sed -n 's/^XK-CUR=\([0-9]*\)$/\1/p' | tail -1)
	if [ -n "$cur0" ] && [ -n "$cur1" ] && [ $((cur0 - cur1)) = $((160 << 10)) ]; then
		ok "the guest's balloon holds 160 MiB (current_kb $cur0 -> $cur1)"
	else
		fail "guest current_kb '$cur0' -> '$cur1' (160 MiB less expected)"
	fi
	x mem-set xkcli 384m; expect "mem-set xkcli 384m" 0
	if mem_is 384; then ok "list: Mem up to 384, past memory= to maxmem= (populate_physmap)"
	else fail "list: Mem did not reach 384"; show "$out"; fi
}
partc() {
	if [ ! -x "$vmm" ]; then skip "part C: $vmm is not built"; return; fi
	if ! "$vmm" --help 2>&1 | grep -q -- '--control='; then
		skip "part C: $vmm has no --control option yet (the daemon side of docs/CLI.md is not wired in)"
		return
	fi
	if [ "${XENKVM_KVM_CAPABLE:-}" != 1 ]; then
		if ! "$build/kvm-probe" >/dev/null 2>&1; then
			skip "part C: the local KVM cannot run guests; tests/system/run.sh runs this in a nested host"
			return
		fi
	fi
	if [ -z "${XENKVM_KERNEL:-}" ] || [ -z "${XENKVM_INITRD:-}" ]; then
		local assets
		assets=$("$here/assets.sh") || { fail "guest assets (tests/system/assets.sh)"; return; }
		eval "$assets"
	fi
	export XDG_RUNTIME_DIR=$tmp/rtC
	mkdir -p "$XDG_RUNTIME_DIR"
	local rd=$XDG_RUNTIME_DIR/xenkvm i con
	truncate -s 64M "$tmp/guest-disk.img"
	cat >"$tmp/guest.cfg" <<-EOF
		name = "xkcli"
		kernel = "$XENKVM_KERNEL"
		ramdisk = "$XENKVM_INITRD"
		extra = "console=ttyS0"
		memory = 320
		maxmem = 384
		vcpus = 2
		disk = [ "$tmp/guest-disk.img,raw,xvda,rw" ]
		vif = [ "" ]
		on_reboot = "restart"
	EOF
	x create "$tmp/guest.cfg"; expect "create guest.cfg (disk + vif)" 0 "Started domain xkcli"
	[ $rc = 0 ] || return
	x list; expect "list: 2 vCPUs" 0 "^xkcli +[0-9]+ +[0-9]+ +2 "
	# wait for the shell: each attach replays recent output, then detaches at end of input
	for ((i = 0; i < boot_limit; i += 2)); do
		sleep 1 | timeout 10 "$cli" console xkcli >"$tmp/boot.con" 2>&1
		grep -q "xenkvm guest shell" "$tmp/boot.con" && break
		sleep 1
	done
	if grep -q "xenkvm guest shell" "$tmp/boot.con"; then ok "console: the guest booted to its shell"
	else fail "console: no guest shell within ${boot_limit}s"; show "$(tr -d '\r' <"$tmp/boot.con")"; return; fi
	# built with maxmem, the guest's balloon brings it down to memory= at boot
	if mem_is 320; then ok "list: Mem 320 (memory=) of 384 (maxmem=) once the guest ballooned at boot"
	else fail "list: Mem is not memory= 320"; show "$out"; fi
	# The initramfs has no init that handles signals; make the kernel's orderly
	# poweroff (what control/shutdown triggers) a forced one.
	{ sleep 1; echo 'echo XK-$((6*7)); echo "/bin/busybox poweroff -f" >/proc/sys/kernel/poweroff_cmd'; sleep 3; } |
		timeout 20 "$cli" console xkcli >"$tmp/cmd.con" 2>&1
	tr -d '\r' <"$tmp/cmd.con" | grep -q "^XK-42$" && ok "console: a command typed into the guest's shell runs" \
		|| { fail "console: no XK-42 from the shell"; show "$(tr -d '\r' <"$tmp/cmd.con")"; }
	x xenstore-read xkcli name; expect "xenstore-read name" 0 "^xkcli$"
	balloon
	# xl sysrq: Linux's Xen shutdown watcher runs the key and clears control/sysrq
	x sysrq xkcli h; expect "sysrq xkcli h" 0
	sleep 2
	con=$(guest_cmd 10 'echo XK-SYSRQ')
	has "$con" -q "sysrq: HELP" && ok "sysrq h: the guest's kernel printed its SysRq help" ||
		{ fail "sysrq h: no 'sysrq: HELP' on the console"; show "$con"; }
	x xenstore-read xkcli control/sysrq; expect "sysrq: the guest cleared control/sysrq" 0 "^$"
	triggers
	x xenstore-ls xkcli device; expect "xenstore-ls device: vbd and vif" 0 "vbd"
	# in-guest reboot with on_reboot="restart": the domain comes back
	{ sleep 1; echo 'reboot -f'; sleep 1; } | timeout 20 "$cli" console xkcli >/dev/null 2>&1
	for ((i = 0; i < boot_limit; i += 2)); do
		x list --json
		grep_out -q '"restarts": 1' && break
		sleep 2
	done
	expect "on_reboot=restart: the domain is back (restarts = 1)" 0 '"restarts": 1'
	for ((i = 0; i < boot_limit; i += 2)); do
		sleep 1 | timeout 10 "$cli" console xkcli >"$tmp/boot2.con" 2>&1
		# the replay still holds the first boot's output: wait for the second shell
		[ "$(grep -c "xenkvm guest shell" "$tmp/boot2.con")" -ge 2 ] && break
		sleep 1
	done
	{ sleep 1; echo 'echo "/bin/busybox poweroff -f" >/proc/sys/kernel/poweroff_cmd'; sleep 2; } |
		timeout 20 "$cli" console xkcli >/dev/null 2>&1
	XLIMIT=$boot_limit x shutdown -w xkcli
	expect "shutdown -w: the guest powers off through control/shutdown" 0 "has been shut down"
	x list; [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && ok "the domain is gone" || fail "still listed: $out"
	grep -q "exit status 0" "$rd/logs/xkcli.log" 2>/dev/null && ok "xenkvmd ended with status 0 (poweroff)" \
		|| fail "no 'exit status 0' in logs/xkcli.log"

	# destroy a busy guest
	x create -q "$tmp/guest.cfg"; expect "create again" 0
	for ((i = 0; i < boot_limit; i += 2)); do
		sleep 1 | timeout 10 "$cli" console xkcli >"$tmp/boot3.con" 2>&1
		grep -q "xenkvm guest shell" "$tmp/boot3.con" && break
		sleep 1
	done
	{ sleep 1; echo 'while :; do :; done'; sleep 1; } | timeout 20 "$cli" console xkcli >/dev/null 2>&1
	x destroy xkcli; expect "destroy of a guest spinning in its shell" 0
	x list; [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && ok "destroyed: gone" || fail "still listed: $out"
}
[[ $parts == *C* ]] && partc
finish
exit
}
