# bench/guest-modules.sh: sourced by bench/blk and bench/net.  Their QEMU
# side needs virtio modules the test initramfs leaves out.  They come from
# the guest kernel's own Debian package (apt-get download), with what they
# depend on, as one more cpio archive to append to the initramfs (Linux
# unpacks concatenated archives); lib/modules/KVER/virtio.order lists them
# in load order for the guest's script.
#
# bench_virtio_modules OUT KVER MODULE...: writes OUT unless it is there.
bench_virtio_modules() {
	local out=$1 kver=$2 work mdir m p
	local -a order=()
	shift 2
	[ -s "$out" ] && return 0
	work=$(mktemp -d)
	(cd "$work" && apt-get download "linux-image-$kver" >/dev/null)
	dpkg-deb -x "$work"/linux-image-*.deb "$work/root"
	mdir=$work/root/lib/modules/$kver
	mkdir -p "$work/cpio/lib/modules/$kver"
	# Debian's package leaves modules.dep to depmod at install time
	[ -f "$mdir/modules.dep" ] || depmod -b "$work/root" "$kver"
	# bench_module_add PATH: its dependencies first (modules.dep), then itself
	bench_module_add() {
		local path=$1 d name
		for d in $(awk -F': ' -v m="$path" '$1 == m { print $2 }' "$mdir/modules.dep" | tr ' ' '\n' | tac); do
			bench_module_add "$d"
		done
		name=$(basename "${path%.ko*}").ko
		case " ${order[*]} " in *" $name "*) return ;; esac
		case $path in
		*.xz) xz -dc "$mdir/$path" ;; *.zst) zstd -dcq "$mdir/$path" ;; *) cat "$mdir/$path" ;;
		esac >"$work/cpio/lib/modules/$kver/$name"
		order+=("$name")
	}
	for m in "$@"; do
		p=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n) } n == m { print $1 }' "$mdir/modules.dep")
		[ -z "$p" ] || bench_module_add "$p"	# else built in
	done
	printf '%s\n' "${order[@]}" >"$work/cpio/lib/modules/$kver/virtio.order"
	(cd "$work/cpio" && find . | cpio -o -H newc --quiet | gzip -9) >"$out"
	rm -rf "$work"
}
