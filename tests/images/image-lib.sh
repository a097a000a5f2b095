# shellcheck shell=bash
# image-lib.sh: read and edit the file system inside a raw disk image made by
# build-debian-image.sh, without loop devices or mounts (sourced by tests and bench).
#
#   image_fs IMAGE            the e2fsprogs name of partition 1: "IMAGE?offset=BYTES"
#                             (e2fsprogs' unix I/O manager takes the offset option)
#   image_cat IMAGE PATH      a file's contents (debugfs cat)
#   image_grubenv IMAGE get NAME          a variable of /boot/grub/grubenv
#   image_grubenv IMAGE set NAME=VALUE... set variables there, in place
# Each returns non-zero, with a message on stderr, when it cannot.
# Needs debugfs (e2fsprogs), sfdisk (fdisk) and grub-editenv (grub-common).

image_fs() {
	local img=$1 start
	start=$(sfdisk -d "$img" 2>/dev/null |
		awk -F'start=' 'NF > 1 { split($2, a, ","); print a[1] + 0; exit }')
	[ -n "$start" ] && [ "$start" -gt 0 ] || { echo "image_fs: $img has no partition 1" >&2; return 1; }
	printf '%s?offset=%s\n' "$img" $((start * 512))
}

image_cat() {
	local fs
	fs=$(image_fs "$1") || return 1
	debugfs -R "cat $2" "$fs" 2>/dev/null
}

# GRUB's save_env writes the env block through the blocks the file already has, so
# the edit goes to the same place: the file's first block, found with debugfs bmap.
image_grubenv() {
	local img=$1 op=$2 fs tmp blk bsize off rc=0
	shift 2
	fs=$(image_fs "$img") || return 1
	tmp=$(mktemp "${TMPDIR:-/tmp}/grubenv.XXXXXX")
	debugfs -R "dump /boot/grub/grubenv $tmp" "$fs" >/dev/null 2>&1
	if [ "$(stat -c %s "$tmp")" != 1024 ]; then
		echo "image_grubenv: $img has no 1024-byte /boot/grub/grubenv" >&2
		rm -f "$tmp"
		return 1
	fi
	case $op in
	get)
		grub-editenv "$tmp" list | sed -n "s/^$1=//p" ;;
	set)
		blk=$(debugfs -R "bmap /boot/grub/grubenv 0" "$fs" 2>/dev/null)
		bsize=$(debugfs -R "stats" "$fs" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
		if ! [[ ${blk:-x} =~ ^[0-9]+$ ]] || [ "$blk" = 0 ] || ! [[ ${bsize:-x} =~ ^[0-9]+$ ]]; then
			echo "image_grubenv: cannot locate /boot/grub/grubenv in $img" >&2
			rc=1
		elif grub-editenv "$tmp" set "$@" && [ "$(stat -c %s "$tmp")" = 1024 ]; then
			off=$(( ${fs##*offset=} + blk * bsize ))
			dd if="$tmp" of="$img" bs=1024 count=1 seek="$off" oflag=seek_bytes \
				conv=notrunc status=none || rc=1
		else
			echo "image_grubenv: grub-editenv set $* failed" >&2
			rc=1
		fi ;;
	*)
		echo "image_grubenv: unknown operation '$op'" >&2
		rc=1 ;;
	esac
	rm -f "$tmp"
	return $rc
}
