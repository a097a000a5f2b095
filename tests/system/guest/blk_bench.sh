# Guest side of bench/blk: QD1 O_DIRECT load on one disk with blkload, which
# arrives as a raw image on a second disk.  Kernel command line:
#   xkblk_dev=xvda|vda  xkblk_tool=xvdb|vdb  xkblk_toolsz=BYTES  xkblk_secs=N
#   xkblk_tests=seqwrite,seqread,randread,randwrite (a subset, in that order)
#   xkblk_feopt=PARAM=VALUE (repeatable: xen-blkfront module parameters)
dev=xvda tool=xvdb toolsz=0 secs=10 tests=seqwrite,seqread,randread,randwrite feopts=
for arg in $(cat /proc/cmdline); do
	case $arg in
	xkblk_dev=*) dev=${arg#*=} ;; xkblk_tool=*) tool=${arg#*=} ;;
	xkblk_toolsz=*) toolsz=${arg#*=} ;; xkblk_secs=*) secs=${arg#*=} ;;
	xkblk_tests=*) tests=${arg#*=} ;;
	xkblk_feopt=*) feopts="$feopts ${arg#*=}" ;;
	esac
done
mods=/lib/modules/$(uname -r)
case $dev in
xvd*) insmod "$mods/xen-blkfront.ko" $feopts ;;
*) [ -f "$mods/virtio.order" ] && for m in $(cat "$mods/virtio.order"); do insmod "$mods/$m"; done ;;
esac
i=0
while [ $i -lt 100 ] && ! { [ -b "/dev/$dev" ] && [ -b "/dev/$tool" ]; }; do
	sleep 0.1
	i=$((i + 1))
done
[ -b "/dev/$dev" ] && [ -b "/dev/$tool" ] || { echo "BENCH-ERROR no /dev/$dev or /dev/$tool"; exit 1; }
head -c "$toolsz" "/dev/$tool" >/bin/blkload && chmod +x /bin/blkload
for t in "seqwrite 1048576" "seqread 1048576" "randread 4096" "randwrite 4096"; do
	case ",$tests," in *",${t% *},"*) ;; *) continue ;; esac
	echo "BENCH $(/bin/blkload "/dev/$dev" $t "$secs" 2>&1)"
done
echo BENCH-DONE
