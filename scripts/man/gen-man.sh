#!/usr/bin/env bash
# gen-man.sh: the manual pages, made from the programs' own --help and from docs/, so
# they cannot drift from either: xenkvm(1) (the overview and every verb's help),
# xenkvmd(8) (its --help) and xenkvm.cfg(5) (docs/CONFIG.md).
#
# usage: scripts/man/gen-man.sh BUILD-DIR OUT-DIR    (make man does this)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1 out=$2
mkdir -p "$out"
command -v help2man >/dev/null || { echo "gen-man.sh: help2man is missing (scripts/install-deps.sh)" >&2; exit 1; }

inc=$(mktemp); trap 'rm -f "$inc"' EXIT
{
	echo "[VERBS]"
	"$build/xenkvm" help | awk '/^  [a-z]/ { print $1 }' | while read -r verb; do
		[ "$verb" = help ] && continue
		"$build/xenkvm" help "$verb" | awk -v v="$verb" '
			NR == 1 { sub(/^Usage: /, ""); print ".TP\n.B " $0 "\n.nf"; next }
			NR == 2 && $0 == "" { next }
			{ gsub(/\\/, "\\e"); sub(/^[.\047]/, "\\\\&&"); print }
			END { print ".fi" }'
	done
	cat <<-'EOT'
	[FILES]
	.TP
	.I /run/xenkvm/
	run directory of root's domains (\fI$XDG_RUNTIME_DIR/xenkvm/\fR for other users):
	a directory per domid with the control, console and XenStore sockets.
	.TP
	.I /etc/xenkvm/auto/
	configs that xenkvm-domains.service creates at host start (Xen's \fI/etc/xen/auto/\fR too).
	[SEE ALSO]
	.BR xenkvmd (8),
	.BR xenkvm.cfg (5),
	.BR xl (1)
	EOT
} >"$inc"
help2man -N -s 1 -n "run Xen guests from their xl.cfg files on KVM" -i "$inc" \
	--version-option=--version "$build/xenkvm" >"$out/xenkvm.1"
help2man -N -s 8 -n "the xenkvm virtual machine monitor: one process per domain" \
	--version-option=--version "$build/xenkvmd" >"$out/xenkvmd.8"
python3 scripts/man/md2man.py xenkvm.cfg 5 "xenkvm" <docs/CONFIG.md >"$out/xenkvm.cfg.5"
