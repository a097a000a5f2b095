#!/usr/bin/env bash
# test_host: xenkvm installed as a host's hypervisor (no KVM needed):
#   - xenkvm-domains (dist/xenkvm-domains, run by xenkvm-domains.service) against
#     build/tests/cli-fake-xenkvmd: start creates each autostart config once, skips
#     editor/dpkg leftovers, reports bad configs; status; stop shuts domains down, waits
#     XENDOMAINS_STOP_MAXWAIT and destroys the ones that did not go; AUTO_ONLY
#   - the CLI invoked as `xl`: xl's global flags, xl's wording for verbs xenkvm lacks,
#     and test_cli's lifecycle part (B) run through it
#   - `make install DESTDIR=...`: every file where the package wants it, manual pages
#     that groff renders without a warning and that carry every verb of `xenkvm help`
# Ends with "test_host: N passed, N failed, N skipped".
set -uo pipefail
{
name=test_host
# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"
cli=$build/xenkvm
fake=$build/tests/cli-fake-xenkvmd
domains=$root/dist/xenkvm-domains

[ -x "$cli" ] && [ -x "$fake" ] || { fail "$cli or $fake is not built (make)"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_host.XXXXXX")
cleanup() {
	for d in "$tmp"/rt/xenkvm/[0-9]*; do
		[ -f "$d/pid" ] && kill -9 "$(cat "$d/pid")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR=$tmp/rt XENKVM_DAEMON=$fake XENKVM=$cli XENKVM_DEFAULTS=$tmp/default
mkdir -p "$XDG_RUNTIME_DIR" "$tmp/auto" "$tmp/xenauto"
: >"$tmp/kernel"
mkcfg() {	# mkcfg FILE NAME
	printf 'name = "%s"\nkernel = "%s"\nmemory = 128\n' "$2" "$tmp/kernel" >"$1"
}
names() { "$cli" list | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' '; }
dom() {	# dom ARGS...: run xenkvm-domains with a 60 s limit; sets rc and out
	out=$(timeout -k 5 60 "$domains" "$@" 2>&1)
	rc=$?
}

echo "xenkvm-domains"
mkcfg "$tmp/auto/a.cfg" hosta
mkcfg "$tmp/auto/b" hostb
mkcfg "$tmp/xenauto/c.cfg" hostc
mkcfg "$tmp/auto/a.cfg~" leftover1
mkcfg "$tmp/auto/b.dpkg-old" leftover2
mkcfg "$tmp/auto/.hidden" leftover3
printf 'name = "bad"\nmemory = "lots"\n' >"$tmp/auto/bad.cfg"
cat >"$tmp/default" <<-EOF
	XENDOMAINS_AUTO="$tmp/auto $tmp/xenauto $tmp/absent"
	XENDOMAINS_STOP_MAXWAIT=5
EOF
dom start
[ $rc = 1 ] && grep -q "bad.cfg: not a valid config" <<<"$out" \
	&& ok "start: a bad config is reported and the status is 1" \
	|| { fail "start with a bad config: rc=$rc"; show "$out"; }
[ "$(names)" = "hosta hostb hostc " ] && ok "start: every autostart config runs, leftovers skipped" \
	|| { fail "start: running '$(names)'"; show "$out"; }
rm "$tmp/auto/bad.cfg"
dom start
[ $rc = 0 ] && [ "$(grep -c 'already running' <<<"$out")" = 3 ] && [ "$(names)" = "hosta hostb hostc " ] \
	&& ok "start again: nothing started twice" || { fail "start again: rc=$rc, '$(names)'"; show "$out"; }
dom status
[ $rc = 0 ] && [ "$(grep -c ': running' <<<"$out")" = 3 ] && ok "status: all running, exit 0" \
	|| { fail "status: rc=$rc"; show "$out"; }
"$cli" destroy hostb >/dev/null 2>&1
dom status
[ $rc = 3 ] && grep -q "hostb ($tmp/auto/b): not running" <<<"$out" \
	&& ok "status: a stopped one is named, exit 3" || { fail "status after destroy: rc=$rc"; show "$out"; }

# a domain outside the autostart set, and one that ignores shutdown requests
mkcfg "$tmp/other.cfg" other
"$cli" create -q "$tmp/other.cfg" >/dev/null 2>&1
FAKE_XENKVMD_IGNORE_SHUTDOWN=1 "$cli" create -q "$tmp/auto/b" >/dev/null 2>&1
echo "XENDOMAINS_AUTO_ONLY=true" >>"$tmp/default"
t0=$(date +%s)
dom stop
t1=$(date +%s)
[ $rc = 0 ] && [ "$(names)" = "other " ] && grep -q "hostb: still running after 5 s, destroying it" <<<"$out" \
	&& ok "stop (AUTO_ONLY): autostarted ones gone, the stubborn one destroyed, 'other' kept" \
	|| { fail "stop AUTO_ONLY: rc=$rc, left '$(names)'"; show "$out"; }
[ $((t1 - t0)) -ge 5 ] && [ $((t1 - t0)) -lt 30 ] && ok "stop waited the 5 s limit, not longer ($((t1 - t0)) s)" \
	|| fail "stop took $((t1 - t0)) s with XENDOMAINS_STOP_MAXWAIT=5"
sed -i '/AUTO_ONLY/d' "$tmp/default"
dom stop
[ $rc = 0 ] && [ -z "$(names)" ] && ok "stop: every domain gone" || { fail "stop: left '$(names)'"; show "$out"; }
dom stop
[ $rc = 0 ] && grep -q "no domains to stop" <<<"$out" && ok "stop with nothing running" \
	|| { fail "stop with nothing running: rc=$rc"; show "$out"; }
dom frob
[ $rc = 2 ] && ok "unknown action: usage, exit 2" || fail "unknown action: rc=$rc"

echo "xl"
ln -sf "$cli" "$tmp/xl"
out=$("$tmp/xl" sched-credit -d somedomain 2>&1); rc=$?
[ $rc = 1 ] && [ "$out" = "command not implemented" ] && ok "xl VERB-we-lack: xl's own message, exit 1" \
	|| { fail "xl sched-credit: rc=$rc"; show "$out"; }
out=$("$tmp/xl" -v list 2>&1); rc=$?
[ $rc = 0 ] && grep -q "^Name " <<<"$out" && ok "xl -v list: global flag taken" || { fail "xl -v list: rc=$rc"; show "$out"; }
mkcfg "$tmp/x.cfg" viaxl
out=$("$tmp/xl" create "$tmp/x.cfg" 2>&1 && "$tmp/xl" list viaxl 2>&1 && "$tmp/xl" shutdown -w viaxl 2>&1); rc=$?
[ $rc = 0 ] && [ -z "$(names)" ] && ok "xl create; xl list; xl shutdown -w" || { fail "xl lifecycle: rc=$rc"; show "$out"; }
# the CLI test suite's lifecycle part (create, list, console, xenstore-*, pause,
# reboot, shutdown -w, destroy ...) run again through the xl personality
out=$(XENKVM_CLI=$tmp/xl XENKVM_CLI_PARTS=B timeout 600 bash "$here/test_cli.sh" 2>&1); rc=$?
n=$(sed -n 's/^test_cli: \([0-9]*\) passed, 0 failed.*/\1/p' <<<"$out")
[ $rc = 0 ] && [ "${n:-0}" -ge 40 ] && ok "test_cli's lifecycle part as xl: $n checks passed" \
	|| { fail "test_cli part B as xl: rc=$rc"; show "$out"; }
out=$("$cli" sched-credit x 2>&1); rc=$?
[ $rc = 2 ] && grep -q "unknown verb" <<<"$out" && ok "as xenkvm, an unknown verb is still a usage error" \
	|| fail "xenkvm sched-credit: rc=$rc"

echo "make install"
if ! command -v help2man >/dev/null || ! command -v man >/dev/null; then
	skip "make install: help2man or man missing (scripts/install-deps.sh)"
else
	out=$(make -s -C "$root" BUILD="$build" install DESTDIR="$tmp/inst" 2>&1); rc=$?
	want="usr/sbin/xenkvmd usr/sbin/xenkvm usr/lib/xenkvm/xenkvm-domains lib/systemd/system/xenkvm-domains.service
	      etc/default/xenkvm usr/share/man/man1/xenkvm.1 usr/share/man/man5/xenkvm.cfg.5
	      usr/share/man/man8/xenkvmd.8 usr/share/bash-completion/completions/xenkvm"
	missing=
	for f in $want; do [ -e "$tmp/inst/$f" ] || missing="$missing $f"; done
	[ $rc = 0 ] && [ -z "$missing" ] && ok "make install: every file in place" \
		|| { fail "make install: rc=$rc, missing:$missing"; show "$out"; }
	warn=
	for p in "$tmp"/inst/usr/share/man/man?/*; do
		w=$(groff -ww -man -Tutf8 -z "$p" 2>&1) || w="groff failed: $w"
		[ -n "$w" ] && warn="$warn${p##*/}: $w"$'\n'
	done
	[ -z "$warn" ] && ok "every manual page renders without a groff warning (-ww)" \
		|| { fail "groff -ww warnings"; show "$warn"; }
	page=$(MANWIDTH=200 man -l "$tmp/inst/usr/share/man/man1/xenkvm.1" 2>&1)
	lost=
	for v in $("$cli" help | awk '/^  [a-z]/ { print $1 }'); do
		[ "$v" = help ] && continue
		grep -q "xenkvm $v" <<<"$page" || lost="$lost $v"
	done
	[ -z "$lost" ] && ok "xenkvm(1) has every verb's usage" || fail "xenkvm(1) lacks:$lost"
	page=$(MANWIDTH=200 man -l "$tmp/inst/usr/share/man/man5/xenkvm.cfg.5" 2>&1)
	grep -q "on_poweroff" <<<"$page" && grep -q "^SYNTAX" <<<"$page" \
		&& ok "xenkvm.cfg(5) renders docs/CONFIG.md" || { fail "xenkvm.cfg(5)"; show "$page"; }
	page=$(MANWIDTH=200 man -l "$tmp/inst/usr/share/man/man8/xenkvmd.8" 2>&1)
	grep -q -- "--xenstore-socket" <<<"$page" && ok "xenkvmd(8) has its options" || { fail "xenkvmd(8)"; show "$page"; }
	if command -v systemd-analyze >/dev/null; then
		out=$(systemd-analyze verify "$tmp/inst/lib/systemd/system/xenkvm-domains.service" 2>&1 |
			grep -v "ExecSt[a-z]*=/usr/lib/xenkvm/xenkvm-domains\|is not executable\|No such file\|Command 'man ")
		[ -z "$out" ] && ok "the unit passes systemd-analyze verify" || { fail "systemd-analyze verify"; show "$out"; }
	else
		skip "systemd-analyze is not here"
	fi
fi
finish
}
